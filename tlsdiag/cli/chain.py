"""``tlsdiag chain``: the chain analysis of ``check`` on certificates from a file."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from tlsdiag.cli import _target as T
from tlsdiag.cli._common import FormatOpt, JsonOpt, OutputOpt, emit, handle_errors, pick_format
from tlsdiag.errors import InputError
from tlsdiag.model import Format

MAX_INPUT = 10 * 1024 * 1024


def chain(
    source: Annotated[str, typer.Argument(help="PEM, DER or PKCS#7 file, or - for stdin.")],
    host: Annotated[
        str | None, typer.Option("--host", help="Check that the leaf covers this name.")
    ] = None,
    cafile: T.CafileOpt = None,
    no_aia: Annotated[
        bool, typer.Option("--no-aia", help="Do not fetch missing issuers from AIA URLs.")
    ] = False,
    timeout: T.TimeoutOpt = 5.0,
    fmt: FormatOpt = Format.CONSOLE,
    as_json: JsonOpt = False,
    output: OutputOpt = None,
) -> None:
    """Analyse a certificate chain from a file: path, trust, dates, names, keys, signatures.

    The first certificate is the leaf; the others are what a server would send after it.
    Exit status: 0 no error found, 1 errors found, 2 bad usage or input.
    """
    with handle_errors():
        from tlsdiag.net.check import run_chain
        from tlsdiag.render.check import render_check
        from tlsdiag.stores.bundles import load_cafile, parse_certificates

        if source == "-":
            data = sys.stdin.buffer.read(MAX_INPUT + 1)
            what = "stdin"
        else:
            path = Path(source)
            try:
                with path.open("rb") as fh:
                    data = fh.read(MAX_INPUT + 1)
            except IsADirectoryError as exc:
                raise InputError(f"{source}: is a directory") from exc
            except OSError as exc:
                raise InputError(f"{source}: cannot read: {exc.strerror}") from exc
            what = source
        if len(data) > MAX_INPUT:
            raise InputError(f"{what}: larger than 10 MiB, not a certificate chain")
        if not data.strip():
            raise InputError(f"{what}: empty input")
        certs = parse_certificates(data, what=what)
        if not certs:
            raise InputError(f"{what}: no certificate found")
        ca = load_cafile(cafile) if cafile is not None else None
        try:
            report = run_chain(
                certs, host=host, cafile=ca, aia=not no_aia, timeout=timeout, source=what
            )
        except ValueError as exc:
            raise InputError(str(exc)) from exc
        code = emit([report], pick_format(fmt, as_json), output, console_renderer=render_check)
    raise typer.Exit(code)


def register(app: typer.Typer) -> None:
    """Add the command to the app."""
    app.command("chain")(chain)
