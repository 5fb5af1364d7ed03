"""Small, forgiving readers for the configuration files that point tools at CA bundles:
INI (pip, AWS, gcloud), ``key=value`` files (npmrc, yarnrc, condarc), curlrc, gitconfig, JSON
(Firefox policies) and Firefox ``prefs.js``. Each returns the value of one key or None."""

from __future__ import annotations

import configparser
import json
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any


def _text(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None


def _unquote(value: str) -> str:
    value = value.strip()
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
        return value[1:-1]
    return value


def ini_value(path: Path, sections: Sequence[str], key: str) -> str | None:
    """The value of ``key`` in the first of ``sections`` that has it."""
    text = _text(path)
    if text is None:
        return None
    parser = configparser.ConfigParser(interpolation=None, strict=False)
    try:
        parser.read_string(text)
    except configparser.Error:
        return None
    for section in sections:
        if parser.has_option(section, key):
            return _unquote(parser.get(section, key))
    return None


def kv_value(path: Path, key: str) -> str | None:
    """``key=value``, ``key: value`` or ``key "value"`` at the top level (last one wins)."""
    text = _text(path)
    if text is None:
        return None
    pattern = re.compile(rf"^{re.escape(key)}\s*(?:[=:]\s*|\s+)(.*?)\s*$")
    found = None
    for line in text.splitlines():
        if line.lstrip().startswith(("#", ";")) or line[:1].isspace():
            continue
        match = pattern.match(line)
        if match:
            found = _unquote(match.group(1))
    return found or None


def curlrc_value(path: Path, key: str) -> str | None:
    """A curlrc option: ``cacert = x``, ``cacert x``, ``--cacert x`` (last one wins)."""
    text = _text(path)
    if text is None:
        return None
    pattern = re.compile(rf"^\s*(?:--)?{re.escape(key)}\s*(?:[=:]\s*|\s+)(.*?)\s*$")
    found = None
    for line in text.splitlines():
        if line.lstrip().startswith("#"):
            continue
        match = pattern.match(line)
        if match:
            found = _unquote(match.group(1))
    return found or None


_GIT_SECTION = re.compile(r'^\s*\[\s*([A-Za-z0-9.-]+)(?:\s+"((?:[^"\\]|\\.)*)")?\s*\]\s*(.*)$')
_GIT_KEY = re.compile(r"^\s*([A-Za-z][A-Za-z0-9-]*)\s*(?:=\s*(.*?))?\s*$")


def gitconfig_value(path: Path, dotted_key: str) -> str | None:
    """``section.key`` from a git config file (case-insensitive; last value wins; URL-specific
    subsections such as ``[http "https://host/"]`` are not the global setting and are skipped)."""
    text = _text(path)
    if text is None:
        return None
    want_section, _, want_key = dotted_key.lower().rpartition(".")
    section = ""
    sub: str | None = None
    found = None
    for raw in text.splitlines():
        line = raw.split("#", 1)[0].split(";", 1)[0] if '"' not in raw else raw
        sec = _GIT_SECTION.match(line)
        if sec:
            section, sub = sec.group(1).lower(), sec.group(2)
            line = sec.group(3)
            if not line.strip():
                continue
        match = _GIT_KEY.match(line)
        if match and section == want_section and sub is None and match.group(1).lower() == want_key:
            value = match.group(2)
            found = _unquote(value.split(" #", 1)[0]) if value is not None else "true"
    return found


def json_value(path: Path, keypath: str) -> Any:
    """A dotted key path in a JSON file (None when absent or unreadable)."""
    text = _text(path)
    if text is None:
        return None
    try:
        node: Any = json.loads(text)
    except ValueError:
        return None
    for part in keypath.split("."):
        if not isinstance(node, dict) or part not in node:
            return None
        node = node[part]
    return node


_PREF = re.compile(r'^\s*user_pref\(\s*"([^"]+)"\s*,\s*(.+?)\s*\)\s*;')


def firefox_pref(profile: Path, key: str) -> bool | str | int | None:
    """A preference from ``prefs.js`` / ``user.js`` (``user.js`` wins, as in Firefox)."""
    value: bool | str | int | None = None
    for name in ("prefs.js", "user.js"):
        text = _text(profile / name)
        if text is None:
            continue
        for line in text.splitlines():
            match = _PREF.match(line)
            if not match or match.group(1) != key:
                continue
            raw = match.group(2)
            if raw in {"true", "false"}:
                value = raw == "true"
            elif raw.lstrip("-").isdigit():
                value = int(raw)
            else:
                value = _unquote(raw)
    return value


def firefox_profiles(ini: Path) -> list[tuple[str, Path]]:
    """(name, directory) of each profile listed in ``profiles.ini``."""
    text = _text(ini)
    if text is None:
        return []
    parser = configparser.ConfigParser(interpolation=None, strict=False)
    try:
        parser.read_string(text)
    except configparser.Error:
        return []
    out = []
    for section in parser.sections():
        if not section.startswith("Profile") or not parser.has_option(section, "Path"):
            continue
        raw = parser.get(section, "Path")
        relative = parser.get(section, "IsRelative", fallback="1") == "1"
        directory = ini.parent / raw if relative else Path(raw)
        out.append((parser.get(section, "Name", fallback=raw), directory))
    return out
