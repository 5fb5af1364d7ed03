"""``tlsdiag demo``: the lab, checked end to end, offline, in a few seconds."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

from tlsdiag.cli._common import emit, handle_errors, pick_format
from tlsdiag.model import Format

if TYPE_CHECKING:
    import typer

    from tlsdiag.cli import _typer as O


def demo(
    case: Annotated[
        list[str] | None, typer.Option("--case", help="Only this lab case (repeatable).")
    ] = None,
    fmt: O.FormatOpt = Format.CONSOLE,
    as_json: O.JsonOpt = False,
    output: O.OutputOpt = None,
    force: O.ForceOpt = False,
) -> None:
    """Start the built-in lab, check every case, print one verdict line per case.

    Works offline. Exit status 0 when every case got its expected diagnosis, 1 otherwise.
    """
    with handle_errors():
        from tlsdiag.commands.demo import demo_report

        report = demo_report(case)
        from tlsdiag.render.demo import render_demo_report

        emit([report], pick_format(fmt, as_json), output, render_demo_report, force=force)
    from tlsdiag.facts.lab import demo_facts

    raise SystemExit(0 if demo_facts(report)["all_as_expected"] else 1)


def register(app: typer.Typer) -> None:
    """Add the command to the app."""
    from tlsdiag.cli._typer import add_command

    add_command(app, "demo", demo)
