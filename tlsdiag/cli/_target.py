"""Target options shared by ``check``, ``probe``, ``issuer``, ``compare``, ``bundle``, ``har``
and ``trust --from-host``.

They mirror curl and openssl s_client so helpdesk habits carry over. Everything here is light:
``build_from`` hands a command's target parameters to
``tlsdiag.commands.options.build_options``, which turns them into ``CheckOptions``.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from tlsdiag.cli._common import timeout_seconds
from tlsdiag.errors import InputError, UsageError

if TYPE_CHECKING:
    from tlsdiag.commands.check import CheckOptions
    from tlsdiag.model import Target

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
    list[Path] | None,
    typer.Option(
        "--cafile",
        "--cacert",
        help="Extra trusted roots (PEM bundle), like curl --cacert (repeatable: all are used).",
    ),
]
TimeoutOpt = Annotated[
    float,
    typer.Option(
        "--timeout",
        callback=timeout_seconds,
        help="Seconds per step (more than 0, at most 300).",
    ),
]
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

# -x / --proxy, as in curl (HTTPS_PROXY / NO_PROXY are read when -x is not given)
ProxyOpt = Annotated[
    str | None,
    typer.Option(
        "-x",
        "--proxy",
        metavar="URL",
        help="Go through this HTTP proxy (CONNECT), like curl -x; -x '' ignores HTTPS_PROXY.",
    ),
]
ProxyUserOpt = Annotated[
    str | None,
    typer.Option("--proxy-user", metavar="USER:PASSWORD", help="Basic credentials for the proxy."),
]
NoproxyOpt = Annotated[
    str | None,
    typer.Option(
        "--noproxy", metavar="HOSTS", help="Comma-separated hosts that go direct (as NO_PROXY)."
    ),
]

# The target options by parameter name, with the value a command that does not offer one passes.
NOT_OFFERED: Mapping[str, Any] = {
    "resolve": None,
    "connect_to": None,
    "servername": None,
    "no_sni": False,
    "cafile": None,
    "timeout": 5.0,
    "ipv4": False,
    "ipv6": False,
    "no_http": False,
    "tls1_2": False,
    "tls1_3": False,
    "cipher": None,
    "alpn": None,
    "proxy": None,
    "proxy_user": None,
    "noproxy": None,
}


def build_from(params: Mapping[str, Any], **fixed: Any) -> CheckOptions:
    """``CheckOptions`` from a command's parameters (its ``locals()``): each target option above
    that the command offers, under the parameter name used here; ``fixed`` wins over both.

    Raises:
        UsageError: options that cannot go together, or a bad value.
        InputError: a ``--cafile`` is unreadable or holds no certificate.
    """
    from tlsdiag.commands.options import build_options

    given = {name: params.get(name, absent) for name, absent in NOT_OFFERED.items()}
    return build_options(**{**given, **fixed})


def parse_targets(raw: list[str], from_file: Path | None) -> list[Target]:
    """Targets from the arguments and ``--from FILE`` (one per line, # comments)."""
    from tlsdiag.core.target import parse_target, split_userinfo

    items = list(raw)
    if from_file is not None:
        from tlsdiag.stores.userfile import Kind, read_file

        data, _ = read_file(from_file, Kind.TARGETS, what=f"--from {from_file}")
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise InputError(f"--from {from_file}: not UTF-8 text") from exc
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
        if split_userinfo(item.strip())[1]:
            note_userinfo_dropped()
    return targets


def note_userinfo_dropped() -> None:
    """Say once on stderr that a ``user:password@`` part is ignored and shown nowhere."""
    import sys

    sys.stderr.write("note: the user name and password in the URL are ignored and not shown\n")
