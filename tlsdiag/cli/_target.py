"""Target options shared by ``check``, ``probe``, ``issuer``, ``compare``, ``bundle``, ``har``
and ``trust --from-host``.

They mirror curl and openssl s_client so helpdesk habits carry over. Everything here is light:
``build_from`` hands a command's target parameters to
``tlsdiag.commands.options.build_options``, which turns them into ``CheckOptions``.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tlsdiag.errors import InputError, UsageError

if TYPE_CHECKING:
    from tlsdiag.commands.check import CheckOptions
    from tlsdiag.model import Target

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
