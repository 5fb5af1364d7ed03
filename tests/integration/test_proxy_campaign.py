"""The proxy after repeated hostile-client campaigns returns to where it started: no connection
left in its table, the event log bounded, no file descriptor or thread leaked (regression test
for "RSS flat across the campaign"; the assertions are on counts, never on time)."""

from __future__ import annotations

import contextlib
import os
import random
import socket
import ssl
import struct
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tlsdiag.proxy.ca import CaMaterial, init_ca
from tlsdiag.proxy.listener import ProxyConfig, ResolveTo, RunningProxy
from tlsdiag.proxy.policy import default_policy

from helpers.relay_rig import client_hello, origin_pki, tls_tunnel

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(not os.path.isdir("/proc/self/fd"), reason="counts /proc/self/fd"),
]
ROUNDS = 3
IDLE = 40  # connections that connect and never send a byte, per round
FD_MARGIN = 6  # a lazily opened file or cached socket may appear once


class _Origin:
    """A TLS origin on 127.0.0.1 that answers every request with ``ok``."""

    def __init__(self, ctx: ssl.SSLContext) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.port = int(self.sock.getsockname()[1])
        self.ctx = ctx
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._one, args=(conn,), daemon=True).start()

    def _one(self, conn: socket.socket) -> None:
        conn.settimeout(5)
        with contextlib.suppress(OSError), self.ctx.wrap_socket(conn, server_side=True) as tls:
            data = b""
            while b"\r\n\r\n" not in data:
                chunk = tls.recv(4096)
                if not chunk:
                    return
                data += chunk
            tls.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok")


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[CaMaterial, _Origin, Path]]:
    d = tmp_path_factory.mktemp("campaign")
    ca = init_ca(d / "ca")
    ctx, origin_ca = origin_pki(d)
    origin = _Origin(ctx)
    yield ca, origin, origin_ca
    origin.sock.close()


def _fds() -> int:
    return len(os.listdir("/proc/self/fd"))


def _good_request(port: int, origin: _Origin, ca: CaMaterial) -> bytes:
    with tls_tunnel(port, "origin.test", origin.port, ca.paths.cert) as tls:
        tls.sendall(b"GET / HTTP/1.1\r\nHost: origin.test\r\n\r\n")
        data = b""
        while chunk := tls.recv(4096):
            data += chunk
        return data


def _campaign(port: int, origin: _Origin, seed: int) -> None:
    """Hostile payloads, resets, half ClientHellos, a slowloris and idle connections at once."""
    rnd = random.Random(seed)
    hello = client_hello()
    connect = f"CONNECT origin.test:{origin.port} HTTP/1.1\r\n\r\n".encode()
    payloads = [
        bytes(rnd.randrange(256) for _ in range(rnd.randint(1, 1500))),
        connect + bytes(rnd.randrange(256) for _ in range(200)),
        connect + hello[: rnd.randint(1, len(hello) - 1)],
        connect + hello + b"\x17\x03\x03\x00\x10" + b"\x00" * 16,
        b"POST http://nowhere.invalid/ HTTP/1.1\r\nContent-Length: 99999\r\n\r\nabc",
        b"GET http://x.test/ HTTP/1.1\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n",
        b"GET http://x.test/ HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
        f"CONNECT 127.0.0.1:{port} HTTP/1.1\r\n\r\n".encode(),  # itself
        b"CONNECT origin.test:",  # slowloris: never finishes the head
    ] * 3

    def attack(data: bytes, reset: bool) -> None:
        with (
            contextlib.suppress(OSError),
            socket.create_connection(("127.0.0.1", port), timeout=5) as s,
        ):
            s.sendall(data)
            if reset:
                s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                return
            while s.recv(65536):
                pass

    idle = [socket.create_connection(("127.0.0.1", port), timeout=5) for _ in range(IDLE)]
    threads = [
        threading.Thread(target=attack, args=(d, i % 4 == 0)) for i, d in enumerate(payloads)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for s in idle:  # the proxy closes each at the header timeout (a 408 or nothing, then EOF)
        with s:
            while s.recv(4096):
                pass


def _settle(proxy: RunningProxy, expected_events: int) -> None:
    """Wait (bounded) until every connection has ended and written its event."""
    assert proxy.server is not None
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        if not proxy.server.connections and proxy.events.count >= expected_events:
            return
        time.sleep(0.05)


def test_repeated_campaigns_leave_nothing_behind(
    setup: tuple[CaMaterial, _Origin, Path], tmp_path: Path
) -> None:
    ca, origin, origin_ca = setup
    config = ProxyConfig(
        ca=ca,
        policy=default_policy(),
        port=0,
        upstream_cafiles=(origin_ca,),
        resolve=(ResolveTo("origin.test", origin.port, ("127.0.0.1",)),),
        events_path=tmp_path / "events.jsonl",
        header_timeout=1.0,
        handshake_timeout=1.0,
        idle_timeout=2.0,
    )
    with RunningProxy(config) as proxy:
        assert proxy.server is not None
        assert _good_request(proxy.port, origin, ca).endswith(b"ok")  # warm caches and contexts
        _settle(proxy, 1)
        after: list[tuple[int, int, int]] = []
        for n in range(ROUNDS):
            before = proxy.events.count
            _campaign(proxy.port, origin, seed=n)
            assert _good_request(proxy.port, origin, ca).endswith(b"ok")
            _settle(proxy, before + IDLE + 1)
            assert not proxy.server.connections, [c.ev.host for c in proxy.server.connections]
            assert proxy.events.count >= before + IDLE + 1  # every connection ended with an event
            recent = proxy.events.recent
            assert recent.maxlen is not None and len(recent) <= recent.maxlen
            after.append((_fds(), threading.active_count(), len(proxy.server.connections)))
        first_fds, first_threads, _ = after[0]
        for fds, threads, conns in after[1:]:
            assert conns == 0
            assert fds <= first_fds + FD_MARGIN, after
            assert threads <= first_threads + 2, after


@pytest.fixture
def proxy(setup: tuple[CaMaterial, _Origin, Path], tmp_path: Path) -> Iterator[RunningProxy]:
    ca, origin, origin_ca = setup
    config = ProxyConfig(
        ca=ca,
        policy=default_policy(),
        port=0,
        upstream_cafiles=(origin_ca,),
        resolve=(ResolveTo("origin.test", origin.port, ("127.0.0.1",)),),
        events_path=tmp_path / "events.jsonl",
        header_timeout=1.0,
        handshake_timeout=1.0,
    )
    with RunningProxy(config) as running:
        yield running


def _until_closed(s: socket.socket) -> bytes:
    """Everything the proxy sends before it closes the connection (10 s socket timeout)."""
    data = b""
    with s:
        while chunk := s.recv(4096):
            data += chunk
    return data


def test_500_idle_connections_and_half_hellos_are_closed(
    proxy: RunningProxy, setup: tuple[CaMaterial, _Origin, Path]
) -> None:
    ca, origin, _ = setup
    hello = client_hello()
    idle = [socket.create_connection(("127.0.0.1", proxy.port), timeout=10) for _ in range(500)]
    half = []
    for n in range(50):
        s = socket.create_connection(("127.0.0.1", proxy.port), timeout=10)
        s.sendall(f"CONNECT origin.test:{origin.port} HTTP/1.1\r\n\r\n".encode())
        s.sendall(hello[: 5 + n * 3])
        half.append(s)
    assert _good_request(proxy.port, origin, ca).endswith(b"ok")  # served meanwhile
    for s in idle:
        assert not _until_closed(s).startswith(b"HTTP/1.1 200")
    for s in half:
        assert _until_closed(s).startswith(b"HTTP/1.1 200 Connection established")
    _settle(proxy, 551)
    assert proxy.server is not None and not proxy.server.connections
    assert proxy.events.count >= 551


def test_slowloris_is_cut(proxy: RunningProxy) -> None:
    s = socket.create_connection(("127.0.0.1", proxy.port), timeout=10)
    sent = 0
    with contextlib.suppress(OSError):
        for byte in b"CONNECT origin.test:443 HTTP/1.1\r\nX-Slow: " + b"a" * 200:
            s.sendall(bytes([byte]))
            sent += 1
            time.sleep(0.05)
    s.close()
    assert sent < 200  # the proxy closed it long before the head could end


def test_connect_to_itself_ends_without_a_loop(
    proxy: RunningProxy, setup: tuple[CaMaterial, _Origin, Path]
) -> None:
    ca, _, _ = setup
    s = socket.create_connection(("127.0.0.1", proxy.port), timeout=10)
    s.sendall(f"CONNECT 127.0.0.1:{proxy.port} HTTP/1.1\r\n\r\n".encode())
    first = s.recv(100)
    if first.startswith(b"HTTP/1.1 200"):
        ctx = ssl.create_default_context(cafile=str(ca.paths.cert))
        with contextlib.suppress(OSError), ctx.wrap_socket(s, server_hostname="127.0.0.1") as tls:
            tls.sendall(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
            first = tls.recv(100)
    s.close()
    assert not first.startswith(b"HTTP/1.1 2"), first  # refused (block page) or closed
    _settle(proxy, 2)
    assert proxy.server is not None and not proxy.server.connections
    assert proxy.events.count <= 3  # the outer connection and the one it made: no recursion


@pytest.mark.parametrize(
    "head",
    [
        b"POST http://x.test/ HTTP/1.1\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n",
        b"POST http://x.test/ HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
    ],
    ids=["cl-and-te", "conflicting-cl"],
)
def test_ambiguous_request_bodies_get_400(proxy: RunningProxy, head: bytes) -> None:
    s = socket.create_connection(("127.0.0.1", proxy.port), timeout=10)
    s.sendall(head + b"abc")
    assert _until_closed(s).startswith(b"HTTP/1.1 400")
