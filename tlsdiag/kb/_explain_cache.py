"""The parsed tables of the explain knowledge base, kept in a small cache of JSON lines.

Parsing 200 KB of TOML and deriving the needles costs tens of milliseconds, more than the rest of
an explanation; the parsed tables are therefore kept in the user's cache directory
(``$TLSDIAG_CACHE_DIR``, else ``$XDG_CACHE_HOME/tlsdiag`` or ``~/.cache/tlsdiag``), keyed by a
hash of the three files and the tlsdiag version. ``TLSDIAG_NO_CACHE=1`` turns it off; any
problem with the cache (stale, corrupt, foreign, unreadable) silently falls back to parsing the
TOML and rewrites it. Validation is the loader's job (``tlsdiag.kb.explain``).

The cache file (``explain-kb-<hash>.json``, named as in format 1) holds one JSON document per
line: a header (key, format, number of patterns, CRC of the rest), the context rules, the
causes, every pattern's needles, then one line per pattern. An explanation needs all needles
but only the few patterns a text's words reach, so a pattern's line is parsed only when it is
first asked for.
"""

from __future__ import annotations

import json
import zlib
from collections.abc import Sequence
from functools import cache
from pathlib import Path
from typing import Any, NamedTuple, overload

from tlsdiag import __version__
from tlsdiag.kb._cache import cache_dir, derivation_key, write_text_cache
from tlsdiag.kb._needles import _needles

CACHE_FORMAT = 2  # 1: one JSON document (explain-kb-*.json); 2: JSON lines, lazy patterns
_FILES = (
    ("error_patterns.toml", "pattern"),
    ("explain_context.toml", "context"),
    ("explain_causes.toml", "cause"),
)
_NEEDLES = "_needles"  # key the loader adds to pattern and context entries
_HEAD = 4  # header, contexts, causes, needles; then one line per pattern
_STALE = ("explain-kb-*.json",)

Entry = dict[str, Any]


class PatternRows(Sequence[Entry]):
    """The ``[[pattern]]`` entries in file order, each parsed from its JSON line on first use
    (with its needles under ``_needles``); :attr:`needles` holds every pattern's needles."""

    def __init__(self, needles: list[list[str]], rows: list[bytes] | list[Entry]) -> None:
        self.needles = needles
        self._rows: list[Any] = list(rows)

    def __len__(self) -> int:
        return len(self._rows)

    @overload
    def __getitem__(self, index: int) -> Entry: ...

    @overload
    def __getitem__(self, index: slice) -> list[Entry]: ...

    def __getitem__(self, index: int | slice) -> Entry | list[Entry]:
        if isinstance(index, slice):
            return [self[i] for i in range(len(self))[index]]
        row = self._rows[index]
        if isinstance(row, bytes):
            row = json.loads(row)
            if not isinstance(row, dict):
                raise ValueError(f"explain cache: pattern {index} is not a table")
            row[_NEEDLES] = self.needles[index]
            self._rows[index] = row
        entry: Entry = row
        return entry


class Tables(NamedTuple):
    """The three parsed tables (no validation yet)."""

    patterns: PatternRows
    contexts: list[Entry]
    causes: list[Entry]


def parse_tables(blobs: dict[str, bytes]) -> Tables:
    """Parse the three TOML files and add the derived needles (no validation here)."""
    import tomllib

    tables: dict[str, list[Entry]] = {}
    for name, table in _FILES:
        try:
            entries: list[Entry] = tomllib.loads(blobs[name].decode("utf-8"))[table]
        except (tomllib.TOMLDecodeError, KeyError) as exc:
            raise ValueError(f"{name}: {exc}") from exc
        if table != "cause":
            for entry in entries:
                needle = entry.get("needle")
                regex = str(entry.get("regex", ""))
                entry[_NEEDLES] = list(_needles(needle, regex))
        tables[table] = entries
    needles = [list(e[_NEEDLES]) for e in tables["pattern"]]
    return Tables(PatternRows(needles, tables["pattern"]), tables["context"], tables["cause"])


def _dump(key: str, tables: Tables) -> str | None:
    """The cache file's text, or None when the tables are not JSON (a TOML date)."""
    try:
        patterns = [
            json.dumps({k: v for k, v in p.items() if k != _NEEDLES}, separators=(",", ":"))
            for p in tables.patterns
        ]
        body = "\n".join(
            [
                json.dumps(tables.contexts, separators=(",", ":")),
                json.dumps(tables.causes, separators=(",", ":")),
                json.dumps(tables.patterns.needles, separators=(",", ":")),
                *patterns,
            ]
        )
    except (TypeError, ValueError):
        return None
    crc = zlib.crc32(body.encode("utf-8"))
    head = {"key": key, "format": CACHE_FORMAT, "patterns": len(patterns), "crc": crc}
    return json.dumps(head) + "\n" + body


def _undump(data: bytes, key: str) -> Tables | None:
    """The tables in a cache file's bytes, or None when it is not a current, intact cache."""
    head_end = data.find(b"\n")
    if head_end < 0:
        return None
    try:
        head = json.loads(data[:head_end])
        if not isinstance(head, dict) or head.get("key") != key:
            return None
        if head.get("format") != CACHE_FORMAT or head.get("crc") != zlib.crc32(
            data[head_end + 1 :]
        ):
            return None
        lines = data[head_end + 1 :].split(b"\n")
        if len(lines) != _HEAD - 1 + head.get("patterns", -1):
            return None
        contexts, causes, needles = (json.loads(line) for line in lines[: _HEAD - 1])
    except (ValueError, TypeError):
        return None
    if not (isinstance(contexts, list) and isinstance(causes, list) and isinstance(needles, list)):
        return None
    rows = lines[_HEAD - 1 :]
    if len(needles) != len(rows):
        return None
    return Tables(PatternRows(needles, rows), contexts, causes)


def load_tables(directory: Path | None) -> Tables:
    """The parsed tables, from the cache in ``directory`` when it is current, else parsed
    from the TOML (and written to the cache)."""
    from tlsdiag.kb._load import data_bytes

    blobs = {name: data_bytes(name) for name, _ in _FILES}
    # A cheap content key (zlib is loaded already; hashlib would cost an OpenSSL import).
    parts = [f"{__version__}/{CACHE_FORMAT}/{derivation_key()}"]
    parts += [f"{name}:{len(blobs[name])}:{zlib.crc32(blobs[name]):08x}" for name, _ in _FILES]
    key = "/".join(parts)
    short = f"{zlib.crc32(key.encode()):08x}"
    path = directory / f"explain-kb-{short}.json" if directory else None
    if path is not None:
        try:
            found = _undump(path.read_bytes(), key)
        except OSError:
            found = None
        if found is not None:
            return found
    tables = parse_tables(blobs)
    if path is not None:
        text = _dump(key, tables)
        if text is not None:
            write_text_cache(path, text, stale=_STALE)
    return tables


@cache
def _tables() -> Tables:
    return load_tables(cache_dir())
