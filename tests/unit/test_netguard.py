"""The suite's network guard refuses non-loopback destinations before the kernel sees them."""

from __future__ import annotations

import socket
import subprocess
import sys

import pytest
from netguard import guard  # the instance conftest installed


def test_connect_to_a_documentation_address_is_refused_before_any_packet() -> None:
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        with pytest.raises(ConnectionRefusedError, match=r"192\.0\.2\.1"):
            s.connect(("192.0.2.1", 443))
        # The kernel never saw a connect: no local port was bound and there is no peer.
        assert s.getsockname() == ("0.0.0.0", 0)
        with pytest.raises(OSError):
            s.getpeername()
    finally:
        s.close()
    refused = guard.take_refusals()
    assert refused == ["test network guard: refused a connection to non-loopback '192.0.2.1'"]


def test_datagrams_and_lookups_are_refused_too() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as u, pytest.raises(OSError):
        u.sendto(b"x", ("192.0.2.1", 53))
    with pytest.raises(OSError, match=r"example\.com"):
        socket.getaddrinfo("example.com", 443)
    with pytest.raises(OSError, match="2001:db8::1"):
        socket.create_connection(("2001:db8::1", 443), timeout=1)
    assert len(guard.take_refusals()) == 3
    # RFC 6761: .invalid never resolves; the guard answers that without asking a resolver.
    with pytest.raises(socket.gaierror):
        socket.getaddrinfo("nothing.invalid", 443)
    assert guard.take_refusals() == []


def test_loopback_still_works() -> None:
    with socket.create_server(("127.0.0.1", 0)) as srv:
        port = srv.getsockname()[1]
        with socket.create_connection(("localhost", port), timeout=2) as c:
            peer, _ = srv.accept()
            c.sendall(b"ok")
            assert peer.recv(2) == b"ok"
            peer.close()
    assert guard.take_refusals() == []


@pytest.mark.parametrize(
    ("host", "local"),
    [
        ("127.0.0.1", True),
        ("127.8.9.10", True),
        ("::1", True),
        ("[::1]", True),
        ("::ffff:127.0.0.1", True),
        ("localhost", True),
        ("192.0.2.1", False),
        ("10.0.0.1", False),
        ("::ffff:192.0.2.1", False),
        ("lab.test", False),
    ],
)
def test_what_counts_as_this_machine(host: str, local: bool) -> None:
    assert guard.is_local(host) is local


def test_python_subprocesses_carry_the_guard() -> None:
    code = "import socket; socket.create_connection(('192.0.2.1', 443), timeout=1)"
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=30)
    assert r.returncode != 0
    assert "test network guard: refused a connection to non-loopback '192.0.2.1'" in r.stderr
