"""``bundle`` end to end: check, issuer and compare per host, one trust matrix, the environment,
the HAR (redacted first), the embedded proxy's events and policy; then one zip with report.json,
report.html, certs/, har-summary.json, env.json, README.txt and manifest.json.

Each step runs on its own: a step that fails is recorded (in the bundle report, README.txt and
the HTML page) and the bundle is still written. The HTML renderer is passed in by the CLI (this
layer does not import ``tlsdiag.render``).
"""

from __future__ import annotations

import json
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from tlsdiag import __version__
from tlsdiag.commands.check import CheckOptions, CheckOutcome, run_check
from tlsdiag.core.bundle import Step, default_name, manifest_problems, readme_text, verdict_line
from tlsdiag.core.environment import clock_skew
from tlsdiag.errors import TlsdiagError
from tlsdiag.model import Report, Target
from tlsdiag.stores.bundle_zip import Member, read_bundle, refuse_existing, write_bundle_zip

if TYPE_CHECKING:
    from tlsdiag.facts.bundle import (
        BundleEnvironmentFacts,
        BundleFacts,
        BundleShowFacts,
        EnvEventsFacts,
        EnvironmentFacts,
        StepFacts,
    )

Progress = Callable[[Step, int, int], None]  # the step, its number, the number of steps
HtmlRenderer = Callable[[Sequence[Report]], str]
MAX_EVENTS = 5000


@dataclass(frozen=True, slots=True)
class BundleOptions:
    """Everything ``bundle`` needs besides the hosts."""

    check: CheckOptions = field(default_factory=CheckOptions)
    har: Path | None = None
    note: str = ""
    events: Path | None = None
    policy: Path | None = None
    keep_har: bool = False
    compare: bool = True
    cafile_paths: tuple[Path, ...] = ()  # --cafile, also trusted upstream by compare's proxy
    trust: bool = True
    output: Path | None = None
    force: bool = False
    command_line: str = "tlsdiag bundle"
    now: datetime | None = None


@dataclass(frozen=True, slots=True)
class BundleResult:
    """The zip written, the bundle's own report and every report inside it."""

    path: Path
    report: Report
    reports: tuple[Report, ...]
    manifest: dict[str, Any]


class _Run:
    """Runs steps one by one, recording each and reporting progress."""

    def __init__(self, total: int, progress: Progress | None) -> None:
        self.steps: list[Step] = []
        self.total = total
        self.progress = progress

    def record(self, step: Step) -> None:
        self.steps.append(step)
        if self.progress:
            self.progress(step, len(self.steps), self.total)

    def run(self, name: str, func: Callable[[], Any]) -> Any:
        start = time.monotonic()
        try:
            value = func()
        except Exception as exc:  # a step that fails is recorded, the bundle still written
            msg = exc.message if isinstance(exc, TlsdiagError) else f"{type(exc).__name__}: {exc}"
            self.record(Step(name, "failed", msg, time.monotonic() - start))
            return None
        self.record(Step(name, "ok", "", time.monotonic() - start))
        return value


def _pem_chain(outcome: CheckOutcome) -> bytes:
    from cryptography.hazmat.primitives.serialization import Encoding

    parts = [f"# chain presented by {outcome.report.target}\n".encode()]
    for i, cert in enumerate(outcome.presented):
        parts.append(f"# {i} s: {cert.subject.rfc4514_string()}\n".encode())
        parts.append(f"#   i: {cert.issuer.rfc4514_string()}\n".encode())
        parts.append(cert.public_bytes(Encoding.PEM))
    return b"".join(parts)


def _cert_name(target: Target) -> str:
    host = "".join(c if c.isalnum() or c in ".-" else "_" for c in target.host)
    return f"certs/{host}_{target.port}.pem"


def _environment(opts: BundleOptions, now: datetime, checks: Sequence[Report]) -> EnvironmentFacts:
    from tlsdiag.stores.environment import collect_environment

    env = collect_environment(now=now)
    skew = None
    for report in checks:
        http = report.facts.get("http")
        if isinstance(http, dict) and http.get("date"):
            local = datetime.strptime(report.generated_at, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
            skew = clock_skew(local, str(http["date"]), host=report.target)
            break
    env["clock"] = skew or {"skew_seconds": None, "note": "no server Date header was seen"}
    return env


def _check_inputs(opts: BundleOptions) -> None:
    """Refuse a special (device, FIFO, directory) or oversized input file up front, before a
    step could block on it; a missing file is left to its step (recorded as failed)."""
    from tlsdiag.stores.userfile import Kind, check_file

    for option, path, kind in (
        ("--har", opts.har, Kind.HAR),
        ("--events", opts.events, Kind.EVENTS),
        ("--policy", opts.policy, Kind.POLICY),
    ):
        if path is not None and path.exists():
            check_file(path, kind, what=f"{option} {path}")


def _events(path: Path) -> EnvEventsFacts:
    from tlsdiag.proxy.events import read_events

    events = read_events(path)
    return {"file": str(path), "count": len(events), "events": events[-MAX_EVENTS:]}


def _policy(path: Path) -> dict[str, Any]:
    from tlsdiag.proxy.policy import load_policy, policy_summary

    return {"file": str(path), **policy_summary(load_policy(str(path)))}


def _har(opts: BundleOptions, keep: Path | None, now: datetime) -> Report:
    from tlsdiag.commands.har import HarOptions, run_har

    assert opts.har is not None
    return run_har(opts.har, HarOptions(policy=opts.policy, keep=keep, now=now))


def _issuer(target: Target, opts: BundleOptions) -> Report:
    from tlsdiag.commands.issuer import run_issuer

    return run_issuer(
        target, replace(opts.check, command="issuer", revocation=False, browser_hello=False)
    )


def _trust(outcome: CheckOutcome | None, display: str) -> list[Report]:
    """The trust matrix for the root of the first host's chain (no second connection)."""
    from cryptography.hazmat.primitives.serialization import Encoding

    from tlsdiag.commands.trust import TrustOptions, run_trust_here

    if outcome is None or not outcome.presented:
        raise ValueError(f"{display} presented no certificate: no root to look for")
    analysis = outcome.analysis
    root = analysis.path[-1] if analysis is not None and analysis.path else outcome.presented[-1]
    with tempfile.TemporaryDirectory(prefix="tlsdiag-root-") as tmp:
        pem = Path(tmp) / "root.pem"
        pem.write_bytes(root.public_bytes(Encoding.PEM))
        reports = run_trust_here(TrustOptions(ca=pem))
    return [replace(r, target=f"root of {display}'s chain") for r in reports]


def _compare(target: Target, opts: BundleOptions) -> Report:
    """Bypassed vs inspected through the embedded proxy (a throwaway CA, never installed)."""
    from tlsdiag.commands.compare import CompareOptions, run_compare

    check = replace(opts.check, command="compare")
    return run_compare(target, CompareOptions(check, cafile_paths=opts.cafile_paths))


def _compare_summary(steps: Sequence[Step]) -> StepFacts:
    """One line for the compare steps: skipped, ok (every host) or failed (naming which)."""
    mine = [s for s in steps if s.name == "compare" or s.name.startswith("compare ")]
    if len(mine) == 1 and mine[0].name == "compare":
        return mine[0].to_dict()
    failed = [s for s in mine if s.status != "ok"]
    return {
        "step": "compare",
        "status": "failed" if failed else "ok",
        "detail": "; ".join(f"{s.name}: {s.detail}" for s in failed),
        "seconds": round(sum(s.seconds for s in mine), 2),
    }


def run_bundle(
    targets: Sequence[Target],
    opts: BundleOptions,
    *,
    render_html: HtmlRenderer,
    progress: Progress | None = None,
) -> BundleResult:
    """Run every step for ``targets`` and write the bundle zip.

    Raises:
        InputError: an input file is not a regular file or too big (checked before any step
            runs; its content is read by its step), or the output exists (without
            ``force``), is one of the inputs, or cannot be written.
    """
    now = opts.now or datetime.now(UTC)
    created = now.strftime("%Y-%m-%dT%H:%M:%SZ")
    output = opts.output or Path(default_name([t.display for t in targets], now))
    _check_inputs(opts)
    refuse_existing(output, opts.force)
    extras = [opts.har, opts.events, opts.policy]
    per_host = 3 if opts.compare else 2  # check, issuer (and compare) per host
    total = per_host * len(targets) + (3 if opts.compare else 4)
    total += sum(1 for x in extras if x is not None)
    run = _Run(total, progress)
    from tlsdiag.stores.machine import attach_machine

    checks: list[CheckOutcome] = []
    for t in targets:
        out = run.run(f"check {t.display}", partial(run_check, t, opts.check))
        if out is not None:
            checks.append(out)
    check_reports = attach_machine([o.report for o in checks])
    issuers = [run.run(f"issuer {t.display}", partial(_issuer, t, opts)) for t in targets]
    reports: list[Report] = [*check_reports, *(r for r in issuers if r is not None)]
    if opts.compare:
        compares = [run.run(f"compare {t.display}", partial(_compare, t, opts)) for t in targets]
        reports.extend(r for r in compares if r is not None)
    else:
        run.record(Step("compare", "skipped", "--no-compare"))
    if opts.trust and targets:
        first = next((o for o in checks if o.probe.target == targets[0]), None)
        trust = run.run(
            f"trust matrix (root of {targets[0].display})",
            partial(_trust, first, targets[0].display),
        )
        reports.extend(trust or [])
    else:
        run.record(Step("trust matrix", "skipped", "no host"))
    env = cast(
        "EnvironmentFacts",
        run.run("environment", lambda: _environment(opts, now, check_reports)) or {},
    )
    if opts.events is not None:
        env["proxy_events"] = run.run(f"events {opts.events}", lambda: _events(opts.events))  # type: ignore[arg-type]  # checked above
    if opts.policy is not None:
        env["proxy_policy"] = run.run(f"policy {opts.policy}", lambda: _policy(opts.policy))  # type: ignore[arg-type]  # checked above
    with tempfile.TemporaryDirectory(prefix="tlsdiag-bundle-") as tmp:
        keep = Path(tmp) / "redacted.har" if opts.keep_har and opts.har else None
        har_report: Report | None = None
        if opts.har is not None:
            har_report = run.run(f"har {opts.har.name}", lambda: _har(opts, keep, now))
            if har_report is not None:
                reports.append(har_report)
        har_summary: dict[str, Any] = (
            har_report.to_dict()
            if har_report is not None
            else {"har": None, "note": "no HAR given" if opts.har is None else "reading failed"}
        )

        def bundle_report() -> Report:
            environment: BundleEnvironmentFacts = {
                "os": env.get("os"),
                "versions": env.get("versions"),
                "time": env.get("time"),
                "clock": env.get("clock"),
                "proxy": env.get("proxy"),
            }
            facts: BundleFacts = {
                "note": opts.note,
                "hosts": [t.display for t in targets],
                "command_line": opts.command_line,
                "steps": [s.to_dict() for s in run.steps],
                "failed_steps": [s.name for s in run.steps if s.status == "failed"],
                "compare": _compare_summary(run.steps),
                "environment": environment,
            }
            return Report(
                command="bundle",
                target=", ".join(t.display for t in targets),
                generated_at=created,
                facts=facts,
                tool_version=__version__,
            )

        html = run.run("report.html", lambda: render_html([bundle_report(), *reports]))
        final = bundle_report()
        all_reports = (final, *reports)
        members: list[Member] = [
            ("report.json", _json([r.to_dict() for r in all_reports])),
            ("report.html", (html or _failed_html(run.steps)).encode()),
            *[(_cert_name(o.probe.target), _pem_chain(o)) for o in checks if o.presented],
            ("har-summary.json", _json(har_summary)),
            ("env.json", _json(env)),
            ("README.txt", _readme(opts, created, targets, run.steps, all_reports, keep)),
        ]
        if keep is not None and keep.exists():
            members.append(("har/redacted.har", keep))
        manifest = write_bundle_zip(
            output,
            members,
            force=opts.force,
            manifest_extra={"tool": "tlsdiag", "tool_version": __version__, "created_at": created},
        )
    return BundleResult(output, final, all_reports, manifest)


def _json(value: Any) -> bytes:
    return (json.dumps(value, indent=2, ensure_ascii=False, default=str) + "\n").encode()


def _failed_html(steps: Sequence[Step]) -> str:
    import html

    rows = "".join(f"<li>{html.escape(s.name)}: {html.escape(s.status)}</li>" for s in steps)
    return f"<!doctype html><html><body><p>report.html could not be drawn</p><ul>{rows}</ul>"


def _readme(
    opts: BundleOptions,
    created: str,
    targets: Sequence[Target],
    steps: Sequence[Step],
    reports: Sequence[Report],
    keep: Path | None,
) -> bytes:
    return readme_text(
        created_at=created,
        tool_version=__version__,
        command_line=opts.command_line,
        note=opts.note,
        hosts=[t.display for t in targets],
        steps=steps,
        verdicts=[verdict_line(r.to_dict()) for r in reports if r.command != "bundle"],
        har_kept=keep is not None and keep.exists(),
    ).encode()


def show_bundle(path: Path) -> Report:
    """``bundle show``: the bundle's summary and whether every file matches its manifest."""
    contents = read_bundle(path)
    problems = manifest_problems(contents.manifest, contents.digests)
    if contents.error:
        problems.append(contents.error)
    manifest = contents.manifest or {}
    bundle = next((r for r in contents.reports if r.get("command") == "bundle"), {})
    steps = bundle.get("steps") if isinstance(bundle, dict) else None
    facts: BundleShowFacts = {  # what the zip's JSON holds, as read
        "created_at": manifest.get("created_at"),
        "made_by": f"tlsdiag {manifest.get('tool_version', '?')}",
        "hosts": bundle.get("hosts", []),
        "note": bundle.get("note", ""),
        "steps": steps or [],
        "verdicts": [verdict_line(r) for r in contents.reports if r.get("command") != "bundle"],
        "files": [
            {"name": n, "size": e.get("size"), "sha256": e.get("sha256")}
            for n, e in sorted((manifest.get("files") or {}).items())
        ],
        "manifest_ok": not problems,
        "problems": problems,
    }
    return Report(
        command="bundle show",
        target=str(path),
        generated_at=datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        facts=facts,
        tool_version=__version__,
    )


def result_report(result: BundleResult) -> Report:
    """The bundle's report with where it was written and one verdict line per report."""
    from tlsdiag.facts.bundle import bundle_facts

    facts = bundle_facts(result.report).copy()
    facts["output"] = str(result.path)
    facts["verdicts"] = [verdict_line(r.to_dict()) for r in result.reports if r.command != "bundle"]
    facts["files"] = sorted(result.manifest.get("files", {}))
    findings = tuple(f for r in result.reports if r.command != "bundle" for f in r.findings)
    return replace(result.report, facts=facts, findings=findings)
