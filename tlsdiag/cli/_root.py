"""The root callback of the ``tlsdiag`` application: ``--version``/``-V`` and ``--debug``."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from tlsdiag import __version__
from tlsdiag.cli import _common

VERSION_FLAGS = ("--version", "-V")


def _version(value: bool) -> None:
    if value:
        sys.stdout.write(f"tlsdiag {__version__}\n")
        raise typer.Exit(0)


def root(
    version: Annotated[
        bool,
        typer.Option(
            *VERSION_FLAGS, callback=_version, is_eager=True, help="Show the version and exit."
        ),
    ] = False,
    debug: Annotated[
        bool, typer.Option("--debug", help="Show tracebacks of unexpected errors.")
    ] = False,
) -> None:
    _common.set_debug(debug)
