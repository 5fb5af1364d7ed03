"""Target options shared by ``check``, ``probe``, ``issuer`` and ``trust --from-host``.

They mirror curl and openssl s_client so helpdesk habits carry over. Everything here is light:
``tlsdiag.commands.options.build_options`` turns them into ``CheckOptions``.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from tlsdiag.errors import InputError, UsageError

if TYPE_CHECKING:
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
