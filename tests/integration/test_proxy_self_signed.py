"""A self-signed server through the proxy is reported as self-signed (issue 12 regression).

OpenSSL says "self-signed certificate" (verify code 18) first; a typical self-signed certificate
(``openssl req -x509 -subj /CN=localhost``) does not name the host either, and the chain analysis
used to turn that into ``server.hostname_mismatch``. The one failure table keeps OpenSSL's code.
"""

from __future__ import annotations

import contextlib
import socket
import ssl
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import trustme
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from tlsdiag import codes
from tlsdiag.facts.proxy import EventFacts
from tlsdiag.proxy.ca import CaMaterial, init_ca
from tlsdiag.proxy.listener import ProxyConfig, ResolveTo, RunningProxy
from tlsdiag.proxy.policy import default_policy

from helpers.relay_rig import tls_tunnel

pytestmark = pytest.mark.integration


def _self_signed(tmp: Path, cn: str, san: str | None) -> ssl.SSLContext:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])
    now = datetime.now(UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(hours=1))
        .not_valid_after(now + timedelta(days=1))
    )
    if san is not None:
        builder = builder.add_extension(x509.SubjectAlternativeName([x509.DNSName(san)]), False)
    cert = builder.sign(key, hashes.SHA256())
    pem = tmp / f"{cn}-{san}.pem"
    pem.write_bytes(
        cert.public_bytes(serialization.Encoding.PEM)
        + key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(pem)
    return ctx


@contextlib.contextmanager
def _tls_server(ctx: ssl.SSLContext) -> Iterator[int]:
    """A TLS server on 127.0.0.1 that answers every request with 200 (in a thread)."""
    sock = socket.create_server(("127.0.0.1", 0))
    sock.settimeout(0.1)
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = sock.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            with contextlib.suppress(OSError), conn:
                conn.settimeout(5)
                with ctx.wrap_socket(conn, server_side=True) as tls:
                    tls.recv(4096)
                    tls.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield int(sock.getsockname()[1])
    finally:
        stop.set()
        thread.join(5)
        sock.close()


@pytest.fixture(scope="module")
def ca(tmp_path_factory: pytest.TempPathFactory) -> CaMaterial:
    return init_ca(tmp_path_factory.mktemp("ss") / "ca")


def _through_proxy(proxy: RunningProxy, ca: CaMaterial, host: str, port: int) -> bytes:
    """CONNECT, TLS to the proxy's forged certificate (trusting its CA), one GET; the answer."""
    with tls_tunnel(proxy.port, host, port, ca.paths.cert) as tls:
        tls.sendall(f"GET / HTTP/1.1\r\nHost: {host}\r\n\r\n".encode())
        data = b""
        while chunk := tls.recv(65536):
            data += chunk
        return data


def _finding(proxy: RunningProxy, host: str) -> EventFacts:
    for _ in range(250):
        for ev in proxy.events.recent:
            if ev.host == host:
                return ev.to_dict()
        threading.Event().wait(0.02)
    raise AssertionError(f"no event for {host}")


@pytest.mark.parametrize(
    ("connect_host", "cn", "san"),
    [
        ("127.0.0.1", "localhost", None),  # an IP address the certificate does not name
        ("self.test", "localhost", None),  # CN only, no SAN: not a name match either
        ("self.test", "self.test", "self.test"),  # names the host: self-signed alone
    ],
)
def test_self_signed_upstream_is_self_signed_not_hostname_mismatch(
    ca: CaMaterial, tmp_path: Path, connect_host: str, cn: str, san: str | None
) -> None:
    with _tls_server(_self_signed(tmp_path, cn, san)) as port:
        cfg = ProxyConfig(
            ca=ca,
            policy=default_policy(),
            port=0,
            resolve=(ResolveTo("self.test", port, ("127.0.0.1",)),),
        )
        with RunningProxy(cfg) as proxy:
            answer = _through_proxy(proxy, ca, connect_host, port)
            ev = _finding(proxy, connect_host)
    head = answer.split(b"\r\n\r\n", 1)[0].lower()
    assert head.startswith(b"http/1.1 403")
    assert b"x-tlsdiag-finding: server.self_signed" in head
    assert ev["finding"] == codes.SERVER_SELF_SIGNED, ev
    assert ev["tls_certificate_error"] == "self-signed certificate"
    assert ev["tls_error_description"] == "unknown ca"


def test_control_a_trusted_ca_with_the_wrong_name_is_a_hostname_mismatch(
    ca: CaMaterial, tmp_path: Path
) -> None:
    origin_ca = trustme.CA()
    origin_ca.cert_pem.write_to_path(str(tmp_path / "origin-ca.pem"))
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    origin_ca.issue_cert("other.test").configure_cert(ctx)
    with _tls_server(ctx) as port:
        cfg = ProxyConfig(
            ca=ca,
            policy=default_policy(),
            port=0,
            resolve=(ResolveTo("self.test", port, ("127.0.0.1",)),),
            upstream_cafiles=(tmp_path / "origin-ca.pem",),
        )
        with RunningProxy(cfg) as proxy:
            answer = _through_proxy(proxy, ca, "self.test", port)
            ev = _finding(proxy, "self.test")
    assert b"x-tlsdiag-finding: server.hostname_mismatch" in answer.lower()
    assert ev["finding"] == codes.SERVER_HOSTNAME_MISMATCH, ev
