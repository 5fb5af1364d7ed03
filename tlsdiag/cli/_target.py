"""Target options shared by ``check``, ``probe``, ``issuer`` and ``trust --from-host``.

They mirror curl and openssl s_client so helpdesk habits carry over. Everything here is light:
heavy modules are imported when the options are turned into ``CheckOptions``.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from tlsdiag.errors import InputError, UsageError

if TYPE_CHECKING:
    from tlsdiag.model import Target
    from tlsdiag.net.check import CheckOptions

ResolveOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--resolve",
        metavar="HOST:PORT:ADDR",
        help="Use ADDR for HOST:PORT instead of DNS (repeatable, as in curl).",
    ),
]
ConnectToOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--connect-to",
        metavar="HOST1:PORT1:HOST2:PORT2",
        help="Connect to HOST2:PORT2 for requests to HOST1:PORT1 (as in curl).",
    ),
]
ServernameOpt = Annotated[
    str | None, typer.Option("--servername", help="SNI to send (default: the target host).")
]
NoSniOpt = Annotated[bool, typer.Option("--no-sni", help="Send no SNI.")]
CafileOpt = Annotated[
    Path | None,
    typer.Option(
        "--cafile", "--cacert", help="Extra trusted roots (PEM bundle), like curl --cacert."
    ),
]
TimeoutOpt = Annotated[float, typer.Option("--timeout", min=0.1, max=300, help="Seconds per step.")]
Ipv4Opt = Annotated[bool, typer.Option("-4", "--ipv4", help="Use IPv4 addresses only.")]
Ipv6Opt = Annotated[bool, typer.Option("-6", "--ipv6", help="Use IPv6 addresses only.")]
NoHttpOpt = Annotated[
    bool,
    typer.Option("--no-http", help="Skip the HTTP request after the handshake (no clock check)."),
]
Tls12Opt = Annotated[bool, typer.Option("--tls1_2", "--tls1.2", help="Only TLS 1.2 (as s_client).")]
Tls13Opt = Annotated[bool, typer.Option("--tls1_3", "--tls1.3", help="Only TLS 1.3 (as s_client).")]
CipherOpt = Annotated[
    str | None, typer.Option("--cipher", help="OpenSSL cipher list for TLS 1.2 and below.")
]
AlpnOpt = Annotated[
    str | None, typer.Option("--alpn", help="Comma-separated ALPN protocols to offer.")
]


def parse_targets(raw: list[str], from_file: Path | None) -> list[Target]:
    """Targets from the arguments and ``--from FILE`` (one per line, # comments)."""
    from tlsdiag.core.target import parse_target

    items = list(raw)
    if from_file is not None:
        try:
            text = from_file.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            msg = getattr(exc, "strerror", None) or str(exc)
            raise InputError(f"--from {from_file}: cannot read: {msg}") from exc
        items.extend(
            line.split("#", 1)[0].strip()
            for line in text.splitlines()
            if line.split("#", 1)[0].strip()
        )
        if not items:
            raise InputError(f"--from {from_file}: no targets in the file")
    if not items:
        raise UsageError("no target given", "try: tlsdiag check example.com")
    targets = []
    for item in items:
        try:
            targets.append(parse_target(item))
        except ValueError as exc:
            raise UsageError(f"bad target: {exc}") from exc
    return targets


def build_options(
    *,
    resolve: list[str] | None,
    connect_to: list[str] | None,
    servername: str | None,
    no_sni: bool,
    cafile: Path | None,
    timeout: float,
    ipv4: bool,
    ipv6: bool,
    no_http: bool,
    tls1_2: bool = False,
    tls1_3: bool = False,
    cipher: str | None = None,
    alpn: str | None = None,
    revocation: bool = True,
    command: str = "check",
    expect_issuer: str | None = None,
    expect_fingerprint: str | None = None,
    app: str | None = None,
    platform: str = "",
) -> CheckOptions:
    """Validate the shared options and build ``CheckOptions`` (usage errors exit 2)."""
    import socket
    import ssl

    from tlsdiag.core.target import parse_connect_to, parse_resolve
    from tlsdiag.net.check import CheckOptions
    from tlsdiag.net.probe import ProbeOptions
    from tlsdiag.stores.bundles import load_cafile

    if ipv4 and ipv6:
        raise UsageError("-4 and -6 cannot be used together")
    if tls1_2 and tls1_3:
        raise UsageError("--tls1_2 and --tls1_3 cannot be used together")
    if no_sni and servername:
        raise UsageError("--no-sni and --servername cannot be used together")
    try:
        rules = tuple(parse_resolve(r) for r in resolve or ())
        moves = tuple(parse_connect_to(c) for c in connect_to or ())
    except ValueError as exc:
        raise UsageError(str(exc)) from exc
    if servername is not None:
        from tlsdiag.core.target import normalize_host

        try:
            servername = normalize_host(servername, f"--servername {servername}")[0]
        except ValueError as exc:
            raise UsageError(str(exc)) from exc
    if cipher:
        try:
            ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT).set_ciphers(cipher)
        except ssl.SSLError as exc:
            raise UsageError(f"--cipher {cipher!r}: no cipher matches this list") from exc
    alpn_list: tuple[str, ...] = ("http/1.1",)
    if alpn is not None:
        alpn_list = tuple(p.strip() for p in alpn.split(",") if p.strip())
        if not alpn_list or any(len(p) > 255 for p in alpn_list):
            raise UsageError(f"--alpn {alpn!r}: expected a comma-separated list like h2,http/1.1")
    ca = load_cafile(cafile) if cafile is not None else None
    family = socket.AF_INET if ipv4 else socket.AF_INET6 if ipv6 else socket.AF_UNSPEC
    probe_opts = ProbeOptions(
        servername=servername,
        no_sni=no_sni,
        resolve=rules,
        connect_to=moves,
        timeout=timeout,
        family=family,
        http=not no_http,
        tls_version="TLSv1.2" if tls1_2 else "TLSv1.3" if tls1_3 else None,
        ciphers=cipher,
        alpn=alpn_list,
    )
    return CheckOptions(
        probe=probe_opts,
        cafile=ca,
        revocation=revocation,
        command=command,
        expect_issuer=expect_issuer,
        expect_fingerprint=expect_fingerprint,
        app=app,
        platform=platform,
    )
