"""``tlsdiag check``: does TLS to this host work from here, and if not, why."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

from tlsdiag.cli import _target as T
from tlsdiag.cli._common import emit, handle_errors, pick_format, stderr_console
from tlsdiag.model import Format

if TYPE_CHECKING:
    import typer

    from tlsdiag.cli import _typer as O


def check(
    targets: Annotated[
        list[str] | None,
        typer.Argument(help="host, host:port, https://host[:port]/path, IP or [IPv6]:port."),
    ] = None,
    from_file: Annotated[
        Path | None, typer.Option("--from", help="Read targets from FILE, one per line.")
    ] = None,
    concurrency: Annotated[
        int, typer.Option("--concurrency", min=1, max=64, help="Targets checked at once.")
    ] = 8,
    resolve: O.ResolveOpt = None,
    connect_to: O.ConnectToOpt = None,
    servername: O.ServernameOpt = None,
    no_sni: O.NoSniOpt = False,
    cafile: O.CafileOpt = None,
    timeout: O.TimeoutOpt = 5.0,
    ipv4: O.Ipv4Opt = False,
    ipv6: O.Ipv6Opt = False,
    no_http: O.NoHttpOpt = False,
    no_revocation: Annotated[
        bool, typer.Option("--no-revocation", help="Skip OCSP/CRL revocation checks.")
    ] = False,
    no_browser_hello: Annotated[
        bool,
        typer.Option(
            "--no-browser-hello",
            help="Do not also send a browser-sized ClientHello (post-quantum key share).",
        ),
    ] = False,
    tls1_2: O.Tls12Opt = False,
    tls1_3: O.Tls13Opt = False,
    cipher: O.CipherOpt = None,
    alpn: O.AlpnOpt = None,
    proxy: O.ProxyOpt = None,
    proxy_user: O.ProxyUserOpt = None,
    noproxy: O.NoproxyOpt = None,
    fmt: O.FormatOpt = Format.CONSOLE,
    as_json: O.JsonOpt = False,
    output: O.OutputOpt = None,
    force: O.ForceOpt = False,
) -> None:
    """Check TLS to one or more hosts: handshake, chain, trust, interception, and what to do.

    Exit status: 0 no error found, 1 errors found, 2 bad usage or input, 3 tlsdiag failed.
    """
    with handle_errors():
        from tlsdiag.commands.check_many import Batch
        from tlsdiag.render.check import render_check

        parsed = T.parse_targets(targets or [], from_file)
        opts = T.build_from(
            locals(), revocation=not no_revocation, browser_hello=not no_browser_hello
        )
        batch = Batch(parsed, opts, concurrency=concurrency)  # before the status line's thread
        with progress(len(parsed)) as step:
            reports = batch.reports(on_done=step)
        code = emit(
            reports,
            pick_format(fmt, as_json),
            output,
            console_renderer=render_check,
            force=force,
        )
    raise SystemExit(code)


@contextmanager
def progress(total: int) -> Iterator[Callable[[object], None]]:
    """A status line on stderr, ``checking 200 targets: 37 done``, updated as checks finish;
    silent when stderr is not a terminal."""
    label = f"checking {total} target(s)"
    if not sys.stderr.isatty():
        yield lambda _done: None
        return
    done = 0
    with stderr_console().status(label) as status:

        def step(_outcome: object) -> None:
            nonlocal done
            done += 1
            if total > 1:
                status.update(f"{label}: {done} done")

        yield step


def register(app: typer.Typer) -> None:
    """Add the command to the app."""
    from tlsdiag.cli._typer import add_command

    add_command(app, "check", check)
