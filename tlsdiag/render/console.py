"""Console output for people (render.term). Generic parts shared by every command."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from tlsdiag.facts.ids import RootSetId
from tlsdiag.model import Finding, Report, Severity
from tlsdiag.render.safe import snippet_lines
from tlsdiag.render.term import Console, escape
from tlsdiag.render.term_table import Table

_STYLE = {Severity.ERROR: "bold red", Severity.WARNING: "yellow", Severity.INFO: "cyan"}
_LABEL = {Severity.ERROR: "ERROR", Severity.WARNING: "WARN ", Severity.INFO: "INFO "}
_ROOT_SET_LABEL = {
    RootSetId.PUBLIC: "public (certifi)",
    RootSetId.OS: "os",
    RootSetId.CAFILE: "--cafile",
    RootSetId.UPSTREAM_CAFILE: "--upstream-cafile",
}


def root_set_label(root_set: str) -> str:
    """What a person reads for a root set (its JSON key, a ``RootSetId`` value)."""
    try:
        return _ROOT_SET_LABEL[RootSetId(root_set)]
    except ValueError:
        return root_set


def render_finding(f: Finding, console: Console) -> None:
    """One finding: severity, code and title, then the detail, evidence and next step."""
    style = _STYLE[f.severity]
    console.print(
        f"[{style}]{_LABEL[f.severity]}[/] [bold]{escape(f.title)}[/]  [dim]{escape(f.code)}[/]"
    )
    if f.detail:
        console.print(f"      {escape(f.detail)}", soft_wrap=False)
    for key, value in f.evidence.items():
        text = str(value)
        lines = snippet_lines(text)
        if lines is None:
            console.print(f"      [dim]{escape(key)}:[/] {escape(text)}")
            continue
        console.print(f"      [dim]{escape(key)}:[/]")
        for line in lines:
            console.print(f"        {escape(line)}")
    if f.remediation:
        console.print(f"      [green]next step:[/] {escape(f.remediation)}")


def render_findings(report: Report, console: Console) -> None:
    """All findings, errors first; or a clear "no problem found" line."""
    findings = report.sorted_findings()
    if not findings:
        console.print("[green]No problems found.[/]")
        return
    for f in findings:
        render_finding(f, console)


def render_facts(facts: Mapping[str, Any], console: Console) -> None:
    """Facts as a two-column table (nested values shown compactly)."""
    table = Table(show_header=False, box=False, pad_edge=False)
    table.add_column(style="dim")
    table.add_column()
    for key, value in facts.items():
        table.add_row(escape(key), escape(_compact(value)))
    console.print(table)


def _compact(value: Any) -> str:
    if isinstance(value, Mapping):
        return ", ".join(f"{k}={_compact(v)}" for k, v in value.items())
    if isinstance(value, list | tuple):
        return "; ".join(_compact(v) for v in value)
    if value is None:
        return "-"
    return str(value)


def render_console(report: Report, console: Console) -> None:
    """Generic rendering: header, facts, findings."""
    console.print(f"[bold]{escape(report.command)}[/] {escape(report.target)}")
    if report.facts:
        render_facts(report.facts, console)
    render_findings(report, console)
