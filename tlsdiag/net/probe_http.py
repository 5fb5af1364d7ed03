"""The small HTTP/1.1 request the probe sends after a completed handshake, and its parsing."""

from __future__ import annotations

import ssl

from tlsdiag import __version__
from tlsdiag.model import HttpInfo
from tlsdiag.net.tls_wire import Closed, Wire

MAX_HTTP_BYTES = 65536


def http_exchange(
    obj: ssl.SSLObject, wire: Wire, alert_codes_in: list[int], host_header: str, path: str
) -> HttpInfo:
    """Send ``GET path`` on the TLS connection and read (part of) the answer."""
    request = (
        f"GET {path} HTTP/1.1\r\nHost: {host_header}\r\nUser-Agent: tlsdiag/{__version__}\r\n"
        "Accept: */*\r\nConnection: close\r\n\r\n"
    ).encode("ascii", "replace")
    data = b""
    try:
        obj.write(request)
        wire.flush()
        while len(data) < MAX_HTTP_BYTES:
            try:
                chunk = obj.read(16384)
            except ssl.SSLWantReadError:
                wire.flush()
                try:
                    wire.fill()
                except Closed:
                    break
                continue
            except ssl.SSLZeroReturnError:
                break
            if not chunk:
                break
            data += chunk
            if b"\r\n\r\n" in data and body_complete(data):
                break
    except ssl.SSLError as exc:
        if 116 in alert_codes_in or "CERTIFICATE_REQUIRED" in str(exc).upper():
            return HttpInfo(error=f"certificate required: {exc}")
        if not data:
            return HttpInfo(error=f"TLS error after the handshake: {exc}")
    except TimeoutError:
        if not data:
            return HttpInfo(error="no HTTP response within the timeout")
    except OSError as exc:
        if not data:
            return HttpInfo(error=f"connection error after the handshake: {exc}")
    return parse_http(data)


def body_complete(data: bytes) -> bool:
    head, _, body = data.partition(b"\r\n\r\n")
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length" and value.strip().isdigit():
            return len(body) >= int(value.strip())
    return len(body) > 0 and len(body) >= 2048


def parse_http(data: bytes) -> HttpInfo:
    if not data:
        return HttpInfo(error="the server closed the connection without an HTTP response")
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    parts = lines[0].split(" ", 2)
    if (
        len(parts) < 2
        or not parts[0].startswith("HTTP/")
        or not (parts[1].isascii() and parts[1].isdigit())
    ):
        return HttpInfo(error=f"not an HTTP response: {lines[0][:60]!r}")
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    excerpt = body[:300].decode("utf-8", "replace")
    return HttpInfo(
        status=int(parts[1]),
        reason=parts[2] if len(parts) > 2 else "",
        date=headers.get("date", ""),
        server=headers.get("server", ""),
        body_excerpt=excerpt,
    )
