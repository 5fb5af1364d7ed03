"""The ``tlsdiag`` Typer application: global options and command registration.

Each command lives in its own module with a ``register(app)`` function; this module imports
only typer, the stdlib and light tlsdiag modules so that ``tlsdiag --version`` starts fast.
"""

from __future__ import annotations

from typing import Annotated

import typer

from tlsdiag import __version__
from tlsdiag.cli import (
    _common,
    ca,
    chain,
    check,
    demo,
    explain,
    fleet,
    issuer,
    lab,
    probe,
    proxy,
    trust,
)

app = typer.Typer(
    name="tlsdiag",
    help=(
        "Troubleshoot TLS inspection: is this connection inspected, does this machine trust the "
        "inspection root, what is wrong with the chain, and what to do next."
    ),
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
    add_completion=False,
    rich_markup_mode=None,
)


def _version(value: bool) -> None:
    if value:
        import sys

        sys.stdout.write(f"tlsdiag {__version__}\n")
        raise typer.Exit(0)


@app.callback()
def _root(
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_version, is_eager=True, help="Show the version and exit."
        ),
    ] = False,
    debug: Annotated[
        bool, typer.Option("--debug", help="Show tracebacks of unexpected errors.")
    ] = False,
) -> None:
    _common.set_debug(debug)


for _module in (check, probe, chain, lab, demo, issuer, proxy, ca, trust, explain, fleet):
    _module.register(app)


def main() -> None:
    """Console-script entry point."""
    app()
