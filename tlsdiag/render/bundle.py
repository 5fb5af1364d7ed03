"""Console rendering of ``bundle`` (what was written), ``bundle show`` and ``har``."""

from __future__ import annotations

from tlsdiag.facts.bundle import bundle_facts, bundle_show_facts
from tlsdiag.facts.har import har_facts
from tlsdiag.model import Report
from tlsdiag.render.console import render_findings
from tlsdiag.render.term import Console, escape

_STATUS = {"ok": "green", "failed": "red", "skipped": "yellow", "not run": "yellow"}


def render_bundle(report: Report, console: Console) -> None:
    """The bundle's steps, and where it was written."""
    f = bundle_facts(report)
    console.print(f"[bold]Bundle[/bold] {escape(str(f.get('output', '')))}")
    for s in f["steps"]:
        style = _STATUS.get(s["status"], "yellow")
        detail = f" - {escape(str(s['detail']))}" if s["detail"] else ""
        console.print(f"  [{style}]{escape(s['status']):<8}[/{style}] {escape(s['step'])}{detail}")
    for line in f.get("verdicts") or []:
        console.print(f"  {escape(line)}")


def render_bundle_show(report: Report, console: Console) -> None:
    """A bundle's summary and its manifest check."""
    f = bundle_show_facts(report)
    console.print(f"[bold]{escape(report.target)}[/bold]")
    console.print(f"made {escape(str(f['created_at']))} by {escape(str(f['made_by']))}")
    if f["hosts"]:
        console.print("hosts: " + escape(", ".join(f["hosts"])))
    if f["note"]:
        console.print("note: " + escape(str(f["note"])))
    for line in f["verdicts"]:
        console.print(f"  {escape(line)}")
    failed = [s for s in f["steps"] if s.get("status") != "ok"]  # steps as read from the zip
    for s in failed:
        console.print(f"  step {escape(s['step'])}: {escape(s['status'])} {escape(s['detail'])}")
    console.print(f"{len(f['files'])} files in the manifest:")
    for entry in f["files"]:
        console.print(f"  {escape(entry['name']):<28} {entry['size']:>9} bytes")
    if f["manifest_ok"]:
        console.print("[green]manifest OK[/green]: every sha256 matches")
    else:
        console.print("[red]manifest MISMATCH[/red]:")
        for p in f["problems"]:
            console.print(f"  {escape(p)}")


def render_har(report: Report, console: Console) -> None:
    """Domains (registrable) with hosts, request counts and handling; failed requests."""
    f = har_facts(report)
    console.print(
        f"[bold]{escape(report.target)}[/bold]: {f['entries']} requests to "
        f"{f['hosts']} host names, {f['failed_total']} failed or blocked"
    )
    for d in f["domains"]:
        console.print(f"[bold]{escape(d['domain'])}[/bold]  {d['requests']} requests")
        for h in d["hosts"]:
            handling = f"  [{escape(h['handling'])}]" if h.get("handling") else ""
            failed = f", [red]{h['failed']} failed[/red]" if h["failed"] else ""
            console.print(f"  {escape(h['host'])}  {h['requests']}{failed}{handling}")
    if f["failed_requests"]:
        console.print("[bold]Failed or blocked requests[/bold]")
        for r in f["failed_requests"][:20]:
            console.print(f"  {escape(r['problem'])}: {escape(r['method'])} {escape(r['url'])}")
        if f["failed_total"] > 20:
            console.print(f"  ... {f['failed_total'] - 20} more (see --json)")
    if policy := f.get("policy"):
        console.print(
            f"[bold]Policy {escape(policy['file'])}[/bold]: not covered by a bypass rule: "
            + escape(", ".join(policy["not_covered"]) or "(none)")
        )
    render_findings(report, console)
