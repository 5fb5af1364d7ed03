"""``certifi.where()`` kept in the cache directory (``stores.bundles.certifi_where``): the same
answer as certifi's, asked again when certifi changes, the cached path vanishes or the file is
broken or foreign, and never cached under ``TLSDIAG_NO_CACHE``."""

from __future__ import annotations

import importlib
import json
import sys
from pathlib import Path

import certifi
import pytest

from tlsdiag.stores.bundles import certifi_where

CORE = """import os
CALLS = []
def where():
    CALLS.append(1)
    return os.path.join(os.path.dirname(__file__), "cacert.pem")
"""


@pytest.fixture
def fake(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A certifi package of this test's own that counts how often it is asked."""
    package = tmp_path / "site" / "certifi"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("from .core import where, CALLS\n")
    (package / "core.py").write_text(CORE)
    (package / "cacert.pem").write_text("")
    monkeypatch.syspath_prepend(str(package.parent))
    for name in ("certifi", "certifi.core"):
        monkeypatch.delitem(sys.modules, name, raising=False)
    importlib.invalidate_caches()
    return package


def _calls() -> int:
    return len(importlib.import_module("certifi").CALLS)


def _files(directory: Path) -> list[Path]:
    return sorted(directory.glob("certifi-*.json")) if directory.is_dir() else []


def test_the_answer_is_certifis_own(cache: Path) -> None:
    assert certifi_where() == certifi.where()
    assert certifi_where() == certifi.where()  # from the cache now
    assert len(_files(cache)) == 1


def test_a_second_run_does_not_ask_certifi(cache: Path, fake: Path) -> None:
    assert certifi_where() == str(fake / "cacert.pem")
    assert _calls() == 1
    assert certifi_where() == str(fake / "cacert.pem")
    assert _calls() == 1


def test_changed_certifi_code_is_asked_again(cache: Path, fake: Path) -> None:
    certifi_where()
    (fake / "core.py").write_text(CORE + "# a new release\n")
    certifi_where()
    assert _calls() == 2
    assert len(_files(cache)) == 1  # the stale answer is gone


def test_a_vanished_path_is_asked_again(cache: Path, fake: Path) -> None:
    certifi_where()
    (fake / "cacert.pem").unlink()
    certifi_where()
    assert _calls() == 2


@pytest.mark.parametrize("text", ["{", "[]", '{"key": "other", "where": "/etc/passwd"}'])
def test_a_broken_or_foreign_file_is_ignored(cache: Path, fake: Path, text: str) -> None:
    certifi_where()
    (path,) = _files(cache)
    path.write_text(text)
    assert certifi_where() == str(fake / "cacert.pem")
    assert _calls() == 2
    assert json.loads(path.read_text())["where"] == str(fake / "cacert.pem")  # rewritten


def test_no_cache_always_asks(cache: Path, fake: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TLSDIAG_NO_CACHE", "1")
    certifi_where()
    certifi_where()
    assert _calls() == 2
    assert _files(cache) == []


def test_another_installation_keeps_its_own_file(
    cache: Path, fake: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two venvs in turn (another certifi path) must not delete each other's answer."""
    certifi_where()
    mine = _files(cache)
    other = fake.parent.parent / "other-site" / "certifi"
    other.mkdir(parents=True)
    for name in ("__init__.py", "core.py", "cacert.pem"):
        (other / name).write_bytes((fake / name).read_bytes())
    monkeypatch.syspath_prepend(str(other.parent))
    for name in ("certifi", "certifi.core"):
        monkeypatch.delitem(sys.modules, name, raising=False)
    importlib.invalidate_caches()
    assert certifi_where() == str(other / "cacert.pem")
    assert len(_files(cache)) == 2 and set(mine) < set(_files(cache))
