"""``har`` end to end: stream and redact the HAR (``tlsdiag.stores.harfile``), count what the page
used (``tlsdiag.core.har``), optionally check every HTTPS host concurrently (``check``) and judge
the hosts against a proxy policy (``tlsdiag.proxy.policy``)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, cast

from tlsdiag import __version__
from tlsdiag.commands.check import CheckOptions, CheckOutcome, run_checks
from tlsdiag.core.har import HarSummary, dependent_domain_findings
from tlsdiag.core.redact import redact_entry, redact_page
from tlsdiag.facts.har import HarCheckRow, HarFacts, HarPolicyFacts, HarPolicyHost
from tlsdiag.model import Finding, Report, Severity, Target
from tlsdiag.stores.harfile import RedactedHarWriter, har_items

if TYPE_CHECKING:
    from tlsdiag.proxy.policy import Policy


@dataclass(frozen=True, slots=True)
class HarOptions:
    """What ``har`` does besides counting."""

    check: bool = False
    check_options: CheckOptions | None = None
    policy: Path | None = None
    concurrency: int = 8
    keep: Path | None = None  # write the redacted HAR here (bundle --keep-har)
    now: datetime | None = None


def scan_har(path: Path, keep: Path | None = None) -> HarSummary:
    """Stream the HAR at ``path``: redact each entry first, count it, and copy it to ``keep``.

    Raises:
        InputError: unreadable, malformed or truncated (nothing half-written is kept).
    """
    summary = HarSummary()
    writer = RedactedHarWriter(keep) if keep is not None else None
    try:
        for item in har_items(path):
            if item.key == "entries":
                entry = redact_entry(item.value)
                summary.add(entry)
                if writer:
                    writer.entry(entry)
            else:
                value = (
                    [redact_page(p) for p in item.value]
                    if item.key == "pages" and isinstance(item.value, list)
                    else item.value
                )
                summary.meta(item.key, value)
                if writer and item.key in {"version", "creator", "browser", "pages"}:
                    writer.meta(item.key, value)
    except BaseException:
        if writer:
            writer.__exit__(Exception, None, None)
            keep.unlink(missing_ok=True)  # type: ignore[union-attr]  # writer implies keep
        raise
    if writer:
        writer.close()
    return summary


def handling_from_check(outcome: CheckOutcome) -> str:
    """``inspected``, ``bypassed`` (a direct connection) or ``failing`` for one host."""
    report = outcome.report
    if any(f.severity is Severity.ERROR for f in report.findings):
        return "failing"
    interception = report.facts.get("interception")
    if not isinstance(interception, Mapping):
        return "failing"
    return "inspected" if interception.get("inspected") else "bypassed"


def _check_hosts(
    summary: HarSummary, opts: HarOptions, on_progress: Callable[[str], None] | None
) -> tuple[dict[str, str], list[HarCheckRow]]:
    from tlsdiag.core.target import parse_target

    targets: list[Target] = []
    for host, count in sorted(summary.hosts.items()):
        if count.schemes & {"https", "wss"}:
            port = min(p for p in count.ports) if count.ports else 443
            try:
                targets.append(parse_target(f"{host}:{port}"))
            except ValueError:
                continue
    if on_progress:
        on_progress(f"checking {len(targets)} HTTPS host(s)")
    base = opts.check_options or CheckOptions()
    from dataclasses import replace

    outcomes = run_checks(targets, replace(base, revocation=False), concurrency=opts.concurrency)
    handling: dict[str, str] = {}
    rows: list[HarCheckRow] = []
    for target, outcome in zip(targets, outcomes, strict=True):
        state = handling_from_check(outcome)
        handling[target.host] = state
        interception = outcome.report.facts.get("interception") or {}
        rows.append(
            {
                "host": target.host,
                "port": target.port,
                "handling": state,
                "issuer": interception.get("issuer", "") if isinstance(interception, dict) else "",
                "errors": sorted(
                    {f.code for f in outcome.report.findings if f.severity is Severity.ERROR}
                ),
            }
        )
    return handling, rows


def _policy_hosts(
    summary: HarSummary, path: Path, policy: Policy
) -> tuple[dict[str, str], HarPolicyFacts]:
    actions: dict[str, str] = {}
    rows: list[HarPolicyHost] = []
    for host, count in sorted(summary.hosts.items()):
        port = min(count.ports) if count.ports else 443
        decision = policy.decide(host, port)
        actions[host] = decision.action.value
        rows.append({"host": host, "action": decision.action.value, "rule": decision.rule})
    bypassed = sorted(h for h, a in actions.items() if a == "bypass")
    return actions, {
        "file": str(path),
        "hosts": rows,
        "bypassed": bypassed,
        "not_covered": sorted(h for h in actions if h not in set(bypassed)),
    }


def run_har(
    path: Path, opts: HarOptions, on_progress: Callable[[str], None] | None = None
) -> Report:
    """Read the HAR at ``path`` and report what the page used and how it was handled."""
    now = opts.now or datetime.now(UTC)
    policy = None
    if opts.policy is not None:  # a bad policy file is refused before the HAR is streamed
        from tlsdiag.proxy.policy import load_policy

        policy = load_policy(str(opts.policy))
    summary = scan_har(path, opts.keep)
    findings: list[Finding] = []
    handling: dict[str, str] | None = None
    head: dict[str, object] = {"file": str(path)}  # file, checks, policy: first in the JSON
    if opts.check:
        handling, head["checks"] = _check_hosts(summary, opts, on_progress)
        findings += dependent_domain_findings(handling, source="--check")
    policy_actions: dict[str, str] | None = None
    if opts.policy is not None and policy is not None:
        policy_actions, head["policy"] = _policy_hosts(summary, opts.policy, policy)
        findings += dependent_domain_findings(policy_actions, source=f"--policy {opts.policy}")
    if handling is None and policy_actions is None:
        findings += dependent_domain_findings(summary.host_states(), source="the HAR")
    counts = summary.to_facts(handling if handling is not None else policy_actions)
    facts = cast("HarFacts", {**head, **counts})
    return Report(
        command="har",
        target=path.name,
        generated_at=now.strftime("%Y-%m-%dT%H:%M:%SZ"),
        facts=facts,
        findings=tuple(findings),
        tool_version=__version__,
    )
