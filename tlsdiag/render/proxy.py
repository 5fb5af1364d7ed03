"""Console output of ``tlsdiag proxy``, ``proxy events`` and ``tlsdiag ca``."""

from __future__ import annotations

from typing import cast

from tlsdiag.facts.ca import ca_facts_of, trust_help_facts
from tlsdiag.facts.proxy import EventFacts, proxy_events_facts
from tlsdiag.model import Report
from tlsdiag.render.console import render_facts, render_findings
from tlsdiag.render.term import Console, escape
from tlsdiag.render.term_table import Table

_ACTION_STYLE = {"inspect": "cyan", "bypass": "green", "block": "bold red"}


def event_line(ev: EventFacts) -> str:
    """One event as one markup line (the live log of ``tlsdiag proxy``); names from the
    network are escaped (a newline in an SNI cannot forge a log line)."""
    from tlsdiag.render.safe import printable

    ev = cast("EventFacts", {k: printable(v) if isinstance(v, str) else v for k, v in ev.items()})
    action = str(ev.get("action", ""))
    style = _ACTION_STYLE.get(action, "white")
    host = str(ev.get("sni") or ev.get("host") or "")
    parts = [
        f"[dim]{escape(str(ev.get('time', ''))[11:19])}[/]",
        f"[{style}]{escape(action):7}[/]",
        f"{escape(host)}:{ev.get('port', '')}",
    ]
    if version := ev.get("upstream_version"):
        parts.append(escape(str(version)))
    if finding := ev.get("finding"):
        parts.append(f"[yellow]{escape(str(finding))}[/]")
    if alert := ev.get("tls_error_description"):
        parts.append(f"alert: {escape(str(alert))}")
    if cert_error := ev.get("tls_certificate_error"):
        parts.append(f"cert: {escape(str(cert_error))}")
    parts.append(f"[dim]{ev.get('bytes_up', 0)}B up {ev.get('bytes_down', 0)}B down[/]")
    return " ".join(parts)


def render_events(report: Report, console: Console) -> None:
    """The events table, a summary line and the findings per host."""
    facts = proxy_events_facts(report)
    events = facts["events"]
    table = Table(box=False, pad_edge=False)
    table.add_column("time", no_wrap=True)
    table.add_column("host", no_wrap=True)
    table.add_column("action", no_wrap=True)
    table.add_column("TLSi", no_wrap=True)
    table.add_column("upstream", no_wrap=True)
    table.add_column("finding", no_wrap=True)
    table.add_column("error")
    table.add_column("up/down", no_wrap=True, justify="right")
    for ev in events:
        action = str(ev.get("action", ""))
        style = _ACTION_STYLE.get(action, "white")
        host = str(ev.get("sni") or ev.get("host") or "")
        errors = (ev.get("tls_error_description"), ev.get("tls_certificate_error"))
        err = " / ".join(str(e) for e in errors if e)
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
            console.print(event_line(ev))
    summary = facts["summary"]
    by_action = ", ".join(f"{k} {v}" for k, v in summary["by_action"].items())
    console.print(
        f"{summary['events']} shown of {facts['total_events']} "
        f"({by_action or 'none'}; inspected {summary['inspected']})"
    )
    render_findings(report, console)


def render_ca(report: Report, console: Console) -> None:
    """The CA's facts."""
    console.print(f"[bold]{escape(report.command)}[/] {escape(report.target)}")
    facts = ca_facts_of(report)
    render_facts(report.facts, console)
    if facts.get("created"):
        console.print(
            "[green]Created.[/] Trust it where you test: `tlsdiag ca trust-help` shows how."
        )
    if facts["expired"]:
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
