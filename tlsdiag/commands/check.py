"""``check`` end to end: probe, complete the chain from AIA, analyse, check revocation, report.

This orchestrates the edges (the probe, AIA and revocation fetches in ``tlsdiag.net``, the root
sets in ``tlsdiag.stores``) around the pure analysis in ``tlsdiag.core``; several targets run
concurrently in threads. ``probe``, ``issuer``, ``trust --from-host`` and ``demo`` reuse it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cache
from typing import TYPE_CHECKING, NamedTuple

from cryptography import x509

from tlsdiag import __version__, codes
from tlsdiag.core import certs as C
from tlsdiag.core import probe_facts as PF
from tlsdiag.core.chain import ChainAnalysis, FetchedIssuer, Roots, analyze_chain, chain_facts
from tlsdiag.core.diagnose import (
    clock_findings,
    failure_findings,
    handshake_findings,
    legacy_only_verdict,
)
from tlsdiag.core.proxy_block import block_page_findings
from tlsdiag.core.verdict import (
    dedupe_findings,
    missing_issuer,
    place_missing_issuer,
    reclassify_untrusted,
    relative_expiry,
    store_mismatch_findings,
)
from tlsdiag.facts.check import CheckFacts, InterceptionFacts, RevocationFacts
from tlsdiag.facts.ids import RootSetId
from tlsdiag.model import Finding, Handshake, ProbeResult, Report, Target, platform_name
from tlsdiag.net.probe import ProbeOptions, probe
from tlsdiag.stores.bundles import RootSet, os_roots, public_roots
from tlsdiag.stores.rootfacts import facts_of

if TYPE_CHECKING:
    from tlsdiag.core.trust.records import StoreReading


@dataclass(frozen=True, slots=True)
class CheckOptions:
    """Everything ``check`` needs besides the target."""

    probe: ProbeOptions = field(default_factory=ProbeOptions)
    cafile: RootSet | None = None
    revocation: bool = True
    browser_hello: bool = False  # also send a browser-sized ClientHello (check, demo, compare)
    aia: bool = True
    now: datetime | None = None  # tests pin the clock; None means the real clock
    platform: str = ""
    app: str | None = None
    expect_issuer: str | None = None
    expect_fingerprint: str | None = None
    command: str = "check"


class CheckOutcome(NamedTuple):
    """The probe record, the parsed chain, its analysis and the report."""

    probe: ProbeResult
    presented: tuple[x509.Certificate, ...]
    analysis: ChainAnalysis | None
    report: Report


def root_sets(cafile: RootSet | None) -> list[Roots]:
    """The root sets judged against: public (certifi), this machine's OS bundle, --cafile."""
    sets = [Roots(s.name, s.certs, facts_of(s).subject_keys) for s in (public_roots(), os_roots())]
    if cafile is not None:
        sets.append(Roots(cafile.name, cafile.certs))
    return [s for s in sets if s.certs]


def fetch_aia(
    presented: Sequence[x509.Certificate], analysis: ChainAnalysis, timeout: float
) -> tuple[list[FetchedIssuer], dict[str, str]]:
    """Fetch the issuers named by the AIA caIssuers URLs of the last certificate of the path.

    Returns:
        The certificates fetched, and an error per URL that failed.
    """
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
) -> tuple[list[Finding], list[RevocationFacts]]:
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
    # only a certificate that names a responder needs these (http.client, email: ~5 ms)
    from tlsdiag.core.revocation import revocation_findings
    from tlsdiag.net.revocation import check_revocation

    statuses = check_revocation(leaf, issuer, stapled=hs.ocsp_stapled, timeout=timeout, now=now)
    facts: list[RevocationFacts] = [
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


@cache
def _public_fingerprints() -> frozenset[str]:
    return frozenset(facts_of(public_roots()).fingerprints)


@cache
def _public_orgs() -> frozenset[str]:
    return frozenset(o for orgs in facts_of(public_roots()).orgs for o in orgs)


def _private_orgs(cafile: RootSet | None) -> frozenset[str]:
    """Organisations of the private roots this client trusts (--cafile, OS roots not in certifi)."""
    from tlsdiag.core.issuer.signals import _org

    public = _public_fingerprints()
    mine = cafile.certs if cafile else ()
    osf = facts_of(os_roots())
    return frozenset(
        [
            *(o for c in mine if C.fingerprint(c) not in public for o in _org(c.subject)),
            *(
                o
                for fp, orgs in zip(osf.fingerprints, osf.orgs, strict=True)
                if fp not in public
                for o in orgs
            ),
        ]
    )


@cache
def _os_store_readings() -> tuple[StoreReading, ...]:
    """This machine's OS trust stores, read once per process (``demo`` runs many checks)."""
    import os
    from pathlib import Path

    from tlsdiag.kb.trust import trust_stores
    from tlsdiag.stores.context import machine_context
    from tlsdiag.stores.engine import read_stores

    ctx = machine_context(os.environ, Path.home())
    return tuple(read_stores(ctx, [s for s in trust_stores() if s.provides_os]))


@cache
def os_fix_steps(root_subject: str) -> tuple[str, ...]:
    """The commands that install a root in this machine's OS store, as ``trust`` prints them."""
    from tlsdiag.core.trust.fixes import fix_variables, render_steps
    from tlsdiag.core.trust.roots import RootInfo

    variables = fix_variables(RootInfo(subject=root_subject.replace(", ", ",")))
    for r in _os_store_readings():
        if r.provides_os and r.present and r.fix:
            steps = render_steps(r.fix.steps, {**variables, **r.variables})
            return (f"save the root as {variables['ROOT_PEM']}", *steps)
    return ()


def _interception(
    host: str,
    presented: Sequence[x509.Certificate],
    analysis: ChainAnalysis,
    opts: CheckOptions,
    now: datetime,
) -> tuple[InterceptionFacts | None, list[Finding]]:
    from tlsdiag.commands.issuer import inspection_roots_here
    from tlsdiag.core.issuer.verdict import assess_interception

    verdict, findings = assess_interception(
        presented,
        analysis.path,
        host=host,
        now=now,
        public_root_fingerprints=_public_fingerprints(),
        public_orgs=_public_orgs(),
        trusted_by=analysis.trusted_by,
        platform=opts.platform or platform_name(),
        app=opts.app,
        expect_issuer=opts.expect_issuer,
        expect_fingerprint=opts.expect_fingerprint,
        configured_vendors=[vid for vid, _ in inspection_roots_here(opts.cafile)],
        public_roots=public_roots().certs,
    )
    return verdict.to_dict(), findings


def judge_chain(
    host: str,
    presented: Sequence[x509.Certificate],
    analysis: ChainAnalysis,
    opts: CheckOptions,
    now: datetime,
) -> tuple[InterceptionFacts | None, list[Finding]]:
    """The interception verdict, and the chain findings placed on their side: an untrusted or
    unsent root that is an inspection or private root is this client's (with the fix commands
    for this machine's OS store), a missing public intermediate stays the server's."""
    interception, issuer_findings = _interception(host, presented, analysis, opts, now)
    inspected = bool(interception and interception.get("inspected"))
    vendor = interception.get("vendor") if interception else None
    missing = missing_issuer(
        analysis, public_orgs=_public_orgs(), trusted_orgs=_private_orgs(opts.cafile)
    )
    root_name = missing.name if missing else C.name_string(analysis.path[-1].subject)
    fix = os_fix_steps(root_name) if not analysis.trusted else ()
    placed = place_missing_issuer(
        analysis.findings, missing, inspected=inspected, vendor=vendor, fix=fix
    )
    placed = relative_expiry(placed, now=now, inspected=inspected)
    return interception, [*reclassify_untrusted(placed, inspected, fix), *issuer_findings]


def pq_clients() -> list[str]:
    """The common clients that offer X25519MLKEM768 by default (``tls_client_profiles.toml``)."""
    from tlsdiag.kb.scan import client_profiles

    return [c.name for c in client_profiles() if "X25519MLKEM768" in c.groups]


def forced_options(opts: ProbeOptions) -> str:
    """The TLS options the user forced, as typed (``--tls1_2 --cipher X``); "" when none."""
    parts = []
    if opts.tls_version:
        parts.append("--tls" + opts.tls_version.removeprefix("TLSv").replace(".", "_"))
    if opts.ciphers:
        parts.append(f"--cipher {opts.ciphers}")
    return " ".join(parts)


def run_check(target: Target, opts: CheckOptions) -> CheckOutcome:
    """Probe ``target`` and build its report."""
    p = probe(target, opts.probe)
    now = opts.now or datetime.now(UTC)
    findings: list[Finding] = []
    forced = forced_options(opts.probe)
    browser_hello = None
    # Sent beside a completed handshake, and after a reset one: this machine's own ClientHello
    # is browser-sized too when its OpenSSL offers X25519MLKEM768 (3.5 and later).
    own_reset = p.failure is not None and p.failure.code == codes.NETWORK_RESET and p.address
    if (p.handshake is not None or own_reset) and not forced and opts.browser_hello:
        from tlsdiag.net import browser_hello as BH

        route = opts.probe.proxy if p.proxy else None  # p.address is then the name it asked
        browser_hello = BH.start(p.address, p.port, p.sni, opts.probe.timeout, route)
    base = failure_findings(p, forced=forced)
    if not forced and p.failure is not None:
        # a short scan names what the server speaks; not for options the user forced
        from tlsdiag.net.scan import check_findings

        base = check_findings(p, base, timeout=opts.probe.timeout, connect_to=opts.probe.connect_to)
    findings.extend(base)
    hs = PF.seen_handshake(p)
    facts: CheckFacts = {
        "endpoint": PF.endpoint_facts(target, p),
        "dns": PF.dns_facts(p),
        "connect": PF.connect_facts(p),
        "handshake": PF.handshake_facts(hs or p.failed_handshake),
    }
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
            fetched, errors = fetch_aia(presented, analysis, opts.probe.timeout)
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
        chain = chain_facts(analysis)
        facts["chain"], facts["path"], facts["trust"] = (
            chain["chain"],
            chain["path"],
            chain["trust"],
        )
        interception, chain_findings = judge_chain(host, presented, analysis, opts, now)
        facts["interception"] = interception
        findings.extend(chain_findings)
        if not opts.cafile or not analysis.trusted_by.get(RootSetId.CAFILE):
            findings.extend(store_mismatch_findings(analysis, platform=platform_name()))
        if opts.revocation and p.handshake is not None:
            rev_findings, rev_facts = _revocation(analysis, p.handshake, opts.probe.timeout, now)
            findings.extend(rev_findings)
            facts["revocation"] = rev_facts
    findings.extend(handshake_findings(p))
    findings.extend(block_page_findings(p))
    if browser_hello is not None:
        from tlsdiag.core.browser_hello import browser_hello_facts, browser_hello_findings

        bh = browser_hello()
        facts["browser_hello"] = browser_hello_facts(bh)
        inter = facts.get("interception")
        inspected = bool(inter and inter["inspected"])
        found = browser_hello_findings(bh, pq_clients, inspected=inspected, own=p.handshake)
        if found and p.handshake is None:  # it says why this check's handshake was reset
            findings = [f for f in findings if f.code != codes.NETWORK_RESET]
        findings.extend(found)
    findings = legacy_only_verdict(p, findings)
    if p.http is not None:
        facts["http"] = PF.http_facts(p)
        if opts.now is None:
            findings.extend(clock_findings(p.http.date, now, source=f"{target.host}'s Date header"))
    facts["timings_ms"] = PF.timing_facts(p)
    report = Report(
        command=opts.command,
        target=target.display,
        generated_at=now.strftime("%Y-%m-%dT%H:%M:%SZ"),
        facts=facts,
        findings=tuple(dedupe_findings(findings)),
        tool_version=__version__,
    )
    return CheckOutcome(p, presented, analysis, report)


def check_reports(outcomes: Sequence[CheckOutcome]) -> list[Report]:
    """The reports of ``run_checks``, each with this machine's block (for fleet reports)."""
    from tlsdiag.stores.machine import attach_machine

    return attach_machine([o.report for o in outcomes])


def checks_as_done(
    targets: Sequence[Target], opts: CheckOptions, *, concurrency: int = 8
) -> Iterator[tuple[int, CheckOutcome]]:
    """Check the targets on ``concurrency`` threads: ``(index, outcome)`` as each finishes.

    A check's exception is raised here, after the checks already running have ended."""
    if len(targets) == 1:
        yield 0, run_check(targets[0], opts)
        return
    from concurrent.futures import ThreadPoolExecutor, as_completed  # (logging: ~5 ms)

    with ThreadPoolExecutor(max_workers=max(1, concurrency)) as pool:
        futures = {pool.submit(run_check, t, opts): i for i, t in enumerate(targets)}
        for future in as_completed(futures):
            yield futures[future], future.result()


def run_checks(
    targets: Sequence[Target],
    opts: CheckOptions,
    *,
    concurrency: int = 8,
    on_done: Callable[[CheckOutcome], None] | None = None,
) -> list[CheckOutcome]:
    """Check several targets concurrently; results in the order of ``targets``.

    ``on_done`` is called in this thread as each check finishes (in completion order).
    """
    slots: list[CheckOutcome | None] = [None] * len(targets)
    for index, outcome in checks_as_done(targets, opts, concurrency=concurrency):
        slots[index] = outcome
        if on_done:
            on_done(outcome)
    return [o for o in slots if o is not None]
