"""``tlsdiag lab``: broken TLS servers on 127.0.0.1, one per diagnosis."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

from tlsdiag.cli._common import emit, handle_errors, pick_format
from tlsdiag.model import Format

if TYPE_CHECKING:
    import typer

    from tlsdiag.cli import _typer as O

HELP = "The built-in lab of broken TLS servers (127.0.0.1 only)."


def list_cases(
    fmt: O.FormatOpt = Format.CONSOLE,
    as_json: O.JsonOpt = False,
    output: O.OutputOpt = None,
    force: O.ForceOpt = False,
) -> None:
    """List the lab cases and the finding each one demonstrates."""
    with handle_errors():
        from tlsdiag.commands.lab import list_report
        from tlsdiag.render.lab import render_lab_list

        emit(
            [list_report()],
            pick_format(fmt, as_json),
            output,
            console_renderer=render_lab_list,
            force=force,
        )
    raise SystemExit(0)


def serve(
    case: Annotated[
        list[str] | None, typer.Option("--case", help="Serve only this case (repeatable).")
    ] = None,
    directory: Annotated[
        Path | None,
        typer.Option(
            "--dir", help="Write the lab root CA (lab-root.pem) here (default: a temp dir)."
        ),
    ] = None,
) -> None:
    """Start every lab server and print each case's exact `tlsdiag check` command.

    Runs until Ctrl-C. Certificates are generated at start; nothing is written except the lab
    root certificate (no private key) in --dir.
    """
    with handle_errors():
        import sys
        import time

        from tlsdiag.commands.lab import open_lab

        names = tuple(case) if case else None
        with open_lab(names, directory) as lab:
            sys.stdout.write(
                f"tlsdiag lab: {len(lab.cases)} servers on 127.0.0.1; "
                f"lab root CA: {lab.root_pem_path}\n\n"
            )
            for name in lab.names:
                spec = lab.cases[name].spec
                sys.stdout.write(f"# {name}: {spec.description}\n{lab.command(name)}\n\n")
            sys.stdout.write("Press Ctrl-C to stop.\n")
            sys.stdout.flush()
            try:
                while True:  # short sleeps: Ctrl-C and SIGTERM are seen at once on every OS
                    time.sleep(0.5)
            except KeyboardInterrupt:
                sys.stdout.write("stopping the lab\n")


def register(app: typer.Typer) -> None:
    """Add the command group to the app."""
    import typer

    from tlsdiag.cli._typer import add_command

    lab_app = typer.Typer(help=HELP, no_args_is_help=True)
    add_command(lab_app, "list", list_cases)
    add_command(lab_app, "serve", serve)
    app.add_typer(lab_app, name="lab")
