"""What a run compiles, kept for the next run of the same command.

Two kinds of compiling take the same time on every run of a command and are worth keeping:

- **Regular expressions.** A ``tlsdiag check`` compiles about 50 (most of them when
  ``cryptography.x509`` is imported: its RFC 4514 name parser), and Python keeps compiled
  patterns only for the life of a process. :class:`PatternCache` keeps, for each pattern, the
  arguments of the compiler's last step, ``_sre.compile(pattern, flags, code, groups,
  groupindex, indexgroup)``, and the next run builds the pattern from them without parsing
  and compiling it again. The entries are JSON, and ``_sre.compile`` validates the code it is
  given: a damaged entry is compiled the normal way.
- **The methods that ``dataclasses`` writes.** Every ``@dataclass`` generates the source of
  its ``__init__``, ``__repr__``, ``__eq__``, ``__hash__``, ``__setattr__``... and compiles
  it with ``exec``; a check does that for about 100 methods (``tlsdiag.model`` and the option
  records). :class:`CodeCache` gives the ``dataclasses`` module an ``exec`` that looks the
  source up among the code objects compiled by earlier runs (``marshal``, as Python's own
  ``__pycache__`` files; the file carries the length and CRC-32 of its contents, so a file cut
  short or damaged is not loaded) and compiles only what it has not seen. The same source
  always compiles to the same code, so the classes are the ones ``dataclasses`` would make.

Only short-lived commands on CPython use them (``cli.app.main``), and only when the caches are on
(``kb._cache.cache_dir``). Both are keyed by the exact Python build (``sys.version``): the
patterns also by the regex engine's ``MAGIC``, ``CODESIZE`` and ``MAXREPEAT``, the code also by
the optimisation level. Each file is written, atomically, only by a run that compiled
something new; the files of another Python build are left alone until they have gone 30 days
without a write.
"""

from __future__ import annotations

import atexit
import contextlib
import re
import sys
from collections.abc import Callable
from pathlib import Path
from re import _compiler  # type: ignore[attr-defined]  # private, the same from 3.11 to 3.13
from types import CodeType, ModuleType
from typing import Any, Protocol

_ENGINE: Any = _compiler._sre  # the regex engine as ``re`` loaded it

MAX_ENTRIES = 2000  # patterns, or methods, kept per command (a check uses about 50 and 100)
MAX_PATTERN = 4096  # characters: longer patterns are compiled every run

_Key = tuple[str, str, int]  # ("s" | "b", pattern, flags)
_PLAIN_FLAGS = (
    re.IGNORECASE | re.LOCALE | re.MULTILINE | re.DOTALL | re.UNICODE | re.VERBOSE | re.ASCII
).value


def _engine_key() -> str:
    return f"{sys.version}|{_ENGINE.MAGIC}|{_ENGINE.CODESIZE}|{_ENGINE.MAXREPEAT}"


def _code_key() -> str:
    return f"{sys.version}|{sys.implementation.cache_tag}|optimize={sys.flags.optimize}"


def _cache_path(prefix: str, command: str, key: str, suffix: str) -> Path | None:
    from tlsdiag.kb._cache import cache_dir

    directory = cache_dir()
    if directory is None:
        return None
    import zlib

    return directory / f"{prefix}-{command}-{zlib.crc32(key.encode()):08x}{suffix}"


PRUNE_AFTER = 30 * 86400  # seconds: another Python build's file unused this long is removed


def _prune(path: Path) -> None:
    """Remove the same command's files of other Python builds that have not been written for
    ``PRUNE_AFTER`` (a venv of another Python that is still used keeps its own: removing it at
    every save would make each of two Pythons rewrite its file on every run)."""
    import time

    prefix, suffix = path.name.rsplit("-", 1)[0], path.suffix
    cutoff = time.time() - PRUNE_AFTER
    with contextlib.suppress(OSError):
        for other in path.parent.glob(f"{prefix}-*{suffix}"):
            if other != path and other.stat().st_mtime < cutoff:
                other.unlink(missing_ok=True)


def _pattern_path(command: str) -> Path | None:
    return _cache_path("re", command, _engine_key(), ".json")


def _code_path(command: str) -> Path | None:
    return _cache_path("code", command, _code_key(), ".bin")


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
        self._compile = re._compile  # type: ignore[attr-defined]
        self._recorder = _Recorder(_ENGINE)
        _compiler._sre = self._recorder
        re._compile = self._lookup  # type: ignore[attr-defined]

    def uninstall(self) -> None:
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
        if len(self._built) >= MAX_ENTRIES:  # a run that makes patterns from its input
            return compile_(pattern, flags)
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
        write_cache(self.path, doc, stale=self.path.name)
        _prune(self.path)


def load_patterns(command: str) -> PatternCache | None:
    """The pattern cache of ``command`` (its file read, nothing built yet), or None when
    caching is off."""
    path = _pattern_path(command)
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


_CODE_MAGIC = b"tlsdiag-code-1\n"


def _check_word(payload: bytes) -> bytes:
    """Length and CRC-32 of a code file's contents (12 bytes): a file cut short or changed
    by accident is not loaded (zlib, not hashlib: loading OpenSSL's hashes costs more than
    the cache saves)."""
    import zlib

    return len(payload).to_bytes(8, "big") + zlib.crc32(payload).to_bytes(4, "big")


class CodeCache:
    """The ``exec`` of the ``dataclasses`` module, with the code of earlier runs."""

    def __init__(self, path: Path, kept: dict[str, CodeType]) -> None:
        self.path = path
        self.kept = kept  # generated source -> its code
        self.new: dict[str, CodeType] = {}
        self._module: ModuleType | None = None

    def install(self) -> None:
        """Shadow the built-in ``exec`` inside ``dataclasses`` (until :meth:`uninstall`)."""
        import dataclasses

        self._module = dataclasses
        dataclasses.exec = self._exec  # type: ignore[attr-defined]

    def uninstall(self) -> None:
        module, self._module = self._module, None
        if module is not None and module.__dict__.get("exec") == self._exec:
            del module.exec

    def _exec(self, source: Any, *args: Any, **kwargs: Any) -> None:
        if type(source) is str:
            code = self.kept.get(source) or self.new.get(source)
            if code is None:
                # as exec compiles a string in dataclasses.py (no __future__ imports there)
                code = compile(source, "<string>", "exec", dont_inherit=True)
                if len(self.kept) + len(self.new) < MAX_ENTRIES:
                    self.new[source] = code
            source = code
        exec(source, *args, **kwargs)

    def save(self) -> None:
        """Write the kept and the new code when this run compiled any new source."""
        if not self.new:
            return
        import marshal

        from tlsdiag.kb._cache import write_bytes_cache

        payload = marshal.dumps({"key": _code_key(), "code": {**self.kept, **self.new}})
        data = _CODE_MAGIC + _check_word(payload) + payload
        write_bytes_cache(self.path, data, stale=(self.path.name,))
        _prune(self.path)


def _own_file_bytes(path: Path) -> bytes:
    """The contents of ``path`` if it is this user's own file that no one else may write, and
    not a symbolic link (on POSIX: code from a file that another user could have written or
    pointed elsewhere would run as this user, as ssh refuses such configuration files);
    raises OSError otherwise."""
    import os

    if os.name != "posix":
        return path.read_bytes()
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    with os.fdopen(fd, "rb") as fh:
        st = os.fstat(fh.fileno())
        if st.st_uid != os.geteuid() or st.st_mode & 0o022:
            raise PermissionError(f"{path}: not this user's own file")
        return fh.read()


def load_code(command: str) -> CodeCache | None:
    """The code cache of ``command`` (its file read), or None when caching is off."""
    path = _code_path(command)
    if path is None:
        return None
    kept: dict[str, CodeType] = {}
    with contextlib.suppress(Exception):  # missing, cut, damaged or foreign: no code kept
        data = _own_file_bytes(path)
        start = len(_CODE_MAGIC) + 12
        check, payload = data[len(_CODE_MAGIC) : start], data[start:]
        if data.startswith(_CODE_MAGIC) and _check_word(payload) == check:
            import marshal

            doc = marshal.loads(payload)
            code = doc.get("code") if isinstance(doc, dict) else None
            if doc.get("key") == _code_key() and isinstance(code, dict):
                kept = {k: v for k, v in code.items() if type(k) is str and type(v) is CodeType}
    return CodeCache(path, kept)


class _Cache(Protocol):
    def install(self) -> None: ...
    def uninstall(self) -> None: ...
    def save(self) -> None: ...


_active: list[_Cache] = []


def start(command: str) -> None:
    """Use the caches of ``command`` for the rest of this process and save them at exit
    (CPython only: the regex engine's and the code's formats are CPython's)."""
    if _active or sys.implementation.name != "cpython":
        return
    for load in (load_patterns, load_code):
        try:
            cache = load(command)
            if cache is None:
                continue  # caching is off
            cache.install()
        except Exception:  # an optimisation: never fail a run for it
            continue
        _active.append(cache)
    if _active:
        atexit.register(stop)


def stop() -> None:
    """Save the active caches (those that learnt something) and give ``re`` and
    ``dataclasses`` their own compiling back; nothing when no cache is active."""
    while _active:
        cache = _active.pop()
        cache.uninstall()
        with contextlib.suppress(Exception):
            cache.save()
