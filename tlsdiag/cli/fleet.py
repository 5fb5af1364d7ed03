"""``tlsdiag fleet report``: one report from the trust and check results of many machines."""

from __future__ import annotations

import sys
from enum import StrEnum
from typing import Annotated

import typer

from tlsdiag.cli import _typer as O
from tlsdiag.cli._common import handle_errors
from tlsdiag.cli._output import write_output
from tlsdiag.errors import InputError
from tlsdiag.model import Format


class FleetFormat(StrEnum):
    """Output formats of ``fleet report`` (CSV: one row per machine, root and store)."""

    CONSOLE = "console"
    JSON = "json"
    CSV = "csv"
    HTML = "html"


fleet_app = typer.Typer(
    help="Read the trust and check results of many machines (collected by Ansible, Intune, "
    "Jamf...) and report on the whole fleet.",
    no_args_is_help=True,
    rich_markup_mode=None,
)


@fleet_app.command("report")
def report(
    paths: Annotated[
        list[str],
        typer.Argument(
            help="Result files (tlsdiag trust/check --json), folders, zip files, or - for JSON "
            "lines on stdin."
        ),
    ],
    fmt: Annotated[
        FleetFormat,
        typer.Option("--format", "-f", help="Output format.", case_sensitive=False),
    ] = FleetFormat.CONSOLE,
    as_json: Annotated[bool, typer.Option("--json", help="Short for --format json.")] = False,
    output: O.OutputOpt = None,
    force: O.ForceOpt = False,
) -> None:
    """Summarise many machines: per inspection root, which stores trust it on how many machines
    and which machines lack it where; the most common failing check targets and the side to fix
    (client, inspection, server, network); machines with a wrong clock; the machines to fix first.

    Reads input as a stream. The same machine twice: its newest run wins. Truncated, foreign or
    other-command files are listed in the report, never fatal.

    Exit status: 0 every machine trusts the root everywhere, 1 some machine lacks it (or another
    error finding), 2 bad usage or input (- with a closed standard input), 3 tlsdiag failed.
    """
    with handle_errors():
        from tlsdiag.commands.fleet import run_fleet

        chosen = FleetFormat.JSON if as_json else fmt
        stdin = None
        if "-" in paths:
            from tlsdiag.stores.userfile import stdin_is_terminal

            if stdin_is_terminal() is None:
                raise InputError("stdin: standard input is closed, nothing to read")
            stdin = sys.stdin
        result = run_fleet(paths, stdin=stdin)
        match chosen:
            case FleetFormat.CONSOLE:
                from tlsdiag.render import render_reports
                from tlsdiag.render.fleet import render_fleet

                text = render_reports(
                    [result],
                    Format.CONSOLE,
                    console_renderer=render_fleet,
                    to_file=output is not None or not sys.stdout.isatty(),
                )
            case FleetFormat.JSON:
                from tlsdiag.render.json import to_json

                text = to_json([result])
            case FleetFormat.CSV:
                from tlsdiag.render.fleet_csv import to_csv

                text = to_csv(result)
            case FleetFormat.HTML:
                from tlsdiag.render.fleet_html import to_fleet_html

                text = to_fleet_html(result)
        if text is not None:
            write_output(text, output, force=force)
    raise typer.Exit(result.exit_code)


def register(app: typer.Typer) -> None:
    """Add the ``fleet`` command group to the application."""
    app.add_typer(fleet_app, name="fleet")
