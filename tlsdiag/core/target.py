"""Parse what the user typed: targets, ``--resolve`` and ``--connect-to`` (curl's syntax).

All parsers raise ``ValueError`` with a one-line message naming the input; the CLI turns it into
a usage error (exit 2).
"""

from __future__ import annotations

import ipaddress
from typing import NamedTuple

from tlsdiag.model import Target

DEFAULT_PORT = 443


_CONTROL = frozenset(chr(c) for c in (*range(0x20), 0x7F))
_LABEL_CHARS = frozenset("abcdefghijklmnopqrstuvwxyz0123456789-_")


def _shown(text: str) -> str:
    """``text`` quoted with control characters escaped (safe on a terminal)."""
    return repr(text)


def _port(text: str, raw: str) -> int:
    if not text:
        raise ValueError(f"{_shown(raw)}: no port after ':'")
    if not (text.isascii() and text.isdigit()):
        raise ValueError(f"{_shown(raw)}: port {_shown(text)} is not a number")
    port = int(text)
    if not 1 <= port <= 65535:
        raise ValueError(f"{_shown(raw)}: port {port} is out of range (1-65535)")
    return port


def _ip_literal(text: str, raw: str) -> str:
    """The bracketed part of ``[...]``: an IPv6 address (zone id allowed)."""
    try:
        addr = ipaddress.ip_address(text.split("%", 1)[0])
    except ValueError:
        raise ValueError(f"{_shown(raw)}: {_shown(text)} is not an IPv6 address") from None
    if addr.version != 6:
        raise ValueError(f"{_shown(raw)}: brackets are for IPv6 addresses only")
    return str(addr)


def normalize_host(host: str, raw: str) -> tuple[str, str, bool]:
    """A host as (A-label or IP literal, Unicode form, is_ip).

    Accepts a DNS name (LDH labels, ``_`` allowed, IDN converted to A-labels), a dotted-quad
    IPv4 address, or an IPv6 address (bracketed or bare). A name whose last label is numeric
    must be a valid IPv4 address (as browsers read it).

    Raises:
        ValueError: the host is empty or not a valid name or address.
    """
    if any(c in _CONTROL for c in host):
        raise ValueError(f"{_shown(raw)}: control characters in the host name")
    host = host.strip()
    if host.startswith("[") or host.endswith("]"):
        if not (host.startswith("[") and host.endswith("]")):
            raise ValueError(f"{_shown(raw)}: unbalanced brackets around the host")
        ip = _ip_literal(host[1:-1], raw)
        return ip, ip, True
    if not host:
        raise ValueError(f"{_shown(raw)}: no host name")
    try:
        ip_addr = ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        pass
    else:
        return str(ip_addr), str(ip_addr), True
    name = host.rstrip(".").lower()
    bad = ValueError(f"{_shown(raw)}: {_shown(host)} is not a valid host name")
    if not name or ":" in name:
        raise bad
    if name.isascii():
        alabel = name
    else:
        import idna  # only international names need it (~2 ms)

        try:
            alabel = idna.encode(name, uts46=True).decode("ascii")
        except idna.IDNAError as exc:
            raise ValueError(
                f"{_shown(raw)}: {_shown(host)} is not a valid international name ({exc})"
            ) from exc
    labels = alabel.split(".")
    if (
        len(alabel) > 253
        or any(not label or len(label) > 63 for label in labels)
        or any(not set(label) <= _LABEL_CHARS or label.startswith("-") for label in labels)
    ):
        raise bad
    if labels[-1].isdigit():
        raise ValueError(f"{_shown(raw)}: {_shown(host)} is not a valid IPv4 address")
    if alabel.startswith("xn--") or ".xn--" in alabel:
        import idna

        try:
            return alabel, idna.decode(alabel), False
        except idna.IDNAError as exc:
            raise ValueError(
                f"{_shown(raw)}: {_shown(host)} is not a valid international name"
            ) from exc
    return alabel, alabel, False


def _authority(text: str) -> str:
    """The part of a target or URL between ``scheme://`` and the first ``/``, ``?`` or ``#``."""
    rest = text.partition("://")[2] if "://" in text else text
    end = len(rest)
    for stop in "/?#":
        i = rest.find(stop)
        if i >= 0:
            end = min(end, i)
    return rest[:end]


def split_userinfo(raw: str) -> tuple[str, bool]:
    """``raw`` without a ``user:password@`` part in its authority, and whether one was there."""
    scheme, sep, rest = raw.partition("://")
    if not sep:
        scheme, rest = "", raw
    end = len(rest)
    for stop in "/?#":
        i = rest.find(stop)
        if i >= 0:
            end = min(end, i)
    authority = rest[:end]
    if "@" not in authority:
        return raw, False
    cleaned = authority.rsplit("@", 1)[1] + rest[end:]
    return (f"{scheme}://{cleaned}" if sep else cleaned), True


def parse_target(raw: str, default_port: int = DEFAULT_PORT) -> Target:
    """``host``, ``host:port``, ``https://host[:port]/path``, IPv4, ``[IPv6]:port``, IDN.

    A ``user:password@`` part is dropped: ``Target.raw`` never holds it (outputs show ``raw``).
    A backslash in the host part is refused (browsers read it as ``/``, other tools do not).

    Raises:
        ValueError: the target is empty or malformed.
    """
    if any(c in _CONTROL for c in raw):
        raise ValueError(f"{_shown(raw)}: control characters in the target")
    text = raw.strip()
    if not text:
        raise ValueError("empty target")
    if "\\" in _authority(text):
        raise ValueError(
            f"{_shown(raw)}: a backslash in the host part (browsers read it as '/', other "
            "tools do not); write the URL without it"
        )
    text, _ = split_userinfo(text)
    shown = text
    path = "/"
    if "://" in text:
        scheme, _, rest = text.partition("://")
        if scheme.lower() not in ("https", "http"):
            raise ValueError(f"{_shown(shown)}: unsupported scheme {scheme!r} (use https://)")
        default = 443 if scheme.lower() == "https" else 80
    else:
        rest, default = text, default_port
    end = len(rest)
    for stop in "/?#":
        i = rest.find(stop)
        if i >= 0:
            end = min(end, i)
    netloc, tail = rest[:end], rest[end:]
    if not netloc:
        raise ValueError(f"{_shown(shown)}: URL has no host" if "://" in text else "empty target")
    if tail:
        tail = tail.split("#", 1)[0]
        path = tail if tail.startswith("/") else "/" + tail
    host_text, port = _split_host_port(netloc, shown, default)
    host, unicode_host, is_ip = normalize_host(host_text, shown)
    return Target(
        raw=shown, host=host, port=port, path=path, unicode_host=unicode_host, is_ip=is_ip
    )


def _split_host_port(text: str, raw: str, default_port: int) -> tuple[str, int]:
    if text.startswith("["):
        end = text.find("]")
        if end < 0:
            raise ValueError(f"{_shown(raw)}: missing ']' after the IPv6 address")
        host, rest = text[: end + 1], text[end + 1 :]
        if not rest:
            return host, default_port
        if not rest.startswith(":"):
            raise ValueError(f"{_shown(raw)}: unexpected text after the IPv6 address")
        return host, _port(rest[1:], raw)
    if text.count(":") > 1:  # a bare IPv6 literal, or a malformed host:port:port
        try:
            return _ip_literal(text, raw), default_port
        except ValueError:
            raise ValueError(
                f"{_shown(raw)}: expected HOST[:PORT] (write an IPv6 address in brackets)"
            ) from None
    if ":" in text:
        host, _, port = text.partition(":")
        if not host:
            raise ValueError(f"{_shown(raw)}: URL has no host")
        return host, _port(port, raw)
    return text, default_port


class ResolveRule(NamedTuple):
    """``--resolve HOST:PORT:ADDR[,ADDR...]`` (host ``*`` matches any)."""

    host: str
    port: int
    addresses: tuple[str, ...]

    def matches(self, host: str, port: int) -> bool:
        """True when this rule applies to host:port."""
        return self.port == port and (self.host == "*" or self.host == host)


def parse_resolve(spec: str) -> ResolveRule:
    """Parse ``HOST:PORT:ADDR[,ADDR]`` as curl does (IPv6 addresses may be bracketed).

    Raises:
        ValueError: the spec is malformed.
    """
    what = f"--resolve {spec!r}"
    host, sep, rest = spec.partition(":")
    port_text, sep2, addr_text = rest.partition(":")
    if not sep or not sep2 or not host or not addr_text:
        raise ValueError(f"{what}: expected HOST:PORT:ADDRESS")
    try:
        port = _port(port_text, spec)
    except ValueError as exc:
        raise ValueError(f"--resolve {exc}") from None
    addresses = []
    for item in addr_text.split(","):
        a = item.strip()
        if a.startswith("[") != a.endswith("]"):
            raise ValueError(f"{what}: {item!r} has unbalanced brackets")
        try:
            addresses.append(str(ipaddress.ip_address(a.removeprefix("[").removesuffix("]"))))
        except ValueError as exc:
            raise ValueError(f"{what}: {item!r} is not an IP address") from exc
    try:
        name = "*" if host == "*" else normalize_host(host, spec)[0]
    except ValueError as exc:
        raise ValueError(f"--resolve {exc}") from None
    return ResolveRule(name, port, tuple(addresses))


class ConnectTo(NamedTuple):
    """``--connect-to HOST1:PORT1:HOST2:PORT2`` (empty parts match / keep anything)."""

    host: str
    port: int | None
    to_host: str
    to_port: int | None

    def apply(self, host: str, port: int) -> tuple[str, int] | None:
        """Where to connect instead of host:port, or None when the rule does not apply."""
        if self.host and self.host != host:
            return None
        if self.port is not None and self.port != port:
            return None
        return (self.to_host or host, self.to_port or port)


def parse_connect_to(spec: str) -> ConnectTo:
    """Parse ``HOST1:PORT1:HOST2:PORT2`` (curl's ``--connect-to``; IPv6 in brackets).

    Raises:
        ValueError: the spec is malformed.
    """
    what = f"--connect-to {spec!r}"
    parts: list[str] = []
    buf = ""
    depth = 0
    for ch in spec:
        if ch == "[":
            depth += 1
        elif ch == "]":
            depth -= 1
        if ch == ":" and depth == 0:
            parts.append(buf)
            buf = ""
        else:
            buf += ch
    parts.append(buf)
    if len(parts) != 4 or depth != 0:
        raise ValueError(f"{what}: expected HOST1:PORT1:HOST2:PORT2")
    h1, p1, h2, p2 = parts
    try:
        return ConnectTo(
            host=normalize_host(h1, spec)[0] if h1 else "",
            port=_port(p1, spec) if p1 else None,
            to_host=normalize_host(h2, spec)[0] if h2 else "",
            to_port=_port(p2, spec) if p2 else None,
        )
    except ValueError as exc:
        raise ValueError(f"--connect-to {exc}") from None


MAX_ALPN_PROTOCOLS = 16
"""Most ALPN protocol ids in one ``--alpn`` list."""
MAX_ALPN_BYTES = 1024
"""Longest ``--alpn`` list on the wire (each id is its length byte plus 1-255 bytes)."""


def parse_alpn(text: str) -> tuple[str, ...]:
    """``--alpn h2,http/1.1`` as RFC 7301 protocol ids: 1-255 bytes each, printable ASCII
    (what TLS stacks send; ``ssl`` cannot send other bytes), at most ``MAX_ALPN_PROTOCOLS``.

    Raises:
        ValueError: an empty list, an id that is not printable ASCII or longer than 255 bytes,
            or a list over the limits (the message names the id).
    """
    ids = tuple(p.strip() for p in text.split(","))
    if not any(ids):
        raise ValueError(f"--alpn {_shown(text)}: expected a comma-separated list like h2,http/1.1")
    for proto in ids:
        if not proto:
            raise ValueError(f"--alpn {_shown(text)}: an empty protocol id (two commas?)")
        if not all("!" <= c <= "~" for c in proto):
            raise ValueError(
                f"--alpn: protocol id {_shown(proto)} is not printable ASCII (RFC 7301 ids "
                "such as h2, http/1.1, acme-tls/1)"
            )
        if len(proto) > 255:
            raise ValueError(f"--alpn: protocol id {_shown(proto[:20])}... is over 255 bytes")
    if len(ids) > MAX_ALPN_PROTOCOLS or sum(len(p) + 1 for p in ids) > MAX_ALPN_BYTES:
        raise ValueError(
            f"--alpn: {len(ids)} protocol ids; at most {MAX_ALPN_PROTOCOLS} and "
            f"{MAX_ALPN_BYTES} bytes in all"
        )
    return ids
