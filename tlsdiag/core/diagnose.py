"""Findings from the probe record: network failures, handshake facts, HTTP and clock (pure)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime, timedelta
from email.utils import parsedate_to_datetime

from tlsdiag import codes
from tlsdiag.core.findings import make_finding
from tlsdiag.model import Finding, Handshake, ProbeResult, Severity

CLOCK_SKEW_WARNING = timedelta(minutes=5)
CLOCK_SKEW_ERROR = timedelta(days=1)
MIN_DH_BITS = 2048
_MODERN = ("TLSv1.2", "TLSv1.3")
FAILING_CLIENTS = (
    "OpenSSL 3 at security level 2 (curl, wget, Python, Node), current browsers, Java 17"
)
_MTLS_BODY = ("no required ssl certificate was sent", "ssl certificate error")


def _weak_cipher(cipher: str) -> bool:
    """Suites without forward secrecy or with broken algorithms (OpenSSL names)."""
    name = cipher.upper()
    if name.startswith("TLS_"):  # TLS 1.3 suites are all fine
        return False
    if any(bad in name for bad in ("RC4", "DES", "NULL", "EXPORT", "MD5", "ANON", "ADH", "AECDH")):
        return True
    return not name.startswith(("ECDHE-", "DHE-", "EDH-"))


def sentence(message: str) -> str:
    """``message`` as a sentence: a capital first letter, unless the message starts with a name
    the user typed (a host, an address, an option), which is kept exactly as given."""
    first = message.split(" ", 1)[0]
    if not first or not first.isalpha() or not first.islower():
        return message + "."
    return message[0].upper() + message[1:] + "."


def failure_findings(probe: ProbeResult, *, forced: str = "") -> list[Finding]:
    """Findings for a probe that did not complete a default handshake.

    Args:
        probe: the probe record.
        forced: the TLS options the user forced (``--tls1_2 --cipher X``), "" when none: a
            version or suite mismatch is then the consequence of that choice, not the server's.
    """
    failure = probe.failure
    if failure is None:
        return []
    ev = {"stage": failure.stage, "error": failure.message}
    if failure.detail:
        ev["detail"] = failure.detail
    if probe.address:
        ev["address"] = f"{probe.address} port {probe.target.port}"
    seen = probe.failed_handshake
    if seen and seen.alerts_received:
        ev["alerts_received"] = ", ".join(seen.alerts_received)
    legacy = probe.legacy
    if legacy is not None:
        return _legacy_only_findings(failure.message, legacy, ev)
    if forced and failure.code in (codes.LEGACY_CIPHER_SUITE, codes.LEGACY_PROTOCOL_VERSION):
        return [
            make_finding(
                failure.code,
                title=f"The server accepts none of the options you forced ({forced})",
                detail=(
                    f"{sentence(failure.message)} The handshake was limited by the options given "
                    f"on the command line ({forced}): this is the result of that choice, not a "
                    "fault of the server."
                ),
                evidence={**ev, "forced_by_user": forced},
                remediation=(
                    "Run the check without those options to see what the server negotiates by "
                    "default; force a version or suite only to reproduce a given client."
                ),
            )
        ]
    if failure.code == codes.APP_MUTUAL_TLS and seen and seen.cert_request:
        ev["acceptable_ca_names"] = "; ".join(seen.cert_request.ca_names) or "(none listed)"
    return [make_finding(failure.code, detail=sentence(failure.message), evidence=ev)]


def _legacy_only_findings(message: str, legacy: Handshake, ev: dict[str, str]) -> list[Finding]:
    """The default handshake failed and only the lenient retry (TLS 1.0+, every cipher, OpenSSL
    security level 0) worked: name what modern clients reject, as errors (never an OK)."""
    ev = {**ev, "retry_with_old_versions": f"{legacy.version} {legacy.cipher}"}
    ev["clients_that_fail"] = FAILING_CLIENTS
    out: list[Finding] = []
    if legacy.version not in _MODERN:
        out.append(
            make_finding(
                codes.LEGACY_PROTOCOL_VERSION,
                title=f"The server speaks only {legacy.version}",
                detail=(
                    f"The handshake fails with TLS 1.2/1.3; allowing old versions it succeeds "
                    f"with {legacy.version} ({legacy.cipher}). Modern clients and inspecting "
                    "proxies refuse versions below TLS 1.2."
                ),
                evidence=ev,
            )
        )
    if legacy.dh_bits and legacy.dh_bits < MIN_DH_BITS:
        out.append(
            make_finding(
                codes.SERVER_WEAK_KEY,
                title=f"The server uses a {legacy.dh_bits}-bit Diffie-Hellman group",
                detail=(
                    f"The key exchange ({legacy.cipher}) uses a {legacy.dh_bits}-bit DH group; "
                    f"clients require at least {MIN_DH_BITS} bits and abort the handshake "
                    "(curl and OpenSSL 3: 'dh key too small')."
                ),
                evidence={**ev, "dh_bits": str(legacy.dh_bits)},
                remediation=(
                    f"Configure a DH group of at least {MIN_DH_BITS} bits (RFC 7919 ffdhe2048) "
                    "or offer ECDHE suites on the server."
                ),
            )
        )
    if _weak_cipher(legacy.cipher):
        out.append(
            make_finding(
                codes.LEGACY_CIPHER_SUITE,
                title=f"The server offers only weak cipher suites ({legacy.cipher})",
                detail=(
                    "The default handshake fails; with every cipher allowed the server picks "
                    f"{legacy.cipher}, which modern clients refuse."
                ),
                evidence=ev,
            )
        )
    return out


def legacy_only_verdict(probe: ProbeResult, findings: Sequence[Finding]) -> list[Finding]:
    """When only the lenient retry worked, the verdict is a FAIL that names why.

    The chain's weak-key and weak-signature errors (RSA < 2048, SHA-1) get the clients that
    fail added; when no error names why at all, one ``legacy.cipher_suite`` error says that the
    handshake works only with settings modern clients refuse.

    Args:
        probe: the probe record.
        findings: every finding so far.

    Returns:
        The findings, annotated, plus the generic error when nothing else explains the failure.
    """
    legacy, failure = probe.legacy, probe.failure
    if probe.handshake is not None or legacy is None or failure is None:
        return list(findings)
    out = [
        replace(f, evidence={**f.evidence, "clients_that_fail": FAILING_CLIENTS})
        if f.severity is Severity.ERROR
        and f.code in (codes.SERVER_WEAK_KEY, codes.SERVER_WEAK_SIGNATURE)
        and "clients_that_fail" not in f.evidence
        else f
        for f in findings
    ]
    if any(f.severity is Severity.ERROR for f in out):
        return out
    out.append(
        make_finding(
            codes.LEGACY_CIPHER_SUITE,
            title="The handshake works only with settings modern clients refuse",
            detail=(
                f"The default handshake fails ({failure.message}); only with old versions, every "
                f"cipher and OpenSSL security level 0 it succeeds ({legacy.version} "
                f"{legacy.cipher})."
            ),
            evidence={
                "error": failure.message,
                "retry_with_old_versions": f"{legacy.version} {legacy.cipher}",
                "clients_that_fail": FAILING_CLIENTS,
            },
        )
    )
    return out


def handshake_findings(probe: ProbeResult) -> list[Finding]:
    """Findings about a completed handshake and the HTTP exchange after it."""
    hs = probe.handshake
    if hs is None:
        return []
    out: list[Finding] = []
    out.extend(_mtls_findings(probe, hs))
    if hs.dh_bits and hs.dh_bits < MIN_DH_BITS:
        out.append(
            make_finding(
                codes.SERVER_WEAK_KEY,
                title=f"The server uses a {hs.dh_bits}-bit Diffie-Hellman group",
                detail=f"The key exchange ({hs.cipher}) uses a DH group below {MIN_DH_BITS} bits.",
                evidence={"cipher": hs.cipher, "dh_bits": str(hs.dh_bits)},
            )
        )
    if _weak_cipher(hs.cipher):
        out.append(
            make_finding(
                codes.LEGACY_CIPHER_SUITE,
                severity=Severity.WARNING,
                title=f"A weak cipher suite was negotiated ({hs.cipher})",
                detail="The suite has no forward secrecy or uses an obsolete algorithm.",
                evidence={"cipher": hs.cipher, "version": hs.version},
            )
        )
    return out


def _mtls_findings(probe: ProbeResult, hs: Handshake) -> list[Finding]:
    http = probe.http
    body = (http.body_excerpt if http else "").lower()
    # after a CertificateRequest, a connection that dies instead of answering means "required"
    required = hs.cert_request is not None and (http is None or bool(http.error))
    rejected = bool(http and http.status == 400 and any(s in body for s in _MTLS_BODY))
    if hs.cert_request is None and not rejected:
        return []
    ev = {}
    if hs.cert_request is not None:
        ev["acceptable_ca_names"] = "; ".join(hs.cert_request.ca_names) or "(none listed)"
    if rejected and http:
        ev["http_response"] = f"{http.status} {http.reason}: {http.body_excerpt[:120].strip()}"
    if required or rejected:
        return [
            make_finding(
                codes.APP_MUTUAL_TLS,
                detail="The server asks for a client certificate and refuses the connection "
                "without one.",
                evidence=ev,
            )
        ]
    return [
        make_finding(
            codes.APP_MUTUAL_TLS,
            severity=Severity.WARNING,
            title="The server asks for an optional client certificate",
            detail="The server requests a client certificate but continues without one; an "
            "inspecting proxy cannot present one if the application needs it.",
            evidence=ev,
        )
    ]


def clock_skew(server_date: str, local: datetime) -> timedelta | None:
    """local - server, from an HTTP Date header (None when absent or unparsable)."""
    if not server_date:
        return None
    try:
        server = parsedate_to_datetime(server_date)
    except (TypeError, ValueError):
        return None
    if server.tzinfo is None:
        return None
    return local - server


def clock_findings(server_date: str, local: datetime, *, source: str) -> list[Finding]:
    """client.clock_skew when the local clock and the server's Date differ by over 5 minutes."""
    skew = clock_skew(server_date, local)
    if skew is None or abs(skew) < CLOCK_SKEW_WARNING:
        return []
    direction = "ahead of" if skew > timedelta(0) else "behind"
    secs = int(abs(skew).total_seconds())
    amount = (
        f"{secs // 86400} days"
        if secs >= 86400
        else (f"{secs // 3600} h {secs % 3600 // 60} min" if secs >= 3600 else f"{secs // 60} min")
    )
    severity = Severity.ERROR if abs(skew) >= CLOCK_SKEW_ERROR else Severity.WARNING
    return [
        make_finding(
            codes.CLIENT_CLOCK_SKEW,
            severity=severity,
            title=f"The local clock is {amount} {direction} the server's",
            detail=(
                f"This machine's clock reads {local.strftime('%Y-%m-%d %H:%M:%S %Z')}; {source} "
                f"says {server_date}. Certificates are judged by the local clock."
            ),
            evidence={
                "local_time": local.isoformat(),
                "server_date": server_date,
                "offset_seconds": str(int(skew.total_seconds())),
            },
        )
    ]
