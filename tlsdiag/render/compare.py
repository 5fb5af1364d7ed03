"""``compare`` output: the two-column table with differences marked, then the verdict."""

from __future__ import annotations

import html
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from tlsdiag.model import Report

if TYPE_CHECKING:
    from rich.console import Console

_ORIGIN_STYLE = {"none": "green", "server": "red", "inspection": "yellow", "client": "magenta"}


def _verdict(report: Report) -> Mapping[str, Any]:
    return report.facts.get("verdict") or {}


def render_compare(report: Report, console: Console) -> None:
    """Console: the inspecting path, the table (differences marked), the verdict.

    Args:
        report: a ``compare`` report.
        console: where to print.
    """
    from rich.markup import escape
    from rich.table import Table

    facts = report.facts
    path = facts.get("inspecting_path") or {}
    console.print(f"[bold]compare {escape(report.target)}[/]")
    if path.get("description"):
        console.print(f"  [dim]inspected path: {escape(str(path['description']))}[/]")
    if "run" in facts:
        _render_run(facts, console)
    else:
        labels = facts.get("labels") or ["bypassed", "inspected"]
        table = Table(show_lines=False, pad_edge=False)
        table.add_column("")
        table.add_column(escape(labels[0]), overflow="fold")
        table.add_column(escape(labels[1]), overflow="fold")
        for row in facts.get("rows", ()):
            mark = "[bold red]≠[/] " if row["differs"] else "  "
            style = "yellow" if row["differs"] else ""
            table.add_row(
                mark + escape(row["label"]),
                escape(row["bypassed"]),
                escape(row["inspected"]),
                style=style or None,
            )
        console.print(table)
    v = _verdict(report)
    origin = str(v.get("origin", ""))
    style = _ORIGIN_STYLE.get(origin, "bold")
    console.print(f"[bold]verdict:[/] [{style}]{escape(origin)}[/]  {escape(v.get('summary', ''))}")
    if v.get("recommendation"):
        console.print(f"[bold]fix:[/] {escape(str(v['recommendation']))}")


def _render_run(facts: Mapping[str, Any], console: Console) -> None:
    from rich.markup import escape

    run = facts.get("run") or {}
    console.print(f"  [dim]command:[/] {escape(str(run.get('command', '')))}")
    for side in ("bypassed", "inspected"):
        r = facts.get(side) or {}
        status = "timed out" if r.get("timed_out") else f"exit {r.get('exit_status')}"
        last = [ln for ln in str(r.get("stderr", "")).splitlines() if ln.strip()]
        tail = f"  {escape(last[-1][:160])}" if last else ""
        console.print(f"  {side:>9}: {escape(status)}{tail}")


def compare_body(report: Report) -> str:
    """The two columns (differences marked with class ``diff``) and the verdict, as HTML."""
    e = html.escape
    facts = report.facts
    v = _verdict(report)
    parts: list[str] = []
    path = facts.get("inspecting_path") or {}
    if path.get("description"):
        parts.append(f"<p>inspected path: {e(str(path['description']))}</p>")
    if "run" in facts:
        run = facts.get("run") or {}
        parts.append(f"<p>command: <code>{e(str(run.get('command', '')))}</code></p>")
        rows = []
        for key in ("exit_status", "timed_out", "stderr"):
            b = str((facts.get("bypassed") or {}).get(key, ""))
            i = str((facts.get("inspected") or {}).get(key, ""))
            cls = ' class="diff"' if b != i else ""
            rows.append(
                f'<tr{cls}><td class="label">{e(key)}</td><td><pre>{e(b)}</pre></td>'
                f"<td><pre>{e(i)}</pre></td></tr>"
            )
        labels = ["bypassed", "inspected"]
    else:
        labels = list(facts.get("labels") or ["bypassed", "inspected"])
        rows = [
            f'<tr{" class=diff" if r["differs"] else ""}><td class="label">{e(r["label"])}</td>'
            f"<td>{e(r['bypassed'])}</td><td>{e(r['inspected'])}</td></tr>"
            for r in facts.get("rows", ())
        ]
    parts.append(
        f"<table><tr><th></th><th>{e(labels[0])}</th><th>{e(labels[1])}</th></tr>"
        + "".join(rows)
        + "</table>"
    )
    parts.append(
        f'<h2>verdict: <span class="origin">{e(str(v.get("origin", "")))}</span></h2>'
        f"<p>{e(str(v.get('summary', '')))}</p>"
        f"<pre>{e(str(v.get('recommendation', '')))}</pre>"
    )
    return "\n".join(parts)
