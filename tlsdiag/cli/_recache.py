"""Compiled regular expressions kept across runs, one cache file per command.

A run of ``tlsdiag check`` compiles about 50 regular expressions (most of them when
``cryptography.x509`` is imported: its RFC 4514 name parser) and spends about 10 ms doing it,
the same work every run. Python keeps compiled patterns only for the life of a process, so this
module keeps what the compiler produced for each one: the arguments of its last step,
``_sre.compile(pattern, flags, code, groups, groupindex, indexgroup)``, which turns the
compiled code into a ``re.Pattern``. The next run of the same command builds each of those
patterns from the kept code instead of parsing and compiling it again.

Only short-lived commands use it (``cli.app.main``), and only when the caches are on
(``kb._cache.cache_dir``). The cache is keyed by the exact Python build (``sys.version``) and
the regex engine's ``MAGIC``, ``CODESIZE`` and ``MAXREPEAT``; an entry is used only for the
same pattern text, type and flags, and a built pattern whose ``pattern`` or ``flags`` differ
from what was asked is dropped and compiled as usual. ``_sre.compile`` validates the code it
is given, so a damaged file cannot crash the interpreter: anything unexpected means the
pattern is compiled the normal way.
"""

from __future__ import annotations

import _sre  # type: ignore[import-not-found]  # the regex engine (built in), no stub
import atexit
import contextlib
import re
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

MAX_ENTRIES = 2000  # patterns kept per command (ours and our dependencies' are about 300)
MAX_PATTERN = 4096  # characters: longer patterns are compiled every run

_Key = tuple[str, str, int]  # ("s" | "b", pattern, flags)
_PLAIN_FLAGS = (
    re.IGNORECASE | re.LOCALE | re.MULTILINE | re.DOTALL | re.UNICODE | re.VERBOSE | re.ASCII
).value


def _engine_key() -> str:
    return f"{sys.version}|{_sre.MAGIC}|{_sre.CODESIZE}|{_sre.MAXREPEAT}"


def _cache_path(command: str) -> Path | None:
    from tlsdiag.kb._cache import cache_dir

    directory = cache_dir()
    if directory is None:
        return None
    import zlib

    return directory / f"re-{command}-{zlib.crc32(_engine_key().encode()):08x}.json"


def _encode(key: _Key, args: tuple[Any, ...]) -> list[Any] | None:
    """The JSON form of a pattern asked for as ``key`` and of the arguments that
    ``_sre.compile`` got for it, or None for a shape not handled."""
    if len(args) != 6:
        return None
    _pattern, flags, code, groups, groupindex, indexgroup = args
    if not (isinstance(flags, int) and isinstance(groups, int) and isinstance(code, list)):
        return None
    return [*key, flags, code, groups, dict(groupindex), list(indexgroup)]


def _decode(entry: list[Any]) -> tuple[_Key, tuple[Any, ...]]:
    """The key of a JSON entry and the arguments of ``_sre.compile`` it holds."""
    kind, text, asked, flags, code, groups, groupindex, indexgroup = entry
    if kind not in ("s", "b") or not isinstance(text, str) or type(asked) is not int:
        raise ValueError("not a pattern entry")
    pattern: str | bytes = text.encode("latin-1") if kind == "b" else text
    return (kind, text, asked), (pattern, flags, code, groups, groupindex, tuple(indexgroup))


class _Recorder:
    """Stands in for the ``_sre`` module inside ``re._compiler``: passes every call through
    and remembers the arguments of each ``compile``."""

    def __init__(self, real: Any) -> None:
        import threading

        self._real = real
        self.local = threading.local()  # .last: the arguments of this thread's last compile

    def __getattr__(self, name: str) -> Any:
        return getattr(self._real, name)

    def compile(self, *args: Any) -> re.Pattern[Any]:
        self.local.last = args
        pattern: re.Pattern[Any] = self._real.compile(*args)
        return pattern


class PatternCache:
    """``re``'s compile step with the patterns of earlier runs of one command."""

    def __init__(self, path: Path, kept: dict[_Key, list[Any]]) -> None:
        self.path = path
        self.kept = kept  # key -> JSON entry, as read (built on first use)
        self.new: dict[_Key, list[Any]] = {}
        self._built: dict[tuple[type, str | bytes, int], re.Pattern[Any]] = {}
        self._compile: Callable[[Any, Any], re.Pattern[Any]] | None = None
        self._recorder: _Recorder | None = None

    def install(self) -> None:
        """Route ``re``'s compile step through this cache (until :meth:`uninstall`)."""
        from re import _compiler  # type: ignore[attr-defined]

        self._compile = re._compile  # type: ignore[attr-defined]
        self._recorder = _Recorder(_sre)
        _compiler._sre = self._recorder
        re._compile = self._lookup  # type: ignore[attr-defined]

    def uninstall(self) -> None:
        from re import _compiler  # type: ignore[attr-defined]

        if self._compile is not None and self._recorder is not None:
            re._compile = self._compile  # type: ignore[attr-defined]
            _compiler._sre = self._recorder._real
            self._compile = None

    def _lookup(self, pattern: Any, flags: Any = 0, *rest: Any) -> re.Pattern[Any]:
        compile_ = self._compile
        assert compile_ is not None
        kind = type(pattern)
        if isinstance(flags, re.RegexFlag):
            flags = flags.value
        if (
            rest  # a future ``re`` with another signature: stay out of its way
            or (kind is not str and kind is not bytes)
            or type(flags) is not int
            or flags & ~_PLAIN_FLAGS  # DEBUG, TEMPLATE: re's own path
            or len(pattern) > MAX_PATTERN
        ):
            return compile_(pattern, flags, *rest)
        built = self._built.get((kind, pattern, flags))
        if built is not None:
            return built
        text = pattern if kind is str else pattern.decode("latin-1")
        key = ("s" if kind is str else "b", text, flags)
        entry = self.kept.get(key)
        made = None if entry is None else self._build(entry, pattern)
        if made is None:
            self.kept.pop(key, None)  # not usable: compiled and kept anew
            made = self._record(key, pattern, flags)
        self._built[(kind, pattern, flags)] = made
        return made

    def _build(self, entry: list[Any], pattern: str | bytes) -> re.Pattern[Any] | None:
        assert self._recorder is not None
        try:
            _key, args = _decode(entry)
            made: re.Pattern[Any] = self._recorder._real.compile(*args)
        except Exception:  # a damaged or foreign entry: compile as usual
            return None
        if made.pattern != pattern or made.flags != args[1]:
            return None
        return made

    def _record(self, key: _Key, pattern: str | bytes, flags: int) -> re.Pattern[Any]:
        """Compile as ``re.compile`` does (its compiler, not its per-process cache, which
        would answer without compiling) and keep what the compiler's last step got."""
        from re import _compiler  # type: ignore[attr-defined]

        recorder = self._recorder
        assert recorder is not None
        local = recorder.local
        local.last = None
        made: re.Pattern[Any] = _compiler.compile(pattern, flags)
        args, local.last = local.last, None
        if args is not None and args[0] is pattern and len(self.kept) + len(self.new) < MAX_ENTRIES:
            entry = _encode(key, args)
            if entry is not None:
                self.new[key] = entry
        return made

    def save(self) -> None:
        """Write the kept and the new patterns when this run compiled any new one."""
        if not self.new:
            return
        from tlsdiag.kb._cache import write_cache

        entries = [*self.kept.values(), *self.new.values()]
        doc = {"key": _engine_key(), "patterns": entries}
        write_cache(self.path, doc, stale=self.path.name.rsplit("-", 1)[0] + "-*.json")


def load(command: str) -> PatternCache | None:
    """The pattern cache of ``command`` (its file read, nothing built yet), or None when
    caching is off."""
    path = _cache_path(command)
    if path is None:
        return None
    from tlsdiag.kb._cache import read_cache

    doc = read_cache(path, _engine_key())
    kept: dict[_Key, list[Any]] = {}
    if doc is not None and isinstance(doc.get("patterns"), list):
        for entry in doc["patterns"]:
            if isinstance(entry, list) and len(entry) == 8:
                with contextlib.suppress(Exception):
                    kept[_decode(entry)[0]] = entry
    return PatternCache(path, kept)


_active: PatternCache | None = None


def start(command: str) -> None:
    """Use the cache of ``command`` for the rest of this process and save it at exit."""
    global _active
    if _active is not None:
        return
    try:
        cache = load(command)
        if cache is None:
            return
        cache.install()
    except Exception:  # an optimisation: never fail a run for it
        return
    _active = cache
    atexit.register(stop)


def stop() -> None:
    """Save the active cache (when it learnt a pattern) and give ``re`` its own compile step
    back; nothing when no cache is active."""
    global _active
    cache, _active = _active, None
    if cache is None:
        return
    cache.uninstall()
    with contextlib.suppress(Exception):
        cache.save()
