"""Pure decisions that commands take on top of the chain analysis and the probe record.

``check`` turns an untrusted inspection root into the client's problem, warns when the OS store
and the public bundle disagree, and drops repeated findings; ``probe`` keeps only the findings
that say the handshake failed; ``demo`` compares the codes found with the ones a lab case
expects. No I/O here: every input is data.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import NamedTuple

from tlsdiag import codes
from tlsdiag.core import certs as C
from tlsdiag.core.chain import ChainAnalysis
from tlsdiag.core.findings import make_finding
from tlsdiag.facts.ids import RootSetId
from tlsdiag.model import Finding, ProbeResult, Severity

HOW_TO_DECIDE = (
    "To decide: get the root your IT department (or the proxy's admin) distributes and run "
    "`tlsdiag trust --ca ROOT.pem`: when that root signs this chain, this client only lacks it. "
    "Or compare with a machine where the site works (`tlsdiag issuer HOST` on both)."
)


class MissingIssuer(NamedTuple):
    """Who the issuer is that the server did not send and no store here holds.

    ``public`` is the evidence that it is a public CA (a public CA organisation in its name, an
    AIA URL on a public host); ``own_pki`` says a root trusted here carries the same organisation
    (the missing certificate is then an intermediate of a PKI this client already trusts).
    """

    name: str
    public: tuple[str, ...]
    own_pki: str = ""


def missing_issuer(
    analysis: ChainAnalysis, *, public_orgs: Iterable[str] = (), trusted_orgs: Iterable[str] = ()
) -> MissingIssuer | None:
    """The missing issuer of an untrusted chain and the evidence about its kind (None when the
    path is complete or trusted).

    Args:
        analysis: the chain analysis.
        public_orgs: organisations of the public roots (certifi), added to public_issuers.toml.
        trusted_orgs: organisations of private roots this client trusts (--cafile, OS store).
    """
    if not analysis.missing_issuer or analysis.trusted:
        return None
    from tlsdiag.core.issuer.signals import _claims_public, _org, public_aia

    last = analysis.path[-1]
    public: list[str] = []
    claimed = _claims_public(last.issuer, public_orgs)
    if claimed is not None:
        public.append(f"its organisation '{claimed}' is a public CA's")
    url = public_aia(analysis.path)
    if url:
        public.append(f"its AIA URL {url} is on a public host")
    own = {o.casefold() for o in trusted_orgs}
    own_pki = next((o for o in _org(last.issuer) if o.casefold() in own), "")
    return MissingIssuer(analysis.missing_issuer, tuple(public), own_pki)


def _client_root_finding(
    missing: MissingIssuer,
    *,
    inspected: bool,
    vendor: str | None,
    fix: Sequence[str],
    severity: Severity = Severity.ERROR,
    alternative: bool = False,
) -> Finding:
    if vendor:
        who, kind = f"{vendor}'s inspection root", ""
    elif inspected:
        who, kind = "the inspection root", ""
    else:
        who, kind = "a private root", ": an inspection root or an internal CA's"
    why = (
        f"The chain is signed by {missing.name}, which the server (or the inspecting proxy) does "
        f"not send and which is in no trust store of this client. It is {who}"
        + ("" if missing.public else " (no public CA name, no AIA URL to a public CA)")
        + kind
        + ". Inspecting proxies never send their root: each client must trust it."
    )
    steps = "; ".join(fix) if fix else "install the root in the operating system's trust store"
    return make_finding(
        codes.CLIENT_ROOT_NOT_TRUSTED,
        severity=severity,
        title=(
            f"Less likely: {missing.name} is a private root this client lacks"
            if alternative
            else f"This client does not trust {who} ({missing.name})"
        ),
        detail=why + (" " + HOW_TO_DECIDE if alternative or not vendor else ""),
        evidence={
            "missing_issuer": missing.name,
            "inspected": "yes" if inspected else "no",
            **({"vendor": vendor} if vendor else {}),
            "public_ca_evidence": "; ".join(missing.public) or "none",
        },
        remediation=(
            f"Install that root on this machine ({steps}), or run `tlsdiag trust --ca ROOT.pem` "
            "for every store on it; then check again."
        ),
    )


def _chain_incomplete_second(f: Finding) -> Finding:
    return Finding(
        code=f.code,
        severity=Severity.WARNING,
        title="Less likely: the server omits an intermediate certificate",
        detail=f.detail + " " + HOW_TO_DECIDE,
        evidence=f.evidence,
        remediation=f.remediation,
    )


def place_missing_issuer(
    findings: Sequence[Finding],
    missing: MissingIssuer | None,
    *,
    inspected: bool,
    vendor: str | None,
    fix: Sequence[str] = (),
) -> list[Finding]:
    """Decide on which side an issuer that nobody sent belongs (the flagship rule of ``check``).

    - a public CA (by name or AIA URL) and no vendor match: the server omits an intermediate
      (``server.chain_incomplete`` stays);
    - a vendor's inspection root, or a private CA (no public CA evidence) that is not an
      intermediate of a PKI this client trusts: ``client.root_not_trusted`` with this machine's
      fix commands; without a vendor match the server reading follows as a ranked warning;
    - a vendor match despite public-CA evidence: both as errors, client first;
    - an inspected chain whose only public evidence is an AIA URL on a public host: the server
      reading first, the client's as a ranked warning.

    Args:
        findings: the chain findings (with ``server.chain_incomplete`` for the missing issuer).
        missing: the evidence from :func:`missing_issuer` (None: nothing to decide).
        inspected: the interception verdict says the chain is inspected.
        vendor: the inspecting vendor the verdict named (or None).
        fix: the fix commands for this machine's OS store (as ``trust`` prints them).

    Returns:
        The findings with the missing issuer placed.
    """
    if missing is None:
        return list(findings)
    if missing.own_pki and not vendor:
        return list(findings)
    # a public CA name (or a public AIA host on a chain nobody calls inspected): the server's
    public_name = any(p.startswith("its organisation") for p in missing.public)
    if missing.public and not vendor and (public_name or not inspected):
        return list(findings)
    out: list[Finding] = []
    for f in findings:
        if f.code != codes.SERVER_CHAIN_INCOMPLETE or "missing_issuer" not in f.evidence:
            out.append(f)
            continue
        if missing.public and not vendor:
            # inspected, but the issuer has an AIA URL on a public host: the server first
            second = _client_root_finding(
                missing,
                inspected=inspected,
                vendor=None,
                fix=fix,
                severity=Severity.WARNING,
                alternative=True,
            )
            out.extend([replace(f, detail=f.detail + " " + HOW_TO_DECIDE), second])
            continue
        client = _client_root_finding(missing, inspected=inspected, vendor=vendor, fix=fix)
        if vendor and missing.public:
            out.extend([client, f])
        elif vendor:
            out.append(client)
        else:
            out.extend([client, _chain_incomplete_second(f)])
    return out


def reclassify_untrusted(
    findings: Sequence[Finding], inspected: bool, fix: Sequence[str] = ()
) -> list[Finding]:
    """An untrusted root that is an inspection root is the client's problem, not the server's.

    Args:
        findings: the chain findings.
        inspected: the interception verdict says the chain is inspected.
        fix: the fix commands for this machine's OS store (as ``trust`` prints them).

    Returns:
        The findings, with ``server.untrusted_root`` turned into ``client.root_not_trusted``
        when ``inspected``.
    """
    if not inspected:
        return list(findings)
    out = []
    for f in findings:
        if f.code == codes.SERVER_UNTRUSTED_ROOT:
            steps = "; ".join(fix) if fix else ""
            out.append(
                make_finding(
                    codes.CLIENT_ROOT_NOT_TRUSTED,
                    detail=f.detail + " It is an inspection root: this client does not trust it.",
                    evidence=f.evidence,
                    remediation=(
                        f"Install that root on this machine ({steps}), or run `tlsdiag trust "
                        "--ca ROOT.pem` for every store on it; then check again."
                        if steps
                        else None
                    ),
                )
            )
        else:
            out.append(f)
    return out


def store_mismatch_findings(analysis: ChainAnalysis, *, platform: str) -> list[Finding]:
    """The chain verifies against the OS store but not against the public (certifi) bundle:
    browsers work, tools with their own bundle fail (the list comes from the trust-store data).

    Args:
        analysis: the chain analysis (``trusted_by`` keyed by root-set name).
        platform: linux, macos, windows ... (names the failing tools).

    Returns:
        One ``client.store_mismatch`` warning, or nothing.
    """
    trusted = analysis.trusted_by
    if not trusted.get(RootSetId.OS) or trusted.get(RootSetId.PUBLIC, True):
        return []
    from tlsdiag.core.trust.store_gap import store_mismatch_finding  # (trust-store data: ~5 ms)

    root = analysis.path[-1]
    finding = store_mismatch_finding(
        root_in_os=True,
        root_in_certifi=False,
        root_subject=C.name_string(root.subject),
        platform=platform,
        severity=Severity.WARNING,
    )
    return [finding] if finding else []


def dedupe_findings(findings: Iterable[Finding]) -> list[Finding]:
    """The findings in order, each (code, title) once.

    Args:
        findings: findings from several checks, possibly repeated.

    Returns:
        The first of each (code, title).
    """
    seen: set[tuple[str, str]] = set()
    out = []
    for f in findings:
        key = (f.code, f.title)
        if key not in seen:
            seen.add(key)
            out.append(f)
    return out


def probe_findings(probe: ProbeResult, findings: Iterable[Finding]) -> tuple[Finding, ...]:
    """What ``probe`` reports: only whether the handshake worked (chain problems are check's).

    Args:
        probe: the probe record.
        findings: the findings of the check run on it.

    Returns:
        The error findings when the default handshake failed (even when the lenient legacy
        retry worked: modern clients fail there), else nothing.
    """
    failed = probe.handshake is None  # only the lenient retry worked: that is a failure too
    return tuple(f for f in findings if failed and f.severity is Severity.ERROR)


def error_codes(findings: Iterable[Finding]) -> tuple[str, ...]:
    """The distinct error-level codes, in order of first appearance.

    Args:
        findings: a report's findings.

    Returns:
        Each error code once.
    """
    return tuple(dict.fromkeys(f.code for f in findings if f.severity is Severity.ERROR))


EXPIRY_WARNING = timedelta(days=30)
RENEWAL_SHARE = 3  # renew in the last third of the lifetime (ACME clients do)


def relative_expiry(
    findings: Sequence[Finding], *, now: datetime, inspected: bool
) -> list[Finding]:
    """Scale the "expires soon" warning to the certificate's lifetime, and give a forged leaf's
    expiry to the inspection.

    A 47-day or a 30-day certificate always has fewer than 30 days left for most of its life:
    it is "expiring soon" only in the last third of its lifetime (at most 30 days). On an
    inspected connection the leaf is the proxy's forgery: renewing it is the proxy's job.

    Args:
        findings: the chain findings (``server.cert_expired`` warnings carry the dates).
        now: the time the chain is judged at.
        inspected: the interception verdict says the chain is inspected.

    Returns:
        The findings, without warnings that are premature, with the forged leaf's reworded.
    """
    out: list[Finding] = []
    for f in findings:
        if f.code != codes.SERVER_CERT_EXPIRED or f.severity is not Severity.WARNING:
            out.append(f)
            continue
        try:
            nb = _parse_utc(f.evidence["not_before"])
            na = _parse_utc(f.evidence["not_after"])
        except (KeyError, ValueError):
            out.append(f)
            continue
        lifetime = na - nb
        if na - now >= min(EXPIRY_WARNING, lifetime / RENEWAL_SHARE):
            continue
        leaf = f.evidence.get("certificate", "").startswith("leaf")
        if inspected and leaf:
            out.append(
                Finding(
                    code=f.code,
                    severity=f.severity,
                    title=f.title.replace("The leaf certificate", "The proxy's forged leaf"),
                    detail=f.detail.replace("; renew it before then.", ". ")
                    + "It is the inspecting proxy's certificate, not the server's: nothing to "
                    "renew on the server.",
                    evidence={**f.evidence, "lifetime_days": str(lifetime.days)},
                    remediation=(
                        "The proxy re-signs on its own schedule; if its forged certificates run "
                        "out, check the proxy's certificate cache and CA validity."
                    ),
                )
            )
        else:
            out.append(f)
    return out


def _parse_utc(text: str) -> datetime:
    return datetime.strptime(text[:19], "%Y-%m-%dT%H:%M:%S").replace(tzinfo=UTC)
