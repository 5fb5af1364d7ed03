"""``check`` end to end: probe, complete the chain from AIA, analyse, check revocation, report.

This orchestrates I/O (probe, AIA and revocation fetches) around the pure analysis in
``tlsdiag.core``; several targets run concurrently in threads.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cache
from typing import Any

from cryptography import x509

from tlsdiag import __version__, codes
from tlsdiag.core import certs as C
from tlsdiag.core.chain import ChainAnalysis, FetchedIssuer, Roots, analyze_chain, chain_facts
from tlsdiag.core.diagnose import clock_findings, failure_findings, handshake_findings
from tlsdiag.core.findings import make_finding
from tlsdiag.model import Finding, Handshake, ProbeResult, Report, Severity, Target
from tlsdiag.net.probe import ProbeOptions, probe
from tlsdiag.net.scan import check_findings
from tlsdiag.stores.bundles import RootSet, os_roots, public_roots


@dataclass(frozen=True, slots=True)
class CheckOptions:
    """Everything ``check`` needs besides the target."""

    probe: ProbeOptions = field(default_factory=ProbeOptions)
    cafile: RootSet | None = None
    revocation: bool = True
    aia: bool = True
    now: datetime | None = None  # tests pin the clock; None means the real clock
    platform: str = ""
    app: str | None = None
    expect_issuer: str | None = None
    expect_fingerprint: str | None = None
    command: str = "check"


@dataclass(frozen=True, slots=True)
class CheckOutcome:
    """The probe record, the parsed chain, its analysis and the report."""

    probe: ProbeResult
    presented: tuple[x509.Certificate, ...]
    analysis: ChainAnalysis | None
    report: Report


def current_platform() -> str:
    """The OS this runs on: linux, macos, windows (or Python's own name for others)."""
    plat = str(sys.platform)  # a plain str: mypy would prune the other branches per platform
    if plat.startswith("linux"):
        return "linux"
    if plat == "darwin":
        return "macos"
    return "windows" if plat.startswith("win") else plat


def root_sets(cafile: RootSet | None) -> list[Roots]:
    """The root sets judged against: public (certifi), this machine's OS bundle, --cafile."""
    sets = [public_roots(), os_roots()]
    if cafile is not None:
        sets.append(cafile)
    return [Roots(s.name, s.certs) for s in sets if s.certs]


def _seen_handshake(p: ProbeResult) -> Handshake | None:
    return p.handshake or p.legacy


def _fetch_aia(
    presented: Sequence[x509.Certificate], analysis: ChainAnalysis, timeout: float
) -> tuple[list[FetchedIssuer], dict[str, str]]:
    from tlsdiag.net.aia import fetch_many

    last = analysis.path[-1] if analysis.path else presented[0]
    urls, _ = C.aia_urls(last)
    urls = tuple(u for u in urls if u.startswith(("http://", "https://")))
    if not urls:
        return [], {}
    fetched: list[FetchedIssuer] = []
    errors: dict[str, str] = {}
    for result in fetch_many(list(urls), timeout=timeout):
        if result.error:
            errors[result.url] = result.error
        fetched.extend(FetchedIssuer(result.url, c) for c in result.certs)
    return fetched, errors


def _revocation(
    analysis: ChainAnalysis, hs: Handshake, timeout: float, now: datetime
) -> tuple[list[Finding], list[dict[str, str]]]:
    from tlsdiag.core.revocation import revocation_findings
    from tlsdiag.net.revocation import check_revocation

    if len(analysis.path) < 2:
        return [], []
    leaf, issuer = analysis.path[0], analysis.path[1]
    ocsp_urls = C.aia_urls(leaf)[1]
    if not hs.ocsp_stapled and not ocsp_urls and not C.crl_urls(leaf):
        return [], [
            {
                "status": "not checked",
                "source": "",
                "detail": "the certificate names no OCSP responder or CRL",
            }
        ]
    statuses = check_revocation(leaf, issuer, stapled=hs.ocsp_stapled, timeout=timeout, now=now)
    facts = [
        {
            "status": s.status,
            "source": s.source,
            "reason": s.reason,
            "revoked_at": s.revoked_at,
            "detail": s.detail,
        }
        for s in statuses
    ]
    return revocation_findings(statuses, subject=C.name_string(leaf.subject)), facts


def _store_mismatch(analysis: ChainAnalysis) -> list[Finding]:
    """The chain verifies against the OS store but not against the public (certifi) bundle:
    browsers work, tools with their own bundle fail (the list comes from the trust-store data)."""
    from tlsdiag.core.trust import store_mismatch_finding

    trusted = analysis.trusted_by
    if not trusted.get("os") or trusted.get("public (certifi)", True):
        return []
    root = analysis.path[-1]
    finding = store_mismatch_finding(
        root_in_os=True,
        root_in_certifi=False,
        root_subject=C.name_string(root.subject),
        platform=current_platform(),
        severity=Severity.WARNING,
    )
    return [finding] if finding else []


@cache
def _public_fingerprints() -> frozenset[str]:
    return frozenset(C.fingerprint(c) for c in public_roots().certs)


def _interception(
    host: str,
    presented: Sequence[x509.Certificate],
    analysis: ChainAnalysis,
    opts: CheckOptions,
    now: datetime,
) -> tuple[dict[str, Any] | None, list[Finding]]:
    from tlsdiag.core.issuer import assess_interception
    from tlsdiag.net.issuer import inspection_roots_here

    verdict, findings = assess_interception(
        presented,
        analysis.path,
        host=host,
        now=now,
        public_root_fingerprints=_public_fingerprints(),
        trusted_by=analysis.trusted_by,
        platform=opts.platform or current_platform(),
        app=opts.app,
        expect_issuer=opts.expect_issuer,
        expect_fingerprint=opts.expect_fingerprint,
        configured_vendors=[vid for vid, _ in inspection_roots_here(opts.cafile)],
        public_roots=public_roots().certs,
    )
    return verdict.to_dict(), findings


def _reclassify_untrusted(findings: list[Finding], inspected: bool) -> list[Finding]:
    """An untrusted root that is an inspection root is the client's problem, not the server's."""
    if not inspected:
        return findings
    out = []
    for f in findings:
        if f.code == codes.SERVER_UNTRUSTED_ROOT:
            out.append(
                make_finding(
                    codes.CLIENT_ROOT_NOT_TRUSTED,
                    detail=f.detail + " It is an inspection root: this client does not trust it.",
                    evidence=f.evidence,
                )
            )
        else:
            out.append(f)
    return out


def run_check(target: Target, opts: CheckOptions) -> CheckOutcome:
    """Probe ``target`` and build its report."""
    p = probe(target, opts.probe)
    now = opts.now or datetime.now(UTC)
    findings: list[Finding] = []
    facts: dict[str, Any] = {"endpoint": _target_facts(target, p), "dns": _dns_facts(p)}
    facts["connect"] = [
        {
            "address": a.address,
            "outcome": a.outcome,
            "message": a.message,
            "ms": round(a.seconds * 1000, 1),
        }
        for a in p.connects
    ]
    findings.extend(
        check_findings(
            p, failure_findings(p), timeout=opts.probe.timeout, connect_to=opts.probe.connect_to
        )
    )
    hs = _seen_handshake(p)
    facts["handshake"] = _handshake_facts(hs or p.failed_handshake)
    presented: tuple[x509.Certificate, ...] = ()
    analysis: ChainAnalysis | None = None
    if hs is not None and hs.chain_der:
        presented = tuple(C.load_der_chain(hs.chain_der))
        sets = root_sets(opts.cafile)
        host = p.sni or target.host
        analysis = analyze_chain(
            presented, host=host, is_ip=target.is_ip and not p.sni, now=now, root_sets=sets
        )
        if analysis.missing_issuer and opts.aia:
            fetched, errors = _fetch_aia(presented, analysis, opts.probe.timeout)
            if fetched or errors:
                analysis = analyze_chain(
                    presented,
                    host=host,
                    is_ip=target.is_ip and not p.sni,
                    now=now,
                    root_sets=sets,
                    fetched=fetched,
                    fetch_errors=errors,
                )
        facts.update(chain_facts(analysis))
        interception, issuer_findings = _interception(host, presented, analysis, opts, now)
        facts["interception"] = interception
        inspected = bool(interception and interception.get("inspected"))
        findings.extend(_reclassify_untrusted(list(analysis.findings), inspected))
        findings.extend(issuer_findings)
        if not opts.cafile or not analysis.trusted_by.get("--cafile"):
            findings.extend(_store_mismatch(analysis))
        if opts.revocation and p.handshake is not None:
            rev_findings, rev_facts = _revocation(analysis, p.handshake, opts.probe.timeout, now)
            findings.extend(rev_findings)
            facts["revocation"] = rev_facts
    findings.extend(handshake_findings(p))
    if p.http is not None:
        facts["http"] = {
            "status": p.http.status,
            "reason": p.http.reason,
            "date": p.http.date,
            "server": p.http.server,
            "error": p.http.error,
        }
        if opts.now is None:
            findings.extend(clock_findings(p.http.date, now, source=f"{target.host}'s Date header"))
    facts["timings_ms"] = {
        "dns": round(p.dns.seconds * 1000, 1),
        "connect": round(sum(a.seconds for a in p.connects) * 1000, 1),
        "handshake": round((hs.seconds if hs else 0.0) * 1000, 1),
    }
    report = Report(
        command=opts.command,
        target=target.display,
        generated_at=now.strftime("%Y-%m-%dT%H:%M:%SZ"),
        facts=facts,
        findings=tuple(_dedupe(findings)),
        tool_version=__version__,
    )
    return CheckOutcome(p, presented, analysis, report)


def _dedupe(findings: list[Finding]) -> list[Finding]:
    seen: set[tuple[str, str]] = set()
    out = []
    for f in findings:
        key = (f.code, f.title)
        if key not in seen:
            seen.add(key)
            out.append(f)
    return out


def run_checks(
    targets: Sequence[Target],
    opts: CheckOptions,
    *,
    concurrency: int = 8,
    on_done: Callable[[CheckOutcome], None] | None = None,
) -> list[CheckOutcome]:
    """Check several targets concurrently; results in the order of ``targets``."""
    if len(targets) == 1:
        out = [run_check(targets[0], opts)]
    else:
        with ThreadPoolExecutor(max_workers=max(1, concurrency)) as pool:
            out = list(pool.map(lambda t: run_check(t, opts), targets))
    if on_done:
        for o in out:
            on_done(o)
    return out


def _target_facts(target: Target, p: ProbeResult) -> dict[str, Any]:
    return {
        "input": target.raw,
        "host": target.host,
        "unicode_host": target.unicode_host,
        "port": target.port,
        "path": target.path,
        "sni": p.sni,
        "address": p.address,
    }


def _dns_facts(p: ProbeResult) -> dict[str, Any]:
    d = p.dns
    return {
        "name": d.name,
        "addresses": list(d.addresses),
        "cname_chain": list(d.cname_chain),
        "source": d.source,
        "error": d.error,
    }


def _handshake_facts(hs: Handshake | None) -> dict[str, Any] | None:
    if hs is None:
        return None
    return {
        "version": hs.version,
        "cipher": hs.cipher,
        "cipher_bits": hs.cipher_bits,
        "alpn": hs.alpn,
        "sni": hs.sni,
        "settings": hs.settings,
        "client_certificate_requested": hs.cert_request is not None,
        "client_ca_names": list(hs.cert_request.ca_names) if hs.cert_request else [],
        "alerts_received": list(hs.alerts_received),
        "alerts_sent": list(hs.alerts_sent),
        "dh_bits": hs.dh_bits,
        "ocsp_stapled": bool(hs.ocsp_stapled),
        "certificates_sent": len(hs.chain_der),
    }


def run_chain(
    certs: Sequence[x509.Certificate],
    *,
    host: str | None,
    cafile: RootSet | None,
    aia: bool = True,
    timeout: float = 5.0,
    now: datetime | None = None,
    source: str = "",
) -> Report:
    """The chain analysis of ``check`` on certificates from a file (``tlsdiag chain``)."""
    from tlsdiag.core.target import normalize_host

    when = now or datetime.now(UTC)
    is_ip = False
    if host is not None:
        host, _, is_ip = normalize_host(host, f"--host {host}")
    sets = root_sets(cafile)
    analysis = analyze_chain(certs, host=host, is_ip=is_ip, now=when, root_sets=sets)
    if analysis.missing_issuer and aia:
        fetched, errors = _fetch_aia(certs, analysis, timeout)
        if fetched or errors:
            analysis = analyze_chain(
                certs,
                host=host,
                is_ip=is_ip,
                now=when,
                root_sets=sets,
                fetched=fetched,
                fetch_errors=errors,
            )
    facts: dict[str, Any] = {"source": source, "host": host}
    facts.update(chain_facts(analysis))
    findings = list(analysis.findings)
    if not cafile or not analysis.trusted_by.get("--cafile"):
        findings.extend(_store_mismatch(analysis))
    return Report(
        command="chain",
        target=source,
        generated_at=when.strftime("%Y-%m-%dT%H:%M:%SZ"),
        facts=facts,
        findings=tuple(_dedupe(findings)),
        tool_version=__version__,
    )
