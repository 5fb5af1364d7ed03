"""``trust`` end to end: choose the root(s), read every store, build the matrix and findings,
check the clock. Orchestrates the I/O of ``tlsdiag.stores`` (and the probe of ``check`` for
``--from-host``) around the pure logic of ``tlsdiag.core.trust``."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypedDict

from cryptography import x509

from tlsdiag import __version__
from tlsdiag.core.certs import is_self_signed
from tlsdiag.core.trust.clock import clock_check
from tlsdiag.core.trust.findings import duplicate_findings, matrix_findings
from tlsdiag.core.trust.fixes import DEFAULT_BUNDLE
from tlsdiag.core.trust.health import root_health_findings
from tlsdiag.core.trust.matrix import MatrixRow, build_matrix
from tlsdiag.core.trust.records import StoreCert, StoreReading
from tlsdiag.core.trust.roots import (
    PublicRoots,
    RootInfo,
    certs_by_subject,
    issuer_candidates,
    match_fingerprint,
    private_os_roots,
    root_info,
)
from tlsdiag.errors import InputError, UsageError
from tlsdiag.facts.trust import ClockFacts, PresentedFacts, SelectionFacts, TrustFacts
from tlsdiag.model import Finding, Report
from tlsdiag.stores.audit import public_roots_here, root_infos
from tlsdiag.stores.bundles import load_cafile
from tlsdiag.stores.clock import DateSample, fetch_date, local_zone
from tlsdiag.stores.context import StoreContext
from tlsdiag.stores.engine import read_stores


@dataclass(frozen=True, slots=True)
class TrustOptions:
    """What ``trust`` looks for and where."""

    ca: Path | None = None
    fingerprint: str | None = None
    name: str | None = None
    from_host: str | None = None
    time_host: str | None = None
    timeout: float = 5.0
    now: datetime | None = None  # tests pin the clock
    trust_env: bool = True  # proxies from the environment for the Date request
    bundle: str = DEFAULT_BUNDLE
    probe_options: Any = None  # tlsdiag.net.probe.ProbeOptions for --from-host (target options)
    cafile: Any = None  # tlsdiag.stores.bundles.RootSet: --cafile for --from-host


@dataclass(frozen=True, slots=True)
class _Selection:
    roots: list[RootInfo]
    mode: str
    value: str
    presented: tuple[x509.Certificate, ...] = ()
    namesakes: list[StoreCert] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)


class _Middle(TypedDict, total=False):
    """The optional facts between ``clock`` and ``stores`` (key order is the JSON's)."""

    presented: list[PresentedFacts]
    inspected: bool | None
    note: str


def validate(opts: TrustOptions) -> None:
    """Reject option combinations (exit 2) before any I/O."""
    chosen = [
        flag
        for flag, value in (
            ("--ca", opts.ca),
            ("--fingerprint", opts.fingerprint),
            ("--name", opts.name),
            ("--from-host", opts.from_host),
        )
        if value
    ]
    if len(chosen) > 1:
        raise UsageError(
            f"choose one of --ca, --fingerprint, --name, --from-host (got {', '.join(chosen)})"
        )
    if opts.fingerprint is not None and not re.fullmatch(
        r"[0-9a-fA-F]{64}", opts.fingerprint.replace(":", "").strip()
    ):
        raise UsageError(
            f"--fingerprint {opts.fingerprint!r}: expected a SHA-256 fingerprint (64 hex digits, "
            "colons allowed)"
        )
    if opts.name is not None and not opts.name.strip():
        raise UsageError("--name: the pattern is empty")


def _select(
    opts: TrustOptions, readings: Sequence[StoreReading], public: PublicRoots
) -> _Selection:
    if opts.ca is not None:
        certs = load_cafile(opts.ca, option="--ca").certs
        roots = [c for c in certs if is_self_signed(c)] or [certs[-1]]
        infos = [root_info(c, origin=f"--ca {opts.ca}", pem_path=str(opts.ca)) for c in roots]
        return _Selection(infos, "ca", str(opts.ca))
    if opts.fingerprint is not None:
        fp = opts.fingerprint.replace(":", "").strip().lower()
        found = match_fingerprint(readings, fp)
        if found:
            return _Selection(root_infos(found, readings), "fingerprint", fp)
        raise InputError(
            f"--fingerprint {fp}: no certificate matches in the trust stores of this machine; "
            "pass --ca FILE",
            hint="export the root from the inspecting proxy or a browser's certificate viewer "
            "and run `tlsdiag trust --ca FILE`, or take it from a site: `--from-host HOST`",
        )
    if opts.name is not None:
        found = certs_by_subject(readings, opts.name, public)
        if found:
            return _Selection(root_infos(found, readings), "name", opts.name)
        raise InputError(
            f"--name {opts.name!r}: no certificate matches in the trust stores of this machine; "
            "pass --ca FILE",
            hint="export the root from the inspecting proxy or a browser's certificate viewer "
            "and run `tlsdiag trust --ca FILE`, or take it from a site: `--from-host HOST`",
        )
    if opts.from_host is not None:
        return _select_from_host(opts, readings)
    found = private_os_roots(readings, public)
    return _Selection(root_infos(found, readings), "os-private", "")


def _select_from_host(opts: TrustOptions, readings: Sequence[StoreReading]) -> _Selection:
    from tlsdiag.commands.check import CheckOptions, run_check
    from tlsdiag.core.target import parse_target
    from tlsdiag.net.probe import ProbeOptions

    assert opts.from_host is not None
    try:
        target = parse_target(opts.from_host)
    except ValueError as exc:
        raise UsageError(f"--from-host: {exc}") from exc
    probe_opts = opts.probe_options or ProbeOptions(timeout=opts.timeout)
    outcome = run_check(
        target,
        CheckOptions(
            probe=probe_opts,
            cafile=opts.cafile,
            revocation=False,
            aia=False,
            now=opts.now,
            command="trust",
        ),
    )
    presented = tuple(outcome.presented)
    if not presented:
        failures = [f for f in outcome.report.findings if f.code.startswith("network.")]
        return _Selection(
            [], "from-host", target.display, findings=failures or list(outcome.report.findings)
        )
    top = presented[-1]
    if is_self_signed(top):
        return _Selection(
            [root_info(top, origin=f"sent by {target.display}")],
            "from-host",
            target.display,
            presented=presented,
        )
    signers, namesakes = issuer_candidates(top, readings)
    if not signers and outcome.analysis is not None and outcome.analysis.path:
        last = outcome.analysis.path[-1]
        if is_self_signed(last) and last is not top:
            return _Selection(
                [root_info(last, origin=f"root of {target.display}'s chain")],
                "from-host",
                target.display,
                presented=presented,
                namesakes=namesakes,
            )
    if signers:
        roots = root_infos(signers[:1], readings)
        return _Selection(
            roots, "from-host", target.display, presented=presented, namesakes=namesakes
        )
    root = RootInfo(
        subject=top.issuer.rfc4514_string(), origin=f"issuer of {target.display}'s chain"
    )
    return _Selection([root], "from-host", target.display, presented=presented, namesakes=namesakes)


def _connect_address(opts: TrustOptions, host: str, port: int) -> tuple[str, int] | None:
    """Where ``--connect-to``/``--resolve`` send host:port (None: no rule applies)."""
    probe = opts.probe_options
    if probe is None:
        return None
    moved = False
    for move in probe.connect_to:
        applied = move.apply(host, port)
        if applied is not None:
            (host, port), moved = applied, True
            break
    for rule in probe.resolve:
        if rule.matches(host, port):
            return str(rule.addresses[0]), int(port)
    return (host, port) if moved else None


def _clock(opts: TrustOptions, now: datetime) -> tuple[ClockFacts, list[Finding]]:
    host = opts.time_host or opts.from_host
    tz_name, offset = local_zone(now)
    if not host:
        hours, rem = divmod(abs(offset), 3600)
        sign = "+" if offset >= 0 else "-"
        return {
            "host": None,
            "local_utc": now.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "time_zone": tz_name,
            "utc_offset": f"{sign}{hours:02d}:{rem // 60:02d}",
            "server_date": None,
            "skew_seconds": None,
        }, []
    from tlsdiag.core.target import parse_target

    try:
        target = parse_target(host)
    except ValueError as exc:
        raise UsageError(f"--time-host: {exc}") from exc
    url = host if "://" in host else f"https://{target.display}/"
    host_header = None
    moved = _connect_address(opts, target.host, target.port)
    if moved is not None:  # --resolve/--connect-to apply to the Date request too: no DNS
        addr, port = moved
        shown = f"[{addr}]" if ":" in addr else addr
        url, host_header = f"https://{shown}:{port}{target.path}", target.display
    sample: DateSample = fetch_date(
        url, timeout=opts.timeout, trust_env=opts.trust_env, host_header=host_header
    )
    if sample.error or sample.local_utc is None:
        return {
            "host": target.display,
            "time_zone": tz_name,
            "local_utc": now.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "server_date": None,
            "skew_seconds": None,
            "error": sample.error,
        }, []
    facts, findings = clock_check(
        local_utc=sample.local_utc,
        server_date=sample.date,
        host=target.display,
        tz_name=tz_name,
        utc_offset_seconds=offset,
        round_trip_seconds=sample.round_trip,
    )
    return facts, findings


def run_trust_here(opts: TrustOptions) -> list[Report]:
    """``tlsdiag trust``: audit the stores of this machine (its environment, its home)."""
    import os

    from tlsdiag.stores.context import machine_context
    from tlsdiag.stores.machine import attach_machine

    return attach_machine(run_trust(machine_context(os.environ, Path.home()), opts))


def run_trust(ctx: StoreContext, opts: TrustOptions) -> list[Report]:
    """Audit every store for the chosen root(s): one report per root."""
    # Certificates cryptography warns about (negative serial numbers in distribution
    # bundles) are parsed quietly where they are read (stores.readers), not around this call.
    return _run_trust(ctx, opts)


def _run_trust(ctx: StoreContext, opts: TrustOptions) -> list[Report]:
    validate(opts)
    now = opts.now or datetime.now(UTC)
    readings = read_stores(ctx)
    public = public_roots_here(ctx, readings)
    selection = _select(opts, readings, public)
    clock_facts, clock_findings = _clock(opts, now)
    generated = now.strftime("%Y-%m-%dT%H:%M:%SZ")
    chosen: SelectionFacts = {"mode": selection.mode, "value": selection.value or None}
    sent: _Middle = {}  # the chain --from-host got, when it got one
    if selection.presented:
        sent["presented"] = [
            {"subject": c.subject.rfc4514_string(), "issuer": c.issuer.rfc4514_string()}
            for c in selection.presented
        ]
    if not selection.roots:
        rows = [
            MatrixRow(
                id=r.id,
                name=r.name,
                kind=r.kind,
                instance=r.instance,
                present=r.present,
                trusts_root=None,
                status="no-root" if r.present else "absent",
                location="",
                consumers=r.consumers,
                provides_os=r.provides_os,
                sources=r.sources_urls,
            )
            for r in readings
        ]
        facts: TrustFacts = {
            "root": None,
            "selection": chosen,
            "platform": ctx.platform,
            "clock": clock_facts,
            **sent,
            "stores": [row.to_dict() for row in rows],
        }
        facts["note"] = (
            "no private (non-public) root found in the OS store: this machine has no "
            "inspection root installed, or use --ca, --fingerprint, --name or --from-host"
            if selection.mode == "os-private"
            else "no certificate chain to take the root from"
        )
        return [
            Report(
                command="trust",
                target=selection.value or "this machine",
                generated_at=generated,
                facts=facts,
                findings=tuple(selection.findings + clock_findings),
                tool_version=__version__,
            )
        ]
    reports = []
    for i, root in enumerate(selection.roots):
        rows = build_matrix(root, readings, public, now, bundle=opts.bundle)
        findings: list[Finding] = list(selection.findings)
        findings += root_health_findings(
            root, now, presented=selection.presented, namesakes=selection.namesakes
        )
        findings += matrix_findings(root, rows)
        findings += duplicate_findings(root, readings)
        if i == 0:
            findings += clock_findings
        middle: _Middle = {
            **sent,
            "inspected": None if not selection.presented else not public.holds_root(root),
        }
        facts = {
            "root": root.to_dict(now),
            "selection": chosen,
            "platform": ctx.platform,
            "clock": clock_facts,
            **middle,
            "stores": [row.to_dict() for row in rows],
        }
        reports.append(
            Report(
                command="trust",
                target=selection.value or root.common_name,
                generated_at=generated,
                facts=facts,
                findings=tuple(findings),
                tool_version=__version__,
            )
        )
    return reports
