"""Renderers: one Report (or several) to console, JSON or HTML text."""

from __future__ import annotations

import io
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, assert_never

from tlsdiag.model import Format, Report

if TYPE_CHECKING:
    from rich.console import Console


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
            from rich.console import Console

            if console_renderer is None:
                from tlsdiag.render.console import render_console

                console_renderer = render_console
            renderer = console_renderer
            if to_file:
                buf = io.StringIO()
                console = Console(file=buf, width=width or 100, no_color=True)
            else:
                console = Console(width=width, highlight=False)
                # piped output: no hard wrapping, so lines stay greppable
                console.soft_wrap = not console.is_terminal
            for i, report in enumerate(reports):
                if i:
                    console.rule()
                renderer(report, console)
            return buf.getvalue() if to_file else None
        case _:
            assert_never(fmt)
