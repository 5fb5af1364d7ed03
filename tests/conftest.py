"""Shared fixtures: the lab (started once), a clean environment, certificate factories."""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from tlsdiag.lab.cases import Lab

# Variables that change which roots tools trust: tests must not depend on the machine's own.
TRUST_ENV = (
    "SSL_CERT_FILE",
    "SSL_CERT_DIR",
    "REQUESTS_CA_BUNDLE",
    "CURL_CA_BUNDLE",
    "NODE_EXTRA_CA_CERTS",
    "AWS_CA_BUNDLE",
    "PIP_CERT",
    "HTTPS_PROXY",
    "https_proxy",
    "HTTP_PROXY",
    "http_proxy",
    "ALL_PROXY",
    "all_proxy",
)


@pytest.fixture(scope="session")
def _cache_dir(tmp_path_factory: pytest.TempPathFactory) -> str:
    return str(tmp_path_factory.mktemp("tlsdiag-cache"))


@pytest.fixture(autouse=True)
def _clean_trust_env(monkeypatch: pytest.MonkeyPatch, _cache_dir: str) -> None:
    for name in TRUST_ENV:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("NO_PROXY", "*")
    monkeypatch.setenv("TLSDIAG_CACHE_DIR", _cache_dir)  # never write the user's cache


@pytest.fixture(scope="session")
def lab() -> Iterator[Lab]:
    """Every lab case running on 127.0.0.1 for the whole session."""
    saved = {k: os.environ.pop(k) for k in TRUST_ENV if k in os.environ}
    with Lab() as running:
        yield running
    os.environ.update(saved)


@pytest.fixture
def now() -> datetime:
    """The current time, aware UTC."""
    return datetime.now(UTC)
