"""``tlsdiag explain``: map a pasted TLS or connection error to the documented causes."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

from tlsdiag.cli._common import emit, handle_errors, pick_format
from tlsdiag.errors import InputError, UsageError
from tlsdiag.model import Format

if TYPE_CHECKING:
    import typer

    from tlsdiag.cli import _typer as O
    from tlsdiag.model import Report
    from tlsdiag.render.term import Console


def _gather(text: list[str] | None, file: Path | None) -> tuple[str, str, bool]:
    """The text to explain, where it came from, and whether it was cut."""
    from tlsdiag.commands.explain import read_text_file, read_text_stream
    from tlsdiag.stores.userfile import stdin_is_terminal

    if text and file is not None:
        raise UsageError("give the error text or --file LOG, not both")
    if file is not None:
        body, cut = read_text_file(file)
        source = "stdin" if str(file) == "-" else str(file)
    elif text == ["-"] or (not text and stdin_is_terminal() is False):
        body, cut = read_text_stream()
        source = "stdin"
    elif text:
        body, cut = " ".join(text), False
        source = "argument"
    else:
        raise UsageError(
            "nothing to explain: give the error text, - to read it from stdin, or --file LOG",
            hint='tlsdiag explain "curl: (60) SSL certificate problem: ..."',
        )
    if not body.strip():
        raise InputError(f"{source}: empty text, nothing to explain")
    return body, source, cut


def explain(
    text: Annotated[
        list[str] | None,
        typer.Argument(
            help="The error message (quote it), or - to read a transcript, trace or log "
            "from stdin.",
            show_default=False,
        ),
    ] = None,
    file: Annotated[
        Path | None,
        typer.Option("--file", "-F", help="Read the text from this log file (- for stdin)."),
    ] = None,
    inspected: Annotated[
        bool | None,
        typer.Option(
            "--inspected/--not-inspected",
            help="Say whether the connection goes through TLS inspection (default: read it "
            "from the text).",
            show_default=False,
        ),
    ] = None,
    host: Annotated[
        str | None,
        typer.Option(
            "--host", help="Host to put in the confirming command (default: from the text)."
        ),
    ] = None,
    code: Annotated[
        str | None,
        typer.Option(
            "--code",
            help="Show the shared explanation of one finding code (e.g. server.chain_incomplete).",
        ),
    ] = None,
    fmt: O.FormatOpt = Format.CONSOLE,
    as_json: O.JsonOpt = False,
    output: O.OutputOpt = None,
    force: O.ForceOpt = False,
) -> None:
    """Explain a TLS or connection error message: likely causes, best first, and what to run next.

    Paste what the client printed: a browser error code or page, a curl or openssl line, a
    whole `curl -v` transcript or `openssl s_client` session, a Java or Python stack trace, a
    git, npm, pip or Docker failure, a Windows Schannel code. The answer lists the messages
    recognised and the client that prints them, then the causes (finding codes) ranked best
    first with why each fits, what it means under TLS inspection, the command that confirms it
    and what to do.

    Exit status: 0 a TLS or connection error was recognised, 1 none was, 2 bad usage or input.
    """
    with handle_errors():
        from tlsdiag.commands.explain import explain_code, explain_text

        if code is not None:
            if text or file is not None:
                raise UsageError("--code explains one finding code; give no text with it")
            report = explain_code(code, host or "")
            emit([report], pick_format(fmt, as_json), output, console_renderer=_render, force=force)
            raise SystemExit(0)
        body, source, cut = _gather(text, file)
        report = explain_text(body, source=source, truncated=cut, inspected=inspected, host=host)
        emit([report], pick_format(fmt, as_json), output, console_renderer=_render, force=force)
        recognised = bool(report.facts.get("recognised"))
    raise SystemExit(0 if recognised else 1)


def _render(report: Report, console: Console) -> None:
    """The console renderer, imported only when console output is asked for (render is heavy)."""
    from tlsdiag.render.explain import render_explain

    render_explain(report, console)


def register(app: typer.Typer) -> None:
    """Add the command to the app."""
    from tlsdiag.cli._typer import add_command

    add_command(app, "explain", explain)
