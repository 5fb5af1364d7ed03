"""The shared reader of the TOML files shipped in ``tlsdiag/data`` (the loaders cache results).

Parsing TOML costs a few milliseconds per file and importing ``tomllib`` several more, on every
run; a parsed file is therefore also kept as JSON in the user's cache directory (the one the
explain cache uses: ``$TLSDIAG_CACHE_DIR``, ``$XDG_CACHE_HOME/tlsdiag``, ``~/.cache/tlsdiag``;
``TLSDIAG_NO_CACHE=1`` turns it off), keyed by the file's length and CRC and the tlsdiag
version. :func:`load_validated` also records that a loader accepted the file, so that a later
run may skip checks whose outcome cannot change for the same bytes (compiling every regex only
to prove it compiles). Any problem with the cache silently falls back to parsing the TOML.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from tlsdiag import __version__

T = TypeVar("T")
CACHE_FORMAT = 2  # 2: vendors and public issuers keep their derived needles


def data_bytes(name: str) -> bytes:
    """The bytes of one file in ``tlsdiag/data``: read from the package's folder, through
    ``importlib.resources`` (whose import costs about 15 ms) only when that fails (a zip)."""
    import tlsdiag.data

    where = tlsdiag.data.__file__
    if where:
        try:
            return (Path(where).parent / name).read_bytes()
        except OSError:
            pass
    from importlib.resources import files

    return files("tlsdiag.data").joinpath(name).read_bytes()


def _read(name: str) -> tuple[bytes, str]:
    from tlsdiag.kb._cache import derivation_key

    blob = data_bytes(name)
    code = f"{__version__}/{CACHE_FORMAT}/{derivation_key()}"
    return blob, f"{code}/{name}:{len(blob)}:{zlib.crc32(blob):08x}"


def data_key(name: str) -> str:
    """A text that changes when the data file ``name`` (or the tlsdiag version) changes: for
    caches of answers derived from it (``stores.rootfacts`` keys on ``vendors.toml``)."""
    return _read(name)[1]


def _cache_path(name: str, key: str) -> Path | None:
    from tlsdiag.kb._cache import cache_dir

    directory = cache_dir()
    if directory is None:
        return None
    stem = name.removesuffix(".toml")
    return directory / f"toml-{stem}-{zlib.crc32(key.encode()):08x}.json"


def _from_cache(path: Path | None, key: str) -> tuple[dict[str, Any], bool] | None:
    if path is None:
        return None
    from tlsdiag.kb._cache import read_cache

    doc = read_cache(path, key)
    if doc is not None and isinstance(doc.get("doc"), dict):
        return doc["doc"], doc.get("checked") is True
    return None


def _to_cache(path: Path | None, name: str, key: str, doc: dict[str, Any], checked: bool) -> None:
    if path is None:
        return
    from tlsdiag.kb._cache import write_cache

    stale = f"toml-{name.removesuffix('.toml')}-*.json"
    write_cache(path, {"key": key, "checked": checked, "doc": doc}, stale=stale)


def _parse(blob: bytes) -> dict[str, Any]:
    import tomllib

    return tomllib.loads(blob.decode("utf-8"))


def load_toml(name: str) -> dict[str, Any]:
    """Read one data file shipped in the package.

    Args:
        name: file name inside ``tlsdiag/data``, e.g. ``"findings.toml"``.

    Returns:
        The parsed TOML document.
    """
    blob, key = _read(name)
    path = _cache_path(name, key)
    hit = _from_cache(path, key)
    if hit is not None:
        return hit[0]
    doc = _parse(blob)
    _to_cache(path, name, key, doc, checked=False)
    return doc


def load_validated(name: str, build: Callable[[dict[str, Any], bool], T]) -> T:
    """Read one data file and build a loader's result from it, validating only when needed.

    Args:
        name: file name inside ``tlsdiag/data``.
        build: ``build(doc, checked)`` validates and converts the parsed document; ``checked``
            is True when this exact file was accepted by ``build`` in an earlier run, so checks
            that depend only on the file's bytes may be skipped.

    Returns:
        What ``build`` returns. Its errors propagate (and the file is then not marked checked).
    """
    blob, key = _read(name)
    path = _cache_path(name, key)
    hit = _from_cache(path, key)
    if hit is not None and hit[1]:
        return build(hit[0], True)
    doc = hit[0] if hit is not None else _parse(blob)
    result = build(doc, False)
    _to_cache(path, name, key, doc, checked=True)
    return result
