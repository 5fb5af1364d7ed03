"""Shared CLI plumbing: output options, rendering and exit status, the one error handler.

Only this module catches ``TlsdiagError``: it prints ``error: ...`` and ``hint: ...`` on stderr
and exits with the error's status. Heavy modules (rich, render) are imported inside functions.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn

import typer

from tlsdiag.errors import InputError, TlsdiagError, UsageError
from tlsdiag.model import Format

if TYPE_CHECKING:
    from rich.console import Console

    from tlsdiag.model import Report

FormatOpt = Annotated[
    Format,
    typer.Option("--format", "-f", help="Output format.", case_sensitive=False),
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Short for --format json.")]
OutputOpt = Annotated[
    Path | None,
    typer.Option("--output", "-o", help="Write the report to this file instead of stdout."),
]

EXIT_OK = 0
EXIT_FINDINGS = 1
EXIT_USAGE = 2
EXIT_TOOL = 3
EXIT_PIPE = 141
"""Standard output was closed before the report was written (``| head``), as other tools do."""

MAX_TIMEOUT = 300.0
"""Longest ``--timeout`` (seconds per step)."""


def seconds(low: float, high: float, option: str) -> Callable[[float | None], float | None]:
    """A typer callback for a duration option: finite, more than ``low``, at most ``high``."""

    def check(value: float | None) -> float | None:
        if value is None:
            return None
        if not math.isfinite(value) or not low < value <= high:
            raise typer.BadParameter(
                f"{value!r}: expected seconds, more than {low:g} and at most {high:g}",
                param_hint=option,
            )
        return value

    return check


timeout_seconds = seconds(0.0, MAX_TIMEOUT, "--timeout")
"""The ``--timeout`` callback of every command that has one."""

_debug = False


def set_debug(value: bool) -> None:
    """Show tracebacks for unexpected exceptions (``--debug``)."""
    global _debug
    _debug = value


def fail(message: str, hint: str | None = None, code: int = EXIT_USAGE) -> NoReturn:
    """Print one clear error line (and a hint) on stderr and exit."""
    sys.stderr.write(f"error: {message}\n")
    if hint:
        sys.stderr.write(f"hint: {hint}\n")
    raise typer.Exit(code)


@contextmanager
def handle_errors() -> Iterator[None]:
    """Turn tlsdiag errors into one line and an exit status; never a traceback for bad input."""
    try:
        yield
    except TlsdiagError as exc:
        fail(exc.message, exc.hint, exc.exit_code)
    except KeyboardInterrupt:
        sys.stderr.write("interrupted\n")
        raise typer.Exit(130) from None
    except (typer.Exit, typer.Abort):
        raise
    except Exception as exc:
        if _debug:
            raise
        fail(
            f"tlsdiag failed unexpectedly: {type(exc).__name__}: {exc}",
            "run again with --debug for a traceback, and report it as a bug",
            EXIT_TOOL,
        )


def pick_format(fmt: Format, as_json: bool) -> Format:
    """``--json`` wins over ``--format``."""
    return Format.JSON if as_json else fmt


def stderr_console() -> Console:
    """A rich console on stderr for progress and hints."""
    from rich.console import Console

    return Console(stderr=True)


@contextmanager
def spinner(message: str) -> Iterator[None]:
    """A spinner on stderr while network steps run; silent when stderr is not a terminal."""
    if not sys.stderr.isatty():
        yield
        return
    console = stderr_console()
    with console.status(message, spinner="dots"):
        yield


def write_output(text: str, output: Path | None) -> None:
    """Write to stdout or to ``--output`` (never overwriting a directory)."""
    if output is None:
        sys.stdout.write(text)
        if not text.endswith("\n"):
            sys.stdout.write("\n")
        sys.stdout.flush()
        return
    if output.is_dir():
        raise InputError(f"--output {output}: is a directory")
    try:
        output.write_text(text if text.endswith("\n") else text + "\n", encoding="utf-8")
    except OSError as exc:
        raise InputError(f"--output {output}: cannot write: {exc.strerror}") from exc


ConsoleRenderer = Callable[["Report", "Console"], None]


def emit(
    reports: Sequence[Report],
    fmt: Format,
    output: Path | None = None,
    console_renderer: ConsoleRenderer | None = None,
) -> int:
    """Render reports in the chosen format and return the exit status (0 or 1).

    One report renders as one JSON object; several as a JSON array.
    """
    from tlsdiag.render import render_reports

    text = render_reports(
        reports, fmt, console_renderer=console_renderer, to_file=output is not None
    )
    if text is not None:
        write_output(text, output)
    return EXIT_FINDINGS if any(r.has_errors for r in reports) else EXIT_OK


def finish(code: int) -> NoReturn:
    """Exit with ``code``."""
    raise typer.Exit(code)


def parse_or_usage(func: Callable[..., Any], *args: Any) -> Any:
    """Call a parser and turn ``ValueError`` into a usage error (exit 2)."""
    try:
        return func(*args)
    except ValueError as exc:
        raise UsageError(str(exc)) from exc
