"""``tlsdiag demo``: the lab, checked end to end, offline, in a few seconds."""

from __future__ import annotations

from typing import Annotated

import typer

from tlsdiag.cli._common import (
    ForceOpt,
    FormatOpt,
    JsonOpt,
    OutputOpt,
    emit,
    handle_errors,
    pick_format,
)
from tlsdiag.model import Format


def demo(
    case: Annotated[
        list[str] | None, typer.Option("--case", help="Only this lab case (repeatable).")
    ] = None,
    fmt: FormatOpt = Format.CONSOLE,
    as_json: JsonOpt = False,
    output: OutputOpt = None,
    force: ForceOpt = False,
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

    raise typer.Exit(0 if demo_facts(report)["all_as_expected"] else 1)


def register(app: typer.Typer) -> None:
    """Add the command to the app."""
    app.command("demo")(demo)
