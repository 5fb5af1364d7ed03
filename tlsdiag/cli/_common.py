"""Shared CLI plumbing: rendering and exit status, the one error handler.

Only this module catches ``TlsdiagError``: it prints ``error: ...`` and ``hint: ...`` on stderr
and exits with the error's status. Heavy modules (render) are imported inside functions;
typer is not imported here (the fast path runs commands without it: ``tlsdiag.cli._fast``), so
exits are ``SystemExit``, which click lets through unchanged.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

from tlsdiag.cli._output import stdout_lost, write_output
from tlsdiag.errors import TlsdiagError, UsageError
from tlsdiag.model import Format

if TYPE_CHECKING:
    from tlsdiag.model import Report
    from tlsdiag.render.term import Console

EXIT_OK = 0
EXIT_FINDINGS = 1
EXIT_USAGE = 2
EXIT_TOOL = 3

MAX_TIMEOUT = 300.0
"""Longest ``--timeout`` (seconds per step)."""


def seconds(low: float, high: float, option: str) -> Callable[[float | None], float | None]:
    """A typer callback for a duration option: finite, more than ``low``, at most ``high``.

    ``fast_spec`` lets the fast path (``tlsdiag.cli._fast``) build the same check again."""

    def check(value: float | None) -> float | None:
        if value is None:
            return None
        if not math.isfinite(value) or not low < value <= high:
            import typer  # only click calls this callback: typer is loaded

            raise typer.BadParameter(
                f"{value!r}: expected seconds, more than {low:g} and at most {high:g}",
                param_hint=option,
            )
        return value

    check.fast_spec = ("seconds", low, high, option)  # type: ignore[attr-defined]
    return check


timeout_seconds = seconds(0.0, MAX_TIMEOUT, "--timeout")
"""The ``--timeout`` callback of every command that has one."""

_debug = False

EXIT_TERM = 143
"""Stopped by SIGTERM (128 + 15), after the cleanup every exit path runs."""


class _Terminated(SystemExit):
    """SIGTERM, raised in the main thread so ``with`` blocks remove temporary folders."""


@contextmanager
def sigterm_unwinds() -> Iterator[None]:
    """While a command runs, SIGTERM unwinds like Ctrl-C (cleanup runs), then exits 143."""
    import signal
    import threading

    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def on_term(signum: int, frame: object) -> None:
        raise _Terminated(EXIT_TERM)

    previous = signal.signal(signal.SIGTERM, on_term)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def set_debug(value: bool) -> None:
    """Show tracebacks for unexpected exceptions (``--debug``)."""
    global _debug
    _debug = value


def fail(message: str, hint: str | None = None, code: int = EXIT_USAGE) -> NoReturn:
    """Print one clear error line (and a hint) on stderr and exit."""
    sys.stderr.write(f"error: {message}\n")
    if hint:
        sys.stderr.write(f"hint: {hint}\n")
    raise SystemExit(code)


@contextmanager
def handle_errors() -> Iterator[None]:
    """Turn tlsdiag errors into one line and an exit status; never a traceback for bad input."""
    try:
        yield
    except TlsdiagError as exc:
        fail(exc.message, exc.hint, exc.exit_code)
    except KeyboardInterrupt:
        sys.stderr.write("interrupted\n")
        raise SystemExit(130) from None
    except BrokenPipeError as exc:
        stdout_lost(exc)
    except Exception as exc:
        if _debug or _is_click_exit(exc):
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
    """A console on stderr for progress and hints."""
    from tlsdiag.render.term import Console

    return Console(stderr=True)


@contextmanager
def spinner(message: str) -> Iterator[None]:
    """A spinner on stderr while network steps run; silent when stderr is not a terminal."""
    if not sys.stderr.isatty():
        yield
        return
    console = stderr_console()
    with console.status(message):
        yield


ConsoleRenderer = Callable[["Report", "Console"], None]


def emit(
    reports: Sequence[Report],
    fmt: Format,
    output: Path | None = None,
    console_renderer: ConsoleRenderer | None = None,
    *,
    force: bool = False,
) -> int:
    """Render reports in the chosen format and return the exit status (0 or 1).

    One report renders as one JSON object; several as a JSON array. Console output goes
    straight to a terminal; to a file or pipe it is rendered whole (never cut at a width).
    """
    from tlsdiag.render import render_reports

    to_terminal = output is None and _stdout_is_terminal()
    text = render_reports(reports, fmt, console_renderer=console_renderer, to_file=not to_terminal)
    if text is not None:
        write_output(text, output, force=force)
    return EXIT_FINDINGS if any(r.has_errors for r in reports) else EXIT_OK


def _stdout_is_terminal() -> bool:
    try:
        return sys.stdout.isatty()
    except (ValueError, OSError, AttributeError):
        return False


def finish(code: int) -> NoReturn:
    """Exit with ``code``."""
    raise SystemExit(code)


def _is_click_exit(exc: Exception) -> bool:
    """``typer.Exit`` or ``typer.Abort`` (click's way to end a command), passed on unchanged."""
    typer = sys.modules.get("typer")
    return typer is not None and isinstance(exc, (typer.Exit, typer.Abort))


def parse_or_usage(func: Callable[..., Any], *args: Any) -> Any:
    """Call a parser and turn ``ValueError`` into a usage error (exit 2)."""
    try:
        return func(*args)
    except ValueError as exc:
        raise UsageError(str(exc)) from exc
