"""``tlsdiag lab``: broken TLS servers on 127.0.0.1, one per diagnosis."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from tlsdiag.cli._common import handle_errors
from tlsdiag.errors import UsageError

lab_app = typer.Typer(
    help="The built-in lab of broken TLS servers (127.0.0.1 only).", no_args_is_help=True
)


@lab_app.command("list")
def list_cases() -> None:
    """List the lab cases and the finding each one demonstrates."""
    import sys

    from tlsdiag.lab.cases import CASES

    for c in CASES:
        expect = ", ".join(c.expect) or "(no error)"
        sys.stdout.write(f"{c.name:<18} {c.description:<58} {expect}\n")


@lab_app.command("serve")
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
        import threading

        from tlsdiag.lab.cases import CASE_NAMES, Lab

        names = tuple(case) if case else CASE_NAMES
        bad = [n for n in names if n not in CASE_NAMES]
        if bad:
            raise UsageError(f"unknown lab case {bad[0]!r}", f"cases: {', '.join(CASE_NAMES)}")
        if directory is not None and directory.exists() and not directory.is_dir():
            raise UsageError(f"--dir {directory}: exists and is not a directory")
        if directory is not None and (directory / "lab-root.pem").exists():
            raise UsageError(
                f"--dir {directory}: lab-root.pem already exists; not overwriting it",
                "remove it or choose another directory",
            )
        with Lab(names=names, directory=directory) as lab:
            sys.stdout.write(
                f"tlsdiag lab: {len(lab.cases)} servers on 127.0.0.1; "
                f"lab root CA: {lab.root_pem_path}\n\n"
            )
            for name in names:
                spec = lab.cases[name].spec
                sys.stdout.write(f"# {name}: {spec.description}\n{lab.command(name)}\n\n")
            sys.stdout.write("Press Ctrl-C to stop.\n")
            sys.stdout.flush()
            try:
                threading.Event().wait()
            except KeyboardInterrupt:
                sys.stdout.write("stopping the lab\n")


def register(app: typer.Typer) -> None:
    """Add the command group to the app."""
    app.add_typer(lab_app, name="lab")
