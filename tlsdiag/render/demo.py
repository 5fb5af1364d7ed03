"""Console rendering of ``tlsdiag demo``: one verdict line per lab case."""

from __future__ import annotations

import io
from collections.abc import Sequence

from rich.console import Console
from rich.markup import escape

from tlsdiag.lab.demo import DemoLine
from tlsdiag.model import Severity


def _line(ln: DemoLine) -> str:
    errors = [f for f in ln.report.sorted_findings() if f.severity is Severity.ERROR]
    if errors:
        verdict = f"[red]{escape(errors[0].code)}[/]: {escape(errors[0].title)}"
        if len(errors) > 1:
            verdict += f" [dim](+{len(errors) - 1} more)[/]"
    else:
        verdict = "[green]works[/]: no error found"
    mark = (
        "[green]as expected[/]"
        if ln.as_expected
        else (f"[bold red]UNEXPECTED[/] (expected {escape(', '.join(ln.expected) or 'no error')})")
    )
    return f"{ln.case:<18} {verdict}  {mark}"


def _render(lines: Sequence[DemoLine], elapsed: float, console: Console) -> None:
    console.print(
        f"[bold]tlsdiag demo[/]: {len(lines)} lab servers on 127.0.0.1, "
        f"each checked with `tlsdiag check`\n"
    )
    for ln in lines:
        console.print(_line(ln), highlight=False)
    good = sum(ln.as_expected for ln in lines)
    console.print(
        f"\n{good}/{len(lines)} cases diagnosed as expected in {elapsed:.1f} s. "
        "See one in full: tlsdiag lab serve, then run a printed command."
    )


def render_demo(lines: Sequence[DemoLine], elapsed: float) -> None:
    """Print to the terminal."""
    _render(lines, elapsed, Console(highlight=False))


def demo_text(lines: Sequence[DemoLine], elapsed: float) -> str:
    """Plain text for --output."""
    buf = io.StringIO()
    _render(lines, elapsed, Console(file=buf, width=120, no_color=True))
    return buf.getvalue()
