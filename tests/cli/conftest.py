"""Fixtures of the bad-input CLI tests: a certificate file (with a HAR and a saved report next
to it), a FIFO and a port nobody listens on."""

from __future__ import annotations

import json
import os
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from tlsdiag.lab.pki import make_ca

from helpers.bad_input import NOW


@pytest.fixture(scope="module")
def pem(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("pem") / "root.pem"
    path.write_bytes(make_ca("Bad Input Root", now=NOW).cert_pem)
    path.with_name("page.har").write_text('{"log": {"version": "1.2", "entries": []}}')
    saved = {"command": "check", "endpoint": {"host": "a.test", "port": 443}, "findings": []}
    path.with_name("saved.json").write_text(json.dumps(saved))
    return path


@pytest.fixture()
def fifo(tmp_path: Path) -> Iterator[Path]:
    path = tmp_path / "fifo"
    os.mkfifo(path)
    yield path


@pytest.fixture()
def closed_port() -> int:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = int(s.getsockname()[1])
    s.close()
    return port
