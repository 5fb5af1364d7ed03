"""Console output of ``tlsdiag trust``: the root, the coverage matrix (one row per store found
on this machine, with the fix for each store that fails), the clock, then the findings."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from tlsdiag.model import Report
from tlsdiag.render.console import render_findings

_MARK = {True: "[green]yes[/]", False: "[bold red]NO[/]", None: "[yellow]?[/]"}


def _store_label(row: Mapping[str, Any]) -> str:
    name = escape(str(row["name"]))
    if row.get("instance"):
        name += f"\n[dim]{escape(str(row['instance']))}[/]"
    return name


def _status(row: Mapping[str, Any]) -> str:
    mark = _MARK[row["trusts_root"]]
    status = str(row.get("status", ""))
    if status in {"trusted", "missing", "absent"}:
        return mark
    return f"{mark} [dim]{escape(status)}[/]"


def render_root(root: Mapping[str, Any] | None, console: Console) -> None:
    """The root being looked for."""
    if root is None:
        return
    console.print(f"[bold]root[/] {escape(str(root['subject']))}")
    if root.get("sha256"):
        console.print(f"  [dim]sha256:[/] {escape(str(root['sha256']))}")
    if root.get("not_after"):
        left = root.get("days_left")
        style = (
            "red"
            if left is not None and left < 0
            else ("yellow" if left is not None and left < 180 else "")
        )
        until = escape(str(root["not_after"]))
        days = f" ({left} days left)" if left is not None else ""
        shown = f"[{style}]{until}{days}[/]" if style else f"{until}{days}"
        console.print(f"  [dim]valid:[/] {escape(str(root['not_before']))} .. {shown}")
        console.print(
            f"  [dim]key:[/] {escape(str(root.get('key')))}  "
            f"[dim]signature:[/] {escape(str(root.get('signature_hash') or '-'))}"
        )
    if root.get("origin"):
        console.print(f"  [dim]found in:[/] {escape(str(root['origin']))}")


def render_matrix(
    rows: Sequence[Mapping[str, Any]], console: Console, *, show_absent: bool
) -> None:
    """The coverage matrix, then the fixes (outside the table, so commands copy cleanly)."""
    table = Table(show_lines=False, expand=False, pad_edge=False)
    table.add_column("store", overflow="fold", ratio=3)
    table.add_column("where", overflow="fold", ratio=4)
    table.add_column("root", no_wrap=True)
    table.add_column("overridden by", overflow="fold", ratio=2)
    for row in rows:
        if not row["present"]:
            continue
        where = escape(str(row.get("location") or "-"))
        if row.get("detail") and row.get("status") not in {"trusted", "missing"}:
            where += f"\n[dim]{escape(str(row['detail']))}[/]"
        table.add_row(
            _store_label(row),
            where,
            _status(row),
            escape(", ".join(row.get("overridden_by") or [])) or "-",
        )
    console.print(table)
    absent = [r for r in rows if not r["present"]]
    if absent and show_absent:
        names = ", ".join(dict.fromkeys(str(r["name"]) for r in absent))
        console.print("[dim]not found on this machine:[/] " + escape(names))
    elif absent:
        console.print(
            f"[dim]{len(absent)} known stores are not on this machine (--all lists them)[/]"
        )
    render_fixes(rows, console)


def render_fixes(rows: Sequence[Mapping[str, Any]], console: Console) -> None:
    """One block per store that needs a fix: its commands, one per line, unwrapped."""
    fixes = [r for r in rows if r["present"] and r.get("fix")]
    if not fixes:
        return
    console.print("[bold]fixes[/]")
    groups: dict[tuple[str, ...], list[Mapping[str, Any]]] = {}
    for row in fixes:
        groups.setdefault(tuple(row["fix"]["steps"]), []).append(row)
    for steps, members in groups.items():
        labels = []
        for row in members:
            label = escape(str(row["name"]))
            if row.get("instance"):
                label += f" [dim]({escape(str(row['instance']))})[/]"
            labels.append(label)
        admin = any(r["fix"].get("scope") == "system" for r in members)
        console.print(f"  {', '.join(labels)}{' [dim](admin)[/]' if admin else ''}")
        for step in steps:
            console.print(f"    [green]{escape(step)}[/]", soft_wrap=True)
        for note in dict.fromkeys(str(r["fix"].get("note") or "") for r in members):
            if note:
                console.print(f"    [dim]{escape(note)}[/]", soft_wrap=True)


def render_clock(clock: Mapping[str, Any] | None, console: Console) -> None:
    """Time zone, offset and the skew against the server's Date header."""
    if not clock:
        return
    line = (
        f"[bold]clock[/] {escape(str(clock.get('local_utc', '')))} UTC, time zone "
        f"{escape(str(clock.get('time_zone', '')))} (UTC{escape(str(clock.get('utc_offset', '')))})"
    )
    if clock.get("skew_seconds") is not None:
        line += f", {clock['skew_seconds']:+.0f} s against {escape(str(clock.get('host')))}"
    elif clock.get("error"):
        line += f", no Date from {escape(str(clock.get('host')))}: {escape(str(clock['error']))}"
    console.print(line)


def render_trust(report: Report, console: Console, *, show_absent: bool = False) -> None:
    """Root, matrix, clock, findings."""
    facts = report.facts
    console.print(f"[bold]trust[/] {escape(report.target)}")
    render_root(facts.get("root"), console)
    if facts.get("inspected") is False:
        console.print(
            "  [dim]this chain ends at a public root: the host does not look inspected[/]"
        )
    if facts.get("note"):
        console.print(f"[yellow]{escape(str(facts['note']))}[/]")
    rows = facts.get("stores") or []
    if facts.get("root") is not None and rows:
        render_matrix(rows, console, show_absent=show_absent)
    render_clock(facts.get("clock"), console)
    render_findings(report, console)
