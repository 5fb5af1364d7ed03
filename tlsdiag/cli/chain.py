"""``tlsdiag chain``: the chain analysis of ``check`` on certificates from a file."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

from tlsdiag.cli._common import emit, handle_errors, pick_format
from tlsdiag.model import Format

if TYPE_CHECKING:
    import typer

    from tlsdiag.cli import _typer as O


def chain(
    source: Annotated[str, typer.Argument(help="PEM, DER or PKCS#7 file, or - for stdin.")],
    host: Annotated[
        str | None,
        typer.Option(
            "--host", help="Check that the leaf covers this name (without it: not checked)."
        ),
    ] = None,
    cafile: O.CafileOpt = None,
    cafile_only: Annotated[
        bool,
        typer.Option(
            "--cafile-only", help="Judge against the --cafile roots alone (no certifi, no OS)."
        ),
    ] = False,
    untrusted: Annotated[
        list[Path] | None,
        typer.Option(
            "--untrusted",
            metavar="FILE",
            help="Intermediates the server did not send, usable to build the path (repeatable).",
        ),
    ] = None,
    at_time: Annotated[
        str | None,
        typer.Option(
            "--at-time",
            metavar="TIME",
            help="Judge dates and the path at this ISO 8601 time (UTC unless an offset is given).",
        ),
    ] = None,
    no_aia: Annotated[
        bool, typer.Option("--no-aia", help="Do not fetch missing issuers from AIA URLs.")
    ] = False,
    timeout: O.TimeoutOpt = 5.0,
    fmt: O.FormatOpt = Format.CONSOLE,
    as_json: O.JsonOpt = False,
    output: O.OutputOpt = None,
    force: O.ForceOpt = False,
) -> None:
    """Analyse a certificate chain from a file: path, trust, dates, names, keys, signatures.

    The first certificate is the leaf; the others are what a server would send after it.
    The path is validated with the TLS server policy; without --host the name is not checked.
    Exit status: 0 no error found, 1 errors found, 2 bad usage or input.
    """
    with handle_errors():
        from tlsdiag.commands.chain import chain_command
        from tlsdiag.render.check import render_check

        report = chain_command(
            source,
            host=host,
            cafile=cafile,
            cafile_only=cafile_only,
            untrusted=untrusted,
            at_time=at_time,
            aia=not no_aia,
            timeout=timeout,
        )
        code = emit(
            [report], pick_format(fmt, as_json), output, console_renderer=render_check, force=force
        )
    raise SystemExit(code)


def register(app: typer.Typer) -> None:
    """Add the command to the app."""
    from tlsdiag.cli._typer import add_command

    add_command(app, "chain", chain)
