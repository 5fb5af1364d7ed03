"""Console output of ``tlsdiag fleet report``: inputs, per-root store coverage, failing check
targets, wrong clocks and the machines to fix first (CSV, HTML: ``fleet_csv``, ``fleet_html``)."""

from __future__ import annotations

from tlsdiag.facts.fleet import (
    FleetFacts,
    FleetInputs,
    FleetRootRow,
    FleetTargetRow,
    fleet_facts,
)
from tlsdiag.model import Report
from tlsdiag.render.console import render_findings
from tlsdiag.render.term import Console, escape
from tlsdiag.render.term_table import Table

BAR_WIDTH = 10


def bar(part: int, whole: int, width: int = BAR_WIDTH) -> str:
    """A text bar: ``part`` of ``whole`` as filled blocks."""
    filled = round(width * part / whole) if whole else 0
    return "█" * filled + "·" * (width - filled)


def render_inputs(inputs: FleetInputs, facts: FleetFacts, console: Console) -> None:
    """What was read: machines, reports, versions, and every input that was not used."""
    used = inputs["reports_used"]
    console.print(
        f"[bold]fleet[/] {facts['machine_count']} machines "
        f"({used['trust']} trust and {used['check']} check reports from "
        f"{inputs['documents']} JSON documents)"
    )
    versions = ", ".join(f"{escape(v)} x{n}" for v, n in inputs["tool_versions"].items())
    console.print(f"  [dim]tlsdiag versions:[/] {versions or '-'}")
    notes = []
    if facts["machines_unidentified"]:
        notes.append(f"{facts['machines_unidentified']} without a machine block (one per folder)")
    if inputs["superseded"]:
        notes.append(f"{inputs['superseded']} older runs replaced by newer ones")
    if inputs["duplicates"]:
        notes.append(f"{inputs['duplicates']} duplicate reports ignored")
    if facts["machines_without_trust"]:
        notes.append(f"{facts['machines_without_trust']} machines sent no trust report")
    if inputs["newer_schema"]:
        notes.append("some reports come from a newer tlsdiag (newer schema): upgrade this one")
    for note in notes:
        console.print(f"  [yellow]•[/] {escape(note)}")
    if inputs["problems"]:
        counts = ", ".join(f"{n} {escape(k)}" for k, n in inputs["problems"].items())
        console.print(f"  [yellow]not used:[/] {counts}")
        for sample in inputs["problem_samples"][:5]:
            console.print(
                f"    [dim]{escape(sample['source'])}: {escape(sample['kind'])}: "
                f"{escape(sample['message'])}[/]"
            )


def render_roots(roots: list[FleetRootRow], console: Console) -> None:
    """One table per inspection root: per store, on how many machines it trusts the root."""
    for root in roots:
        console.print()
        console.print(
            f"[bold]root[/] {escape(root['common_name'])}  [dim]spki sha256 "
            f"{root['spki_sha256'][:16]}…[/]  trusted by every store on "
            f"{root['machines_all_trust']} of {root['machines']} machines"
        )
        table = Table(show_edge=False, pad_edge=False)
        for col in ("store", "trusted", "", "lacking", "unknown", "lacking on"):
            table.add_column(col, justify="right" if col in {"trusted", "lacking"} else "left")
        for s in root["stores"]:
            names = ", ".join(s["lacking_machines"])
            if s["lacking"] > len(s["lacking_machines"]):
                names += f", +{s['lacking'] - len(s['lacking_machines'])} more"
            table.add_row(
                escape(s["id"]),
                f"{s['trusted']}/{s['present']}",
                f"[green]{bar(s['trusted'], s['present'])}[/]",
                f"[bold red]{s['lacking']}[/]" if s["lacking"] else "0",
                str(s["unknown"]) if s["unknown"] else "",
                escape(names),
            )
        console.print(table)


def render_targets(targets: list[FleetTargetRow], console: Console) -> None:
    """The most common failing check targets and the side to fix."""
    if not targets:
        return
    console.print()
    console.print("[bold]failing check targets[/]")
    table = Table(show_edge=False, pad_edge=False)
    for col in ("target", "failing", "", "side", "codes"):
        table.add_column(col)
    for t in targets:
        table.add_row(
            escape(t["target"]),
            f"{t['failing']}/{t['checked']}",
            f"[red]{bar(t['failing'], t['checked'], 10)}[/]",
            escape(t["side"]),
            escape(", ".join(t["codes"])),
        )
    console.print(table)


def render_fix_first(facts: FleetFacts, console: Console) -> None:
    """Machines with a wrong clock, then the machines to fix first."""
    if facts["clock_skew"]:
        console.print()
        console.print(f"[bold]wrong clocks[/] ({facts['clock_skew_count']} machines)")
        for c in facts["clock_skew"]:
            skew = c["skew_seconds"]
            off = f"{skew:+.0f} s" if skew is not None else "reported"
            console.print(f"  {escape(c['hostname'] or c['id'])}  {off}  {escape(c['time_zone'])}")
    if facts["fix_first"]:
        console.print()
        console.print("[bold]fix first[/] (most broken stores their apps use)")
        table = Table(show_edge=False, pad_edge=False)
        for col in ("machine", "user", "os", "stores lacking the root", "apps", "failing checks"):
            table.add_column(col)
        for m in facts["fix_first"]:
            table.add_row(
                escape(m["hostname"] or m["id"]),
                escape(m["user"]),
                escape(m["os_name"]),
                f"[red]{escape(', '.join(m['broken_stores']))}[/]",
                escape(", ".join(m["apps_affected"][:4])),
                escape(", ".join(m["failing_targets"])),
            )
        console.print(table)


def render_fleet(report: Report, console: Console) -> None:
    """The console summary of a fleet report."""
    facts = fleet_facts(report)
    render_inputs(facts["inputs"], facts, console)
    if facts["machines_without_root"]:
        names = ", ".join(facts["machines_without_root"][:10])
        console.print(f"  [yellow]no inspection root found on:[/] {escape(names)}")
    render_roots(facts["roots"], console)
    render_targets(facts["failing_targets"], console)
    render_fix_first(facts, console)
    if report.findings:
        console.print()
        render_findings(report, console)
