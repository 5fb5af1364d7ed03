"""The proxy under hostile plain-HTTP clients and ClientHellos: the origin sees the host the
policy decided on (Host replaced by the target's authority), several Host headers are refused,
a pipelined second request is never relayed without its own decision, hop-by-hop headers are
stripped, and an SNI that is not a host name is refused (never forged for, never logged raw)."""

from __future__ import annotations

import socket
import struct
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tlsdiag.proxy.ca import init_ca
from tlsdiag.proxy.listener import ProxyConfig, ResolveTo, RunningProxy
from tlsdiag.proxy.parse import (
    BadServerName,
    ParseError,
    RequestBody,
    origin_request,
    parse_client_hello,
    parse_request_head,
)
from tlsdiag.proxy.policy import parse_policy
from tlsdiag.render.proxy import event_line

pytestmark = pytest.mark.integration

POLICY = '[[rule]]\nid = "deny"\nhost = "blocked.example"\naction = "block"\n'


class Recorder:
    """A plain HTTP origin on 127.0.0.1 that records every request head it receives."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = int(self.sock.getsockname()[1])
        self.heads: list[bytes] = []
        self.received: list[bytes] = []
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._one, args=(conn,), daemon=True).start()

    def _one(self, conn: socket.socket) -> None:
        data = b""
        conn.settimeout(2)
        with conn:
            try:
                while b"\r\n\r\n" not in data:
                    chunk = conn.recv(65536)
                    if not chunk:
                        return
                    data += chunk
                self.heads.append(data.split(b"\r\n\r\n", 1)[0])
                conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok")
                time.sleep(0.3)  # whatever else the proxy relays on this connection
                with_rest = data
                try:
                    while chunk := conn.recv(65536):
                        with_rest += chunk
                except OSError:
                    pass
                self.received.append(with_rest)
            except OSError:
                return

    def close(self) -> None:
        self.sock.close()


@pytest.fixture()
def origin() -> Iterator[Recorder]:
    r = Recorder()
    yield r
    r.close()


@pytest.fixture()
def proxy(tmp_path: Path, origin: Recorder) -> Iterator[RunningProxy]:
    ca = init_ca(tmp_path / "ca")
    cfg = ProxyConfig(
        ca=ca,
        policy=parse_policy(POLICY),
        port=0,
        resolve=(
            ResolveTo("blocked.example", origin.port, ("127.0.0.1",)),
            ResolveTo("allowed.example", origin.port, ("127.0.0.1",)),
        ),
        events_path=tmp_path / "events.jsonl",
    )
    p = RunningProxy(cfg)
    p.start()
    yield p
    p.stop()


def _send(p: RunningProxy, data: bytes) -> bytes:
    with socket.create_connection(("127.0.0.1", p.port), timeout=5) as s:
        s.sendall(data)
        out = b""
        try:
            while chunk := s.recv(65536):
                out += chunk
        except OSError:
            pass
    return out


def test_host_header_cannot_smuggle_a_blocked_host(proxy: RunningProxy, origin: Recorder) -> None:
    req = (
        f"GET http://127.0.0.1:{origin.port}/x HTTP/1.1\r\nHost: blocked.example\r\n\r\n"
    ).encode()
    out = _send(proxy, req)
    assert out.startswith(b"HTTP/1.1 200")
    assert origin.heads, "the origin got nothing"
    head = origin.heads[-1].lower()
    assert f"host: 127.0.0.1:{origin.port}".encode() in head
    assert b"blocked.example" not in head


def test_blocked_absolute_uri_is_403(proxy: RunningProxy, origin: Recorder) -> None:
    out = _send(proxy, f"GET http://blocked.example:{origin.port}/ HTTP/1.1\r\n\r\n".encode())
    assert out.startswith(b"HTTP/1.1 403") and not origin.heads


def test_several_host_headers_are_refused(proxy: RunningProxy, origin: Recorder) -> None:
    req = (
        f"GET http://allowed.example:{origin.port}/ HTTP/1.1\r\n"
        "Host: allowed.example\r\nHost: blocked.example\r\n\r\n"
    ).encode()
    assert _send(proxy, req).startswith(b"HTTP/1.1 400") and not origin.heads


def test_a_pipelined_second_request_is_never_relayed(proxy: RunningProxy, origin: Recorder) -> None:
    first = f"GET http://allowed.example:{origin.port}/a HTTP/1.1\r\n\r\n"
    second = f"GET http://blocked.example:{origin.port}/b HTTP/1.1\r\n\r\n"
    out = _send(proxy, (first + second).encode())
    assert out.startswith(b"HTTP/1.1 200")
    deadline = time.monotonic() + 5
    while not origin.received and time.monotonic() < deadline:
        time.sleep(0.05)
    assert origin.received
    everything = b"".join(origin.received)
    assert b"/b" not in everything and b"blocked.example" not in everything


def test_hop_by_hop_headers_are_stripped(proxy: RunningProxy, origin: Recorder) -> None:
    req = (
        f"GET http://allowed.example:{origin.port}/ HTTP/1.1\r\n"
        "Connection: X-Secret, keep-alive\r\nX-Secret: 1\r\nKeep-Alive: 5\r\n"
        "Proxy-Authorization: Basic eDp5\r\nX-Kept: yes\r\n\r\n"
    ).encode()
    _send(proxy, req)
    head = origin.heads[-1].lower()
    assert b"x-kept: yes" in head
    for gone in (b"x-secret", b"keep-alive", b"proxy-authorization"):
        assert gone not in head


def _client_hello(sni: bytes) -> bytes:
    name = b"\x00" + struct.pack("!H", len(sni)) + sni
    ext_data = struct.pack("!H", len(name)) + name
    ext = struct.pack("!HH", 0, len(ext_data)) + ext_data
    exts = struct.pack("!H", len(ext)) + ext
    body = b"\x03\x03" + b"\x00" * 32 + b"\x00" + b"\x00\x02\x13\x01" + b"\x01\x00" + exts
    hs = b"\x01" + len(body).to_bytes(3, "big") + body
    return b"\x16\x03\x01" + struct.pack("!H", len(hs)) + hs


@pytest.mark.parametrize(
    "sni", [b"evil\x1b[31m.test", b"evil\n.test", b"evil\x00.test", b"a b.test", b"\xff.test"]
)
def test_a_hostile_sni_is_refused_like_a_bad_connect_host(
    proxy: RunningProxy, origin: Recorder, sni: bytes
) -> None:
    with pytest.raises(BadServerName):
        parse_client_hello(_client_hello(sni))
    with socket.create_connection(("127.0.0.1", proxy.port), timeout=5) as s:
        s.sendall(f"CONNECT allowed.example:{origin.port} HTTP/1.1\r\n\r\n".encode())
        s.sendall(_client_hello(sni))
        data = b""
        try:
            while chunk := s.recv(65536):
                data += chunk
        except OSError:
            pass
    assert data.startswith(b"HTTP/1.1 200")
    assert b"\x16\x03" not in data.split(b"\r\n\r\n", 1)[1]  # no ServerHello, no forged cert
    deadline = time.monotonic() + 5
    while proxy.events.count < 1 and time.monotonic() < deadline:
        time.sleep(0.02)
    for ev in proxy.events.recent:
        line = event_line(ev.to_dict())
        assert "\n" not in line and "\x1b" not in line and "\x00" not in line


def test_parse_level_rules() -> None:
    head = parse_request_head(
        b"POST http://a.test/ HTTP/1.1\r\nHost: evil.test\r\nTransfer-Encoding: chunked\r\n\r\n"
    )
    sent = origin_request(head)
    assert b"Host: a.test\r\n" in sent and b"evil.test" not in sent
    body = RequestBody(head)
    data = b"3\r\nabc\r\n0\r\n\r\nGET http://b.test/ HTTP/1.1\r\n\r\n"
    assert body.take(data) == b"3\r\nabc\r\n0\r\n\r\n" and body.done
    assert body.take(b"more") == b""
    cl = parse_request_head(b"POST http://a.test/ HTTP/1.1\r\nContent-Length: 3\r\n\r\n")
    limit = RequestBody(cl)
    assert limit.take(b"ab") == b"ab" and limit.take(b"cdef") == b"c" and limit.done
    with pytest.raises(ParseError, match="several Host"):
        parse_request_head(b"GET http://a.test/ HTTP/1.1\r\nHost: a\r\nhost: b\r\n\r\n")
