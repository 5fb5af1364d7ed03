"""Chain analysis: build the path, ask each root set whether it trusts it, explain failures.

Pure: certificates, root sets and ``now`` in; an analysis with findings out. Codes come from
structured checks (dates, SAN match, self-signed, missing issuer, weak signature/key); the
verifier's message is evidence only.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import NamedTuple

from cryptography import x509

from tlsdiag import codes
from tlsdiag.core import certs as C
from tlsdiag.core.certrules import extension_problems, path_rule_findings, weak_findings
from tlsdiag.core.findings import make_finding
from tlsdiag.core.hostname import match_hostname
from tlsdiag.core.verify import verify_path
from tlsdiag.facts.check import ChainFacts
from tlsdiag.facts.ids import RootSetId
from tlsdiag.model import Finding, Severity

EXPIRY_WARNING_DAYS = 30
MAX_DEPTH = 10


class Roots(NamedTuple):
    """A named set of trust anchors (what ``stores.bundles.RootSet`` provides)."""

    name: RootSetId
    certs: tuple[x509.Certificate, ...]
    subject_keys: tuple[str, ...] = ()  # certs.name_key of each subject, when cached (or empty)


class FetchedIssuer(NamedTuple):
    """An issuer certificate fetched from an AIA caIssuers URL."""

    url: str
    cert: x509.Certificate


class ChainAnalysis(NamedTuple):
    """The result of analysing a presented chain."""

    presented: tuple[x509.Certificate, ...]
    path: tuple[x509.Certificate, ...]  # leaf first; ends at a root when one was found
    anchored_in: tuple[RootSetId, ...]  # root sets whose anchor ends the path
    trusted_by: Mapping[RootSetId, bool]  # root set -> verifies (dates aside)
    verify_messages: Mapping[RootSetId, str]
    missing_issuer: str  # the issuer name that could not be found ("" when none)
    used_fetched: tuple[FetchedIssuer, ...] = ()
    findings: tuple[Finding, ...] = ()
    untrusted: tuple[x509.Certificate, ...] = ()  # --untrusted intermediates (not sent)
    name_checked: bool = True  # False when no host was given (the name check is not done)

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
) -> tuple[list[x509.Certificate], list[RootSetId], str]:
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
        anchored = [
            (rs.name, r) for rs in root_sets for r in C.signers_in(cur, rs.certs, rs.subject_keys)
        ]
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
    # certificates count in whole seconds and notAfter is inclusive (RFC 5280 §4.1.2.5):
    # compare at that precision, so 12:00:00.4 is still inside a notAfter of 12:00:00
    now = now.replace(microsecond=0)
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
    elif secs >= 60:
        text = f"{secs // 60} minutes"
    else:
        text = f"{secs} seconds"
    return text if future else f"{text} ago"


def _usable_names_findings(leaf: x509.Certificate) -> list[Finding]:
    """Without --host: a leaf whose subjectAltName names no host modern clients match."""
    dns, ips = C.san_names(leaf)
    usable = [n for n in dns if "*" not in n or (n.startswith("*.") and "*" not in n[1:])]
    if usable or ips:
        return []
    cn = C.common_name(leaf.subject)
    what = (
        f"only partial wildcards ({', '.join(dns)})"
        if dns
        else "no DNS name or IP address"
        if C.has_san(leaf)
        else "no subjectAltName (CN only)"
    )
    return [
        make_finding(
            codes.SERVER_HOSTNAME_MISMATCH,
            title=f"The certificate names no host clients accept: {what}",
            detail=(
                "Browsers, Python, Go and OpenSSL-based clients match only DNS names and IP "
                "addresses in the subjectAltName (a wildcard only as the whole left-most label), "
                "so this certificate is valid for no host name."
            ),
            evidence={"common_name": cn or "(none)", "san": ", ".join(dns) or "(none)"},
        )
    ]


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
    untrusted: Sequence[x509.Certificate] = (),
) -> ChainAnalysis:
    """Analyse a chain as the server sent it.

    Args:
        presented: certificates in the order sent, leaf first (must not be empty).
        host: the requested name (None: the path is validated with the server policy and the
            name check is not done, as ``chain`` without --host).
        is_ip: ``host`` is an IP literal.
        now: the time to judge validity at.
        root_sets: the trust anchors to judge against (public, os, --cafile ...).
        fetched: issuers fetched from AIA URLs (used to complete the path and explain it).
        fetch_errors: AIA URL -> why it could not be fetched.
        untrusted: intermediates the server did not send (``--untrusted``), usable for the path.

    Returns:
        The analysis with its findings.
    """
    if not presented:
        raise ValueError("analyze_chain needs at least one certificate")
    leaf = presented[0]
    fetched_certs = [f.cert for f in fetched]
    intermediates = [*presented[1:], *untrusted, *fetched_certs]
    path, anchored_in, missing = build_path(leaf, intermediates, root_sets)
    findings: list[Finding] = []

    # Trust is judged apart from the name and the dates (they get structured findings); the
    # path itself is validated with the server policy, and the structured rules name why a
    # refused path is refused.
    vtime = _verify_time(path, now)
    rules = path_rule_findings(path)
    rule_errors = any(f.severity is Severity.ERROR for f in rules)
    weak_in_path = any(C.signature_hash(c) in ("sha1", "md5") for c in path[:-1])
    dates_refused = any(not C.not_before(c) <= vtime <= C.not_after(c) for c in path)
    self_signed_leaf = C.is_self_signed(leaf)
    trusted_by: dict[RootSetId, bool] = {}
    messages: dict[RootSetId, str] = {}
    for rs in root_sets:
        if self_signed_leaf and any(C.fingerprint(r) == C.fingerprint(leaf) for r in rs.certs):
            trusted_by[rs.name] = True  # trusted explicitly, as curl --cacert does
            messages[rs.name] = "the certificate itself is in this store"
            continue
        outcome = verify_path(leaf, intermediates, rs.certs, now=vtime)
        explained = (weak_in_path or dates_refused) and not rule_errors
        if not outcome.ok and explained and rs.name in anchored_in:
            # the verifier refuses SHA-1/MD5 and disjoint validity outright; the anchor is
            # still this store's, and the weak signature or the dates get their own findings
            trusted_by[rs.name] = True
            messages[rs.name] = f"anchored here; the verifier refuses it: {outcome.message}"
        else:
            trusted_by[rs.name] = outcome.ok
            messages[rs.name] = outcome.message

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
                    **_aia_clients(public_ca=bool(trusted_by.get(RootSetId.PUBLIC))),
                },
            )
        )
    elif not trusted:
        if anchored_in and not self_signed_leaf:
            if not rule_errors and not weak_findings(path):  # a reason no check names
                findings.append(_refused_finding(path, anchored_in, messages))
        elif self_signed_leaf:
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

    findings.extend(rules)
    findings.extend(_date_findings(path, now))
    if extension_problems(leaf):
        pass  # the malformed finding says its names cannot be read
    elif host is not None:
        findings.extend(_hostname_findings(leaf, host, is_ip))
    else:
        findings.extend(_usable_names_findings(leaf))
    findings.extend(weak_findings(path))
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
        untrusted=tuple(untrusted),
        name_checked=host is not None,
    )


def _refused_finding(
    path: Sequence[x509.Certificate],
    anchored_in: Sequence[RootSetId],
    messages: Mapping[RootSetId, str],
) -> Finding:
    root = path[-1]
    return make_finding(
        codes.SERVER_CHAIN_INVALID,
        detail=(
            f"The path ends at {C.name_string(root.subject)}, which {', '.join(anchored_in)} "
            "holds, but the server-policy verifier refuses it (see the verifier's message)."
        ),
        evidence={
            "root": C.name_string(root.subject),
            "verifier": "; ".join(f"{n}: {messages.get(n, '')}" for n in anchored_in),
        },
    )


def chain_facts(analysis: ChainAnalysis) -> ChainFacts:
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
    if any(u is cert for u in analysis.untrusted):
        return "--untrusted"
    for f in analysis.used_fetched:
        if f.cert is cert:
            return f"fetched (AIA {f.url})"
    return "trust store: " + (", ".join(analysis.anchored_in) or "?")
