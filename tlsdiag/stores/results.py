"""Read per-machine result files for ``tlsdiag fleet report`` (edge: files, folders, zips, stdin).

Streams: one file (or zip member, or stdin line) is in memory at a time, and each JSON value is
handed on as soon as it is parsed. Unreadable, truncated or non-JSON input is yielded as a
:class:`Problem` (the report lists it), never raised: one bad file must not hide a fleet.
"""

from __future__ import annotations

import json
import os
import zipfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

# Files read when walking a folder or a zip; other files there are counted as skipped.
SUFFIXES = (".json", ".jsonl", ".ndjson")


@dataclass(frozen=True, slots=True)
class Document:
    """One parsed JSON value (normally one report) and where it came from."""

    source: str
    value: Any


@dataclass(frozen=True, slots=True)
class Problem:
    """An input that could not be read as JSON: ``unreadable``, ``truncated``, ``not-json``,
    ``skipped`` (a file of another kind in a folder or zip)."""

    source: str
    kind: str
    message: str


Item = Document | Problem


def _kind(text: str, exc: json.JSONDecodeError) -> str:
    """``truncated`` when JSON starts well and stops early (a cut-off copy), else ``not-json``."""
    if not text.startswith(("{", "[")):
        return "not-json"
    at_end = exc.pos >= len(text.rstrip()) - 1 or exc.msg.startswith("Unterminated string")
    return "truncated" if at_end else "not-json"


def _values(value: Any, source: str) -> Iterator[Item]:
    if isinstance(value, list):
        for i, item in enumerate(value):
            yield Document(f"{source}[{i}]", item)
    else:
        yield Document(source, value)


def parse_text(text: str, source: str) -> Iterator[Item]:
    """The JSON values of one file: one document (object or array) or JSON lines."""
    stripped = text.strip()
    if not stripped:
        yield Problem(source, "truncated", "empty file")
        return
    try:
        value = json.loads(stripped)
    except json.JSONDecodeError as exc:
        whole = exc
    else:
        yield from _values(value, source)
        return
    first = stripped.split("\n", 1)[0].strip()
    if "\n" in stripped and _is_json(first):
        yield from parse_lines(stripped.splitlines(), source)
        return
    kind = _kind(stripped, whole)
    yield Problem(source, kind, f"{whole.msg} (line {whole.lineno})")


def _is_json(text: str) -> bool:
    try:
        json.loads(text)
    except json.JSONDecodeError:
        return False
    return True


def parse_lines(lines: Iterable[str], source: str) -> Iterator[Item]:
    """JSON lines: each non-empty line is one report (or an array of reports)."""
    for number, line in enumerate(lines, 1):
        line = line.strip()
        if not line:
            continue
        where = f"{source}:{number}"
        try:
            value = json.loads(line)
        except json.JSONDecodeError as exc:
            kind = _kind(line, exc)
            yield Problem(where, kind, exc.msg)
            continue
        yield from _values(value, where)


def _decode(data: bytes, source: str) -> str | Problem:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return Problem(source, "not-json", "not UTF-8 text")


def _read_zip(path: Path, source: str) -> Iterator[Item]:
    try:
        archive = zipfile.ZipFile(path)
    except (OSError, zipfile.BadZipFile) as exc:
        yield Problem(source, "unreadable", f"not a readable zip file: {exc}")
        return
    with archive:
        for info in archive.infolist():
            if info.is_dir():
                continue
            member = f"{source}!{info.filename}"
            if not info.filename.lower().endswith(SUFFIXES):
                yield Problem(member, "skipped", "not a .json/.jsonl file")
                continue
            try:
                data = archive.read(info)
            except (OSError, zipfile.BadZipFile, EOFError) as exc:
                yield Problem(member, "unreadable", str(exc))
                continue
            text = _decode(data, member)
            if isinstance(text, Problem):
                yield text
            else:
                yield from parse_text(text, member)


def read_file(path: Path) -> Iterator[Item]:
    """The values of one file (a zip is opened and its JSON members read)."""
    source = str(path)
    if path.suffix.lower() == ".zip" or zipfile.is_zipfile(path):
        yield from _read_zip(path, source)
        return
    try:
        data = path.read_bytes()
    except OSError as exc:
        yield Problem(source, "unreadable", exc.strerror or str(exc))
        return
    text = _decode(data, source)
    if isinstance(text, Problem):
        yield text
    else:
        yield from parse_text(text, source)


def _walk(folder: Path) -> Iterator[Item]:
    for root, dirs, names in os.walk(folder):
        dirs.sort()
        for name in sorted(names):
            path = Path(root, name)
            if name.lower().endswith((*SUFFIXES, ".zip")):
                yield from read_file(path)
            else:
                yield Problem(str(path), "skipped", "not a .json, .jsonl or .zip file")


def read_inputs(paths: Iterable[str], stdin: IO[str] | None = None) -> Iterator[Item]:
    """Every JSON value in the given paths, in order: files, folders (recursively), zips, and
    ``-`` for JSON lines on ``stdin``."""
    for raw in paths:
        if raw == "-":
            if stdin is not None:
                yield from parse_lines(stdin, "<stdin>")
            continue
        path = Path(raw)
        if path.is_dir():
            yield from _walk(path)
        elif path.exists():
            yield from read_file(path)
        else:
            yield Problem(raw, "unreadable", "no such file or folder")
