"""``tlsdiag probe``: the handshake and chain alone, like ``openssl s_client``."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn

from tlsdiag.cli import _target as T
from tlsdiag.cli._common import emit, handle_errors, pick_format, spinner
from tlsdiag.errors import UsageError
from tlsdiag.model import Format

if TYPE_CHECKING:
    import typer

    from tlsdiag.cli import _typer as O

# the target options --scan honours (it tries every version and suite; no --alpn, no -x)
_SCAN_TARGET_OPTIONS = frozenset(
    ("resolve", "connect_to", "servername", "no_sni", "cafile", "timeout", "ipv4", "ipv6")
)


def probe(
    target: Annotated[str, typer.Argument(help="host, host:port or https://host[:port].")],
    showcerts: Annotated[
        bool, typer.Option("--showcerts", help="Print every certificate sent, as PEM.")
    ] = False,
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
    fmt: O.FormatOpt = Format.CONSOLE,
    as_json: O.JsonOpt = False,
    output: O.OutputOpt = None,
    scan: Annotated[
        bool,
        typer.Option(
            "--scan",
            help="Scan the versions (SSL 3.0 to TLS 1.3), cipher suites in server order and "
            "key-exchange groups the server accepts; judge them by a policy and common clients.",
        ),
    ] = False,
    policy: Annotated[
        Path | None,
        typer.Option("--policy", help="With --scan: judge by this proxy policy file (TOML)."),
    ] = None,
    min_version: Annotated[
        str | None,
        typer.Option("--min-version", help="With --scan: the lowest TLS version allowed (1.2)."),
    ] = None,
    cipher_level: Annotated[
        str | None,
        typer.Option(
            "--cipher-level", help="With --scan: strong, medium (default) or weak suites allowed."
        ),
    ] = None,
    force: O.ForceOpt = False,
) -> None:
    """Show what the client sees of the handshake: version, cipher, ALPN, SNI, chain.

    With --scan: every version and cipher suite the server accepts, and who can connect.

    Exit status: 0 handshake completed (--scan: the policy can connect), 1 it failed,
    2 bad usage or input.
    """
    with handle_errors():
        if scan or policy or min_version or cipher_level:
            _scan(target, scan, policy, min_version, cipher_level, locals())
        from tlsdiag.commands.probe import run_probe
        from tlsdiag.render.check import render_probe

        parsed = T.parse_targets([target], None)[0]
        opts = T.build_from(locals(), no_http=True, revocation=False, command="probe")
        with spinner(f"probing {parsed.display}"):
            report = run_probe(parsed, opts, showcerts=showcerts)
        code = emit(
            [report], pick_format(fmt, as_json), output, console_renderer=render_probe, force=force
        )
    raise SystemExit(code)


def _scan(
    target: str,
    scan: bool,
    policy: Path | None,
    min_version: str | None,
    cipher_level: str | None,
    args: dict[str, Any],
) -> NoReturn:

    from tlsdiag.commands.scan import ScanOptions, run_scan
    from tlsdiag.render.scan import render_scan

    if not scan:
        raise UsageError("--policy, --min-version and --cipher-level need --scan")
    for flag, key in (("--tls1_2", "tls1_2"), ("--tls1_3", "tls1_3"), ("--cipher", "cipher")):
        if args[key]:
            raise UsageError(f"{flag} cannot be used with --scan (it tries every version)")
    parsed = T.parse_targets([target], None)[0]
    opts = T.build_from(
        {k: args[k] for k in _SCAN_TARGET_OPTIONS}, no_http=True, revocation=False, command="probe"
    )
    sopts = ScanOptions(
        opts.probe, policy_file=policy, min_version=min_version, cipher_level=cipher_level
    )
    with spinner(f"scanning {parsed.display}"):
        report = run_scan(parsed, sopts)
    fmt = pick_format(args["fmt"], args["as_json"])
    raise SystemExit(emit([report], fmt, args["output"], console_renderer=render_scan))


def register(app: typer.Typer) -> None:
    """Add the command to the app."""
    from tlsdiag.cli._typer import add_command

    add_command(app, "probe", probe)
