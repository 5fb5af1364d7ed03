"""``tlsdiag issuer``: is this connection inspected, by whom, and is that expected?"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

from tlsdiag.cli import _target as T
from tlsdiag.cli._common import emit, handle_errors, pick_format, spinner
from tlsdiag.errors import UsageError
from tlsdiag.facts.ids import Platform
from tlsdiag.model import Format

if TYPE_CHECKING:
    import typer

    from tlsdiag.cli import _typer as O

PLATFORMS = tuple(Platform)


def issuer(
    target: Annotated[
        str, typer.Argument(help="host, host:port, https://host[:port]/path, IP or [IPv6]:port.")
    ],
    resolve: O.ResolveOpt = None,
    connect_to: O.ConnectToOpt = None,
    servername: O.ServernameOpt = None,
    no_sni: O.NoSniOpt = False,
    cafile: O.CafileOpt = None,
    timeout: O.TimeoutOpt = 5.0,
    ipv4: O.Ipv4Opt = False,
    ipv6: O.Ipv6Opt = False,
    tls1_2: O.Tls12Opt = False,
    tls1_3: O.Tls13Opt = False,
    cipher: O.CipherOpt = None,
    alpn: O.AlpnOpt = None,
    proxy: O.ProxyOpt = None,
    proxy_user: O.ProxyUserOpt = None,
    noproxy: O.NoproxyOpt = None,
    expect_issuer: Annotated[
        str | None,
        typer.Option(
            "--expect-issuer",
            metavar="PATTERN",
            help="Regex (case-insensitive) the issuer, root or vendor must match; exit 1 if not.",
        ),
    ] = None,
    expect_fingerprint: Annotated[
        str | None,
        typer.Option(
            "--expect-fingerprint",
            metavar="SHA256",
            help="SHA-256 of a certificate that must be in the chain (a pin); exit 1 if not.",
        ),
    ] = None,
    app: Annotated[
        str | None,
        typer.Option("--app", help="The application in question (default-bypass apps)."),
    ] = None,
    platform: Annotated[
        str | None,
        typer.Option(
            "--platform",
            help="Judge for this platform: linux, macos, windows, android, ios, unknown "
            "(default: this OS).",
        ),
    ] = None,
    vendor: Annotated[
        list[str] | None,
        typer.Option(
            "--vendor",
            metavar="ID",
            help="The inspection product deployed here (id from the vendor list; repeatable). "
            "Default: the products whose roots this machine trusts.",
        ),
    ] = None,
    fmt: O.FormatOpt = Format.CONSOLE,
    as_json: O.JsonOpt = False,
    output: O.OutputOpt = None,
    force: O.ForceOpt = False,
) -> None:
    """Who issued the certificate this client sees: inspected (TLS Inspection = 1) or direct (0).

    Shows the presented chain's issuer and root, a verdict with its confidence and reasons, and
    whether a direct result is expected on this platform (vendor default bypass).

    Exit status: 0 no error, 1 an error (expectation not met, connection failed), 2 bad usage
    or input, 3 tlsdiag failed.
    """
    with handle_errors():
        from tlsdiag.commands.issuer import run_issuer
        from tlsdiag.render.issuer import render_issuer

        if platform is not None and platform.lower() not in PLATFORMS:
            raise UsageError(f"--platform {platform!r}: expected one of {', '.join(PLATFORMS)}")
        parsed = T.parse_targets([target], None)[0]
        opts = T.build_from(
            locals(),
            no_http=True,
            revocation=False,
            command="issuer",
            expect_issuer=expect_issuer,
            expect_fingerprint=expect_fingerprint,
            app=app,
            platform=(platform or "").lower(),
        )
        with spinner(f"checking who issues {parsed.display}"):
            report = run_issuer(parsed, opts, vendors=vendor or ())
        code = emit(
            [report], pick_format(fmt, as_json), output, console_renderer=render_issuer, force=force
        )
    raise SystemExit(code)


def register(app: typer.Typer) -> None:
    """Add the command to the app."""
    from tlsdiag.cli._typer import add_command

    add_command(app, "issuer", issuer)
