"""Chain analysis: build the path, ask each root set whether it trusts it, explain failures.

Pure: certificates, root sets and ``now`` in; an analysis with findings out. Codes come from
structured checks (dates, SAN match, self-signed, missing issuer, weak signature/key); the
verifier's message is evidence only.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from cryptography import x509

from tlsdiag import codes
from tlsdiag.core import certs as C
from tlsdiag.core.findings import make_finding
from tlsdiag.core.hostname import match_hostname
from tlsdiag.core.verify import verify_chain
from tlsdiag.model import Finding, Severity

EXPIRY_WARNING_DAYS = 30
MAX_DEPTH = 10
PUBLIC = "public (certifi)"


@dataclass(frozen=True, slots=True)
class Roots:
    """A named set of trust anchors (what ``stores.bundles.RootSet`` provides)."""

    name: str
    certs: tuple[x509.Certificate, ...]


@dataclass(frozen=True, slots=True)
class FetchedIssuer:
    """An issuer certificate fetched from an AIA caIssuers URL."""

    url: str
    cert: x509.Certificate


@dataclass(frozen=True, slots=True)
class ChainAnalysis:
    """The result of analysing a presented chain."""

    presented: tuple[x509.Certificate, ...]
    path: tuple[x509.Certificate, ...]  # leaf first; ends at a root when one was found
    anchored_in: tuple[str, ...]  # root sets whose anchor ends the path
    trusted_by: Mapping[str, bool]  # root-set name -> verifies (dates aside)
    verify_messages: Mapping[str, str]
    missing_issuer: str  # the issuer name that could not be found ("" when none)
    used_fetched: tuple[FetchedIssuer, ...] = ()
    findings: tuple[Finding, ...] = field(default_factory=tuple)

    @property
    def trusted(self) -> bool:
        """True when at least one root set trusts the chain."""
        return any(self.trusted_by.values())

    @property
    def root(self) -> x509.Certificate | None:
        """The self-signed certificate ending the path, if any."""
        if self.path and C.is_self_signed(self.path[-1]):
            return self.path[-1]
        return None


def _find_issuer(
    cert: x509.Certificate, candidates: Sequence[x509.Certificate]
) -> x509.Certificate | None:
    for cand in candidates:
        if cand is not cert and C.signed_by(cert, cand):
            return cand
    return None


def build_path(
    leaf: x509.Certificate,
    pool: Sequence[x509.Certificate],
    root_sets: Sequence[Roots],
) -> tuple[list[x509.Certificate], list[str], str]:
    """Build leaf -> ... -> root by issuer name and signature.

    Returns:
        (path, names of the root sets holding the anchor, missing issuer name or "").
    """
    path = [leaf]
    cur = leaf
    for _ in range(MAX_DEPTH):
        if C.is_self_signed(cur):
            held = [rs.name for rs in root_sets if cur in rs.certs]  # equal DER, equal cert
            return path, held, ""
        anchored = [(rs.name, r) for rs in root_sets for r in rs.certs if C.signed_by(cur, r)]
        if anchored:
            root = anchored[0][1]
            held = [rs.name for rs in root_sets if root in rs.certs]
            path.append(root)
            return path, held, ""
        nxt = _find_issuer(cur, [c for c in pool if c not in path])
        if nxt is None:
            return path, [], C.name_string(cur.issuer)
        path.append(nxt)
        cur = nxt
    return path, [], ""


def _aia_clients(*, public_ca: bool) -> dict[str, str]:
    """Which clients complete a chain from AIA (or preloaded intermediates) and which fail."""
    from tlsdiag.kb.aia_clients import aia_client_summary

    fetch, fail = aia_client_summary(public_ca=public_ca)
    return {"clients_that_work": ", ".join(fetch), "clients_that_fail": ", ".join(fail)}


def _verify_time(certs: Sequence[x509.Certificate], now: datetime) -> datetime:
    """``now`` when every certificate is valid then, else a moment inside all validity windows.

    Trust (who vouches for the chain) is judged apart from dates, which get their own findings.
    """
    start = max(C.not_before(c) for c in certs)
    end = min(C.not_after(c) for c in certs)
    if start <= now <= end:
        return now
    if start <= end:
        return start + (end - start) / 2
    return now


def _date_findings(path: Sequence[x509.Certificate], now: datetime) -> list[Finding]:
    out: list[Finding] = []
    for i, cert in enumerate(path):
        role = "leaf" if i == 0 else ("root" if C.is_self_signed(cert) else "intermediate")
        subject = C.name_string(cert.subject)
        nb, na = C.not_before(cert), C.not_after(cert)
        ev = {"certificate": f"{role}: {subject}", "not_before": C.utc(nb), "not_after": C.utc(na)}
        if now > na:
            days = (now - na).days
            out.append(
                make_finding(
                    codes.SERVER_CERT_EXPIRED,
                    title=f"The {role} certificate expired {_ago(now - na)}",
                    detail=f"{subject} was valid until {C.utc(na)} ({days} days ago).",
                    evidence=ev,
                )
            )
        elif now < nb:
            out.append(
                make_finding(
                    codes.SERVER_CERT_NOT_YET_VALID,
                    title=f"The {role} certificate is not valid until {C.utc(nb)}",
                    detail=f"{subject} starts being valid in {_ago(nb - now, future=True)}.",
                    evidence=ev,
                )
            )
        elif na - now < timedelta(days=EXPIRY_WARNING_DAYS) and role != "root":
            days_left = (na - now).days
            out.append(
                make_finding(
                    codes.SERVER_CERT_EXPIRED,
                    severity=Severity.WARNING,
                    title=f"The {role} certificate expires in {days_left} days",
                    detail=f"{subject} is valid until {C.utc(na)}; renew it before then.",
                    evidence=ev,
                    remediation="Renew the certificate on the server before it expires.",
                )
            )
    return out


def _ago(delta: timedelta, *, future: bool = False) -> str:
    secs = int(abs(delta.total_seconds()))
    if secs >= 86400:
        text = f"{secs // 86400} days"
    elif secs >= 3600:
        text = f"{secs // 3600} hours"
    else:
        text = f"{secs // 60} minutes"
    return text if future else f"{text} ago"


def _hostname_findings(leaf: x509.Certificate, host: str, is_ip: bool) -> list[Finding]:
    dns, ips = C.san_names(leaf)
    cn = C.common_name(leaf.subject)
    if not C.has_san(leaf):
        covers = f"CN={cn}" if cn else "(nothing)"
        return [
            make_finding(
                codes.SERVER_HOSTNAME_MISMATCH,
                title="The certificate has no subjectAltName (CN only)",
                detail=(
                    f"The certificate names its host only in the Common Name ({covers}). Browsers, "
                    "Python and Go ignore the CN and reject it even when it matches "
                    f"{host}; only older OpenSSL-based tools such as curl still accept it."
                ),
                evidence={"requested": host, "common_name": cn or "(none)", "san": "(none)"},
            )
        ]
    if match_hostname(host, dns, ips, is_ip=is_ip) is not None:
        return []
    covered = ", ".join([*dns, *ips]) or "(no names)"
    return [
        make_finding(
            codes.SERVER_HOSTNAME_MISMATCH,
            title=f"The certificate is not valid for {host}",
            detail=f"It covers only: {covered}.",
            evidence={"requested": host, "certificate_names": covered},
        )
    ]


def _weak_findings(path: Sequence[x509.Certificate]) -> list[Finding]:
    out: list[Finding] = []
    for i, cert in enumerate(path):
        role = "leaf" if i == 0 else ("root" if C.is_self_signed(cert) else "intermediate")
        subject = C.name_string(cert.subject)
        digest = C.signature_hash(cert)
        if digest in ("sha1", "md5") and role != "root":
            out.append(
                make_finding(
                    codes.SERVER_WEAK_SIGNATURE,
                    title=f"The {role} certificate is signed with {digest.upper()}",
                    detail=f"{subject} uses {digest.upper()}, which browsers, curl and inspecting "
                    "proxies refuse.",
                    evidence={"certificate": subject, "signature": digest},
                )
            )
        key, bits = C.key_description(cert)
        weak = (key.startswith("RSA") and bits < 2048) or (key.startswith("EC") and bits < 256)
        weak = weak or (key.startswith("DSA") and bits < 2048)
        if weak:
            out.append(
                make_finding(
                    codes.SERVER_WEAK_KEY,
                    title=f"The {role} certificate has a {key}-bit key"
                    if "RSA" in key or "DSA" in key
                    else f"The {role} certificate uses a weak {key} key",
                    detail=f"{subject} uses {key}; the minimum is RSA 2048 or EC P-256.",
                    evidence={"certificate": subject, "key": key},
                )
            )
    return out


def _order_findings(
    presented: Sequence[x509.Certificate], path: Sequence[x509.Certificate]
) -> list[Finding]:
    out: list[Finding] = []
    fps_path = [C.fingerprint(c) for c in path]
    fps_sent = [C.fingerprint(c) for c in presented]
    on_path = [fp for fp in fps_sent if fp in fps_path]
    expected = [fp for fp in fps_path if fp in fps_sent]
    if on_path != expected:
        sent = " > ".join(C.common_name(c.subject) or C.name_string(c.subject) for c in presented)
        out.append(
            make_finding(
                codes.SERVER_CHAIN_ORDER,
                detail="The certificates are not sent leaf first, each followed by its issuer.",
                evidence={"sent_order": sent},
            )
        )
    extra = [c for c in presented if C.fingerprint(c) not in fps_path]
    if extra:
        names = "; ".join(C.name_string(c.subject) for c in extra)
        out.append(
            make_finding(
                codes.SERVER_CHAIN_EXTRA,
                detail=f"{len(extra)} certificate(s) sent are not part of the path: {names}.",
                evidence={"not_on_path": names},
            )
        )
    return out


def analyze_chain(
    presented: Sequence[x509.Certificate],
    *,
    host: str | None,
    is_ip: bool = False,
    now: datetime,
    root_sets: Sequence[Roots],
    fetched: Sequence[FetchedIssuer] = (),
    fetch_errors: Mapping[str, str] | None = None,
) -> ChainAnalysis:
    """Analyse a chain as the server sent it.

    Args:
        presented: certificates in the order sent, leaf first (must not be empty).
        host: the requested name (None skips the name check, as ``chain`` without --host).
        is_ip: ``host`` is an IP literal.
        now: the time to judge validity at.
        root_sets: the trust anchors to judge against (public, os, --cafile ...).
        fetched: issuers fetched from AIA URLs (used to complete the path and explain it).
        fetch_errors: AIA URL -> why it could not be fetched.

    Returns:
        The analysis with its findings.
    """
    if not presented:
        raise ValueError("analyze_chain needs at least one certificate")
    leaf = presented[0]
    fetched_certs = [f.cert for f in fetched]
    path, anchored_in, missing = build_path(leaf, [*presented[1:], *fetched_certs], root_sets)
    findings: list[Finding] = []

    dns, ips = C.san_names(leaf)
    verify_name = host if host is not None else (dns[0] if dns else (ips[0] if ips else ""))
    # Trust is judged apart from the name and the dates (they get structured findings).
    vtime = _verify_time(path, now)
    trust_name = next(iter(dns), "") or next(iter(ips), "") or verify_name
    trust_name = trust_name.replace("*", "x")  # a concrete name the SAN covers (or not: dates
    # and names get their own findings; this only asks who vouches for the chain)
    weak_in_path = any(C.signature_hash(c) in ("sha1", "md5") for c in path[:-1])
    odd_names = not ips and not any("*" not in n or n.startswith("*.") for n in dns)
    refusal_explained = odd_names or any(
        not C.not_before(c) <= vtime <= C.not_after(c) for c in path
    )
    self_signed_leaf = C.is_self_signed(leaf)
    trusted_by: dict[str, bool] = {}
    messages: dict[str, str] = {}
    intermediates = [*presented[1:], *fetched_certs]
    for rs in root_sets:
        if self_signed_leaf and any(C.fingerprint(r) == C.fingerprint(leaf) for r in rs.certs):
            trusted_by[rs.name] = True  # trusted explicitly, as curl --cacert does
            messages[rs.name] = "the certificate itself is in this store"
        elif trust_name and C.has_san(leaf):
            outcome = verify_chain(leaf, intermediates, rs.certs, name=trust_name, now=vtime)
            if not outcome.ok and (weak_in_path or refusal_explained) and rs.name in anchored_in:
                # the verifier refuses SHA-1/MD5 and dates outright; the anchor is still this
                # store's, and the weak signature or the dates get their own findings
                trusted_by[rs.name] = True
                messages[rs.name] = f"anchored here; the verifier refuses it: {outcome.message}"
            else:
                trusted_by[rs.name] = outcome.ok
                messages[rs.name] = outcome.message
        else:  # CN-only leaf: the verifier refuses it; judge by the anchor of our path
            trusted_by[rs.name] = rs.name in anchored_in
            messages[rs.name] = "judged by path building (the leaf has no subjectAltName)"

    trusted = any(trusted_by.values())
    used = tuple(f for f in fetched if any(f.cert is c for c in path))

    if used and trusted:
        fetched_desc = "; ".join(f"{C.name_string(f.cert.subject)} from {f.url}" for f in used)
        findings.append(
            make_finding(
                codes.SERVER_CHAIN_INCOMPLETE,
                detail=(
                    "The server did not send the intermediate certificate. It was fetched from the "
                    "leaf's AIA URL and the path then verifies, so browsers that fetch or cache "
                    "intermediates work while other clients fail."
                ),
                evidence={
                    "fetched": fetched_desc,
                    "verifies_with_fetched": ", ".join(n for n, ok in trusted_by.items() if ok),
                    **_aia_clients(public_ca=bool(trusted_by.get(PUBLIC))),
                },
            )
        )
    elif not trusted:
        if self_signed_leaf:
            findings.append(
                make_finding(
                    codes.SERVER_SELF_SIGNED,
                    detail=f"{C.name_string(leaf.subject)} is signed by its own key and is in "
                    "none of the trust stores checked.",
                    evidence={
                        "subject": C.name_string(leaf.subject),
                        "sha256": C.fingerprint(leaf),
                    },
                )
            )
        elif missing:
            last = path[-1]
            aia, _ = C.aia_urls(last)
            ev = {"missing_issuer": missing, "last_certificate_sent": C.name_string(last.subject)}
            if aia:
                ev["aia_ca_issuers"] = ", ".join(aia)
                errs = fetch_errors or {}
                if any(u in errs for u in aia):
                    ev["aia_fetch"] = "; ".join(f"{u}: {errs[u]}" for u in aia if u in errs)
                detail = (
                    f"The issuer {missing} was not sent by the server and is in no trust store. "
                    "The certificate names where to fetch it (AIA), but the path still does not "
                    "verify, so either the intermediate is missing or its CA is unknown here."
                )
            else:
                ev["aia_ca_issuers"] = "(none in the certificate)"
                detail = (
                    f"The issuer {missing} was not sent by the server and is in no trust store; "
                    "the certificate has no AIA URL to fetch it from. Either the server omits an "
                    "intermediate, or the certificate comes from a CA unknown here."
                )
            findings.append(make_finding(codes.SERVER_CHAIN_INCOMPLETE, detail=detail, evidence=ev))
        else:
            root = path[-1]
            findings.append(
                make_finding(
                    codes.SERVER_UNTRUSTED_ROOT,
                    detail=f"The chain ends at {C.name_string(root.subject)}, which is in none of "
                    f"the trust stores checked ({', '.join(trusted_by) or 'none'}).",
                    evidence={
                        "root": C.name_string(root.subject),
                        "root_sha256": C.fingerprint(root),
                        "stores_checked": ", ".join(trusted_by),
                    },
                )
            )

    findings.extend(_date_findings(path, now))
    if host is not None:
        findings.extend(_hostname_findings(leaf, host, is_ip))
    findings.extend(_weak_findings(path))
    findings.extend(_order_findings(presented, path))
    return ChainAnalysis(
        presented=tuple(presented),
        path=tuple(path),
        anchored_in=tuple(anchored_in),
        trusted_by=trusted_by,
        verify_messages=messages,
        missing_issuer=missing,
        used_fetched=used,
        findings=tuple(findings),
    )


def chain_facts(analysis: ChainAnalysis) -> dict[str, object]:
    """JSON-ready facts: the chain as sent, the built path, and who trusts it."""
    presented_fps = {C.fingerprint(c) for c in analysis.presented}
    return {
        "chain": [C.summarize(c, i).to_dict() for i, c in enumerate(analysis.presented)],
        "path": [
            {
                "subject": C.name_string(c.subject),
                "sha256": C.fingerprint(c),
                "source": "sent" if C.fingerprint(c) in presented_fps else _source(analysis, c),
            }
            for c in analysis.path
        ],
        "trust": {
            name: {"trusted": ok, "message": analysis.verify_messages.get(name, "")}
            for name, ok in analysis.trusted_by.items()
        },
    }


def _source(analysis: ChainAnalysis, cert: x509.Certificate) -> str:
    for f in analysis.used_fetched:
        if f.cert is cert:
            return f"fetched (AIA {f.url})"
    return "trust store: " + (", ".join(analysis.anchored_in) or "?")
