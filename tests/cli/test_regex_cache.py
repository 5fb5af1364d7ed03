"""Compiled regular expressions kept across runs (``tlsdiag/cli/_recache.py``): a pattern built
from the cache is the pattern the compiler makes, a damaged cache is compiled around, and a
real ``tlsdiag check`` reads the cache its first run wrote and gives the same answer."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from re import _compiler  # type: ignore[attr-defined]
from typing import Any

import pytest

from tlsdiag.cli import _recache
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
    path = _recache._cache_path("unit")
    assert path is not None and path.parent == tmp_path
    yield path
    _recache.stop()  # whatever a test left installed, re gets its compile step back


def _run_with(cache: _recache.PatternCache, seed: str) -> list[re.Pattern[Any]]:
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
    first = _recache.load("unit")
    assert first is not None and not first.kept
    compiled = _run_with(first, "seed-one")
    assert len(first.new) == len(PATTERNS)
    first.save()
    assert cache_path.is_file()

    second = _recache.load("unit")
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
    cache = _recache.load("unit")
    assert cache is not None
    cache.install()
    try:
        plain = re.compile("seed-two[a-z]+")
        ignoring = re.compile("seed-two[a-z]+", re.IGNORECASE)
        as_bytes = re.compile(b"seed-two[a-z]+")
    finally:
        cache.uninstall()
    cache.save()
    again = _recache.load("unit")
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
    cache = _recache.load("unit")
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

    damaged = _recache.load("unit")
    assert damaged is not None
    again = _run_with(damaged, "seed-three")
    for (_, _, subjects), a, b in zip(PATTERNS, compiled, again, strict=True):
        assert _behaviour(a, subjects) == _behaviour(b, subjects)
    assert len(damaged.new) == len(PATTERNS)  # each compiled again ...
    damaged.save()
    mended = _recache.load("unit")
    assert mended is not None
    _run_with(mended, "seed-three")
    assert not mended.new  # ... and kept right for the next run


def test_no_cache_means_no_regex_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TLSDIAG_NO_CACHE", "1")
    assert _recache.load("unit") is None
    _recache.start("unit")
    assert _recache._active is None


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
    written = files[0].stat().st_mtime_ns

    second = _check(lab, tmp_path)
    assert second.returncode == 0, second.stderr
    assert _stable(second.stdout) == _stable(first.stdout)
    assert files[0].stat().st_mtime_ns == written  # every pattern came from the file

    uncached = _check(lab, tmp_path / "off", TLSDIAG_NO_CACHE="1")
    assert uncached.returncode == 0, uncached.stderr
    assert _stable(uncached.stdout) == _stable(first.stdout)
    assert not (tmp_path / "off").exists()
