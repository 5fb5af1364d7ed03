"""``compare`` output: the two-column table with differences marked, then the verdict."""

from __future__ import annotations

import html
from typing import TYPE_CHECKING

from tlsdiag.facts.compare import (
    CompareRunFacts,
    CompareVerdictFacts,
    compare_facts,
    compare_run_facts,
    is_run,
)
from tlsdiag.model import Report
from tlsdiag.render.safe import RULE_SNIPPET, snippet_lines

if TYPE_CHECKING:
    from tlsdiag.render.term import Console

_ORIGIN_STYLE = {"none": "green", "server": "red", "inspection": "yellow", "client": "magenta"}


def _verdict(report: Report) -> CompareVerdictFacts:
    return compare_facts(report)["verdict"]


def render_compare(report: Report, console: Console) -> None:
    """Console: the inspecting path, the table (differences marked), the verdict.

    Args:
        report: a ``compare`` report.
        console: where to print.
    """
    from tlsdiag.render.term import escape
    from tlsdiag.render.term_table import Table

    console.print(f"[bold]compare {escape(report.target)}[/]")
    description = report.facts["inspecting_path"]["description"]
    if description:
        console.print(f"  [dim]inspected path: {escape(description)}[/]")
    if is_run(report):
        _render_run(compare_run_facts(report), console)
    else:
        facts = compare_facts(report)
        labels = facts["labels"]
        table = Table(pad_edge=False)
        table.add_column("")
        table.add_column(escape(labels[0]))
        table.add_column(escape(labels[1]))
        for row in facts["rows"]:
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
    origin = v["origin"]
    style = _ORIGIN_STYLE.get(origin, "bold")
    console.print(f"[bold]verdict:[/] [{style}]{escape(origin)}[/]  {escape(v['summary'])}")
    recommendation = v["recommendation"]
    at = recommendation.find(RULE_SNIPPET)
    lines = snippet_lines(recommendation[at:]) if at >= 0 else None
    if lines is not None:
        recommendation = recommendation[:at].removesuffix("\\n").rstrip()
    if recommendation:
        console.print(f"[bold]fix:[/] {escape(recommendation)}")
    for line in lines or ():
        console.print(f"  {escape(line)}")


def _render_run(facts: CompareRunFacts, console: Console) -> None:
    from tlsdiag.render.term import escape

    console.print(f"  [dim]command:[/] {escape(facts['run']['command'])}")
    for side in ("bypassed", "inspected"):
        r = facts["bypassed"] if side == "bypassed" else facts["inspected"]
        status = "timed out" if r["timed_out"] else f"exit {r['exit_status']}"
        last = [ln for ln in r["stderr"].splitlines() if ln.strip()]
        tail = f"  {escape(last[-1][:160])}" if last else ""
        console.print(f"  {side:>9}: {escape(status)}{tail}")


def compare_body(report: Report) -> str:
    """The two columns (differences marked with class ``diff``) and the verdict, as HTML."""
    e = html.escape
    v = _verdict(report)
    parts: list[str] = []
    description = report.facts["inspecting_path"]["description"]
    if description:
        parts.append(f"<p>inspected path: {e(description)}</p>")
    if is_run(report):
        run = compare_run_facts(report)
        parts.append(f"<p>command: <code>{e(run['run']['command'])}</code></p>")
        rows = []
        for key in ("exit_status", "timed_out", "stderr"):
            b = str(run["bypassed"][key])
            i = str(run["inspected"][key])
            cls = ' class="diff"' if b != i else ""
            rows.append(
                f'<tr{cls}><td class="label">{e(key)}</td><td><pre>{e(b)}</pre></td>'
                f"<td><pre>{e(i)}</pre></td></tr>"
            )
        labels = ["bypassed", "inspected"]
    else:
        facts = compare_facts(report)
        labels = facts["labels"]
        rows = [
            f'<tr{" class=diff" if r["differs"] else ""}><td class="label">{e(r["label"])}</td>'
            f"<td>{e(r['bypassed'])}</td><td>{e(r['inspected'])}</td></tr>"
            for r in facts["rows"]
        ]
    parts.append(
        f"<table><tr><th></th><th>{e(labels[0])}</th><th>{e(labels[1])}</th></tr>"
        + "".join(rows)
        + "</table>"
    )
    parts.append(
        f'<h2>verdict: <span class="origin">{e(v["origin"])}</span></h2>'
        f"<p>{e(v['summary'])}</p>"
        f"<pre>{e(v['recommendation'])}</pre>"
    )
    return "\n".join(parts)
