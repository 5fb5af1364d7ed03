"""The parsed tables of the explain knowledge base, kept in a small JSON cache.

Parsing 200 KB of TOML and deriving the needles costs tens of milliseconds, more than the rest of
an explanation; the parsed tables are therefore kept in the user's cache directory
(``$TLSDIAG_CACHE_DIR``, else ``$XDG_CACHE_HOME/tlsdiag`` or ``~/.cache/tlsdiag``), keyed by a
hash of the three files and the tlsdiag version. ``TLSDIAG_NO_CACHE=1`` turns it off; any
problem with the cache silently falls back to parsing the TOML. Validation is the loader's job
(``tlsdiag.kb.explain``).
"""

from __future__ import annotations

import json
import os
import zlib
from functools import cache
from pathlib import Path
from typing import Any

from tlsdiag import __version__
from tlsdiag.facts.ids import Platform
from tlsdiag.kb._needles import _needles
from tlsdiag.model import platform_name

CACHE_FORMAT = 1
_FILES = (
    ("error_patterns.toml", "pattern"),
    ("explain_context.toml", "context"),
    ("explain_causes.toml", "cause"),
)
_NEEDLES = "_needles"  # key the loader adds to pattern and context entries


def cache_dir(env: dict[str, str] | None = None) -> Path | None:
    """Where the parsed knowledge base is cached, or None when caching is off."""
    env = dict(os.environ) if env is None else env
    if env.get("TLSDIAG_NO_CACHE", "") not in ("", "0"):
        return None
    if env.get("TLSDIAG_CACHE_DIR"):
        return Path(env["TLSDIAG_CACHE_DIR"])
    if env.get("XDG_CACHE_HOME"):
        return Path(env["XDG_CACHE_HOME"]) / "tlsdiag"
    if platform_name() == Platform.WINDOWS and env.get("LOCALAPPDATA"):
        return Path(env["LOCALAPPDATA"]) / "tlsdiag" / "cache"
    home = env.get("HOME") or env.get("USERPROFILE")
    return Path(home) / ".cache" / "tlsdiag" if home else None


def parse_tables(blobs: dict[str, bytes]) -> dict[str, list[dict[str, Any]]]:
    """Parse the three TOML files and add the derived needles (no validation here)."""
    import tomllib

    tables: dict[str, list[dict[str, Any]]] = {}
    for name, table in _FILES:
        try:
            entries: list[dict[str, Any]] = tomllib.loads(blobs[name].decode("utf-8"))[table]
        except (tomllib.TOMLDecodeError, KeyError) as exc:
            raise ValueError(f"{name}: {exc}") from exc
        if table != "cause":
            for entry in entries:
                needle = entry.get("needle")
                regex = str(entry.get("regex", ""))
                entry[_NEEDLES] = list(_needles(needle, regex))
        tables[table] = entries
    return tables


def load_tables(directory: Path | None) -> dict[str, list[dict[str, Any]]]:
    """The parsed tables, from the cache in ``directory`` when it is current, else parsed
    from the TOML (and written to the cache)."""
    from tlsdiag.kb._load import data_bytes

    blobs = {name: data_bytes(name) for name, _ in _FILES}
    # A cheap content key (zlib is loaded already; hashlib would cost an OpenSSL import).
    parts = [f"{__version__}/{CACHE_FORMAT}"]
    parts += [f"{name}:{len(blobs[name])}:{zlib.crc32(blobs[name]):08x}" for name, _ in _FILES]
    key = "/".join(parts)
    short = f"{zlib.crc32(key.encode()):08x}"
    path = directory / f"explain-kb-{short}.json" if directory else None
    if path is not None:
        try:
            doc = json.loads(path.read_bytes())
            if isinstance(doc, dict) and doc.get("key") == key:
                tables = doc["tables"]
                if isinstance(tables, dict) and all(t in tables for _, t in _FILES):
                    return tables
        except (OSError, ValueError, KeyError, TypeError):
            pass
    tables = parse_tables(blobs)
    if path is not None:
        write_cache(path, {"key": key, "tables": tables}, stale="explain-kb-*.json")
    return tables


def write_cache(path: Path, doc: dict[str, Any], *, stale: str) -> None:
    """Write ``doc`` as JSON to ``path`` atomically and remove older files matching ``stale``;
    a document that is not JSON (a TOML date) or any OS problem just leaves no cache."""
    import tempfile

    try:
        text = json.dumps(doc, separators=(",", ":"))
    except (TypeError, ValueError):
        return
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(
            "w", encoding="utf-8", dir=path.parent, suffix=".tmp", delete=False
        ) as fh:
            fh.write(text)
        os.replace(fh.name, path)
        for old in path.parent.glob(stale):
            if old != path:
                old.unlink(missing_ok=True)
    except OSError:
        return


@cache
def _tables() -> dict[str, list[dict[str, Any]]]:
    return load_tables(cache_dir())
