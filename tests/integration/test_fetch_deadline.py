"""Every PKI fetch (AIA caIssuers, OCSP, CRL) has one total deadline: a server on 127.0.0.1 that
drips its response headers one byte per 0.5 s must not hold a command past its bound.

Before the fix these commands ran 60-90 s with ``--timeout 3`` (httpx's timeout is per read).
The wall-time bound below is an upper bound far from both outcomes, so it cannot flake.
"""

from __future__ import annotations

import socket
import tempfile
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tlsdiag.cli.app import app
from tlsdiag.lab.pki import make_ca, make_leaf
from tlsdiag.lab.servers import LabServer, TlsSettings, tls_context

pytestmark = pytest.mark.integration

runner = CliRunner()
NOW = datetime.now(UTC)
BOUND = 15.0  # seconds; a dripping fetch used to take 60-90 s with --timeout 3


class Drip:
    """Accepts HTTP requests and answers with headers one byte every half second."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.stop = threading.Event()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while not self.stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._drip, args=(conn,), daemon=True).start()

    def _drip(self, conn: socket.socket) -> None:
        head = b"HTTP/1.1 200 OK\r\n" + b"X-Slow: " + b"a" * 400 + b"\r\n\r\n"
        with conn:
            try:
                conn.recv(65536)
                for byte in head:
                    if self.stop.wait(0.5):
                        return
                    conn.sendall(bytes([byte]))
            except OSError:
                return

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def close(self) -> None:
        self.stop.set()
        self.sock.close()


@pytest.fixture()
def drip() -> Iterator[Drip]:
    d = Drip()
    yield d
    d.close()


def _timed(args: list[str]) -> tuple[float, int, str]:
    start = time.monotonic()
    r = runner.invoke(app, args)
    return time.monotonic() - start, r.exit_code, r.output


def test_chain_aia_ca_issuers_on_a_dripping_server_ends_within_bound(
    drip: Drip, tmp_path: Path
) -> None:
    root = make_ca("Drip Root", now=NOW)
    inter = make_ca("Drip Intermediate", now=NOW, issuer=root, path_length=0)
    leaf = make_leaf(inter, now=NOW, names=["drip.test"], aia_ca_issuers=drip.url("/inter.der"))
    pem = tmp_path / "leaf.pem"
    pem.write_bytes(leaf.cert_pem)
    elapsed, code, out = _timed(["chain", "--timeout", "3", "--json", str(pem)])
    assert elapsed < BOUND, out
    assert code == 1, out


@pytest.mark.parametrize("kind", ["ocsp", "crl"])
def test_check_revocation_on_a_dripping_server_ends_within_bound(drip: Drip, kind: str) -> None:
    root = make_ca("Drip Root", now=NOW)
    leaf = make_leaf(
        root,
        now=NOW,
        names=["drip.test"],
        aia_ocsp=drip.url("/ocsp") if kind == "ocsp" else None,
        crl_url=drip.url("/ca.crl") if kind == "crl" else None,
    )
    with tempfile.TemporaryDirectory() as work:
        ctx = tls_context(TlsSettings(chain=(leaf, root)))
        ca_pem = Path(work) / "root.pem"
        ca_pem.write_bytes(root.cert_pem)
        server = LabServer("tls", ctx=ctx).start()
        try:
            elapsed, code, out = _timed(
                [
                    "check",
                    f"drip.test:{server.port}",
                    "--resolve",
                    f"drip.test:{server.port}:127.0.0.1",
                    "--cafile",
                    str(ca_pem),
                    "--timeout",
                    "3",
                    "--json",
                ]
            )
        finally:
            server.stop()
    assert elapsed < BOUND, out
    assert code in (0, 1), out
