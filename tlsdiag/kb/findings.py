"""Typed loader for ``data/findings.toml``: the words of every finding code (read once, cached)."""

from __future__ import annotations

from functools import cache
from typing import NamedTuple

from tlsdiag.kb._load import load_toml
from tlsdiag.model import Severity


class FindingInfo(NamedTuple):
    """The words for one finding code."""

    code: str
    severity: Severity
    where: str
    title: str
    meaning: str
    next_step: str


_FINDING_KEYS = {"id", "severity", "where", "title", "meaning", "next_step"}


@cache
def findings() -> dict[str, FindingInfo]:
    """All finding descriptions keyed by code."""
    out: dict[str, FindingInfo] = {}
    for entry in load_toml("findings.toml")["finding"]:
        unknown = set(entry) - _FINDING_KEYS
        if unknown:
            raise ValueError(f"findings.toml: {entry.get('id')}: unknown keys {sorted(unknown)}")
        info = FindingInfo(
            code=entry["id"],
            severity=Severity(entry["severity"]),
            where=entry["where"],
            title=entry["title"],
            meaning=entry["meaning"],
            next_step=entry["next_step"],
        )
        if info.code in out:
            raise ValueError(f"findings.toml: duplicate id {info.code}")
        out[info.code] = info
    return out


def finding_info(code: str) -> FindingInfo:
    """The description of one code (KeyError for an unknown code)."""
    return findings()[code]
