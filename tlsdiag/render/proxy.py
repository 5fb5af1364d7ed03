"""Console output of ``tlsdiag proxy``, ``proxy events`` and ``tlsdiag ca``."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from tlsdiag.facts.ca import trust_help_facts
from tlsdiag.model import Report
from tlsdiag.render.console import render_facts, render_findings

_ACTION_STYLE = {"inspect": "cyan", "bypass": "green", "block": "bold red"}


def event_line(ev: Mapping[str, Any]) -> str:
    """One event as one rich-markup line (the live log of ``tlsdiag proxy``); names from the
    network are escaped (a newline in an SNI cannot forge a log line)."""
    from tlsdiag.render.safe import printable

    ev = {k: printable(v) if isinstance(v, str) else v for k, v in ev.items()}
    action = str(ev.get("action", ""))
    style = _ACTION_STYLE.get(action, "white")
    host = str(ev.get("sni") or ev.get("host") or "")
    parts = [
        f"[dim]{escape(str(ev.get('time', ''))[11:19])}[/]",
        f"[{style}]{escape(action):7}[/]",
        f"{escape(host)}:{ev.get('port', '')}",
    ]
    if ev.get("upstream_version"):
        parts.append(escape(str(ev["upstream_version"])))
    if ev.get("finding"):
        parts.append(f"[yellow]{escape(str(ev['finding']))}[/]")
    if ev.get("tls_error_description"):
        parts.append(f"alert: {escape(str(ev['tls_error_description']))}")
    if ev.get("tls_certificate_error"):
        parts.append(f"cert: {escape(str(ev['tls_certificate_error']))}")
    parts.append(f"[dim]{ev.get('bytes_up', 0)}B up {ev.get('bytes_down', 0)}B down[/]")
    return " ".join(parts)


def render_events(report: Report, console: Console) -> None:
    """The events table, a summary line and the findings per host."""
    facts = report.facts
    events = facts.get("events", [])
    table = Table(box=None, pad_edge=False, header_style="bold")
    table.add_column("time", no_wrap=True)
    table.add_column("host", no_wrap=True)
    table.add_column("action", no_wrap=True)
    table.add_column("TLSi", no_wrap=True)
    table.add_column("upstream", no_wrap=True)
    table.add_column("finding", no_wrap=True)
    table.add_column("error", overflow="fold", ratio=1)
    table.add_column("up/down", no_wrap=True, justify="right")
    for ev in events:
        action = str(ev.get("action", ""))
        style = _ACTION_STYLE.get(action, "white")
        host = str(ev.get("sni") or ev.get("host") or "")
        err = " / ".join(
            str(ev[k]) for k in ("tls_error_description", "tls_certificate_error") if ev.get(k)
        )
        table.add_row(
            escape(str(ev.get("time", ""))[11:19]),
            escape(f"{host}:{ev.get('port', '')}"),
            f"[{style}]{escape(action)}[/]",
            str(ev.get("tls_inspection", "")),
            escape(str(ev.get("upstream_version") or "")),
            escape(str(ev.get("finding", ""))),
            escape(err),
            f"{ev.get('bytes_up', 0)}/{ev.get('bytes_down', 0)}",
        )
    console.print(f"[bold]proxy events[/] {escape(report.target)}")
    if events and console.width >= 120:
        console.print(table)
    else:  # narrow terminals: one line per event, wrapped, nothing cut off
        for ev in events:
            console.print(event_line(ev), highlight=False)
    summary = facts.get("summary", {})
    by_action = ", ".join(f"{k} {v}" for k, v in summary.get("by_action", {}).items())
    console.print(
        f"{summary.get('events', 0)} shown of {facts.get('total_events', 0)} "
        f"({by_action or 'none'}; inspected {summary.get('inspected', 0)})"
    )
    render_findings(report, console)


def render_ca(report: Report, console: Console) -> None:
    """The CA's facts."""
    console.print(f"[bold]{escape(report.command)}[/] {escape(report.target)}")
    render_facts(report.facts, console)
    if report.facts.get("created"):
        console.print(
            "[green]Created.[/] Trust it where you test: `tlsdiag ca trust-help` shows how."
        )
    if report.facts.get("expired"):
        console.print("[bold red]This CA has expired:[/] run `tlsdiag ca init --force`.")
    if report.findings:
        render_findings(report, console)


def render_trust_help(report: Report, console: Console) -> None:
    """Steps per store (printed, never run)."""
    facts = trust_help_facts(report)
    console.print(
        f"[bold]How to trust[/] {escape(facts['ca_cert'])} "
        f"[dim](platform: {escape(facts['platform'])})[/]"
    )
    if not facts["ca_exists"]:
        console.print("[yellow]No CA yet:[/] run `tlsdiag ca init` first.")
    for store in facts["stores"]:
        console.print(f"\n[bold]{escape(store['name'])}[/] [dim]({escape(store['scope'])})[/]")
        for step in store["steps"]:
            console.print(f"  {escape(step)}", soft_wrap=True)
        if store["note"]:
            console.print(f"  [dim]{escape(store['note'])}[/]")
