"""Hostile and broken clients through the proxy, and its lifecycle: malformed requests, resets,
half-sent hellos, slow readers and writers, idle and limited connections, session resumption
upstream, stopping with tunnels open. The rig is tests/helpers/relay_rig.py."""

from __future__ import annotations

import contextlib
import json
import random
import shutil
import socket
import ssl
import struct
import threading
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx
import pytest

from tlsdiag import codes
from tlsdiag.lab.cases import Lab
from tlsdiag.proxy.ca import CaMaterial, init_ca
from tlsdiag.proxy.listener import ProxyConfig, ResolveTo, RunningProxy
from tlsdiag.proxy.policy import InvalidCert, default_policy, parse_policy

from helpers.relay_rig import (
    HUGE,
    Origin,
    ProxyFactory,
    client_hello,
    curl_case,
    curl_via,
    event_for,
    events_of,
    issuer_cn,
    pattern,
    status_of,
    tls_tunnel,
    tunnel_peer,
)

pytestmark = pytest.mark.integration

# --- hostile and broken clients ----------------------------------------------------------------


def _raw(p: RunningProxy, data: bytes, *, wait: float = 5.0) -> bytes:
    with socket.create_connection(("127.0.0.1", p.port), timeout=wait) as s:
        s.sendall(data)
        out = b""
        try:
            while chunk := s.recv(65536):
                out += chunk
        except (TimeoutError, ConnectionResetError):
            pass
        return out


def _good_request_works(p: RunningProxy, pki: dict[str, Any], origin: Origin) -> None:
    ctx = ssl.create_default_context(cafile=str(pki["ca"].paths.cert))
    with httpx.Client(proxy=p.url, verify=ctx, timeout=10) as client:
        assert client.get(f"https://origin.test:{origin.port}/").status_code == 200


@pytest.mark.parametrize(
    ("data", "status"),
    [
        (b"GARBAGE\r\n\r\n", b"400"),
        (b"GET / HTTP/1.1\r\nHost: x\r\n\r\n", b"400"),
        (b"CONNECT nohost HTTP/1.1\r\n\r\n", b"400"),
        (b"CONNECT a.test:443 HTTP/1.1\r\n" + b"X: " + b"a" * 20000 + b"\r\n\r\n", b"431"),
        (b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc" + b"\x00" * 100 + b"\r\n\r\n", b"400"),
        (b"GET http://x.test/ HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n", b"400"),
    ],
)
def test_malformed_requests_get_an_error_and_the_proxy_lives_on(
    data: bytes, status: bytes, start_proxy: ProxyFactory, pki: dict[str, Any], origin: Origin
) -> None:
    p = start_proxy()
    reply = _raw(p, data)
    assert reply.startswith(b"HTTP/1.1 " + status), reply[:100]
    _good_request_works(p, pki, origin)


def test_non_tls_after_connect_is_logged(
    start_proxy: ProxyFactory, pki: dict[str, Any], origin: Origin
) -> None:
    p = start_proxy()
    reply = _raw(
        p, f"CONNECT origin.test:{origin.port} HTTP/1.1\r\n\r\nGET / HTTP/1.1\r\n\r\n".encode()
    )
    assert reply.startswith(b"HTTP/1.1 200")
    ev = event_for(p, "origin.test")
    assert ev["finding"] == codes.NETWORK_NOT_TLS and ev["client_handshake"] == "not-tls"
    _good_request_works(p, pki, origin)


def test_resets_and_half_sent_hellos_do_not_hurt_others(
    start_proxy: ProxyFactory, pki: dict[str, Any], origin: Origin
) -> None:
    p = start_proxy()
    for payload in (
        b"CONNECT origin.test:%d HTTP/1.1\r\n\r\n\x16\x03\x01\x02\x00\x01" % origin.port,
        b"CONNECT origin.test:%d HTTP/1.1\r\n" % origin.port,
        b"GET http://plain",
    ):
        s = socket.create_connection(("127.0.0.1", p.port), timeout=5)
        s.sendall(payload)
        time.sleep(0.05)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        s.close()  # RST
    # A client that resets in the middle of a relayed transfer.
    tls = tls_tunnel(p.port, "origin.test", origin.port, pki["ca"].paths.cert, timeout=5)
    tls.sendall(b"GET /big HTTP/1.1\r\nHost: origin.test\r\n\r\n")
    tls.recv(1000)
    tls.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    tls.close()
    _good_request_works(p, pki, origin)
    events = events_of(p, 5)
    assert p.server is not None and not any(
        c.relaying for c in p.server.connections if c.ev.sni == "origin.test" and c.ev.bytes_up
    )
    assert any(e["closed_by"] == "client" for e in events)


def test_slow_client_times_out_while_others_are_served(
    start_proxy: ProxyFactory, pki: dict[str, Any], origin: Origin
) -> None:
    p = start_proxy(header_timeout=1.0)
    slow = socket.create_connection(("127.0.0.1", p.port), timeout=5)
    slow.sendall(b"CONNECT origin.test:")  # and then nothing
    t0 = time.monotonic()
    _good_request_works(p, pki, origin)
    assert slow.recv(100) == b""  # closed by the proxy after the header timeout
    assert time.monotonic() - t0 < 4
    slow.close()


def test_idle_tunnels_are_closed(
    start_proxy: ProxyFactory, pki: dict[str, Any], origin: Origin
) -> None:
    p = start_proxy(idle_timeout=1.0)
    tls = tls_tunnel(p.port, "origin.test", origin.port, pki["ca"].paths.cert, timeout=6)
    assert tls.recv(100) == b""  # nothing sent for over a second: closed
    tls.close()
    ev = event_for(p, "origin.test")
    assert ev["closed_by"] == "timeout"


def test_connection_limit(start_proxy: ProxyFactory, pki: dict[str, Any], origin: Origin) -> None:
    p = start_proxy(max_connections=2)
    held = [socket.create_connection(("127.0.0.1", p.port), timeout=5) for _ in range(2)]
    time.sleep(0.1)
    reply = _raw(p, b"CONNECT origin.test:1 HTTP/1.1\r\n\r\n")
    assert reply.startswith(b"HTTP/1.1 503")
    for s in held:
        s.close()
    time.sleep(0.2)
    _good_request_works(p, pki, origin)


def test_events_file_one_json_line_per_connection(
    start_proxy: ProxyFactory, pki: dict[str, Any], origin: Origin, lab: Lab
) -> None:
    p = start_proxy()
    _good_request_works(p, pki, origin)
    _raw(p, b"NONSENSE\r\n\r\n")
    events_of(p, 2)
    p.stop()
    assert p.config.events_path is not None
    lines = p.config.events_path.read_text().splitlines()
    recs = [json.loads(x) for x in lines]
    assert len(recs) == 2 and {r["action"] for r in recs} == {"inspect", "block"}


def test_name_constrained_ca_bypasses_other_domains(
    pki: dict[str, Any], lab: Lab, resolve: tuple[ResolveTo, ...], tmp_path: Path
) -> None:
    constrained: CaMaterial = init_ca(tmp_path / "c", permit=["example.com"])
    cfg = ProxyConfig(
        ca=constrained,
        policy=default_policy(),
        port=0,
        resolve=resolve,
        upstream_cafiles=(lab.root_pem_path,),
    )
    with RunningProxy(cfg) as p:
        case = lab.cases["good"]
        cert = tunnel_peer(p, case.spec.host, case.port, lab.root_pem_path)
        assert issuer_cn(cert) == "Lab Test Intermediate CA"
        assert event_for(p, case.spec.host)["rule"] == "ca-name-constraints"


@pytest.mark.skipif(shutil.which("curl") is None, reason="curl not installed")
@pytest.mark.parametrize("native", [True, False], ids=["native", "context"])
def test_upstream_session_is_resumed_on_the_next_connection(
    native: bool, start_proxy: ProxyFactory, pki: dict[str, Any], lab: Lab
) -> None:
    """Kept through libssl (native) or CPython's SSLSession (context): resumed either way."""
    p = start_proxy(native_certs=native)
    assert p.server is not None and p.server.forger.mode == ("native" if native else "context")
    case = lab.cases["good"]
    for _ in range(2):
        assert status_of(curl_case(p, case, pki["ca"].paths.cert)) == "200"
    events = [e for e in events_of(p, 2) if e["sni"] == case.spec.host]
    assert [e["verification"] for e in events] == ["ok", "ok (resumed session)"]
    assert events[1]["issuer"] == events[0]["issuer"]  # known from the resumed session


@pytest.mark.skipif(shutil.which("curl") is None, reason="curl not installed")
def test_kept_sessions_outlive_a_fall_back_of_the_leaf_path(
    start_proxy: ProxyFactory, pki: dict[str, Any], lab: Lab, monkeypatch: pytest.MonkeyPatch
) -> None:
    """When presenting leaves through libssl fails and the proxy falls back to contexts, the
    upstream sessions it kept through libssl still resume."""
    p = start_proxy(native_certs=True)
    assert p.server is not None and p.server.forger.native is not None
    case = lab.cases["good"]
    assert status_of(curl_case(p, case, pki["ca"].paths.cert)) == "200"
    monkeypatch.setattr(p.server.forger.native, "use", lambda *args: False)
    for _ in range(2):  # the connection that falls back, then one after it
        assert status_of(curl_case(p, case, pki["ca"].paths.cert)) == "200"
    assert p.server.forger.mode == "context"
    events = [e for e in events_of(p, 3) if e["sni"] == case.spec.host]
    assert [e["verification"] for e in events] == ["ok"] + ["ok (resumed session)"] * 2


@pytest.mark.skipif(shutil.which("curl") is None, reason="curl not installed")
def test_no_resumption_after_a_failed_verification(
    start_proxy: ProxyFactory, pki: dict[str, Any], lab: Lab
) -> None:
    p = start_proxy(replace(default_policy(), invalid_certificate=InvalidCert.ALLOW))
    case = lab.cases["expired"]
    for _ in range(2):
        assert status_of(curl_case(p, case, pki["ca"].paths.cert)) == "200"
    events = [e for e in events_of(p, 2) if e["sni"] == case.spec.host]
    assert [e["finding"] for e in events] == [codes.SERVER_CERT_EXPIRED] * 2


@pytest.mark.skipif(shutil.which("curl") is None, reason="curl not installed")
def test_aia_completion_when_the_policy_allows_it(
    start_proxy: ProxyFactory, pki: dict[str, Any], lab: Lab
) -> None:
    p = start_proxy(parse_policy("[policy]\naia_fetch = true\n"))
    case = lab.cases["incomplete-chain"]
    r = curl_case(p, case, pki["ca"].paths.cert)
    assert status_of(r) == "200", r.stdout
    ev = event_for(p, case.spec.host)
    assert ev["verification"] == "ok (chain completed from AIA)"
    assert ev["finding"] == codes.SERVER_CHAIN_INCOMPLETE  # still reported
    assert "completed from AIA" in ev["detail"]


def test_slow_reader_gets_everything_and_others_are_not_held_up(
    start_proxy: ProxyFactory, pki: dict[str, Any], origin: Origin
) -> None:
    p = start_proxy()
    tls = tls_tunnel(p.port, "origin.test", origin.port, pki["ca"].paths.cert, rcvbuf=32768)
    tls.sendall(b"GET /huge HTTP/1.1\r\nHost: origin.test\r\n\r\n")
    assert p.server is not None
    deadline = time.monotonic() + 5
    held: list[Any] = []
    while time.monotonic() < deadline:  # not reading: the proxy must stop reading the server
        held = [c for c in p.server.connections if c.relaying and c.upstream is not None]
        if any(c.upstream.paused for c in held):
            break
        time.sleep(0.05)
    assert any(c.upstream.paused for c in held), "the server side was never paused"
    for conn in held:  # what waits for the client stays bounded
        assert conn.client is not None and conn.client.transport is not None
        assert conn.client.transport.get_write_buffer_size() < 1024 * 1024
    _good_request_works(p, pki, origin)  # meanwhile, others are served
    data = b""
    while b"\r\n\r\n" not in data:
        data += tls.recv(65536)
    _head, _, body = data.partition(b"\r\n\r\n")
    chunks = [body]
    got = len(body)
    while got < HUGE:
        chunk = tls.recv(1 << 20)
        assert chunk
        chunks.append(chunk)
        got += len(chunk)
    assert b"".join(chunks) == pattern(HUGE)
    tls.close()


def test_stopping_closes_open_tunnels_and_writes_their_events(
    start_proxy: ProxyFactory, pki: dict[str, Any], origin: Origin
) -> None:
    p = start_proxy()
    tls = tls_tunnel(p.port, "origin.test", origin.port, pki["ca"].paths.cert)
    tls.sendall(b"GET / HTTP/1.1\r\nHost: origin.test\r\n\r\n")
    got = b""
    while b"origin says hello" not in got:
        got += tls.recv(4096)
    half = socket.create_connection(("127.0.0.1", p.port), timeout=10)
    half.sendall(b"CONNECT origin.test:")  # still sending its request when the proxy stops
    time.sleep(0.1)
    p.stop()
    assert tls.recv(100) == b""  # the proxy closed the tunnel
    tls.close()
    half.close()
    assert p.config.events_path is not None
    recs = [json.loads(x) for x in p.config.events_path.read_text().splitlines()]
    assert len(recs) == 2
    tunnel = next(r for r in recs if r["sni"] == "origin.test")
    assert tunnel["closed_by"] == "proxy" and tunnel["bytes_down"] > 0


def test_malformed_request_event(start_proxy: ProxyFactory) -> None:
    p = start_proxy()
    reply = _raw(p, b"BREW coffee HTTP/1.1\r\n\r\n")
    assert reply.startswith(b"HTTP/1.1 400") and b"X-Tlsdiag-Finding" not in reply
    ev = events_of(p, 1)[0]
    assert (ev["kind"], ev["http_status"], ev["finding"]) == ("invalid", 400, "")
    assert ev["detail"]


@pytest.mark.skipif(shutil.which("curl") is None, reason="curl not installed")
def test_client_below_the_client_side_minimum(
    start_proxy: ProxyFactory, pki: dict[str, Any], origin: Origin
) -> None:
    p = start_proxy(parse_policy('[policy]\nclient_min_tls = "1.3"\n'))
    r = curl_via(p, f"https://origin.test:{origin.port}/", pki["ca"].paths.cert, "--tls-max", "1.2")
    assert r.returncode != 0
    ev = event_for(p, "origin.test")
    assert ev["finding"] == codes.LEGACY_PROTOCOL_VERSION
    assert ev["tls_error_side"] == "client" and ev["client_handshake"] == "failed"
    assert ev["upstream_version"] == "TLSv1.3"  # the server side was fine


def test_flood_of_hostile_clients(
    start_proxy: ProxyFactory, pki: dict[str, Any], origin: Origin
) -> None:
    """Random bytes, corrupted and truncated ClientHellos, garbage after a good hello, bodies
    that never come, all at once: every connection ends with an event, nothing stays open, and
    the proxy still serves a normal client."""
    p = start_proxy(header_timeout=1.0, handshake_timeout=1.0)
    good_hello = client_hello()
    connect = f"CONNECT origin.test:{origin.port} HTTP/1.1\r\n\r\n".encode()
    rnd = random.Random(7)

    def payload(n: int) -> bytes:
        kind = n % 6
        if kind == 0:
            return bytes(rnd.randrange(256) for _ in range(rnd.randint(1, 2000)))
        if kind == 1:
            return connect + bytes(rnd.randrange(256) for _ in range(200))
        if kind == 2:
            h = bytearray(good_hello)
            for _ in range(5):
                h[rnd.randrange(len(h))] = rnd.randrange(256)
            return connect + bytes(h)
        if kind == 3:
            return connect + good_hello + b"\x17\x03\x03\x00\x10" + b"\x00" * 16
        if kind == 4:
            return b"POST http://nowhere.invalid/ HTTP/1.1\r\nContent-Length: 99999\r\n\r\nabc"
        return connect + good_hello[: rnd.randint(1, len(good_hello) - 1)]

    payloads = [payload(n) for n in range(60)]

    def attack(data: bytes) -> None:
        with (
            contextlib.suppress(OSError),
            socket.create_connection(("127.0.0.1", p.port), timeout=5) as s,
        ):
            s.sendall(data)
            s.recv(65536)

    threads = [threading.Thread(target=attack, args=(d,)) for d in payloads]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    _good_request_works(p, pki, origin)
    events = events_of(p, 61, timeout=10)
    assert len(events) >= 61
    assert p.server is not None
    deadline = time.monotonic() + 5
    while p.server.connections and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not p.server.connections
