"""Local TLS servers for the issuer tests, serving chains built at test time.

The chain builders live in ``helpers.issuer_chains``.
"""

from __future__ import annotations

import contextlib
import socket
import ssl
import tempfile
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization


def pem(*certs: x509.Certificate) -> bytes:
    return b"".join(c.public_bytes(serialization.Encoding.PEM) for c in certs)


@contextlib.contextmanager
def tls_server(certs: Sequence[x509.Certificate], key) -> Iterator[int]:
    """Serve ``certs`` (leaf first) with ``key`` on 127.0.0.1; yields the port."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    with tempfile.TemporaryDirectory() as tmp:
        cert_file = Path(tmp, "chain.pem")
        key_file = Path(tmp, "key.pem")
        cert_file.write_bytes(pem(*certs))
        key_file.write_bytes(
            key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )
        ctx.load_cert_chain(cert_file, key_file)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    sock.listen(16)
    sock.settimeout(0.2)
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = sock.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            conn.settimeout(3)
            try:
                with (
                    ctx.wrap_socket(conn, server_side=True) as tls,
                    contextlib.suppress(OSError, ssl.SSLError),
                ):
                    data = tls.recv(4096)
                    if data:
                        tls.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
            except (OSError, ssl.SSLError):
                pass  # the client may reject the chain: that is fine
            finally:
                with contextlib.suppress(OSError):
                    conn.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield sock.getsockname()[1]
    finally:
        stop.set()
        sock.close()
        thread.join(timeout=2)
