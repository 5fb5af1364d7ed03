"""Typed loader for ``data/findings.toml``: the words of every finding code (read once, cached)."""

from __future__ import annotations

from collections.abc import Mapping
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


# findings whose usual place is the inspection path, on a connection that is not inspected
_DIRECT_WHERE = {"app.mutual_tls": "client", "app.certificate_pinning": "client"}
# where a finding may place itself (evidence "where"), when its code alone cannot say
_OWN_WHERE = frozenset({"server", "client", "inspection", "network", "path"})


def where_of(code: str, evidence: Mapping[str, str], inspected: bool) -> str:
    """Where a finding puts the problem, for one report: options the user forced are the
    user's; a finding that names its place (evidence ``where``) is there; an inspection-side
    code on a direct connection is not the inspection path's.

    Args:
        code: the finding's code.
        evidence: its evidence.
        inspected: whether the report's connection is inspected.

    Returns:
        ``forced``, ``server``, ``client``, ``inspection``, ``network`` or ``path``.
    """
    if "forced_by_user" in evidence:
        return "forced"
    own = evidence.get("where", "")
    if own in _OWN_WHERE:
        return own
    where = finding_info(code).where
    if where == "inspection" and not inspected:
        return _DIRECT_WHERE.get(code, "server")
    return where
