"""Console output of ``tlsdiag trust``: the root, the coverage matrix (one row per store found
on this machine, with the fix for each store that fails), the clock, then the findings."""

from __future__ import annotations

from collections.abc import Sequence

from tlsdiag.facts.trust import ClockFacts, FixFacts, RootFacts, StoreRowFacts, trust_facts
from tlsdiag.model import Report
from tlsdiag.render.console import render_findings
from tlsdiag.render.term import Console, escape
from tlsdiag.render.term_table import Table

_MARK = {True: "[green]yes[/]", False: "[bold red]NO[/]", None: "[yellow]?[/]"}


def _store_label(row: StoreRowFacts) -> str:
    name = escape(row["name"])
    if row["instance"]:
        name += f"\n[dim]{escape(row['instance'])}[/]"
    return name


def _status(row: StoreRowFacts) -> str:
    mark = _MARK[row["trusts_root"]]
    status = row["status"]
    if status in {"trusted", "missing", "absent"}:
        return mark
    return f"{mark} [dim]{escape(status)}[/]"


def render_root(root: RootFacts | None, console: Console) -> None:
    """The root being looked for."""
    if root is None:
        return
    console.print(f"[bold]root[/] {escape(root['subject'])}")
    if root["sha256"]:
        console.print(f"  [dim]sha256:[/] {escape(root['sha256'])}")
    if root["not_after"]:
        left = root["days_left"]
        style = (
            "red"
            if left is not None and left < 0
            else ("yellow" if left is not None and left < 180 else "")
        )
        until = escape(root["not_after"])
        days = f" ({left} days left)" if left is not None else ""
        shown = f"[{style}]{until}{days}[/]" if style else f"{until}{days}"
        console.print(f"  [dim]valid:[/] {escape(str(root['not_before']))} .. {shown}")
        console.print(
            f"  [dim]key:[/] {escape(str(root['key']))}  "
            f"[dim]signature:[/] {escape(root['signature_hash'] or '-')}"
        )
    if root["origin"]:
        console.print(f"  [dim]found in:[/] {escape(root['origin'])}")


def render_matrix(rows: Sequence[StoreRowFacts], console: Console, *, show_absent: bool) -> None:
    """The coverage matrix, then the fixes (outside the table, so commands copy cleanly)."""
    table = Table(pad_edge=False)
    table.add_column("store")
    table.add_column("where")
    table.add_column("root", no_wrap=True)
    table.add_column("overridden by")
    for row in rows:
        if not row["present"]:
            continue
        where = escape(row["location"] or "-")
        if row["detail"] and row["status"] not in {"trusted", "missing"}:
            where += f"\n[dim]{escape(row['detail'])}[/]"
        table.add_row(
            _store_label(row),
            where,
            _status(row),
            escape(", ".join(row["overridden_by"])) or "-",
        )
    console.print(table)
    absent = [r for r in rows if not r["present"]]
    if absent and show_absent:
        names = ", ".join(dict.fromkeys(r["name"] for r in absent))
        console.print("[dim]not found on this machine:[/] " + escape(names))
    elif absent:
        console.print(
            f"[dim]{len(absent)} known stores are not on this machine (--all lists them)[/]"
        )
    render_fixes(rows, console)


def render_fixes(rows: Sequence[StoreRowFacts], console: Console) -> None:
    """One block per store that needs a fix: its commands, one per line, unwrapped."""
    fixes = [(r, r["fix"]) for r in rows if r["present"] and r["fix"]]
    if not fixes:
        return
    console.print("[bold]fixes[/]")
    groups: dict[tuple[str, ...], list[tuple[StoreRowFacts, FixFacts]]] = {}
    for row, fix in fixes:
        if fix is not None:
            groups.setdefault(tuple(fix["steps"]), []).append((row, fix))
    for steps, members in groups.items():
        labels = []
        for row, _ in members:
            label = escape(row["name"])
            if row["instance"]:
                label += f" [dim]({escape(row['instance'])})[/]"
            labels.append(label)
        admin = any(fix["scope"] == "system" for _, fix in members)
        console.print(f"  {', '.join(labels)}{' [dim](admin)[/]' if admin else ''}")
        for step in steps:
            console.print(f"    [green]{escape(step)}[/]", soft_wrap=True)
        for note in dict.fromkeys(fix["note"] or "" for _, fix in members):
            if note:
                console.print(f"    [dim]{escape(note)}[/]", soft_wrap=True)


def render_clock(clock: ClockFacts | None, console: Console) -> None:
    """Time zone, offset and the skew against the server's Date header."""
    if not clock:
        return
    line = (
        f"[bold]clock[/] {escape(clock['local_utc'])} UTC, time zone "
        f"{escape(clock['time_zone'])} (UTC{escape(clock.get('utc_offset', ''))})"
    )
    skew = clock["skew_seconds"]
    if skew is not None:
        line += f", {skew:+.0f} s against {escape(str(clock['host']))}"
    elif clock.get("error"):
        line += f", no Date from {escape(str(clock['host']))}: {escape(clock.get('error', ''))}"
    console.print(line)


def render_trust(report: Report, console: Console, *, show_absent: bool = False) -> None:
    """Root, matrix, clock, findings."""
    facts = trust_facts(report)
    console.print(f"[bold]trust[/] {escape(report.target)}")
    render_root(facts["root"], console)
    if facts.get("inspected") is False:
        console.print(
            "  [dim]this chain ends at a public root: the host does not look inspected[/]"
        )
    note = facts.get("note")
    if note:
        console.print(f"[yellow]{escape(note)}[/]")
    rows = facts["stores"]
    if facts["root"] is not None and rows:
        render_matrix(rows, console, show_absent=show_absent)
    render_clock(facts["clock"], console)
    render_findings(report, console)
