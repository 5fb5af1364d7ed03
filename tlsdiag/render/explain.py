"""Console output of ``tlsdiag explain``: what was recognised, the context, the ranked causes."""

from __future__ import annotations

from collections.abc import Sequence

from tlsdiag.facts.explain import (
    CauseFacts,
    ExplainFacts,
    ExplanationFacts,
    MatchFacts,
    explain_code_facts,
    explain_facts,
    explains_code,
)
from tlsdiag.model import Report
from tlsdiag.render.term import Console, escape

CONSOLE_CAUSES = 5
"""Causes shown on the console (JSON has them all)."""
CONSOLE_MIN_SCORE = 0.1


def render_explain(report: Report, console: Console) -> None:
    """Render an explain report: a text explanation or one code's explanation (``--code``)."""
    if explains_code(report):
        _render_code(explain_code_facts(report)["explanation"], console)
        return
    facts = explain_facts(report)
    causes = facts["causes"]
    if not causes:
        _render_unrecognised(facts, console)
        return
    _render_matches(facts["matches"], facts, console)
    _render_context(facts, console)
    shown = [c for c in causes if c["score"] >= CONSOLE_MIN_SCORE][:CONSOLE_CAUSES]
    console.print()
    console.print("[bold]Likely causes, best first[/]")
    for rank, cause in enumerate(shown, 1):
        _render_cause(rank, cause, console)
    hidden = len(causes) - len(shown)
    if hidden > 0:
        console.print(f"[dim]({hidden} less likely cause(s) in --json)[/]")


def _render_matches(matches: Sequence[MatchFacts], facts: ExplainFacts, console: Console) -> None:
    source = facts["input"]["source"]
    if not matches:
        return
    n = len(matches)
    plural = "s" if n > 1 else ""
    console.print(f"[bold]Recognised {n} error message{plural}[/] [dim](from {escape(source)})[/]")
    groups: dict[tuple[int, str], list[MatchFacts]] = {}
    for m in matches:
        groups.setdefault((m["line"], m["excerpt"]), []).append(m)
    for (line, excerpt), same in groups.items():
        clients = ", ".join(dict.fromkeys(m["client_name"] for m in same))
        where = f" [dim]line {line}[/]" if source != "argument" else ""
        console.print(f"  [cyan]{escape(clients)}[/]{where}: {escape(excerpt)}")
        for m in same:
            console.print(f"    [dim]{escape(m['meaning'])}[/]")
    for note in facts["notes"]:
        console.print(f"  [dim]{escape(note)}[/]")


def _render_context(facts: ExplainFacts, console: Console) -> None:
    ctx = facts["inspection"]
    inspected = ctx["inspected"]
    if inspected is True and ctx["source"] == "option":
        line = "[yellow]inspected[/] (you said so with --inspected)"
    elif inspected is True:
        vendors = ", ".join(ctx["vendors"]) or "; ".join(ctx["evidence"])
        line = f"[yellow]inspected[/]: the text shows TLS inspection ({escape(vendors)})"
    elif inspected is False:
        line = "[green]not inspected[/] (you said so with --not-inspected)"
    else:
        line = "[dim]unknown: nothing in the text shows it (say --inspected or --not-inspected)[/]"
    if ctx["proxy_seen"] and inspected is not True:
        line += " [dim]- an HTTP proxy is in the path[/]"
    console.print(f"[bold]TLS inspection:[/] {line}")
    host = facts["host"]
    if host:
        port = facts["port"]
        shown = f"{host}:{port}" if port not in (None, 443) else host
        extra = (
            " [dim](a large public service: server-side certificate problems are unlikely)[/]"
            if facts["public_host"]
            else ""
        )
        console.print(f"[bold]Host:[/] {escape(str(shown))}{extra}")


def _render_cause(rank: int, cause: CauseFacts, console: Console) -> None:
    score = cause["score"]
    console.print(
        f"[bold]{rank}. {escape(cause['title'])}[/]  "
        f"[dim]{escape(cause['code'])}  score {score:.2f}[/]"
    )
    console.print(f"   [dim]why:[/] {escape(cause['why'])}")
    if cause["inspection"]:
        console.print(f"   [dim]under inspection:[/] {escape(cause['inspection'])}")
    if cause["check"]:
        console.print(f"   [dim]check:[/] [bold]{escape(cause['check'])}[/]")
    console.print(f"   [green]do:[/] {escape(cause['next'])}")


def _render_unrecognised(facts: ExplainFacts, console: Console) -> None:
    console.print("[bold]No known TLS error recognised[/] in this text.")
    console.print(
        "[dim]It may not be a TLS or connection error (an HTTP status, another failure), or a "
        "message tlsdiag does not know yet.[/]"
    )
    suggestions = facts["suggestions"]
    if suggestions:
        console.print("Known messages that look similar:")
        for s in suggestions:
            console.print(f"  [cyan]{escape(s['client'])}[/]: {escape(s['example'])}")


def _render_code(ex: ExplanationFacts, console: Console) -> None:
    console.print(
        f"[bold]{escape(ex['title'])}[/]  [dim]{escape(ex['code'])}"
        f"  ({escape(ex['severity'])}, {escape(ex['where'])})[/]"
    )
    console.print(f"   [dim]means:[/] {escape(ex['meaning'])}")
    if ex["inspection"]:
        console.print(f"   [dim]under inspection:[/] {escape(ex['inspection'])}")
    if ex["check"]:
        console.print(f"   [dim]check:[/] [bold]{escape(ex['check'])}[/]")
    console.print(f"   [green]do:[/] {escape(ex['next'])}")
