"""The one cache directory of tlsdiag and the one way to write a file in it.

Every cache (parsed data files in ``kb._load``, the explain tables in ``kb._explain_cache``,
root-bundle facts in ``stores.rootfacts``, command specs in ``cli._spec``, compiled regular
expressions and dataclass methods in ``cli._runcache``) lives in
``$TLSDIAG_CACHE_DIR``, else ``$XDG_CACHE_HOME/tlsdiag``, ``%LOCALAPPDATA%\\tlsdiag\\cache`` on
Windows, or ``~/.cache/tlsdiag``; ``TLSDIAG_NO_CACHE=1`` turns them all off. Files are written
atomically (a temporary file in the same folder, then a rename), and a cache that cannot be
written is simply not kept. Each cache checks its own key when it reads.
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import zlib
from collections.abc import Mapping
from pathlib import Path
from typing import Any


def cache_dir(env: Mapping[str, str] | None = None) -> Path | None:
    """Where tlsdiag keeps its caches, or None when caching is off."""
    env = os.environ if env is None else env
    if env.get("TLSDIAG_NO_CACHE", "") not in ("", "0"):
        return None
    if env.get("TLSDIAG_CACHE_DIR"):
        return Path(env["TLSDIAG_CACHE_DIR"])
    if env.get("XDG_CACHE_HOME"):
        return Path(env["XDG_CACHE_HOME"]) / "tlsdiag"
    if env.get("LOCALAPPDATA"):  # set on Windows only: the model is not imported elsewhere
        from tlsdiag.facts.ids import Platform
        from tlsdiag.model import platform_name

        if platform_name() == Platform.WINDOWS:
            return Path(env["LOCALAPPDATA"]) / "tlsdiag" / "cache"
    home = env.get("HOME") or env.get("USERPROFILE")
    return Path(home) / ".cache" / "tlsdiag" if home else None


@functools.cache
def derivation_key() -> str:
    """The CRC of ``kb/_needles.py``: caches that keep needles derived from regexes carry it
    in their key, so a change to how needles are derived invalidates them even without a new
    version number (an editable install)."""
    try:
        return f"{zlib.crc32(Path(__file__).with_name('_needles.py').read_bytes()):08x}"
    except OSError:
        return "none"


def read_cache(path: Path, key: str) -> dict[str, Any] | None:
    """The JSON document at ``path`` when it is one that ``key`` wrote (its ``"key"``), else
    None: missing, unreadable, not JSON, foreign or stale files are all just no cache."""
    try:
        doc = json.loads(path.read_bytes())
    except (OSError, ValueError):
        return None
    return doc if isinstance(doc, dict) and doc.get("key") == key else None


def write_cache(path: Path, doc: dict[str, Any], *, stale: str) -> None:
    """Write ``doc`` as JSON to ``path`` atomically and remove older files matching ``stale``;
    a document that is not JSON (a TOML date) or any OS problem just leaves no cache."""
    try:
        text = json.dumps(doc, separators=(",", ":"))
    except (TypeError, ValueError):
        return
    write_text_cache(path, text, stale=(stale,))


def write_text_cache(path: Path, text: str, *, stale: tuple[str, ...]) -> None:
    """Write ``text`` (UTF-8) to ``path`` atomically, as :func:`write_bytes_cache` does."""
    write_bytes_cache(path, text.encode("utf-8"), stale=stale)


def write_bytes_cache(path: Path, data: bytes, *, stale: tuple[str, ...]) -> None:
    """Write ``data`` to ``path`` atomically and remove other files matching a ``stale``
    pattern; any OS problem just leaves no cache (and no temporary file)."""
    import tempfile

    tmp: str | None = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=path.parent, suffix=".tmp", delete=False) as fh:
            tmp = fh.name
            fh.write(data)
        os.replace(tmp, path)
        tmp = None
        for pattern in stale:
            for old in path.parent.glob(pattern):
                if old != path:
                    old.unlink(missing_ok=True)
    except OSError:
        if tmp is not None:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
