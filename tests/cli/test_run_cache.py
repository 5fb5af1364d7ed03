"""What a run compiles, kept for the next run (``tlsdiag/cli/_runcache.py``): a regular
expression or a dataclass built from the cache is what the compiler makes, a damaged cache is
compiled around and mended, and a real ``tlsdiag check`` reads what its first run kept and
gives the same answer."""

from __future__ import annotations

import dataclasses
import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from re import _compiler  # type: ignore[attr-defined]
from typing import Any

import pytest

from tlsdiag.cli import _runcache
from tlsdiag.lab.cases import Lab

# (pattern, flags, subjects): str and bytes, named groups, Unicode classes, inline and
# RegexFlag flags, lookarounds, backreferences, possessive-free repeats, an RFC 4514-like class
PATTERNS: list[tuple[str | bytes, int, list[Any]]] = [
    (r"(?P<key>[a-zA-Z][a-zA-Z\d-]*)=(?P<val>[^,+]*)", 0, ["CN=Lab Root,O=Example", "x", "é=1"]),
    (r"\d+(\.\d+)+", 0, ["1.2.840.113549", "١٢.٣", "no"]),
    (r"(?i)ssl certificate problem: (.+?)(?:\r?\n|$)", 0, ["SSL Certificate Problem: expired\n"]),
    (r"^\s*(\w+)\s+\1\b", re.MULTILINE, ["the the cat\n  a a", "ab ab", "x"]),
    (r"(?<=curl: \()\d+(?=\))", 0, ["curl: (60) SSL", "curl: (6)", "(60)"]),
    (r"[\u00c0-\u024f]{2,}|[^\x00-\x7f]", re.IGNORECASE, ["ÀÉ", "ascii", "日本"]),
    (r"a{2,5}?b|c*d", re.DOTALL | re.VERBOSE, ["aaab", "cccd", "d", "ab"]),
    (rb"\x16\x03[\x00-\x04](..)", re.DOTALL, [b"\x16\x03\x01\x02\x00", b"\x15\x03\x03"]),
    (rb"(?P<v>TLSv1\.[0-3])", 0, [b"TLSv1.3", b"TLSv1.4"]),
]


@pytest.fixture()
def cache_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.setenv("TLSDIAG_CACHE_DIR", str(tmp_path))
    path = _runcache._pattern_path("unit")
    assert path is not None and path.parent == tmp_path
    yield path
    _runcache.stop()  # whatever a test left installed, re gets its compile step back


def _run_with(cache: _runcache.PatternCache, seed: str) -> list[re.Pattern[Any]]:
    """Each pattern compiled through ``cache`` (made unique by ``seed``, so no earlier
    compile in this process answers from ``re``'s own cache)."""
    cache.install()
    try:
        return [re.compile(_seeded(p, seed), f) for p, f, _ in PATTERNS]
    finally:
        cache.uninstall()


def _seeded(pattern: str | bytes, seed: str) -> str | bytes:
    # an optional group: it changes the text, and what the tests' subjects match is the same
    if isinstance(pattern, str):
        return f"{pattern}(?:{seed})?"
    return pattern + f"(?:{seed})?".encode()


def _behaviour(p: re.Pattern[Any], subjects: list[Any]) -> list[Any]:
    out: list[Any] = [p.pattern, p.flags, p.groups, dict(p.groupindex)]
    for s in subjects:
        m = p.search(s)
        out.append(None if m is None else (m.span(), m.groups(), m.groupdict()))
        out.append(p.findall(s))
    return out


def test_a_pattern_built_from_the_cache_is_the_pattern_the_compiler_makes(
    cache_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = _runcache.load_patterns("unit")
    assert first is not None and not first.kept
    compiled = _run_with(first, "seed-one")
    assert len(first.new) == len(PATTERNS)
    first.save()
    assert cache_path.is_file()

    second = _runcache.load_patterns("unit")
    assert second is not None and len(second.kept) == len(PATTERNS)

    def no_compiling(*args: Any) -> None:
        raise AssertionError(f"compiled instead of built from the cache: {args[0]!r}")

    monkeypatch.setattr(_compiler, "compile", no_compiling)
    rebuilt = _run_with(second, "seed-one")
    monkeypatch.undo()
    assert not second.new  # every pattern was a hit: nothing to write
    for (_, _, subjects), a, b in zip(PATTERNS, compiled, rebuilt, strict=True):
        assert a is not b
        assert _behaviour(a, subjects) == _behaviour(b, subjects)


def test_patterns_are_kept_per_text_type_and_flags(cache_path: Path) -> None:
    cache = _runcache.load_patterns("unit")
    assert cache is not None
    cache.install()
    try:
        plain = re.compile("seed-two[a-z]+")
        ignoring = re.compile("seed-two[a-z]+", re.IGNORECASE)
        as_bytes = re.compile(b"seed-two[a-z]+")
    finally:
        cache.uninstall()
    cache.save()
    again = _runcache.load_patterns("unit")
    assert again is not None
    again.install()
    try:
        assert re.compile("seed-two[a-z]+", re.IGNORECASE).match("SEED-TWOX")
        assert not re.compile("seed-two[a-z]+").match("SEED-TWOX")
        assert re.compile(b"seed-two[a-z]+").match(b"seed-twox")
    finally:
        again.uninstall()
    assert not again.new
    assert {plain.flags, ignoring.flags, as_bytes.flags} == {
        re.UNICODE,
        re.UNICODE | re.IGNORECASE,
        0,
    }


@pytest.mark.parametrize(
    "damage",
    ["not json", "foreign key", "code replaced", "entry cut short", "wrong text"],
)
def test_a_damaged_cache_is_compiled_around_and_mended(cache_path: Path, damage: str) -> None:
    cache = _runcache.load_patterns("unit")
    assert cache is not None
    compiled = _run_with(cache, "seed-three")
    cache.save()
    doc = json.loads(cache_path.read_text())
    if damage == "not json":
        cache_path.write_text("{ not json")
    else:
        if damage == "foreign key":
            doc["key"] = "Python 2.7|0|0|0"
        for entry in doc["patterns"]:
            if damage == "code replaced":
                entry[4] = [17, 3, 0]  # not valid engine code: _sre.compile refuses it
            elif damage == "entry cut short":
                del entry[5:]
            elif damage == "wrong text":
                entry[1] = entry[1] + "x"
        cache_path.write_text(json.dumps(doc))

    damaged = _runcache.load_patterns("unit")
    assert damaged is not None
    again = _run_with(damaged, "seed-three")
    for (_, _, subjects), a, b in zip(PATTERNS, compiled, again, strict=True):
        assert _behaviour(a, subjects) == _behaviour(b, subjects)
    assert len(damaged.new) == len(PATTERNS)  # each compiled again ...
    damaged.save()
    mended = _runcache.load_patterns("unit")
    assert mended is not None
    _run_with(mended, "seed-three")
    assert not mended.new  # ... and kept right for the next run


def test_no_cache_means_no_regex_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TLSDIAG_NO_CACHE", "1")
    assert _runcache.load_patterns("unit") is None
    _runcache.start("unit")
    assert not _runcache._active


def _check(lab: Lab, cache: Path, **env: str) -> subprocess.CompletedProcess[str]:
    case = lab.cases["good"]
    cmd = [sys.executable, "-m", "tlsdiag", "check", case.target, "--resolve", case.resolve]
    cmd += ["--cafile", str(lab.root_pem_path), "--json"]
    run_env = {**os.environ, "TLSDIAG_CACHE_DIR": str(cache), **env}
    return subprocess.run(cmd, capture_output=True, text=True, timeout=60, env=run_env)


def _stable(stdout: str) -> dict[str, Any]:
    """What a check found (without times, which differ between runs)."""
    doc: dict[str, Any] = json.loads(stdout)
    keys = ("target", "endpoint", "handshake", "chain", "path", "trust", "interception")
    return {k: doc[k] for k in (*keys, "revocation", "findings")}


@pytest.mark.integration
def test_check_reads_the_patterns_its_first_run_kept(lab: Lab, tmp_path: Path) -> None:
    first = _check(lab, tmp_path)
    assert first.returncode == 0, first.stderr
    files = list(tmp_path.glob("re-check-*.json"))
    assert len(files) == 1
    kept = json.loads(files[0].read_text())["patterns"]
    assert len(kept) > 20  # cryptography's name parser and tlsdiag's own patterns
    code = list(tmp_path.glob("code-check-*.bin"))
    assert len(code) == 1 and code[0].stat().st_size > 10_000  # tlsdiag.model's methods ...
    written = [f.stat().st_mtime_ns for f in (*files, *code)]

    second = _check(lab, tmp_path)
    assert second.returncode == 0, second.stderr
    assert _stable(second.stdout) == _stable(first.stdout)
    # every pattern and every method came from the files: nothing new to write
    assert [f.stat().st_mtime_ns for f in (*files, *code)] == written

    uncached = _check(lab, tmp_path / "off", TLSDIAG_NO_CACHE="1")
    assert uncached.returncode == 0, uncached.stderr
    assert _stable(uncached.stdout) == _stable(first.stdout)
    assert not (tmp_path / "off").exists()


# --- dataclasses' generated methods -------------------------------------------------------


def _classes() -> list[type]:
    """Dataclasses with what ``dataclasses`` writes methods for: frozen and slots, order,
    defaults and factories, keyword-only fields, ``__post_init__``, inheritance."""

    @dataclass(frozen=True, slots=True)
    class Point:
        x: int
        y: int = 0
        tags: tuple[str, ...] = ()

    @dataclass(order=True)
    class Version:
        major: int
        minor: int = field(default=0, compare=True)
        note: str = field(default="", compare=False, repr=False)

    @dataclass(kw_only=True)
    class Options:
        names: list[str] = field(default_factory=list)
        timeout: float = 5.0

        def __post_init__(self) -> None:
            self.timeout = max(0.1, self.timeout)

    @dataclass(frozen=True)
    class Labelled:
        label: str

    @dataclass(eq=True, unsafe_hash=True)
    class Child(Version):
        extra: bytes = b""

    return [Point, Version, Options, Labelled, Child]


def _dataclass_behaviour(classes: list[type]) -> list[Any]:
    point, version, options, labelled, child = classes
    p = point(1, 2, ("a",))
    out: list[Any] = [repr(p), p == point(1, 2, ("a",)), hash(p) == hash(point(1, 2, ("a",)))]
    with pytest.raises(dataclasses.FrozenInstanceError):
        p.x = 3
    out.append(not hasattr(p, "__dict__"))
    v = [version(1, 2, "z"), version(1, 10), version(0, 99)]
    out += [
        repr(v[0]),
        [repr(x) for x in sorted(v)],
        v[0] < v[1],
        version(1, 2, "a") == version(1, 2, "b"),
    ]
    o = options(timeout=0)
    out += [repr(o), o.timeout, options().names is not options().names]
    with pytest.raises(TypeError):
        options(["positional"])
    out += [repr(labelled("x")), hash(labelled("x")) == hash(labelled("x"))]
    out += [repr(child(1, 2, "n", b"e")), hash(child(1, 2)) == hash(child(1, 2))]
    for cls in classes:  # what the generated __init__ says of itself
        init = getattr(cls, "__init__")  # noqa: B009  # the generated method itself
        out.append({k: str(v) for k, v in init.__annotations__.items()})
        out.append([f.name for f in dataclasses.fields(cls)])
    return out


@pytest.fixture()
def code_path(cache_path: Path) -> Path:
    path = _runcache._code_path("unit")
    assert path is not None and path.parent == cache_path.parent
    return path


def _made_with(cache: _runcache.CodeCache) -> list[type]:
    cache.install()
    try:
        return _classes()
    finally:
        cache.uninstall()


def test_a_dataclass_built_from_the_cache_is_the_class_dataclasses_makes(
    code_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    expected = _dataclass_behaviour(_classes())
    first = _runcache.load_code("unit")
    assert first is not None and not first.kept
    assert _dataclass_behaviour(_made_with(first)) == expected
    # __init__, __repr__, __eq__, ... of five classes: one exec per method up to Python 3.12,
    # one per class from 3.13
    assert len(first.new) >= 5
    first.save()
    assert code_path.is_file()

    second = _runcache.load_code("unit")
    assert second is not None and set(second.kept) == set(first.new)

    def no_compiling(*args: Any, **kwargs: Any) -> None:
        raise AssertionError(f"compiled instead of taken from the cache: {args[0]!r}")

    monkeypatch.setattr(_runcache, "compile", no_compiling, raising=False)
    classes = _made_with(second)
    monkeypatch.undo()
    assert not second.new
    assert _dataclass_behaviour(classes) == expected
    assert "exec" not in dataclasses.__dict__  # dataclasses has the built-in exec back


@pytest.mark.parametrize("damage", ["cut short", "one byte changed", "foreign", "not marshal"])
def test_a_damaged_code_cache_is_not_loaded_and_is_mended(code_path: Path, damage: str) -> None:
    first = _runcache.load_code("unit")
    assert first is not None
    _made_with(first)
    first.save()
    data = code_path.read_bytes()
    if damage == "cut short":
        data = data[: len(data) // 2]
    elif damage == "one byte changed":
        data = data[:-100] + bytes([data[-100] ^ 0x01]) + data[-99:]
    elif damage == "foreign":
        data = b"tlsdiag-code-0\n" + data[15:]
    else:
        payload = b"\xff not marshal data"  # with a right check word
        data = b"tlsdiag-code-1\n" + _runcache._check_word(payload) + payload
    code_path.write_bytes(data)

    damaged = _runcache.load_code("unit")
    assert damaged is not None and not damaged.kept
    assert _dataclass_behaviour(_made_with(damaged)) == _dataclass_behaviour(_classes())
    damaged.save()
    mended = _runcache.load_code("unit")
    assert mended is not None and set(mended.kept) == set(damaged.new)


def test_code_others_could_have_written_is_not_run(code_path: Path) -> None:
    first = _runcache.load_code("unit")
    assert first is not None
    _made_with(first)
    first.save()
    assert code_path.stat().st_mode & 0o777 == 0o600
    assert _runcache.load_code("unit").kept  # type: ignore[union-attr]
    code_path.chmod(0o620)  # group may write
    assert not _runcache.load_code("unit").kept  # type: ignore[union-attr]
    code_path.chmod(0o602)  # anyone may write
    assert not _runcache.load_code("unit").kept  # type: ignore[union-attr]
    code_path.chmod(0o644)  # others may read, not write: fine
    assert _runcache.load_code("unit").kept  # type: ignore[union-attr]
    code_path.rename(code_path.with_name("elsewhere.bin"))
    code_path.symlink_to(code_path.with_name("elsewhere.bin"))  # the same contents, linked
    assert not _runcache.load_code("unit").kept  # type: ignore[union-attr]
    code_path.unlink()
    code_path.with_name("elsewhere.bin").rename(code_path)
    assert _runcache.load_code("unit").kept  # type: ignore[union-attr]
    if os.geteuid() == 0:  # as root (CI), the file can be given to another user
        os.chown(code_path, 65534, -1)
        assert not _runcache.load_code("unit").kept  # type: ignore[union-attr]


def test_a_run_that_makes_many_patterns_keeps_a_bounded_number(
    cache_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_runcache, "MAX_ENTRIES", 5)
    cache = _runcache.load_patterns("unit")
    assert cache is not None
    cache.install()
    try:
        made = [re.compile(f"seed-four-{i}-[a-z]+") for i in range(12)]
    finally:
        cache.uninstall()
    assert all(p.fullmatch(f"seed-four-{i}-abc") for i, p in enumerate(made))
    assert len(cache.new) == 5 and len(cache._built) == 5


def test_another_python_builds_file_is_kept_until_it_goes_unused(cache_path: Path) -> None:
    other = cache_path.with_name("re-unit-00000000.json")
    old = cache_path.with_name("re-unit-11111111.json")
    other_code = cache_path.with_name("code-unit-00000000.bin")
    for path in (other, old, other_code):
        path.write_text("{}")
    month_ago = other.stat().st_mtime - 31 * 86400
    os.utime(old, (month_ago, month_ago))
    cache = _runcache.load_patterns("unit")
    assert cache is not None
    _run_with(cache, "seed-five")
    cache.save()
    assert cache_path.is_file() and other.is_file() and other_code.is_file()
    assert not old.exists()
