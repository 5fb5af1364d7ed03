"""Strict parsing of what a proxy client sends first: an HTTP/1.1 request head, a ClientHello.

No sockets here. The request parser accepts exactly what a forward proxy needs (``CONNECT
host:port`` and absolute-URI requests) and rejects everything else with ``ParseError``; the
ClientHello parser reads the SNI, the offered ALPN protocols and TLS versions.
"""

from __future__ import annotations

import ipaddress
import re
import struct
from dataclasses import dataclass, field
from urllib.parse import urlsplit

MAX_HEAD = 16 * 1024
MAX_HEADERS = 100
MAX_HELLO = 64 * 1024

_TOKEN = re.compile(rb"^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$")
_VERSION = re.compile(rb"^HTTP/1\.[01]$")
_HOST = re.compile(r"^[A-Za-z0-9_](?:[A-Za-z0-9_.\-]{0,252})$")
_FIELD_VALUE_BAD = re.compile(rb"[\x00-\x08\x0a-\x1f\x7f]")


class ParseError(ValueError):
    """The client sent something this proxy does not accept (answered with 400)."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True, slots=True)
class RequestHead:
    """A parsed request line and headers."""

    method: str
    target: str
    version: str
    headers: tuple[tuple[str, str], ...]
    host: str  # the host to connect to (IPv6 without brackets)
    port: int
    path: str = ""  # origin-form path for absolute-URI requests ("" for CONNECT)
    scheme: str = ""  # "http" for absolute-URI requests

    def header(self, name: str) -> str | None:
        """The first value of a header (case-insensitive), or None."""
        lname = name.lower()
        for key, value in self.headers:
            if key.lower() == lname:
                return value
        return None


def head_end(buffer: bytes | bytearray) -> int:
    """The index just after the blank line ending the head, or -1 while incomplete.

    Raises:
        ParseError: the head is longer than ``MAX_HEAD`` (431).
    """
    end = buffer.find(b"\r\n\r\n")
    if end < 0:
        if len(buffer) > MAX_HEAD:
            raise ParseError("request head too large", status=431)
        return -1
    if end + 4 > MAX_HEAD:
        raise ParseError("request head too large", status=431)
    return end + 4


def check_host(host: str, what: str) -> str:
    """A valid host name or IP literal in lower case (brackets removed)."""
    if host.startswith("[") and host.endswith("]"):
        try:
            return str(ipaddress.IPv6Address(host[1:-1]))
        except ValueError as exc:
            raise ParseError(f"{what}: bad IPv6 literal") from exc
    if host[-1:].isdigit():  # an IPv4 literal ends with a digit (a name rarely does)
        try:
            return str(ipaddress.IPv4Address(host))
        except ValueError:
            pass
    if not _HOST.match(host) or ".." in host:
        raise ParseError(f"{what}: bad host name")
    return host.lower().rstrip(".")


def _port(text: str, what: str) -> int:
    if not (text.isascii() and text.isdigit()) or len(text) > 5:
        raise ParseError(f"{what}: bad port")
    port = int(text)
    if not 0 < port < 65536:
        raise ParseError(f"{what}: port out of range")
    return port


def split_authority(authority: str, default_port: int | None) -> tuple[str, int]:
    """``host:port`` (``[v6]:port``) into its parts; the port is required without a default."""
    what = f"authority {authority[:80]!r}"
    if authority.startswith("["):
        close = authority.find("]")
        if close < 0:
            raise ParseError(f"{what}: unclosed [")
        host, rest = authority[: close + 1], authority[close + 1 :]
        if rest and not rest.startswith(":"):
            raise ParseError(f"{what}: junk after ]")
        port_text = rest[1:]
    else:
        host, sep, port_text = authority.rpartition(":")
        if not sep:
            host, port_text = authority, ""
    if not host:
        raise ParseError(f"{what}: no host")
    if not port_text:
        if default_port is None:
            raise ParseError(f"{what}: CONNECT needs host:port")
        return check_host(host, what), default_port
    return check_host(host, what), _port(port_text, what)


def parse_request_head(data: bytes) -> RequestHead:
    """Parse a complete request head (up to and including the blank line).

    Raises:
        ParseError: anything malformed, or a request a forward proxy cannot serve.
    """
    if len(data) > MAX_HEAD:
        raise ParseError("request head too large", status=431)
    lines = data.split(b"\r\n")
    if lines[-2:] != [b"", b""]:
        raise ParseError("request head not terminated by a blank line")
    lines = lines[:-2]
    if not lines:
        raise ParseError("empty request")
    parts = lines[0].split(b" ")
    if len(parts) != 3:
        raise ParseError("bad request line")
    method_b, target_b, version_b = parts
    if not _TOKEN.match(method_b) or not _VERSION.match(version_b) or not target_b:
        raise ParseError("bad request line")
    if any(b < 0x21 or b > 0x7E for b in target_b):
        raise ParseError("bad characters in the request target")
    if len(lines) - 1 > MAX_HEADERS:
        raise ParseError("too many headers", status=431)
    headers: list[tuple[str, str]] = []
    for line in lines[1:]:
        name, sep, value = line.partition(b":")
        if not sep or not _TOKEN.match(name):
            raise ParseError("malformed header line")
        value = value.strip(b" \t")
        if _FIELD_VALUE_BAD.search(value):
            raise ParseError("control characters in a header value")
        headers.append((name.decode("ascii"), value.decode("latin-1")))
    if sum(1 for name, _ in headers if name.lower() == "host") > 1:
        raise ParseError("several Host headers (RFC 9112 section 3.2)")
    method = method_b.decode("ascii")
    target = target_b.decode("ascii")
    version = version_b.decode("ascii")
    if method == "CONNECT":
        host, port = split_authority(target, None)
        return RequestHead(method, target, version, tuple(headers), host, port)
    if target.startswith("/") or target == "*":
        raise ParseError("this is a proxy: send CONNECT host:port or an absolute URI", status=400)
    try:
        url = urlsplit(target)
    except ValueError as exc:
        raise ParseError("bad absolute URI") from exc
    if url.scheme.lower() != "http":
        raise ParseError(f"unsupported scheme {url.scheme[:20]!r} (only http:// and CONNECT)")
    if not url.netloc or "@" in url.netloc:
        raise ParseError("absolute URI without a usable host")
    host, port = split_authority(url.netloc, 80)
    path = url.path or "/"
    if url.query:
        path += "?" + url.query
    te = [v.lower() for k, v in headers if k.lower() == "transfer-encoding"]
    cl = [v for k, v in headers if k.lower() == "content-length"]
    if te and cl:
        raise ParseError("both Transfer-Encoding and Content-Length")
    if len(set(cl)) > 1 or any(not (v.isascii() and v.isdigit()) for v in cl):
        raise ParseError("bad Content-Length")
    if te and te[-1].split(",")[-1].strip() != "chunked":
        raise ParseError("unsupported Transfer-Encoding")
    return RequestHead(method, target, version, tuple(headers), host, port, path, "http")


HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-connection",
        "proxy-authorization",
        "proxy-authenticate",
        "te",
        "trailer",
        "upgrade",
    }
)


def hop_by_hop(head: RequestHead) -> frozenset[str]:
    """The header names (lower case) a proxy must not forward: the standard hop-by-hop ones and
    every name listed in ``Connection`` (RFC 9110 section 7.6.1)."""
    named = {
        token.strip().lower()
        for name, value in head.headers
        if name.lower() == "connection"
        for token in value.split(",")
        if token.strip()
    }
    return HOP_BY_HOP | named - {"content-length", "transfer-encoding", "host"}


def origin_request(head: RequestHead) -> bytes:
    """The request head to send to the origin: origin-form target, one request per connection.

    ``Host`` is the request target's authority (RFC 9112 section 3.2.2: a proxy replaces the
    client's ``Host`` with it), so the origin sees the host the policy decided on; hop-by-hop
    headers are dropped.
    """
    out = [f"{head.method} {head.path} HTTP/1.1"]
    authority = f"[{head.host}]" if ":" in head.host else head.host
    out.append(f"Host: {authority}" + ("" if head.port == 80 else f":{head.port}"))
    drop = hop_by_hop(head)
    for name, value in head.headers:
        lname = name.lower()
        if lname in drop or lname == "host":
            continue
        out.append(f"{name}: {value}")
    out.append("Connection: close")
    return ("\r\n".join(out) + "\r\n\r\n").encode("latin-1")


class RequestBody:
    """Which bytes after a request head are that request's body (Content-Length or chunked).

    The relay forwards those and nothing after them: a pipelined second request on the same
    client connection never reaches an origin without its own policy decision (the client
    opens a new connection after the origin's ``Connection: close`` answer).
    """

    __slots__ = ("_chunk_left", "_left", "_line", "_state", "done")

    MAX_LINE = 4096

    def __init__(self, head: RequestHead) -> None:
        te = [v.lower() for k, v in head.headers if k.lower() == "transfer-encoding"]
        cl = head.header("content-length")
        self._line = b""
        self._chunk_left = 0
        self._state = "size" if te else "length"
        self._left = int(cl) if (not te and cl) else 0
        self.done = not te and self._left == 0

    def take(self, data: bytes) -> bytes:
        """The prefix of ``data`` that still belongs to the body (``b""`` once it ended)."""
        if self.done:
            return b""
        if self._state == "length":
            part = data[: self._left]
            self._left -= len(part)
            self.done = self._left == 0
            return part
        used = self._scan_chunked(data)
        return data[:used]

    def _scan_chunked(self, data: bytes) -> int:
        i = 0
        n = len(data)
        while i < n and not self.done:
            if self._state == "data":
                step = min(self._chunk_left, n - i)
                i += step
                self._chunk_left -= step
                if self._chunk_left == 0:
                    self._state = "data-crlf"
                continue
            end = data.find(b"\n", i)
            if end < 0:
                self._line += data[i:]
                i = n
            else:
                self._line += data[i : end + 1]
                i = end + 1
                self._line_done()
            if len(self._line) > self.MAX_LINE:
                self.done = True  # a malformed body: stop relaying it
        return i

    def _line_done(self) -> None:
        line = self._line.strip()
        self._line = b""
        if self._state == "size":
            size_text = line.split(b";", 1)[0].strip()
            try:
                size = int(size_text, 16)
            except ValueError:
                self.done = True
                return
            if size == 0:
                self._state = "trailer"
            else:
                self._chunk_left, self._state = size, "data"
        elif self._state == "data-crlf":
            self._state = "size"
        elif self._state == "trailer" and not line:
            self.done = True


# --- TLS ClientHello -------------------------------------------------------------------------

VERSION_NAMES = {
    0x0300: "SSLv3",
    0x0301: "TLSv1",
    0x0302: "TLSv1.1",
    0x0303: "TLSv1.2",
    0x0304: "TLSv1.3",
}


class NotTls(ValueError):
    """The bytes are not a TLS handshake."""


@dataclass(frozen=True, slots=True)
class ClientHello:
    """What the proxy needs from a ClientHello."""

    sni: str | None
    alpn: tuple[str, ...] = ()
    versions: tuple[str, ...] = ()  # supported_versions, or the legacy version
    raw_length: int = 0  # how many bytes of the stream the records holding it took
    extensions: tuple[int, ...] = field(default_factory=tuple)


def looks_like_tls(first: bytes | bytearray) -> bool:
    """True when a stream starts like a TLS handshake record (or an SSLv2-style hello)."""
    if not first:
        return False
    if first[0] == 0x16:
        return len(first) < 2 or first[1] == 0x03
    return False


def parse_client_hello(data: bytes | bytearray) -> ClientHello | None:
    """Parse a ClientHello from the start of a stream.

    Returns:
        The hello, or None when more bytes are needed.

    Raises:
        NotTls: the stream is not a TLS handshake, or the hello is malformed or too large.
    """
    pos = 0
    body = bytearray()
    need: int | None = None
    while True:
        if len(data) < pos + 5:
            if len(data) >= 1 and not looks_like_tls(data[:2]):
                raise NotTls("not a TLS handshake record")
            return None
        ctype, major, rlen = data[pos], data[pos + 1], struct.unpack_from("!H", data, pos + 3)[0]
        if ctype != 0x16 or major != 0x03:
            raise NotTls("not a TLS handshake record")
        if rlen == 0 or rlen > 16384 + 256:
            raise NotTls("bad TLS record length")
        if len(data) < pos + 5 + rlen:
            if pos + 5 + rlen > MAX_HELLO:
                raise NotTls("ClientHello too large")
            return None
        body += data[pos + 5 : pos + 5 + rlen]
        pos += 5 + rlen
        if need is None and len(body) >= 4:
            if body[0] != 1:
                raise NotTls("first handshake message is not a ClientHello")
            need = 4 + int.from_bytes(body[1:4], "big")
            if need > MAX_HELLO:
                raise NotTls("ClientHello too large")
        if need is not None and len(body) >= need:
            return _hello_body(bytes(body[4:need]), pos)
        if pos > MAX_HELLO:
            raise NotTls("ClientHello too large")


def _hello_body(b: bytes, raw_length: int) -> ClientHello:
    try:
        return _hello_fields(b, raw_length)
    except BadServerName:
        raise
    except (IndexError, struct.error, UnicodeDecodeError) as exc:
        raise NotTls(f"malformed ClientHello ({exc})") from exc


def _vec(b: bytes, pos: int, size: int) -> tuple[bytes, int]:
    start = pos + size
    if start > len(b) or pos < 0:
        raise IndexError("truncated vector")
    end = start + int.from_bytes(b[pos:start], "big")
    if end > len(b):
        raise IndexError("truncated vector")
    return b[start:end], end


class BadServerName(NotTls):
    """The ClientHello's server name is not a host name (control characters, NUL, escape
    sequences, spaces): refused like a bad CONNECT host, never forged for or logged raw."""


def _server_name(value: bytes) -> str:
    """The SNI host name, validated like the CONNECT host.

    Raises:
        BadServerName: not an ASCII host name.
    """
    text = value.decode("ascii", "backslashreplace")
    try:
        if not value.isascii() or not text:
            raise ParseError("not ASCII")
        return check_host(text, "server name")
    except ParseError:
        raise BadServerName(f"invalid server name in the ClientHello: {text[:80]!r}") from None


def _hello_fields(b: bytes, raw_length: int) -> ClientHello:
    legacy_version = struct.unpack_from("!H", b, 0)[0]
    pos = 2 + 32
    _, pos = _vec(b, pos, 1)  # session id
    _, pos = _vec(b, pos, 2)  # cipher suites
    _, pos = _vec(b, pos, 1)  # compression
    sni: str | None = None
    alpn: list[str] = []
    versions: list[str] = []
    ext_ids: list[int] = []
    if pos < len(b):
        exts, _ = _vec(b, pos, 2)
        p = 0
        while p < len(exts):
            etype = struct.unpack_from("!H", exts, p)[0]
            edata, p = _vec(exts, p + 2, 2)
            ext_ids.append(etype)
            if etype == 0:  # server_name
                names, _ = _vec(edata, 0, 2)
                q = 0
                while q < len(names):
                    ntype = names[q]
                    value, q = _vec(names, q + 1, 2)
                    if ntype == 0:
                        sni = _server_name(value)
                        break
            elif etype == 16:  # ALPN
                protos, _ = _vec(edata, 0, 2)
                q = 0
                while q < len(protos):
                    value, q = _vec(protos, q, 1)
                    alpn.append(value.decode("ascii", "replace"))
            elif etype == 43:  # supported_versions
                vers, _ = _vec(edata, 0, 1)
                for i in range(0, len(vers) - 1, 2):
                    v = struct.unpack_from("!H", vers, i)[0]
                    if v in VERSION_NAMES:
                        versions.append(VERSION_NAMES[v])
    if not versions:
        versions.append(VERSION_NAMES.get(legacy_version, hex(legacy_version)))
    return ClientHello(sni or None, tuple(alpn), tuple(versions), raw_length, tuple(ext_ids))
