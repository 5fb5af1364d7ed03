"""What tests that run real clients through the proxy share: a trustme-ready HTTP origin
(``Origin``) that serves bodies of every size, the lab cases the relay tests put behind
``--resolve`` names, and the clients' helpers (curl through the proxy, a hand-made CONNECT,
``tlsdiag proxy`` as a process).
The relay tests' fixtures are in tests/integration/proxy_relay/conftest.py."""

from __future__ import annotations

import hashlib
import http.server
import os
import re
import socket
import ssl
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from tlsdiag.facts.proxy import EventFacts
from tlsdiag.lab.cases import RunningCase
from tlsdiag.proxy.listener import RunningProxy

LAB_CASES = (
    "good",
    "expired",
    "wrong-host",
    "self-signed",
    "untrusted-root",
    "incomplete-chain",
    "tls10",
    "client-cert",
    "not-tls",
    "reset",
)
# Clients must use the proxy we give them, whatever the environment says (NO_PROXY=* here).
ENV = {
    k: v
    for k, v in os.environ.items()
    if k.lower() not in {"no_proxy", "http_proxy", "https_proxy", "all_proxy"}
}
BIG = 3 * 1024 * 1024 + 17  # a multi-megabyte body, not a multiple of any buffer size
HUGE = 24 * 1024 * 1024 + 5  # more than the kernel's socket buffers can hold


def origin_pki(d: Path) -> tuple[ssl.SSLContext, Path]:
    """A server context for ``origin.test`` issued by a new trustme CA, and that CA's
    certificate written to ``d/origin-ca.pem`` (for ``--upstream-cafile``)."""
    import trustme

    ca = trustme.CA()
    pem = d / "origin-ca.pem"
    ca.cert_pem.write_to_path(str(pem))
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ca.issue_cert("origin.test").configure_cert(ctx)
    return ctx, pem


def client_hello(server_name: str = "origin.test") -> bytes:
    """The first flight of a real TLS client (Python's ssl, OpenSSL's defaults) for
    ``server_name``, as bytes: what a proxy sees after CONNECT."""
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
    obj = ctx.wrap_bio(incoming, outgoing, server_hostname=server_name)
    try:
        obj.do_handshake()
    except ssl.SSLWantReadError:
        return outgoing.read()
    raise AssertionError("a handshake finished without a server")


def pattern(n: int) -> bytes:
    block = hashlib.sha256(b"tlsdiag").digest() * 2048
    return (block * (n // len(block) + 1))[:n]


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def setup(self) -> None:
        super().setup()  # head and body are two writes: no Nagle wait for the second
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def do_GET(self) -> None:
        if self.path.startswith("/echo/"):  # one answer per request: a client can tell them apart
            body = f"reply to {self.path}\n".encode()
        elif self.path.startswith("/huge"):
            body = pattern(HUGE)
        elif self.path.startswith("/big"):
            body = pattern(BIG)
        elif self.path.startswith("/page"):
            body = b"<html><body><h1 id='t'>tlsdiag proxied page</h1></body></html>"
        else:
            body = b"origin says hello\n"
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Content-Type", "text/html" if "page" in self.path else "text/plain")
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self) -> None:
        n = int(self.headers.get("Content-Length", "0"))
        data = self.rfile.read(n)
        body = hashlib.sha256(data).hexdigest().encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


class Origin:
    """An HTTP/1.1 origin on 127.0.0.1 (HTTPS with ``ctx``): ``/echo/...`` answers with its
    path, ``/big`` and ``/huge`` with multi-megabyte bodies, POST with the body's SHA-256."""

    def __init__(self, ctx: ssl.SSLContext | None) -> None:
        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self.httpd.daemon_threads = True
        if ctx is not None:
            self.httpd.socket = ctx.wrap_socket(self.httpd.socket, server_side=True)
        self.port = self.httpd.server_address[1]
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


ProxyFactory = Callable[..., RunningProxy]


def events_of(p: RunningProxy, n: int = 1, timeout: float = 5.0) -> list[EventFacts]:
    """Wait until at least n events were written, then return them all."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if p.events.count >= n:
            break
        time.sleep(0.02)
    return [e.to_dict() for e in p.events.recent]


def event_for(p: RunningProxy, host: str) -> EventFacts:
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        for e in p.events.recent:
            if e.sni == host or e.host == host:
                return e.to_dict()
        time.sleep(0.02)
    raise AssertionError(f"no event for {host}: {[e.host for e in p.events.recent]}")


def curl_via(
    p: RunningProxy, url: str, ca: Path | None, *extra: str, body: bool = False
) -> subprocess.CompletedProcess[str]:
    """curl through the proxy: the response headers on stdout (and the body, if ``body``),
    then a last line with the HTTP status (see ``status_of``)."""
    cmd = [
        "curl",
        "-sS",
        "-m",
        "15",
        "-x",
        p.url,
        "-o",
        "-" if body else "/dev/null",
        "-D",
        "-",
        "-w",
        "\n%{http_code}",
        *extra,
    ]
    if ca is not None:
        cmd += ["--cacert", str(ca)]
    return subprocess.run([*cmd, url], env=ENV, capture_output=True, text=True, timeout=30)


def curl_case(
    p: RunningProxy, case: RunningCase, ca: Path | None, *extra: str, body: bool = False
) -> subprocess.CompletedProcess[str]:
    """``curl_via`` to a lab case's URL."""
    return curl_via(p, f"https://{case.target}/", ca, *extra, body=body)


def status_of(r: subprocess.CompletedProcess[str]) -> str:
    return r.stdout.rstrip().rsplit("\n", 1)[-1]


def tls_tunnel(
    proxy_port: int,
    host: str,
    port: int,
    cafile: Path | str,
    *,
    timeout: float = 10.0,
    rcvbuf: int | None = None,
) -> ssl.SSLSocket:
    """CONNECT by hand to ``host:port``, then TLS with Python's ssl trusting ``cafile``."""
    sock = socket.create_connection(("127.0.0.1", proxy_port), timeout=timeout)
    if rcvbuf is not None:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    sock.sendall(f"CONNECT {host}:{port} HTTP/1.1\r\nHost: {host}:{port}\r\n\r\n".encode())
    assert sock.recv(4096).startswith(b"HTTP/1.1 200")
    ctx = ssl.create_default_context(cafile=str(cafile))
    return ctx.wrap_socket(sock, server_hostname=host)


def tunnel_peer(p: RunningProxy, host: str, port: int, cafile: Path) -> dict[str, Any]:
    """The peer certificate the client sees through a hand-made CONNECT (``tls_tunnel``)."""
    with tls_tunnel(p.port, host, port, cafile) as tls:
        cert = tls.getpeercert()
        assert cert is not None
        return dict(cert)


def spawn_proxy(
    *args: str, env: Mapping[str, str], stdout: int = subprocess.DEVNULL
) -> tuple[subprocess.Popen[str], str]:
    """``python -m tlsdiag proxy --listen 127.0.0.1:0 ARGS`` as a process, and the URL it says
    it listens on (its first line on stderr, which stays open for the caller)."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "tlsdiag", "proxy", "--listen", "127.0.0.1:0", *args],
        stdout=stdout,
        stderr=subprocess.PIPE,
        text=True,
        env=dict(env),
    )
    assert proc.stderr is not None
    line = proc.stderr.readline()
    m = re.search(r"listening on (http://127\.0\.0\.1:\d+)", line)
    if m is None:
        proc.kill()
        proc.wait()
        raise AssertionError(f"tlsdiag proxy did not start: {line!r}")
    return proc, m.group(1)


def issuer_cn(cert: dict[str, Any]) -> str:
    for rdn in cert["issuer"]:
        for key, value in rdn:
            if key == "commonName":
                return str(value)
    return ""
