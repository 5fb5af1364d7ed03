"""Renderers: one Report (or several) to console, JSON or HTML text."""

from __future__ import annotations

import io
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, assert_never

from tlsdiag.model import Format, Report

if TYPE_CHECKING:
    from tlsdiag.render.term import Console


FILE_WIDTH = 4000
"""Console width when writing to a file or pipe: wide enough that no table cell is cut."""


def render_reports(
    reports: Sequence[Report],
    fmt: Format,
    *,
    console_renderer: Callable[[Report, Console], None] | None = None,
    to_file: bool = False,
    width: int | None = None,
) -> str | None:
    """Render reports; console output goes straight to stdout unless ``to_file``.

    Returns:
        The text to write, or None when it was already printed to the terminal.
    """
    match fmt:
        case Format.JSON:
            from tlsdiag.render.json import to_json

            return to_json(reports)
        case Format.HTML:
            from tlsdiag.render.html import to_html

            return to_html(reports)
        case Format.CONSOLE:
            from tlsdiag.render.safe import printable_report
            from tlsdiag.render.term import Console, Rule

            reports = [printable_report(r) for r in reports]
            if console_renderer is None:
                from tlsdiag.render.console import render_console

                console_renderer = render_console
            renderer = console_renderer
            if to_file:
                # a file or pipe: never cut or wrap a line (issuer names, algorithms stay whole)
                buf = io.StringIO()
                console = Console(
                    file=buf,
                    width=width or FILE_WIDTH,
                    no_color=True,
                    force_terminal=False,
                    soft_wrap=width is None,
                )
            else:
                console = Console(width=width)
            for i, report in enumerate(reports):
                if i:
                    console.print(Rule(), width=min(console.width, 100))
                renderer(report, console)
            if not to_file:
                return None
            return "\n".join(line.rstrip() for line in buf.getvalue().split("\n"))
        case _:
            assert_never(fmt)
