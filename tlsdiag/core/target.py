"""Parse what the user typed: targets, ``--resolve`` and ``--connect-to`` (curl's syntax).

All parsers raise ``ValueError`` with a one-line message naming the input; the CLI turns it into
a usage error (exit 2).
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from urllib.parse import urlsplit

import idna

from tlsdiag.model import Target

DEFAULT_PORT = 443


def _port(text: str, raw: str) -> int:
    if not text.isdigit():
        raise ValueError(f"{raw!r}: port {text!r} is not a number")
    port = int(text)
    if not 1 <= port <= 65535:
        raise ValueError(f"{raw!r}: port {port} is out of range (1-65535)")
    return port


def normalize_host(host: str, raw: str) -> tuple[str, str, bool]:
    """A host as (A-label or IP literal, Unicode form, is_ip).

    Raises:
        ValueError: the host is empty or not a valid name or address.
    """
    host = host.strip()
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    if not host:
        raise ValueError(f"{raw!r}: no host name")
    try:
        ip = ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        pass
    else:
        return str(ip), str(ip), True
    name = host.rstrip(".").lower()
    if not name or any(c in name for c in " /\\@?#[]"):
        raise ValueError(f"{raw!r}: {host!r} is not a valid host name")
    if name.isascii():
        labels = name.split(".")
        if any(not label or len(label) > 63 for label in labels) or len(name) > 253:
            raise ValueError(f"{raw!r}: {host!r} is not a valid host name")
        if name.startswith("xn--") or ".xn--" in name:
            try:
                return name, idna.decode(name), False
            except idna.IDNAError as exc:
                raise ValueError(f"{raw!r}: {host!r} is not a valid international name") from exc
        return name, name, False
    try:
        alabel = idna.encode(name, uts46=True).decode("ascii")
    except idna.IDNAError as exc:
        raise ValueError(f"{raw!r}: {host!r} is not a valid international name ({exc})") from exc
    return alabel, idna.decode(alabel), False


def parse_target(raw: str, default_port: int = DEFAULT_PORT) -> Target:
    """``host``, ``host:port``, ``https://host[:port]/path``, IPv4, ``[IPv6]:port``, IDN.

    Raises:
        ValueError: the target is empty or malformed.
    """
    text = raw.strip()
    if not text:
        raise ValueError("empty target")
    path = "/"
    if "://" in text:
        parts = urlsplit(text)
        if parts.scheme.lower() not in ("https", "http"):
            raise ValueError(f"{raw!r}: unsupported scheme {parts.scheme!r} (use https://)")
        netloc = parts.netloc.rsplit("@", 1)[-1]
        if not netloc:
            raise ValueError(f"{raw!r}: URL has no host")
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        default = 443 if parts.scheme.lower() == "https" else 80
        host_text, port = _split_host_port(netloc, raw, default)
    else:
        if "/" in text:
            text, _, rest = text.partition("/")
            path = "/" + rest
        host_text, port = _split_host_port(text, raw, default_port)
    host, unicode_host, is_ip = normalize_host(host_text, raw)
    return Target(raw=raw, host=host, port=port, path=path, unicode_host=unicode_host, is_ip=is_ip)


def _split_host_port(text: str, raw: str, default_port: int) -> tuple[str, int]:
    if text.startswith("["):
        end = text.find("]")
        if end < 0:
            raise ValueError(f"{raw!r}: missing ']' after the IPv6 address")
        host, rest = text[1:end], text[end + 1 :]
        if not rest:
            return host, default_port
        if not rest.startswith(":"):
            raise ValueError(f"{raw!r}: unexpected text after the IPv6 address")
        return host, _port(rest[1:], raw)
    if text.count(":") > 1:  # a bare IPv6 literal
        return text, default_port
    if ":" in text:
        host, _, port = text.partition(":")
        return host, _port(port, raw)
    return text, default_port


@dataclass(frozen=True, slots=True)
class ResolveRule:
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
        a = item.strip().removeprefix("[").removesuffix("]")
        try:
            addresses.append(str(ipaddress.ip_address(a)))
        except ValueError as exc:
            raise ValueError(f"{what}: {item!r} is not an IP address") from exc
    name = "*" if host == "*" else normalize_host(host, spec)[0]
    return ResolveRule(name, port, tuple(addresses))


@dataclass(frozen=True, slots=True)
class ConnectTo:
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
    if len(parts) != 4:
        raise ValueError(f"{what}: expected HOST1:PORT1:HOST2:PORT2")
    h1, p1, h2, p2 = parts
    return ConnectTo(
        host=normalize_host(h1, spec)[0] if h1 else "",
        port=_port(p1, spec) if p1 else None,
        to_host=normalize_host(h2, spec)[0] if h2 else "",
        to_port=_port(p2, spec) if p2 else None,
    )
