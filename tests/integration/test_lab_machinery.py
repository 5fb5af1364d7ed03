"""The lab's machinery: keys without files, one accepting thread, reused workers, cases announced
as soon as their servers accept, an RSA key thread, and a PKI server that stops."""

from __future__ import annotations

import os
import socket
import ssl
import tempfile
import threading
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tlsdiag.lab.cases import CASE_NAMES, Lab, RunningCase
from tlsdiag.lab.keys import LabKeys
from tlsdiag.lab.pki import make_ca, make_leaf
from tlsdiag.lab.pki_http import PkiHttpServer
from tlsdiag.lab.servers import Acceptor, LabServer, TlsSettings, tls_context
from tlsdiag.lab.workers import Workers

pytestmark = pytest.mark.integration

NOW = datetime.now(UTC)


def _get(port: int, ctx: ssl.SSLContext | None = None) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=5) as raw:
        if ctx is None:
            return _exchange(raw)
        with ctx.wrap_socket(
            raw, server_hostname="localhost", do_handshake_on_connect=False
        ) as tls:
            tls.do_handshake()
            return _exchange(tls)


def _exchange(conn: socket.socket) -> bytes:
    conn.sendall(b"GET /x HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    data = b""
    while chunk := conn.recv(4096):
        data += chunk
    return data


def test_tls_context_writes_no_file(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """The key reaches OpenSSL through a pipe: with no temporary file possible it still loads."""

    def no_file(*args: object, **kwargs: object) -> None:
        raise AssertionError("a temporary file was made")

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "missing"))
    for name in ("NamedTemporaryFile", "mkstemp", "TemporaryFile"):
        monkeypatch.setattr(tempfile, name, no_file)
    root = make_ca("Pipe Root", now=NOW)
    leaf = make_leaf(root, now=NOW, names=["localhost"])
    server = LabServer("tls", ctx=tls_context(TlsSettings(chain=(leaf, root)))).start()
    try:
        client = ssl.create_default_context(cadata=root.cert_pem.decode())
        assert _get(server.port, client).startswith(b"HTTP/1.1 200 OK")
        other = ssl.create_default_context(cadata=make_ca("Other", now=NOW).cert_pem.decode())
        with pytest.raises(ssl.SSLCertVerificationError):  # negative control: wrong CA fails
            _get(server.port, other)
    finally:
        server.stop()
    assert not (tmp_path / "missing").exists()


def test_without_dev_fd_the_key_goes_through_a_private_file_removed_at_once(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Windows has no /dev/fd: the chain and key go through a 0600 file in a 0700 directory,
    gone once the context is loaded, and the server presents that chain."""
    from tlsdiag.lab import servers

    made: list[tuple[int, int]] = []
    real_open = os.open

    def watch(path: str, flags: int, mode: int = 0o777, **kwargs: int) -> int:
        fd = real_open(path, flags, mode, **kwargs)
        if flags & os.O_CREAT:
            made.append(
                (os.stat(fd).st_mode & 0o777, os.stat(os.path.dirname(path)).st_mode & 0o777)
            )
        return fd

    monkeypatch.setattr(servers, "DEV_FD", str(tmp_path / "no-dev-fd"))
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    monkeypatch.setattr(os, "open", watch)
    root = make_ca("File Root", now=NOW)
    leaf = make_leaf(root, now=NOW, names=["localhost"])
    ctx = tls_context(TlsSettings(chain=(leaf, root)))
    monkeypatch.undo()
    assert made == [(0o600, 0o700), (0o600, 0o700)]  # the chain, then the key
    assert list(tmp_path.iterdir()) == []
    server = LabServer("tls", ctx=ctx).start()
    try:
        client = ssl.create_default_context(cadata=root.cert_pem.decode())
        assert _get(server.port, client).startswith(b"HTTP/1.1 200 OK")
    finally:
        server.stop()


def test_servers_share_one_acceptor() -> None:
    acceptor = Acceptor("t")
    plain = LabServer("http", acceptor=acceptor).start()
    reset = LabServer("reset", acceptor=acceptor).start()
    try:
        for _ in range(3):
            assert _get(plain.port).startswith(b"HTTP/1.1 400")
        with pytest.raises(ConnectionResetError):
            _get(reset.port)
    finally:
        plain.stop()
        reset.stop()
        acceptor.stop()
    with pytest.raises(ConnectionRefusedError):
        _get(plain.port)


def _wait_idle(workers: Workers) -> None:
    deadline = threading.Event()
    for _ in range(500):
        if workers._idle:
            return
        deadline.wait(0.01)
    raise AssertionError("the worker never became idle")


def test_workers_reuse_a_thread_that_raised() -> None:
    workers = Workers("t")
    seen: list[str] = []

    def task(fail: bool) -> None:
        seen.append(threading.current_thread().name)
        if fail:
            raise RuntimeError("boom")

    for fail in (True, False, False):
        workers.submit(lambda f=fail: task(f))  # type: ignore[misc]
        _wait_idle(workers)
    workers.close()
    assert seen == ["t-1"] * 3  # one thread ran all three, the failure did not end it
    with pytest.raises(RuntimeError):
        workers.submit(lambda: None)


def test_each_case_is_announced_when_its_server_accepts(tmp_path: Path) -> None:
    names = ("good", "sha1", "not-tls")
    announced: list[str] = []

    def on_case(case: RunningCase) -> None:
        assert (tmp_path / "lab-root.pem").exists()
        socket.create_connection(("127.0.0.1", case.port), timeout=5).close()
        announced.append(case.spec.name)

    lab = Lab(names=names, directory=tmp_path)
    try:
        lab.start(on_case=on_case)
    finally:
        lab.stop()
    assert announced == [n for n in CASE_NAMES if n in names]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["lab-root.pem"]  # no key on disk


def test_rsa_keys_are_made_for_the_cases_that_need_them() -> None:
    keys = LabKeys(["rsa1024", "good"])
    key = keys.key("rsa1024")
    assert key.key_size == 1024
    with pytest.raises(KeyError):
        keys.key("sha1")  # not asked for
    assert LabKeys(None).key("sha1").key_size == 2048


def test_demo_given_no_case_names_runs_them_all() -> None:
    """An empty list means every case (as the CLI's default does), RSA cases included."""
    from tlsdiag.commands.demo import demo_report

    report = demo_report([])
    cases = report.facts["cases"]
    assert [c["case"] for c in cases] == list(CASE_NAMES)
    assert report.facts["all_as_expected"] is True


def test_pki_server_stops_and_frees_its_port() -> None:
    server = PkiHttpServer().start()
    server.add_file("/x", b"hello", "text/plain")
    assert _get(server.port).endswith(b"hello")
    server.stop()
    with pytest.raises(ConnectionRefusedError):
        _get(server.port)
