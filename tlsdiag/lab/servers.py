"""Small TLS (and deliberately broken) servers on 127.0.0.1, served by one accepting thread."""

from __future__ import annotations

import contextlib
import functools
import os
import selectors
import socket
import ssl
import struct
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from email.utils import formatdate

from tlsdiag.core.certbuild import Issued
from tlsdiag.core.quiet import quietly
from tlsdiag.lab.workers import Workers


@dataclass(frozen=True, slots=True)
class TlsSettings:
    """How one lab TLS server behaves."""

    chain: tuple[Issued, ...]  # leaf first; the leaf's key is used
    send: tuple[int, ...] | None = None  # indexes of ``chain`` to send (default: all)
    legacy_only: bool = False  # TLS 1.0 only, any cipher at @SECLEVEL=0
    seclevel0: bool = False  # allow weak keys/signatures in the served chain
    client_ca_pem: bytes = b""  # non-empty: require a client certificate from this CA
    body: bytes = b"tlsdiag lab\n"
    date_offset: float = 0.0  # seconds added to the Date header (clock-skew tests)


def tls_context(settings: TlsSettings) -> ssl.SSLContext:
    """A server context serving the configured chain (its key never touches the disk)."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    if settings.legacy_only:
        with quietly(DeprecationWarning):  # deliberate: the lab's TLS 1.0-only server
            ctx.minimum_version = ssl.TLSVersion.TLSv1
            ctx.maximum_version = ssl.TLSVersion.TLSv1
        ctx.set_ciphers("ALL:@SECLEVEL=0")
    elif settings.seclevel0:
        ctx.set_ciphers("DEFAULT:@SECLEVEL=0")
    leaf = settings.chain[0]
    send = settings.send if settings.send is not None else tuple(range(len(settings.chain)))
    pem = b"".join(settings.chain[i].cert_pem for i in send)
    with _pipe_path(pem) as cert_path, _pipe_path(leaf.key_pem) as key_path:
        ctx.load_cert_chain(cert_path, key_path)
    if settings.client_ca_pem:
        ctx.verify_mode = ssl.CERT_REQUIRED
        ctx.load_verify_locations(cadata=settings.client_ca_pem.decode("ascii"))
    ctx.set_alpn_protocols(["http/1.1"])
    return ctx


PIPE_MAX = 16384  # the smallest pipe buffer of the systems with /dev/fd (macOS)
DEV_FD = "/dev/fd"


@contextlib.contextmanager
def _pipe_path(data: bytes) -> Iterator[str]:
    """A path that reads ``data``, for ``SSLContext.load_cert_chain`` (which takes only paths).

    Where the system has ``/dev/fd``, a pipe filled and closed before the read: a key without
    a file. Elsewhere (Windows), or when ``data`` would not fit a pipe's buffer (the write would
    block before anyone reads), a file readable only by this user in a private temporary
    directory, removed as soon as the context is loaded.
    """
    if len(data) <= PIPE_MAX and os.path.isdir(DEV_FD):
        read_fd, write_fd = os.pipe()
        try:
            with os.fdopen(write_fd, "wb") as out:
                out.write(data)
            yield f"{DEV_FD}/{read_fd}"
        finally:
            os.close(read_fd)
        return
    import tempfile

    with tempfile.TemporaryDirectory(prefix="tlsdiag-lab-") as private:  # mode 0700
        path = os.path.join(private, "material.pem")
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as out:
            out.write(data)
        yield path


class Acceptor:
    """One thread accepting on any number of listening sockets; each connection is handled
    on a reusable worker thread (:class:`tlsdiag.lab.workers.Workers`).

    A lab of seventeen servers then starts two threads instead of seventeen plus one per
    connection. :meth:`stop` wakes the loop through a socket pair: no polling interval.
    """

    def __init__(self, name: str = "lab") -> None:
        self._selector = selectors.DefaultSelector()
        self._wake_r, self._wake_w = socket.socketpair()
        self._selector.register(self._wake_r, selectors.EVENT_READ)
        self._workers = Workers(f"{name}-conn")
        self._thread = threading.Thread(target=self._serve, name=f"{name}-accept", daemon=True)
        self._lock = threading.Lock()
        self._stopped = False

    def add(self, sock: socket.socket, handler: Callable[[socket.socket], None]) -> None:
        """Accept on ``sock`` (listening) and run ``handler(conn)`` for each connection."""
        sock.setblocking(False)  # a connection gone between select and accept: no hang
        with self._lock:
            if self._stopped:
                raise RuntimeError("the acceptor is stopped")
            self._selector.register(sock, selectors.EVENT_READ, handler)
            if not self._thread.is_alive():
                self._thread.start()

    def remove(self, sock: socket.socket) -> None:
        """Stop accepting on ``sock`` (the caller closes it)."""
        with self._lock, contextlib.suppress(KeyError, ValueError):
            self._selector.unregister(sock)

    def stop(self) -> None:
        """Stop accepting on every socket and end the thread; running handlers finish."""
        with self._lock:
            if self._stopped:
                return
            self._stopped = True
            started = self._thread.is_alive()
        self._wake_w.send(b"x")
        if started:
            self._thread.join(timeout=2)
        self._workers.close()
        self._selector.close()
        self._wake_r.close()
        self._wake_w.close()

    def _serve(self) -> None:
        while True:
            for key, _ in self._selector.select():
                if key.fileobj is self._wake_r:
                    return
                sock = key.fileobj
                assert isinstance(sock, socket.socket)
                try:
                    conn, _ = sock.accept()
                except OSError:  # gone already, or the socket was just closed
                    continue
                self._workers.submit(functools.partial(key.data, conn))


class LabServer:
    """A listening socket on 127.0.0.1 whose connections are served by an :class:`Acceptor`.

    ``kind`` is ``"tls"`` (serve HTTPS), ``"http"`` (plain HTTP: not TLS), ``"reset"``
    (accept, then reset the connection) or ``"tls-one-segment"``: HTTPS behind the bug of
    https://tldr.fail, a ClientHello that does not fit in one TCP segment (as a post-quantum
    browser's does not) is reset. Servers of one lab share one acceptor; a server made without
    one has its own.
    """

    def __init__(
        self,
        kind: str,
        *,
        ctx: ssl.SSLContext | None = None,
        body: bytes = b"tlsdiag lab\n",
        date_offset: float = 0.0,
        host: str = "127.0.0.1",
        port: int = 0,
        acceptor: Acceptor | None = None,
    ) -> None:
        self.kind = kind
        self.ctx = ctx
        self.body = body
        self.date_offset = date_offset
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        self.sock = socket.socket(family, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind((host, port))
        self.sock.listen(64)
        self.host = host
        self.port: int = self.sock.getsockname()[1]
        self._own_acceptor = acceptor is None
        self._acceptor = acceptor or Acceptor(f"lab-{kind}-{self.port}")

    def start(self) -> LabServer:
        """Start accepting."""
        self._acceptor.add(self.sock, self._handle)
        return self

    def stop(self) -> None:
        """Stop accepting and close the socket."""
        self._acceptor.remove(self.sock)
        if self._own_acceptor:
            self._acceptor.stop()
        self.sock.close()

    def _handle(self, conn: socket.socket) -> None:
        conn.settimeout(5)
        # no Nagle: TLS 1.3 session tickets then the response would wait for a delayed ACK
        conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        try:
            if self.kind == "reset":
                _reset_on_close(conn)
                with contextlib.suppress(OSError):
                    conn.recv(4096)
                return
            if self.kind == "tls-one-segment" and not _hello_fits_one_segment(conn):
                _reset_on_close(conn)
                return
            if self.kind == "http":
                conn.recv(4096)  # answer whatever arrives, as web servers do with garbage
                conn.sendall(_response(400, b"plain HTTP here, not TLS\n", self.date_offset))
                return
            assert self.ctx is not None
            with self.ctx.wrap_socket(conn, server_side=True) as tls:
                if _read_request(tls):
                    tls.sendall(_response(200, self.body, self.date_offset))
                    with contextlib.suppress(OSError, ssl.SSLError):
                        tls.unwrap()
        except (OSError, ssl.SSLError, ValueError):
            pass  # clients are allowed to fail: that is the point of the lab
        finally:
            with contextlib.suppress(OSError):
                conn.close()


def _reset_on_close(conn: socket.socket) -> None:
    """Make closing ``conn`` send a TCP reset (RST) instead of a FIN."""
    conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))


SEGMENT = 1460  # bytes of TCP payload in one Ethernet segment


def _hello_fits_one_segment(conn: socket.socket) -> bool:
    """Whether the first TLS record (the ClientHello) is whole within ``SEGMENT`` bytes, seen
    with MSG_PEEK so that a hello that fits is then served from the untouched socket."""
    import time

    deadline = time.monotonic() + 2.0
    while time.monotonic() < deadline:
        seen = conn.recv(SEGMENT, socket.MSG_PEEK)
        if not seen:
            return False
        if len(seen) >= 5 and len(seen) >= 5 + int.from_bytes(seen[3:5], "big"):
            return True
        if len(seen) >= SEGMENT:
            return False  # the record goes on past one segment
        time.sleep(0.001)  # the rest of a small record is on its way
    return False


def _read_request(conn: socket.socket | ssl.SSLSocket) -> bool:
    data = b""
    while b"\r\n\r\n" not in data and len(data) < 65536:
        chunk = conn.recv(4096)
        if not chunk:
            return False
        data += chunk
    return True


def _response(status: int, body: bytes, date_offset: float) -> bytes:
    import time

    reason = {200: "OK", 400: "Bad Request"}.get(status, "OK")
    date = formatdate(time.time() + date_offset, usegmt=True)
    head = (
        f"HTTP/1.1 {status} {reason}\r\nServer: tlsdiag-lab\r\nDate: {date}\r\n"
        f"Content-Type: text/plain\r\nContent-Length: {len(body)}\r\nConnection: close\r\n\r\n"
    )
    return head.encode("ascii") + body
