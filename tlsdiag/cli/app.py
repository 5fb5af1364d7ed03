"""The ``tlsdiag`` Typer application: global options and command registration.

Each command lives in its own module with a ``register(app)`` function. Start-up is kept short
in two ways:

- ``tlsdiag --version`` (or ``-V``) is answered by :func:`main` before typer is imported;
- a well-formed run of a command (``tlsdiag check HOST --json``) takes the fast path
  (``tlsdiag.cli._fast``): parsed from the command's cached spec, without importing typer;
- any other run of one command registers only that command, so typer neither imports the
  other command modules nor converts their signatures into click parameters (and that run
  writes the command's spec for the fast path).

``app`` (the full application, every command registered, as ``--help`` and the tests see it) is
built on first access; importing this module imports only the stdlib and ``tlsdiag``.
"""

from __future__ import annotations

import sys
from importlib import import_module
from typing import TYPE_CHECKING

from tlsdiag import __version__

if TYPE_CHECKING:
    import typer

HELP = (
    "Troubleshoot TLS inspection: is this connection inspected, does this machine trust the "
    "inspection root, what is wrong with the chain, and what to do next."
)

# command name -> the tlsdiag.cli module that registers it, in --help order
COMMANDS: dict[str, str] = {
    "check": "check",
    "compare": "compare",
    "probe": "probe",
    "chain": "chain",
    "lab": "lab",
    "demo": "demo",
    "issuer": "issuer",
    "proxy": "proxy",
    "ca": "ca",
    "trust": "trust",
    "explain": "explain",
    "fleet": "fleet",
    "har": "har",
    "bundle": "bundle",
}
_VERSION_FLAGS = ("--version", "-V")  # as in tlsdiag.cli._root
_SERVERS = frozenset({"proxy", "lab"})  # run until stopped: Python's own GC thresholds
_SHORT_RUN_GC_THRESHOLD = (100_000, 50, 100)
"""A young-generation collection every 100,000 allocations instead of 700 for commands that
run and exit: their objects mostly live to the end (imports, certificates, reports), and the
collections cost up to 8% of ``tlsdiag demo`` (callgrind) for little memory back."""
_GLOBAL_FLAGS = frozenset({"--debug"})


def build_app(only: str | None = None) -> typer.Typer:
    """The Typer application with every command, or only the command ``only``."""
    import typer

    from tlsdiag.cli import _root, _typer

    app = typer.Typer(
        cls=_typer.OneLineErrors,
        name="tlsdiag",
        help=HELP,
        no_args_is_help=True,
        pretty_exceptions_show_locals=_typer.PRETTY_EXCEPTIONS_SHOW_LOCALS,
        add_completion=False,
        rich_markup_mode=None,
    )

    app.callback()(_root.root)
    names = (only,) if only is not None else tuple(COMMANDS)
    for name in names:
        import_module(f"tlsdiag.cli.{COMMANDS[name]}").register(app)
    return app


def command_of(argv: list[str]) -> str | None:
    """The one command an argument list runs (None: no command, a typo, or global help).

    Args:
        argv: the arguments after the program name.

    Returns:
        A key of :data:`COMMANDS`, or None when the whole application is needed.
    """
    for arg in argv:
        if arg in _GLOBAL_FLAGS:
            continue
        return arg if arg in COMMANDS else None
    return None


def __getattr__(name: str) -> typer.Typer:
    if name == "app":
        full = build_app()
        globals()["app"] = full
        return full
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def main() -> None:
    """Console-script entry point."""
    argv = sys.argv[1:]
    if len(argv) == 1 and argv[0] in _VERSION_FLAGS:
        sys.stdout.write(f"tlsdiag {__version__}\n")
        return
    name = command_of(argv)
    if name not in _SERVERS:
        import gc

        gc.set_threshold(*_SHORT_RUN_GC_THRESHOLD)
        if name is not None:
            from tlsdiag.cli import _runcache

            _runcache.start(name)
    from tlsdiag.cli import _fast

    write_spec = _fast.run(argv)  # does not return when the command ran without typer
    app = build_app(name)
    if write_spec and name is not None:
        import contextlib

        from tlsdiag.cli._spec import save_specs

        with contextlib.suppress(Exception):  # an optimisation: never fail a run for it
            save_specs(app, name)
    app()
