"""Typed loaders for ``data/vendors.toml`` and ``data/public_issuers.toml`` (read once, cached).

The vendor database says how each TLS-inspection product or local MITM program names the CA
that re-signs certificates; ``tlsdiag.core.issuer.vendor_match`` matches certificate names
against it.
"""

from __future__ import annotations

import re
from functools import cache
from typing import Any, NamedTuple

from tlsdiag.facts.ids import Platform
from tlsdiag.kb._load import load_validated
from tlsdiag.kb._needles import derive_needles

KINDS = frozenset({"sase", "firewall", "proxy", "antivirus", "debugging-proxy", "tlsdiag"})
PLATFORMS = frozenset(Platform)
EVIDENCE = frozenset({"documented", "observed", "chromium", "heuristic"})

_VENDOR_KEYS = {
    "id",
    "name",
    "kind",
    "issuer",
    "root",
    "example_issuer",
    "example_root",
    "default_bypass_platforms",
    "default_bypass_apps",
    "root_names",
    "deployment",
    "evidence",
    "sources",
    "note",
}
_VENDOR_REQUIRED = _VENDOR_KEYS - {"example_root"}
_RULE_KEYS = {"cn", "o", "ou"}
_ISSUER_KEYS = {"id", "org", "note"}


@cache
def _regex(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern, re.IGNORECASE)


class NamePattern(NamedTuple):
    """An anchored, case-insensitive pattern of the data files, compiled on first real use.

    Compiling the ~140 patterns costs more than a whole check's analysis; the literal needles
    (lower case) a value must contain for the pattern to match let most values be rejected
    without compiling anything.
    """

    pattern: str
    needles: tuple[str, ...] = ()

    def fullmatch(self, value: str) -> re.Match[str] | None:
        """``re.fullmatch`` of the whole value, ignoring case."""
        if self.needles:
            low = value.lower()
            if not any(n in low for n in self.needles):
                return None
        return _regex(self.pattern).fullmatch(value)


class NameRule(NamedTuple):
    """Anchored, case-insensitive patterns on one certificate name; every set field must match."""

    cn: NamePattern | None = None
    o: NamePattern | None = None
    ou: NamePattern | None = None

    def describe(self) -> str:
        """The rule as written in the data file, e.g. ``CN ~ 'Zscaler Root CA', O ~ 'Zscaler'``."""
        parts = [
            f"{label} ~ '{pattern.pattern}'"
            for label, pattern in (("CN", self.cn), ("O", self.o), ("OU", self.ou))
            if pattern is not None
        ]
        return ", ".join(parts)


class Vendor(NamedTuple):
    """One TLS-inspection product or local MITM program."""

    id: str
    name: str
    kind: str
    issuer: tuple[NameRule, ...]
    root: tuple[NameRule, ...]
    example_issuer: str
    example_root: str
    default_bypass_platforms: frozenset[str]
    default_bypass_apps: frozenset[str]
    root_names: tuple[str, ...]
    deployment: str
    evidence: str
    sources: tuple[str, ...]
    note: str


class PublicIssuer(NamedTuple):
    """An organisation that runs a public issuing CA."""

    id: str
    org: NamePattern
    note: str = ""


# Key of the cached document (kb._load) under which the needles derived from its patterns are
# kept, so a run that reads an accepted file from the cache does not derive them again.
_NEEDLES_KEY = "derived_needles"


def _needle_memo(doc: dict[str, Any], checked: bool) -> dict[str, Any]:
    """Pattern -> needles of ``doc``: the ones kept with an accepted document, else a new map
    that building fills (``load_validated`` then caches it with the document)."""
    memo = doc.get(_NEEDLES_KEY) if checked else None
    if not isinstance(memo, dict):
        memo = {}
        doc[_NEEDLES_KEY] = memo
    return memo


def _compile(
    pattern: Any, where: str, *, checked: bool = False, memo: dict[str, Any] | None = None
) -> NamePattern:
    """A :class:`NamePattern`; the regex is compiled now (to reject a bad one) unless
    ``checked`` says this data file was accepted before; its needles come from ``memo`` when
    there (else they are derived and put there)."""
    if not isinstance(pattern, str) or not pattern:
        raise ValueError(f"{where}: pattern must be a non-empty string")
    if not checked:
        try:
            _regex(pattern)
        except re.error as exc:
            raise ValueError(f"{where}: bad regex {pattern!r}: {exc}") from exc
    known = memo.get(pattern) if memo is not None else None
    if isinstance(known, list) and all(isinstance(n, str) for n in known):
        needles = tuple(known)
    else:
        needles = derive_needles(pattern)
        if memo is not None:
            memo[pattern] = list(needles)
    return NamePattern(pattern, needles)


def _rule(
    entry: Any, where: str, checked: bool = False, memo: dict[str, Any] | None = None
) -> NameRule:
    if not isinstance(entry, dict):
        raise ValueError(f"{where}: a rule must be a table like {{ cn = '...' }}")
    unknown = set(entry) - _RULE_KEYS
    if unknown:
        raise ValueError(f"{where}: unknown rule keys {sorted(unknown)}")
    if not entry:
        raise ValueError(f"{where}: empty rule")
    compiled = {
        key: _compile(value, f"{where}.{key}", checked=checked, memo=memo)
        for key, value in entry.items()
    }
    return NameRule(cn=compiled.get("cn"), o=compiled.get("o"), ou=compiled.get("ou"))


def _strings(value: Any, where: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ValueError(f"{where}: expected a list of strings")
    return tuple(value)


def parse_vendor(
    entry: dict[str, Any], *, checked: bool = False, memo: dict[str, Any] | None = None
) -> Vendor:
    """Validate one ``[[vendor]]`` table and build a :class:`Vendor`.

    ``checked``: the entry comes from a data file accepted before (its regexes compile), so
    they are compiled only when first needed. ``memo``: the needles known per pattern.

    Raises:
        ValueError: unknown or missing keys, bad kinds/platforms, regexes that do not compile.
    """
    vid = entry.get("id", "?")
    where = f"vendors.toml: {vid}"
    unknown = set(entry) - _VENDOR_KEYS
    if unknown:
        raise ValueError(f"{where}: unknown keys {sorted(unknown)}")
    missing = _VENDOR_REQUIRED - set(entry)
    if missing:
        raise ValueError(f"{where}: missing keys {sorted(missing)}")
    if entry["kind"] not in KINDS:
        raise ValueError(f"{where}: kind {entry['kind']!r} not in {sorted(KINDS)}")
    if entry["evidence"] not in EVIDENCE:
        raise ValueError(f"{where}: evidence {entry['evidence']!r} not in {sorted(EVIDENCE)}")
    platforms = _strings(entry["default_bypass_platforms"], f"{where}.default_bypass_platforms")
    bad = set(platforms) - PLATFORMS
    if bad:
        raise ValueError(f"{where}: unknown platforms {sorted(bad)}")
    for key in ("name", "example_issuer", "deployment", "note"):
        if not isinstance(entry[key], str):
            raise ValueError(f"{where}.{key}: expected a string")
    issuer_rules = entry["issuer"]
    root_rules = entry["root"]
    if not isinstance(issuer_rules, list) or not isinstance(root_rules, list):
        raise ValueError(f"{where}: issuer and root must be arrays of rules")
    issuer = tuple(
        _rule(r, f"{where}.issuer[{i}]", checked, memo) for i, r in enumerate(issuer_rules)
    )
    root = tuple(_rule(r, f"{where}.root[{i}]", checked, memo) for i, r in enumerate(root_rules))
    if not issuer and not root:
        raise ValueError(f"{where}: needs at least one issuer or root rule")
    apps = _strings(entry["default_bypass_apps"], f"{where}.default_bypass_apps")
    return Vendor(
        id=str(vid),
        name=entry["name"],
        kind=entry["kind"],
        issuer=issuer,
        root=root,
        example_issuer=entry["example_issuer"],
        example_root=str(entry.get("example_root", "")),
        default_bypass_platforms=frozenset(platforms),
        default_bypass_apps=frozenset(a.lower() for a in apps),
        root_names=_strings(entry["root_names"], f"{where}.root_names"),
        deployment=entry["deployment"],
        evidence=entry["evidence"],
        sources=_strings(entry["sources"], f"{where}.sources"),
        note=entry["note"],
    )


@cache
def vendors() -> tuple[Vendor, ...]:
    """Every vendor of ``data/vendors.toml``, in file order (first match wins)."""
    return load_validated("vendors.toml", _vendors)


def _vendors(doc: dict[str, Any], checked: bool) -> tuple[Vendor, ...]:
    out: list[Vendor] = []
    seen: set[str] = set()
    memo = _needle_memo(doc, checked)
    for entry in doc["vendor"]:
        vendor = parse_vendor(entry, checked=checked, memo=memo)
        if vendor.id in seen:
            raise ValueError(f"vendors.toml: duplicate id {vendor.id}")
        seen.add(vendor.id)
        out.append(vendor)
    return tuple(out)


def vendor_by_id(vendor_id: str) -> Vendor:
    """One vendor by id (KeyError for an unknown id)."""
    for vendor in vendors():
        if vendor.id == vendor_id:
            return vendor
    raise KeyError(vendor_id)


@cache
def public_issuers() -> tuple[PublicIssuer, ...]:
    """Organisations of widely used public issuing CAs (``data/public_issuers.toml``)."""
    return load_validated("public_issuers.toml", _public_issuers)


def _public_issuers(doc: dict[str, Any], checked: bool) -> tuple[PublicIssuer, ...]:
    out: list[PublicIssuer] = []
    seen: set[str] = set()
    memo = _needle_memo(doc, checked)
    for entry in doc["issuer"]:
        unknown = set(entry) - _ISSUER_KEYS
        if unknown:
            raise ValueError(
                f"public_issuers.toml: {entry.get('id')}: unknown keys {sorted(unknown)}"
            )
        pid = str(entry["id"])
        if pid in seen:
            raise ValueError(f"public_issuers.toml: duplicate id {pid}")
        seen.add(pid)
        out.append(
            PublicIssuer(
                id=pid,
                org=_compile(
                    entry["org"], f"public_issuers.toml: {pid}.org", checked=checked, memo=memo
                ),
                note=str(entry.get("note", "")),
            )
        )
    return tuple(out)
