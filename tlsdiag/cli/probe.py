"""``tlsdiag probe``: the handshake and chain alone, like ``openssl s_client``."""

from __future__ import annotations

from typing import Annotated

import typer

from tlsdiag.cli import _target as T
from tlsdiag.cli._common import (
    ForceOpt,
    FormatOpt,
    JsonOpt,
    OutputOpt,
    emit,
    handle_errors,
    pick_format,
    spinner,
)
from tlsdiag.model import Format


def probe(
    target: Annotated[str, typer.Argument(help="host, host:port or https://host[:port].")],
    showcerts: Annotated[
        bool, typer.Option("--showcerts", help="Print every certificate sent, as PEM.")
    ] = False,
    resolve: T.ResolveOpt = None,
    connect_to: T.ConnectToOpt = None,
    servername: T.ServernameOpt = None,
    no_sni: T.NoSniOpt = False,
    cafile: T.CafileOpt = None,
    timeout: T.TimeoutOpt = 5.0,
    ipv4: T.Ipv4Opt = False,
    ipv6: T.Ipv6Opt = False,
    tls1_2: T.Tls12Opt = False,
    tls1_3: T.Tls13Opt = False,
    cipher: T.CipherOpt = None,
    alpn: T.AlpnOpt = None,
    fmt: FormatOpt = Format.CONSOLE,
    as_json: JsonOpt = False,
    output: OutputOpt = None,
    force: ForceOpt = False,
) -> None:
    """Show what the client sees of the handshake: version, cipher, ALPN, SNI, chain.

    Exit status: 0 handshake completed, 1 it failed, 2 bad usage or input.
    """
    with handle_errors():
        from tlsdiag.commands.options import build_options
        from tlsdiag.commands.probe import run_probe
        from tlsdiag.render.check import render_probe

        parsed = T.parse_targets([target], None)[0]
        opts = build_options(
            resolve=resolve,
            connect_to=connect_to,
            servername=servername,
            no_sni=no_sni,
            cafile=cafile,
            timeout=timeout,
            ipv4=ipv4,
            ipv6=ipv6,
            no_http=True,
            tls1_2=tls1_2,
            tls1_3=tls1_3,
            cipher=cipher,
            alpn=alpn,
            revocation=False,
            command="probe",
        )
        with spinner(f"probing {parsed.display}"):
            report = run_probe(parsed, opts, showcerts=showcerts)
        code = emit(
            [report], pick_format(fmt, as_json), output, console_renderer=render_probe, force=force
        )
    raise typer.Exit(code)


def register(app: typer.Typer) -> None:
    """Add the command to the app."""
    app.command("probe")(probe)
