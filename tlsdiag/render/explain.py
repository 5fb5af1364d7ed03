"""Console output of ``tlsdiag explain``: what was recognised, the context, the ranked causes."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from rich.console import Console
from rich.markup import escape

from tlsdiag.model import Report

CONSOLE_CAUSES = 5
"""Causes shown on the console (JSON has them all)."""
CONSOLE_MIN_SCORE = 0.1


def render_explain(report: Report, console: Console) -> None:
    """Render an explain report: a text explanation or one code's explanation (``--code``)."""
    facts = report.facts
    explanation = facts.get("explanation")
    if isinstance(explanation, Mapping):
        _render_code(explanation, console)
        return
    causes: Sequence[Mapping[str, Any]] = facts.get("causes") or []
    if not causes:
        _render_unrecognised(facts, console)
        return
    _render_matches(facts.get("matches") or [], facts, console)
    _render_context(facts, console)
    shown = [c for c in causes if float(c.get("score", 0)) >= CONSOLE_MIN_SCORE][:CONSOLE_CAUSES]
    console.print()
    console.print("[bold]Likely causes, best first[/]")
    for rank, cause in enumerate(shown, 1):
        _render_cause(rank, cause, console)
    hidden = len(causes) - len(shown)
    if hidden > 0:
        console.print(f"[dim]({hidden} less likely cause(s) in --json)[/]")


def _render_matches(
    matches: Sequence[Mapping[str, Any]], facts: Mapping[str, Any], console: Console
) -> None:
    source = facts.get("input", {}).get("source", "")
    if not matches:
        return
    n = len(matches)
    plural = "s" if n > 1 else ""
    console.print(f"[bold]Recognised {n} error message{plural}[/] [dim](from {escape(source)})[/]")
    groups: dict[tuple[Any, str], list[Mapping[str, Any]]] = {}
    for m in matches:
        groups.setdefault((m.get("line"), str(m.get("excerpt", ""))), []).append(m)
    for (line, excerpt), same in groups.items():
        clients = ", ".join(dict.fromkeys(str(m.get("client_name", "")) for m in same))
        where = f" [dim]line {line}[/]" if source != "argument" else ""
        console.print(f"  [cyan]{escape(clients)}[/]{where}: {escape(excerpt)}")
        for m in same:
            console.print(f"    [dim]{escape(str(m.get('meaning', '')))}[/]")
    for note in facts.get("notes") or []:
        console.print(f"  [dim]{escape(str(note))}[/]")


def _render_context(facts: Mapping[str, Any], console: Console) -> None:
    ctx: Mapping[str, Any] = facts.get("inspection") or {}
    inspected = ctx.get("inspected")
    if inspected is True and ctx.get("source") == "option":
        line = "[yellow]inspected[/] (you said so with --inspected)"
    elif inspected is True:
        vendors = ", ".join(ctx.get("vendors") or []) or "; ".join(ctx.get("evidence") or [])
        line = f"[yellow]inspected[/]: the text shows TLS inspection ({escape(vendors)})"
    elif inspected is False:
        line = "[green]not inspected[/] (you said so with --not-inspected)"
    else:
        line = "[dim]unknown: nothing in the text shows it (say --inspected or --not-inspected)[/]"
    if ctx.get("proxy_seen") and inspected is not True:
        line += " [dim]- an HTTP proxy is in the path[/]"
    console.print(f"[bold]TLS inspection:[/] {line}")
    host = facts.get("host")
    if host:
        port = facts.get("port")
        shown = f"{host}:{port}" if port not in (None, 443) else host
        extra = (
            " [dim](a large public service: server-side certificate problems are unlikely)[/]"
            if facts.get("public_host")
            else ""
        )
        console.print(f"[bold]Host:[/] {escape(str(shown))}{extra}")


def _render_cause(rank: int, cause: Mapping[str, Any], console: Console) -> None:
    score = float(cause.get("score", 0))
    console.print(
        f"[bold]{rank}. {escape(str(cause.get('title', '')))}[/]  "
        f"[dim]{escape(str(cause.get('code', '')))}  score {score:.2f}[/]"
    )
    console.print(f"   [dim]why:[/] {escape(str(cause.get('why', '')))}")
    if cause.get("inspection"):
        console.print(f"   [dim]under inspection:[/] {escape(str(cause['inspection']))}")
    if cause.get("check"):
        console.print(f"   [dim]check:[/] [bold]{escape(str(cause['check']))}[/]")
    console.print(f"   [green]do:[/] {escape(str(cause.get('next', '')))}")


def _render_unrecognised(facts: Mapping[str, Any], console: Console) -> None:
    console.print("[bold]No known TLS error recognised[/] in this text.")
    console.print(
        "[dim]It may not be a TLS or connection error (an HTTP status, another failure), or a "
        "message tlsdiag does not know yet.[/]"
    )
    suggestions: Sequence[Mapping[str, Any]] = facts.get("suggestions") or []
    if suggestions:
        console.print("Known messages that look similar:")
        for s in suggestions:
            client = escape(str(s.get("client", "")))
            console.print(f"  [cyan]{client}[/]: {escape(str(s.get('example', '')))}")


def _render_code(ex: Mapping[str, Any], console: Console) -> None:
    console.print(
        f"[bold]{escape(str(ex.get('title', '')))}[/]  [dim]{escape(str(ex.get('code', '')))}"
        f"  ({escape(str(ex.get('severity', '')))}, {escape(str(ex.get('where', '')))})[/]"
    )
    console.print(f"   [dim]means:[/] {escape(str(ex.get('meaning', '')))}")
    if ex.get("inspection"):
        console.print(f"   [dim]under inspection:[/] {escape(str(ex['inspection']))}")
    if ex.get("check"):
        console.print(f"   [dim]check:[/] [bold]{escape(str(ex['check']))}[/]")
    console.print(f"   [green]do:[/] {escape(str(ex.get('next', '')))}")
