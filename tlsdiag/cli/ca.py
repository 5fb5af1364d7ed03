"""``tlsdiag ca``: the local inspection root used by ``tlsdiag proxy``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from tlsdiag.cli import _typer as O
from tlsdiag.cli._common import emit, handle_errors, pick_format
from tlsdiag.cli._output import write_output
from tlsdiag.model import Format

ca_app = typer.Typer(
    name="ca",
    help="The local root CA that `tlsdiag proxy` signs forged certificates with.",
    no_args_is_help=True,
    rich_markup_mode=None,
)

DirOpt = Annotated[
    Path | None,
    typer.Option(
        "--dir",
        help="CA directory (default: the user's config dir, or $TLSDIAG_HOME).",
        file_okay=False,
    ),
]


@ca_app.command("init")
def init(
    days: Annotated[int, typer.Option("--days", help="Validity in days.", min=1, max=3650)] = 365,
    permit: Annotated[
        list[str] | None,
        typer.Option(
            "--permit",
            help="Name constraint: the CA can only sign for this domain (repeatable).",
        ),
    ] = None,
    force: Annotated[
        bool,
        typer.Option("--force", is_eager=True, help="Replace an existing CA (and --output file)."),
    ] = False,
    key_type: Annotated[
        str, typer.Option("--key-type", help="ec256, ec384, rsa2048, rsa3072 or rsa4096.")
    ] = "ec256",
    directory: DirOpt = None,
    fmt: O.FormatOpt = Format.CONSOLE,
    as_json: O.JsonOpt = False,
    output: O.OutputOpt = None,
) -> None:
    """Create the local root CA (EC P-256 unless --key-type, one year; key mode 0600).

    Exit status: 0 created, 2 bad usage or a CA already exists (use --force), 3 cannot write.
    """
    with handle_errors():
        from tlsdiag.commands.ca import init_report
        from tlsdiag.render.proxy import render_ca

        report = init_report(
            directory, days=days, permit=tuple(permit or ()), force=force, key_type=key_type
        )
        code = emit(
            [report], pick_format(fmt, as_json), output, console_renderer=render_ca, force=force
        )
    raise typer.Exit(code)


@ca_app.command("show")
def show(
    directory: DirOpt = None,
    fmt: O.FormatOpt = Format.CONSOLE,
    as_json: O.JsonOpt = False,
    output: O.OutputOpt = None,
    force: O.ForceOpt = False,
) -> None:
    """Show the CA: subject, validity, fingerprints, name constraints, file paths.

    Exit status: 0 shown, 2 no CA yet (run `tlsdiag ca init`) or its key is open to others.
    """
    with handle_errors():
        from tlsdiag.commands.ca import show_report
        from tlsdiag.render.proxy import render_ca

        report = show_report(directory)
        code = emit(
            [report], pick_format(fmt, as_json), output, console_renderer=render_ca, force=force
        )
    raise typer.Exit(code)


@ca_app.command("export")
def export(
    der: Annotated[bool, typer.Option("--der", help="DER instead of PEM.")] = False,
    directory: DirOpt = None,
    output: O.OutputOpt = None,
    force: O.ForceOpt = False,
) -> None:
    """Write the CA certificate (never the key) to stdout or --output, PEM or DER.

    Exit status: 0 written, 2 no CA yet or cannot write.
    """
    with handle_errors():
        from tlsdiag.commands.ca import export_bytes

        data = export_bytes(directory, der=der)
        write_output(data, output, force=force)
    raise typer.Exit(0)


@ca_app.command("path")
def path(
    directory: DirOpt = None,
    fmt: O.FormatOpt = Format.CONSOLE,
    as_json: O.JsonOpt = False,
    output: O.OutputOpt = None,
    force: O.ForceOpt = False,
) -> None:
    """Print where the CA lives: directory, certificate, key (whether or not they exist yet)."""
    with handle_errors():
        from tlsdiag.commands.ca import path_report
        from tlsdiag.render.ca_path import render_ca_path

        report = path_report(directory)
        emit(
            [report],
            pick_format(fmt, as_json),
            output,
            console_renderer=render_ca_path,
            force=force,
        )
    raise typer.Exit(0)


@ca_app.command("trust-help")
def trust_help(
    platform: Annotated[
        str | None,
        typer.Option("--platform", help="linux, macos, windows or all (default: this one)."),
    ] = None,
    directory: DirOpt = None,
    fmt: O.FormatOpt = Format.CONSOLE,
    as_json: O.JsonOpt = False,
    output: O.OutputOpt = None,
    force: O.ForceOpt = False,
) -> None:
    """How to trust the CA: OS stores (Windows, macOS, Linux) and app stores (steps are printed,
    never run).

    Exit status: 0, 2 bad --platform.
    """
    with handle_errors():
        from tlsdiag.commands.ca import trust_help_report
        from tlsdiag.render.proxy import render_trust_help

        report = trust_help_report(directory, platform)
        code = emit(
            [report],
            pick_format(fmt, as_json),
            output,
            console_renderer=render_trust_help,
            force=force,
        )
    raise typer.Exit(code)


def register(app: typer.Typer) -> None:
    """Add the ``ca`` group to the app."""
    app.add_typer(ca_app, name="ca")
