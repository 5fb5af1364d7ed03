"""Toward the server: TLS client contexts and the classification of what went wrong.

Verification runs inside OpenSSL during the handshake (fast path) against certifi + the OS bundle
+ ``--upstream-cafile``. When it fails, ``classify_verify_error`` maps OpenSSL's verify code to a
finding code (through ``data/tls_failures.toml``, like every handshake failure), and
``refine_with_chain`` uses the chain analysis (path building against the same root sets) to tell
an incomplete chain from an unknown root, which OpenSSL reports alike.
"""

from __future__ import annotations

import ssl
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from tlsdiag import codes
from tlsdiag.core.tls_failure import alert_from_reason, classify
from tlsdiag.facts.ids import RootSetId


@dataclass(frozen=True, slots=True)
class TlsFailure:
    """A classified handshake failure."""

    code: str  # finding code
    description: str  # the TLS alert in OpenSSL words ("unknown ca"), or the error text
    error_type: str = "fatal"
    certificate_error: str = ""  # the X.509 problem, for certificate failures
    verify_code: int = 0
    refine: bool = False  # the chain analysis picks the code (OpenSSL's is ambiguous)


def classify_ssl_error(exc: BaseException, *, cert_requested: bool = False) -> TlsFailure:
    """Classify a failed handshake toward the server (``data/tls_failures.toml``)."""
    if isinstance(exc, ssl.SSLCertVerificationError):
        return classify_verify_error(exc.verify_code, exc.verify_message)
    if isinstance(exc, ConnectionResetError | BrokenPipeError | ssl.SSLEOFError | EOFError):
        code = codes.APP_MUTUAL_TLS if cert_requested else codes.NETWORK_RESET
        return TlsFailure(code, "connection reset or closed during the handshake")
    reason = getattr(exc, "reason", None) or ""
    alert = alert_from_reason(reason)
    text = alert or reason.lower().replace("_", " ") or str(exc)
    found = classify(
        peer="server",
        alert=alert,
        reason=reason,
        cert_requested=cert_requested,
        text=str(exc),
        default=codes.LEGACY_CIPHER_SUITE if reason else codes.NETWORK_RESET,
    )
    if found.code == codes.APP_MUTUAL_TLS and cert_requested:
        return TlsFailure(codes.APP_MUTUAL_TLS, alert or "certificate required")
    return TlsFailure(found.code, text)


def classify_verify_error(verify_code: int, verify_message: str) -> TlsFailure:
    """Map an OpenSSL verify result to a finding code and the alert OpenSSL sends for it."""
    found = classify(
        peer="server",
        verify_code=verify_code,
        reason="CERTIFICATE_VERIFY_FAILED",
        text=verify_message,
        default=codes.SERVER_UNTRUSTED_ROOT,
    )
    message = verify_message or "certificate verify failed"
    if found.code == codes.SERVER_HOSTNAME_MISMATCH:
        message = "hostname mismatch"
    return TlsFailure(found.code, found.alert_sent, "fatal", message, verify_code, found.refine)


# Codes of the chain analysis, most telling first.
_CHAIN_PRIORITY = (
    codes.SERVER_CERT_EXPIRED,
    codes.SERVER_CERT_NOT_YET_VALID,
    codes.SERVER_HOSTNAME_MISMATCH,
    codes.SERVER_SELF_SIGNED,
    codes.SERVER_CHAIN_INCOMPLETE,
    codes.SERVER_UNTRUSTED_ROOT,
    codes.SERVER_REVOKED,
)

_PLAIN = {
    codes.SERVER_CHAIN_INCOMPLETE: "unable to get local issuer certificate (incomplete chain)",
    codes.SERVER_UNTRUSTED_ROOT: "unable to get local issuer certificate (unknown root)",
}


def refine_with_chain(
    failure: TlsFailure,
    chain_der: Sequence[bytes],
    *,
    host: str,
    now: datetime,
    extra_roots: Sequence[Any] = (),
) -> tuple[TlsFailure, list[str]]:
    """Use the chain analysis to tell the problems apart; returns the failure and all codes seen."""
    from cryptography import x509

    from tlsdiag.core.chain import Roots, analyze_chain
    from tlsdiag.stores.bundles import os_roots, public_roots

    try:
        certs = [x509.load_der_x509_certificate(d) for d in chain_der]
    except ValueError:
        return failure, [failure.code]
    if not certs:
        return failure, [failure.code]
    pub, osr = public_roots(), os_roots()
    root_sets = [Roots(pub.name, pub.certs), Roots(osr.name, osr.certs)]
    if extra_roots:
        root_sets.append(Roots(RootSetId.UPSTREAM_CAFILE, tuple(extra_roots)))
    import ipaddress

    try:
        ipaddress.ip_address(host)
        is_ip = True
    except ValueError:
        is_ip = False
    try:
        analysis = analyze_chain(certs, host=host, is_ip=is_ip, now=now, root_sets=root_sets)
    except Exception:  # the analysis is a refinement only; never let it break the proxy
        return failure, [failure.code]
    seen = [f.code for f in analysis.findings if f.severity.value == "error"]
    if not failure.refine and failure.code in seen:
        return failure, seen  # OpenSSL named the problem and the analysis agrees: it stands
    for code in _CHAIN_PRIORITY:
        if code in seen:
            if failure.verify_code in (2, 20, 21) and code in _PLAIN:
                cert_error = _PLAIN[code]
            elif code == failure.code:
                cert_error = failure.certificate_error
            else:
                cert_error = failure.certificate_error
            return TlsFailure(
                code,
                failure.description,
                failure.error_type,
                cert_error,
                failure.verify_code,
                failure.refine,
            ), seen
    return failure, seen or [failure.code]


def completes_via_aia(
    chain_der: Sequence[bytes],
    *,
    host: str,
    now: datetime,
    extra_roots: Sequence[Any] = (),
    timeout: float = 5.0,
) -> tuple[bool, str]:
    """Fetch missing issuers from AIA URLs; True when the completed chain then verifies.

    Blocking (HTTP fetches): run it in a thread. Returns (verifies, what happened in words).
    """
    import ipaddress

    from cryptography import x509

    from tlsdiag.core.chain import Roots, analyze_chain
    from tlsdiag.net.aia import fetch_missing_issuers
    from tlsdiag.stores.bundles import os_roots, public_roots

    try:
        certs = [x509.load_der_x509_certificate(d) for d in chain_der]
    except ValueError:
        return False, "the chain could not be parsed"
    if not certs:
        return False, "no certificate"
    pub, osr = public_roots(), os_roots()
    root_sets = [Roots(pub.name, pub.certs), Roots(osr.name, osr.certs)]
    if extra_roots:
        root_sets.append(Roots(RootSetId.UPSTREAM_CAFILE, tuple(extra_roots)))
    all_roots = [c for r in root_sets for c in r.certs]
    completion = fetch_missing_issuers(certs, roots=all_roots, timeout=timeout)
    if not completion.fetched:
        errors = "; ".join(f"{u}: {e}" for u, e in completion.errors.items())
        return False, f"AIA completion found no issuer ({errors or 'no caIssuers URL'})"
    try:
        ipaddress.ip_address(host)
        is_ip = True
    except ValueError:
        is_ip = False
    analysis = analyze_chain(
        certs, host=host, is_ip=is_ip, now=now, root_sets=root_sets, fetched=completion.fetched
    )
    urls = ", ".join(f.url for f in completion.fetched)
    if analysis.trusted and not any(
        f.severity.value == "error"
        for f in analysis.findings
        if f.code != codes.SERVER_CHAIN_INCOMPLETE
    ):
        return True, f"completed from AIA ({urls})"
    return False, f"fetched from AIA ({urls}) but the chain still does not verify"


MsgCallback = Callable[..., None]


class UpstreamContexts:
    """Client contexts toward servers, one per offered ALPN list (ALPN is per context in Python)."""

    def __init__(
        self,
        *,
        minimum: ssl.TLSVersion = ssl.TLSVersion.TLSv1_2,
        maximum: ssl.TLSVersion = ssl.TLSVersion.TLSv1_3,
        cafiles: Sequence[Path] = (),
        msg_callback: MsgCallback | None = None,
    ) -> None:
        self.minimum = minimum
        self.maximum = maximum
        self.cafiles = tuple(cafiles)
        self.msg_callback = msg_callback
        self._cache: OrderedDict[tuple[tuple[str, ...], bool, bool], ssl.SSLContext] = OrderedDict()

    def _build(self, alpn: tuple[str, ...], verify: bool, callback: bool) -> ssl.SSLContext:
        import certifi

        from tlsdiag.stores.bundles import os_bundle_path

        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.minimum_version = self.minimum
        ctx.maximum_version = self.maximum
        if self.minimum < ssl.TLSVersion.TLSv1_2:
            ctx.set_ciphers("DEFAULT:@SECLEVEL=0")
        if verify:
            ctx.load_verify_locations(cafile=certifi.where())
            os_path = os_bundle_path()
            if os_path:
                ctx.load_verify_locations(cafile=os_path)
            for cafile in self.cafiles:
                ctx.load_verify_locations(cafile=str(cafile))
            ctx.verify_mode = ssl.CERT_REQUIRED
            ctx.check_hostname = True
            ctx.hostname_checks_common_name = False
        else:
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
        if alpn:
            ctx.set_alpn_protocols(list(alpn))
        if self.msg_callback is not None and callback:
            # The C-level setter: ssl.py's wrapper converts every argument to an enum, which
            # costs microseconds per TLS record for the life of the connection.
            import _ssl

            _ssl._SSLContext._msg_callback.__set__(ctx, self.msg_callback)  # type: ignore[attr-defined] # private C slot
        return ctx

    def get(
        self, alpn: Sequence[str], *, verify: bool = True, callback: bool = True
    ) -> ssl.SSLContext:
        """The context for this ALPN offer (built once, then cached)."""
        key = (tuple(a for a in alpn if a and len(a) < 256), verify, callback)
        ctx = self._cache.get(key)
        if ctx is None:
            ctx = self._build(key[0], verify, callback)
            self._cache[key] = ctx
            while len(self._cache) > 32:
                self._cache.popitem(last=False)
        return ctx
