"""``compare`` end to end: the check bypassed and inspected, concurrently, then the verdict.

The inspecting path is the embedded proxy (``commands/compare_path.py``), the organisation's
explicit proxy (``--via URL``, ``-x`` or ``HTTPS_PROXY``), or, for two saved ``check --json``
reports, whatever path each was taken on. ``--run`` (an application's own A/B) is in
``commands/compare_run.py``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from tlsdiag import __version__
from tlsdiag.commands.check import CheckOptions, run_check
from tlsdiag.core.certfile import parse_certificates
from tlsdiag.core.compare import PathContext, Verdict, comparison_rows, decide, tls_inspection
from tlsdiag.core.findings import make_finding
from tlsdiag.errors import InputError
from tlsdiag.facts.compare import CompareFacts
from tlsdiag.facts.ids import RootSetId
from tlsdiag.model import Finding, Report, Severity, Target
from tlsdiag.net.tunnel import ProxyRoute
from tlsdiag.proxy.policy import Policy
from tlsdiag.stores.bundles import RootSet


@dataclass(frozen=True, slots=True)
class CompareOptions:
    """The check options (both paths) and how to reach the inspecting path."""

    check: CheckOptions
    via: ProxyRoute | None = None  # None: the embedded proxy
    proxy_ca: Path | None = None  # the organisation's inspection root (PEM)
    policy: Policy | None = None  # the embedded proxy's policy (None: the built-in one)
    cafile_paths: tuple[Path, ...] = ()  # --cafile, also trusted upstream by the embedded proxy


def _with_roots(opts: CheckOptions, extra: tuple[Any, ...], source: str) -> CheckOptions:
    base = opts.cafile.certs if opts.cafile is not None else ()
    cafile = RootSet(RootSetId.CAFILE, source, (*base, *extra))
    return replace(opts, cafile=cafile)


def _pair(target: Target, bypassed: CheckOptions, inspected: CheckOptions) -> tuple[Report, Report]:
    with ThreadPoolExecutor(max_workers=2) as pool:
        b = pool.submit(run_check, target, bypassed)
        i = pool.submit(run_check, target, inspected)
        return b.result().report, i.result().report


def run_compare(target: Target, opts: CompareOptions) -> Report:
    """Check ``target`` bypassed and through the inspecting path, and judge the difference."""
    now = opts.check.now or datetime.now(UTC)
    direct = replace(opts.check, probe=replace(opts.check.probe, proxy=None))
    extra: tuple[Any, ...] = ()
    if opts.proxy_ca is not None:  # read even when the embedded proxy makes it unused: never
        from tlsdiag.stores.userfile import Kind, read_file  # ignore a bad file silently

        data, _ = read_file(opts.proxy_ca, Kind.PEM, what=f"--proxy-ca {opts.proxy_ca}")
        extra = tuple(parse_certificates(data, what=f"--proxy-ca {opts.proxy_ca}"))
        if not extra:
            raise InputError(f"--proxy-ca {opts.proxy_ca}: no certificate found")
    if opts.via is not None:
        inspected = replace(opts.check, probe=replace(opts.check.probe, proxy=opts.via))
        if extra:
            inspected = _with_roots(inspected, extra, str(opts.proxy_ca))
        b, i = _pair(target, direct, inspected)
        ctx = PathContext("proxy", proxy=opts.via.describe())
        return compare_reports(b.to_dict(), i.to_dict(), ctx, target=target, now=now)
    from tlsdiag.commands.compare_path import embedded_proxy, event_for
    from tlsdiag.proxy.policy import default_policy

    policy = opts.policy or default_policy()
    with embedded_proxy(
        policy=policy,
        now=now,
        cafiles=opts.cafile_paths,
        resolve=opts.check.probe.resolve,
        timeout=opts.check.probe.timeout,
    ) as path:
        # No browser-sized hello through the embedded proxy: its own event for the host is
        # what the verdict reads, and it reads every ClientHello whole anyway.
        inspected = replace(
            opts.check, browser_hello=False, probe=replace(opts.check.probe, proxy=path.route)
        )
        inspected = _with_roots(inspected, (path.ca_cert,), "--cafile + the throwaway proxy CA")
        b, i = _pair(target, direct, inspected)
        events = path.snapshot()
    ev = event_for(events, target.host)
    ctx = PathContext(
        "embedded",
        proxy=f"{path.route.describe()}: the embedded proxy",
        action=ev.action if ev else "",
        finding=ev.finding if ev else "",
        detail=ev.detail if ev else "",
        rule=ev.rule if ev else "",
        policy=path.policy_facts(),
    )
    return compare_reports(b.to_dict(), i.to_dict(), ctx, target=target, now=now)


def compare_reports(
    bypassed: Mapping[str, Any],
    inspected: Mapping[str, Any],
    ctx: PathContext,
    *,
    target: Target,
    now: datetime,
    labels: tuple[str, str] = ("bypassed", "inspected"),
) -> Report:
    """The compare report from the two paths' check reports (dicts)."""
    rows = comparison_rows(bypassed, inspected)
    verdict = decide(bypassed, inspected, ctx, host=target.host, port=target.port)
    facts: CompareFacts = {
        "inspecting_path": {
            "kind": ctx.kind,
            "description": ctx.proxy,
            "event": {
                "action": ctx.action,
                "finding": ctx.finding,
                "detail": ctx.detail,
                "rule": ctx.rule,
            }
            if ctx.action
            else None,
            "policy": dict(ctx.policy) or None,
        },
        "labels": list(labels),
        "rows": [
            {
                "label": r.label,
                "bypassed": r.bypassed,
                "inspected": r.inspected,
                "differs": r.differs,
            }
            for r in rows
        ],
        "differences": [r.label for r in rows if r.differs],
        "verdict": verdict.to_dict(),
        "bypassed": dict(bypassed),
        "inspected": dict(inspected),
    }
    return Report(
        command="compare",
        target=target.display,
        generated_at=now.strftime("%Y-%m-%dT%H:%M:%SZ"),
        facts=facts,
        findings=tuple(verdict_findings(verdict, bypassed, inspected)),
        tool_version=__version__,
    )


def verdict_findings(
    verdict: Verdict, bypassed: Mapping[str, Any], inspected: Mapping[str, Any]
) -> list[Finding]:
    """The verdict as one error finding (none when both paths work and agree)."""
    if verdict.origin == "none" or not verdict.code:
        return []
    return [
        make_finding(
            verdict.code,
            severity=Severity.ERROR,
            detail=verdict.summary,
            evidence={
                "origin": verdict.origin,
                "bypassed tls_inspection": str(tls_inspection(bypassed)),
                "inspected tls_inspection": str(tls_inspection(inspected)),
            },
            remediation=verdict.recommendation,
        )
    ]


def _load_report(path: Path) -> dict[str, Any]:
    from tlsdiag.stores.userfile import Kind, read_file

    data, _ = read_file(path, Kind.RESULTS, what=str(path))
    try:
        doc = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputError(f"{path}: not a JSON report: {exc}") from exc
    if isinstance(doc, list) and len(doc) == 1:
        doc = doc[0]
    if not isinstance(doc, dict) or doc.get("command") != "check" or "endpoint" not in doc:
        raise InputError(
            f"{path}: not a saved `tlsdiag check --json` report of one host",
            hint="save each side with: tlsdiag check HOST --json --output FILE",
        )
    return doc


def compare_saved(before: Path, after: Path, *, now: datetime | None = None) -> Report:
    """``compare BEFORE.json AFTER.json``: two saved check reports of the same host."""
    from tlsdiag.core.target import parse_target

    a, b = _load_report(before), _load_report(after)
    ha, hb = a["endpoint"].get("host", ""), b["endpoint"].get("host", "")
    if ha != hb:
        raise InputError(f"{before} is about {ha}, {after} about {hb}: compare one host")
    first, second = (a, str(before)), (b, str(after))
    if tls_inspection(a) and not tls_inspection(b):
        first, second = second, first  # the bypassed one goes left
    bypassed, inspected = first[0], second[0]
    both = tls_inspection(a) == tls_inspection(b)
    desc = (
        f"{second[1]} was inspected (tls_inspection 1), {first[1]} was not (tls_inspection 0)"
        if not both
        else f"both reports say tls_inspection {tls_inspection(a)}: compared in the order given"
    )
    raw = str(a["endpoint"].get("input") or ha)
    target = parse_target(raw)
    return compare_reports(
        bypassed,
        inspected,
        PathContext("reports", proxy=desc),
        target=target,
        now=now or datetime.now(UTC),
        labels=(f"bypassed ({first[1]})", f"inspected ({second[1]})"),
    )
