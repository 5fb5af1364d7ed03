"""Servers for the scan tests, all on 127.0.0.1: Python ssl restricted to given versions and
suites, ``openssl s_server`` for what Python cannot serve, a scripted server that answers
ClientHellos from a fixed table (SSL 3.0, which OpenSSL 3 cannot serve), and one that stalls."""

from __future__ import annotations

import contextlib
import shutil
import socket
import ssl
import struct
import subprocess
import tempfile
import threading
import time
import warnings
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import trustme

_CA = trustme.CA()
_CERT = _CA.issue_cert("scan.lab.test", "localhost", key_type=trustme.KeyType.RSA)


def _accept_loop(
    sock: socket.socket, stop: threading.Event, handle: Callable[[socket.socket], None]
) -> None:
    while not stop.is_set():
        try:
            conn, _ = sock.accept()
        except TimeoutError:
            continue
        except OSError:
            return
        threading.Thread(target=handle, args=(conn,), daemon=True).start()


@contextlib.contextmanager
def _listener(handle: Callable[[socket.socket], None]) -> Iterator[int]:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    sock.listen(64)
    sock.settimeout(0.2)
    stop = threading.Event()
    thread = threading.Thread(target=_accept_loop, args=(sock, stop, handle), daemon=True)
    thread.start()
    try:
        yield sock.getsockname()[1]
    finally:
        stop.set()
        sock.close()
        thread.join(timeout=2)


@contextlib.contextmanager
def python_server(
    *,
    minimum: ssl.TLSVersion = ssl.TLSVersion.TLSv1_2,
    maximum: ssl.TLSVersion = ssl.TLSVersion.TLSv1_3,
    ciphers: str | None = None,
) -> Iterator[int]:
    """Python's ssl with the given versions and TLS 1.2-and-below suites (server order)."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    _CERT.configure_cert(ctx)
    with warnings.catch_warnings():  # deliberate: old versions are what these tests scan
        warnings.simplefilter("ignore", DeprecationWarning)
        ctx.minimum_version = minimum
        ctx.maximum_version = maximum
    if ciphers:
        ctx.set_ciphers(ciphers)

    def handle(conn: socket.socket) -> None:
        conn.settimeout(3)
        with (
            contextlib.suppress(OSError, ssl.SSLError),
            ctx.wrap_socket(conn, server_side=True) as t,
        ):
            t.recv(10)
        with contextlib.suppress(OSError):
            conn.close()

    with _listener(handle) as port:
        yield port


def have_openssl() -> bool:
    return shutil.which("openssl") is not None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def openssl_server(args: Sequence[str]) -> Iterator[int]:
    """``openssl s_server`` on 127.0.0.1 with extra ``args``; yields the port."""
    with tempfile.TemporaryDirectory() as tmp:
        cert, key = Path(tmp, "cert.pem"), Path(tmp, "key.pem")
        _CERT.cert_chain_pems[0].write_to_path(str(cert))
        _CERT.private_key_pem.write_to_path(str(key))
        port = _free_port()
        cmd = ["openssl", "s_server", "-accept", f"127.0.0.1:{port}", "-cert", str(cert)]
        cmd += ["-key", str(key), "-quiet", *args]
        proc = subprocess.Popen(
            cmd, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        try:
            for _ in range(100):
                with (
                    contextlib.suppress(OSError),
                    socket.create_connection(("127.0.0.1", port), 0.2),
                ):
                    break
                if proc.poll() is not None:
                    raise RuntimeError(f"openssl s_server exited: {' '.join(cmd)}")
                time.sleep(0.05)
            yield port
        finally:
            proc.terminate()
            proc.wait(timeout=5)
            if proc.stdin is not None:
                proc.stdin.close()


def _hello_fields(data: bytes) -> tuple[int, list[int], list[int]]:
    """(client_version, suites, supported_versions) of a ClientHello record."""
    body = data[9:]
    version = struct.unpack("!H", body[0:2])[0]
    pos = 34
    pos += 1 + body[pos]
    (n,) = struct.unpack("!H", body[pos : pos + 2])
    suites = [struct.unpack("!H", body[pos + 2 + i : pos + 4 + i])[0] for i in range(0, n, 2)]
    pos += 2 + n
    pos += 1 + body[pos]
    versions: list[int] = []
    if pos + 2 <= len(body):
        end = pos + 2 + struct.unpack("!H", body[pos : pos + 2])[0]
        pos += 2
        while pos + 4 <= end:
            kind, size = struct.unpack("!HH", body[pos : pos + 4])
            if kind == 43:
                versions = [
                    struct.unpack("!H", body[pos + 5 + i : pos + 7 + i])[0]
                    for i in range(0, body[pos + 4], 2)
                ]
            pos += 4 + size
    return version, suites, versions


def _read_record(conn: socket.socket) -> bytes:
    data = b""
    while len(data) < 5 or len(data) < 5 + struct.unpack("!H", data[3:5])[0]:
        chunk = conn.recv(4096)
        if not chunk:
            break
        data += chunk
    return data


def server_hello(version: int, suite: int) -> bytes:
    body = struct.pack("!H", version) + b"\x11" * 32 + b"\x00" + struct.pack("!HB", suite, 0)
    msg = b"\x02" + struct.pack("!I", len(body))[1:] + body
    return struct.pack("!BHH", 22, version, len(msg)) + msg


def alert(description: int, version: int = 0x0301) -> bytes:
    return struct.pack("!BHHBB", 21, version, 2, 2, description)


@contextlib.contextmanager
def scripted_server(version: int, suites: Sequence[int]) -> Iterator[int]:
    """Speaks exactly one pre-1.3 ``version`` and picks from ``suites`` in that order, as an
    old server would; answers anything else with a protocol_version alert."""

    def handle(conn: socket.socket) -> None:
        with conn:
            conn.settimeout(3)
            with contextlib.suppress(OSError, struct.error, IndexError):
                hello_version, offered, _ = _hello_fields(_read_record(conn))
                if hello_version < version:
                    conn.sendall(alert(70))
                    return
                pick = next((s for s in suites if s in offered), None)
                conn.sendall(server_hello(version, pick) if pick else alert(40, version))

    with _listener(handle) as port:
        yield port


@contextlib.contextmanager
def raw_server(answer: bytes | None, *, reset: bool = False) -> Iterator[int]:
    """Reads the ClientHello, then sends ``answer``, resets, or (``answer`` None) stalls."""
    release = threading.Event()

    def handle(conn: socket.socket) -> None:
        with conn:
            conn.settimeout(10)
            with contextlib.suppress(OSError):
                conn.recv(4096)
                if reset:
                    conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                elif answer is not None:
                    conn.sendall(answer)
                else:
                    release.wait(10)

    with _listener(handle) as port:
        try:
            yield port
        finally:
            release.set()
