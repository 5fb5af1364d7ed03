"""``tlsdiag har``: the domains a page used, what failed, and how each domain is handled."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

from tlsdiag.cli import _target as T
from tlsdiag.cli._common import emit, handle_errors, pick_format, spinner
from tlsdiag.model import Format

if TYPE_CHECKING:
    import typer

    from tlsdiag.cli import _typer as O


def har(
    file: Annotated[Path, typer.Argument(help="A HAR file (browser developer tools).")],
    check: Annotated[
        bool,
        typer.Option("--check", help="Check every HTTPS host (concurrently): inspected or not."),
    ] = False,
    policy: Annotated[
        Path | None,
        typer.Option("--policy", help="A proxy policy (TOML): which hosts no bypass rule covers."),
    ] = None,
    concurrency: Annotated[
        int, typer.Option("--concurrency", min=1, max=64, help="Hosts checked at once.")
    ] = 8,
    resolve: O.ResolveOpt = None,
    cafile: O.CafileOpt = None,
    timeout: O.TimeoutOpt = 5.0,
    fmt: O.FormatOpt = Format.CONSOLE,
    as_json: O.JsonOpt = False,
    output: O.OutputOpt = None,
    force: O.ForceOpt = False,
) -> None:
    """What a page used, from its HAR: domains (grouped by registrable domain) with request
    counts, failed or blocked requests; --check marks each host inspected, bypassed or failing;
    --policy shows which hosts the bypass rules do not cover. A page whose hosts are handled
    inconsistently gets site.dependent_domains with the exact host names for one rule.

    Cookies, credentials and tokens are removed from every entry before it is used. Large files
    are read as a stream.

    Exit status: 0 no error found, 1 errors found, 2 bad usage or input, 3 tlsdiag failed.
    """
    with handle_errors():
        from tlsdiag.commands.har import HarOptions, run_har
        from tlsdiag.render.bundle import render_har

        check_opts = None
        if check:
            check_opts = T.build_from(locals(), no_http=True, revocation=False)
        opts = HarOptions(
            check=check, check_options=check_opts, policy=policy, concurrency=concurrency
        )
        with spinner(f"reading {file}"):
            report = run_har(file, opts)
        code = emit(
            [report], pick_format(fmt, as_json), output, console_renderer=render_har, force=force
        )
    raise SystemExit(code)


def register(app: typer.Typer) -> None:
    """Add the command to the app."""
    from tlsdiag.cli._typer import add_command

    add_command(app, "har", har)
