"""Small TCP servers on 127.0.0.1, threads only: ``serve_each`` runs a handler per connection;
``connect_forwarder`` is a plain CONNECT proxy, for clients that the suite sends through a proxy
(Chromium) when the test is about what they do toward a server themselves."""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Callable, Iterator


def _pipe(a: socket.socket, b: socket.socket) -> None:
    def copy(src: socket.socket, dst: socket.socket) -> None:
        with contextlib.suppress(OSError):
            while data := src.recv(65536):
                dst.sendall(data)
        with contextlib.suppress(OSError):
            dst.shutdown(socket.SHUT_WR)

    t = threading.Thread(target=copy, args=(b, a), daemon=True)
    t.start()
    copy(a, b)
    t.join(10)
    a.close()
    b.close()


@contextlib.contextmanager
def serve_each(handle: Callable[[socket.socket], None]) -> Iterator[int]:
    """Listen on a free port (yielded); each connection goes to ``handle`` in its own thread."""
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(32)

    def loop() -> None:
        while True:
            try:
                conn, _ = srv.accept()
            except OSError:
                return
            conn.settimeout(10)
            threading.Thread(target=handle, args=(conn,), daemon=True).start()

    threading.Thread(target=loop, daemon=True).start()
    try:
        yield srv.getsockname()[1]
    finally:
        srv.close()


@contextlib.contextmanager
def connect_forwarder(to_port: int) -> Iterator[int]:
    """An HTTP proxy that answers every CONNECT with a tunnel to 127.0.0.1:``to_port``."""

    def handle(conn: socket.socket) -> None:
        head = b""
        with contextlib.suppress(OSError):
            while b"\r\n\r\n" not in head and len(head) < 16384:
                data = conn.recv(4096)
                if not data:
                    break
                head += data
        if not head.startswith(b"CONNECT "):
            conn.close()
            return
        up = socket.create_connection(("127.0.0.1", to_port), timeout=10)
        conn.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
        rest = head.split(b"\r\n\r\n", 1)[1]
        if rest:
            up.sendall(rest)
        _pipe(conn, up)

    with serve_each(handle) as port:
        yield port
