"""Fixtures of the store tests."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty cache directory of this test's own, with caching on."""
    directory = tmp_path / "cache"
    monkeypatch.setenv("TLSDIAG_CACHE_DIR", str(directory))
    monkeypatch.delenv("TLSDIAG_NO_CACHE", raising=False)
    return directory
