"""Typed loader for ``data/trust_stores.toml``: the catalogue of trust stores ``trust`` audits.

The file is validated strictly (unknown keys, duplicate ids, unknown kinds and readers are
errors) so that a typo in the data fails the test suite instead of silently skipping a store.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any

from tlsdiag.facts.ids import DESKTOP_PLATFORMS
from tlsdiag.kb._load import load_toml

PLATFORMS = DESKTOP_PLATFORMS
STORE_KINDS = frozenset({"os", "runtime", "library", "tool", "browser", "container"})
DEFAULT_SOURCES = frozenset({"os", "certifi", "public", "own"})
LOCATOR_KINDS = frozenset(
    {
        "env",
        "path",
        "glob",
        "config",
        "jvm-option",
        "delegate",
        "builtin",
        "keychain",
        "windows-store",
    }
)
DISCOVER_KINDS = frozenset({"env", "glob", "ini-profiles"})
READERS = frozenset({"pem", "pem-dir", "hashed-dir", "java-keystore", "nss-sqlite"})
SYNTAXES = frozenset({"ini", "kv", "curlrc", "gitconfig", "json"})
INSTANCES = frozenset({"single", "java-home", "firefox-profile"})

_STORE_KEYS = {
    "id", "name", "kind", "platforms", "provides_os", "default_source", "consumers", "detect",
    "default_source_on", "packaged",
    "instances", "combine", "discover", "locate", "fix", "anchors", "notes", "sources",
}  # fmt: skip
_LOCATOR_KEYS = {
    "kind", "name", "candidates", "patterns", "reader", "group", "replaces_default", "extends",
    "values", "label", "syntax", "files", "sections", "key", "env", "property", "to", "when",
    "platforms", "public", "keychains", "store", "registry", "partial", "requires",
}  # fmt: skip
_FIX_KEYS = {"platforms", "when", "scope", "steps", "note"}
_DETECT_KEYS = {"commands", "paths", "os_release"}
_ANCHOR_KEYS = {"dirs", "suffix", "update"}


@dataclass(frozen=True, slots=True)
class Locator:
    """One place a store can come from (``[[store.locate]]`` or ``[[store.discover]]``)."""

    kind: str
    name: str = ""
    candidates: tuple[str, ...] = ()
    patterns: tuple[str, ...] = ()
    reader: str = "pem"
    group: str = "main"
    replaces_default: bool = False
    extends: bool = False
    values: Mapping[str, str] | None = None
    label: str = ""
    syntax: str = ""
    files: tuple[str, ...] = ()
    sections: tuple[str, ...] = ()
    key: str = ""
    env: tuple[str, ...] = ()
    property: str = ""
    to: tuple[str, ...] = ()
    when: Mapping[str, Any] | None = None
    platforms: tuple[str, ...] = ()
    public: bool = False
    keychains: tuple[str, ...] = ()
    store: str = ""
    registry: tuple[str, ...] = ()
    partial: bool = False
    requires: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class FixDef:
    """One way to add the root to a store (printed, never run)."""

    steps: tuple[str, ...]
    scope: str = "user"
    note: str = ""
    platforms: tuple[str, ...] = ()
    when: Mapping[str, Any] | None = None


@dataclass(frozen=True, slots=True)
class Detect:
    """Is the tool installed? Any of: a command on PATH, a path, an os-release ID."""

    commands: tuple[str, ...] = ()
    paths: tuple[str, ...] = ()
    os_release: tuple[str, ...] = ()

    @property
    def empty(self) -> bool:
        """No rule: the store is present when one of its locations exists."""
        return not (self.commands or self.paths or self.os_release)


@dataclass(frozen=True, slots=True)
class Anchors:
    """The input directories an OS store's update tool reads."""

    dirs: tuple[str, ...]
    suffix: str
    update: str


@dataclass(frozen=True, slots=True)
class StoreDef:
    """One entry of the catalogue."""

    id: str
    name: str
    kind: str
    platforms: tuple[str, ...]
    default_source: str
    locate: tuple[Locator, ...]
    fixes: tuple[FixDef, ...]
    provides_os: bool = False
    default_source_on: Mapping[str, str] | None = None  # per-platform default_source
    consumers: tuple[str, ...] = ()
    detect: Detect = Detect()
    instances: str = "single"
    combine: str = "first"
    discover: tuple[Locator, ...] = ()
    anchors: Anchors | None = None
    packaged: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()
    sources: tuple[str, ...] = ()


def default_source_for(store: StoreDef, platform: str | None) -> str:
    """Where the store's tool gets its roots by default on ``platform`` (None: any)."""
    if platform and store.default_source_on and platform in store.default_source_on:
        return store.default_source_on[platform]
    return store.default_source


def _check_keys(where: str, entry: Mapping[str, Any], allowed: set[str]) -> None:
    unknown = set(entry) - allowed
    if unknown:
        raise ValueError(f"trust_stores.toml: {where}: unknown keys {sorted(unknown)}")


def _tuple(value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        return (value,)
    return tuple(str(v) for v in value)


def _locator(where: str, raw: Mapping[str, Any], kinds: frozenset[str]) -> Locator:
    _check_keys(where, raw, _LOCATOR_KEYS)
    kind = raw.get("kind", "")
    if kind not in kinds:
        raise ValueError(f"trust_stores.toml: {where}: unknown locator kind {kind!r}")
    reader = raw.get("reader", "pem")
    if reader not in READERS:
        raise ValueError(f"trust_stores.toml: {where}: unknown reader {reader!r}")
    syntax = raw.get("syntax", "")
    if kind == "config" and syntax not in SYNTAXES:
        raise ValueError(f"trust_stores.toml: {where}: unknown config syntax {syntax!r}")
    platforms = _tuple(raw.get("platforms"))
    if set(platforms) - PLATFORMS:
        raise ValueError(f"trust_stores.toml: {where}: unknown platform in {platforms}")
    return Locator(
        kind=kind,
        name=raw.get("name", ""),
        candidates=_tuple(raw.get("candidates")),
        patterns=_tuple(raw.get("patterns")),
        reader=reader,
        group=raw.get("group", "main"),
        replaces_default=bool(raw.get("replaces_default", False)),
        extends=bool(raw.get("extends", False)),
        values=dict(raw["values"]) if "values" in raw else None,
        label=raw.get("label", ""),
        syntax=syntax,
        files=_tuple(raw.get("files")),
        sections=_tuple(raw.get("sections")),
        key=raw.get("key", ""),
        env=_tuple(raw.get("env")),
        property=raw.get("property", ""),
        to=_tuple(raw.get("to")),
        when=raw.get("when"),
        platforms=platforms,
        public=bool(raw.get("public", False)),
        keychains=_tuple(raw.get("keychains")),
        store=raw.get("store", ""),
        registry=_tuple(raw.get("registry")),
        partial=bool(raw.get("partial", False)),
        requires=_tuple(raw.get("requires")),
    )


def parse_store(raw: Mapping[str, Any]) -> StoreDef:
    """Validate and convert one ``[[store]]`` table.

    Raises:
        ValueError: a key, kind, reader or platform is unknown, or a required key is missing.
    """
    sid = raw.get("id", "?")
    _check_keys(sid, raw, _STORE_KEYS)
    for required in ("id", "name", "kind", "platforms", "default_source", "locate", "fix"):
        if required not in raw:
            raise ValueError(f"trust_stores.toml: {sid}: missing {required!r}")
    if raw["kind"] not in STORE_KINDS:
        raise ValueError(f"trust_stores.toml: {sid}: unknown kind {raw['kind']!r}")
    if raw["default_source"] not in DEFAULT_SOURCES:
        raise ValueError(f"trust_stores.toml: {sid}: unknown default_source")
    platforms = _tuple(raw["platforms"])
    if set(platforms) - PLATFORMS:
        raise ValueError(f"trust_stores.toml: {sid}: unknown platform in {platforms}")
    per_platform = dict(raw.get("default_source_on", {}))
    if set(per_platform) - PLATFORMS or set(per_platform.values()) - DEFAULT_SOURCES:
        raise ValueError(f"trust_stores.toml: {sid}: bad default_source_on {per_platform}")
    instances = raw.get("instances", "single")
    if instances not in INSTANCES:
        raise ValueError(f"trust_stores.toml: {sid}: unknown instances {instances!r}")
    combine = raw.get("combine", "first")
    if combine not in {"first", "union"}:
        raise ValueError(f"trust_stores.toml: {sid}: unknown combine {combine!r}")
    detect_raw = raw.get("detect", {})
    _check_keys(f"{sid}.detect", detect_raw, _DETECT_KEYS)
    anchors = None
    if "anchors" in raw:
        _check_keys(f"{sid}.anchors", raw["anchors"], _ANCHOR_KEYS)
        anchors = Anchors(
            dirs=_tuple(raw["anchors"]["dirs"]),
            suffix=raw["anchors"].get("suffix", ""),
            update=raw["anchors"]["update"],
        )
    fixes = []
    for i, fix in enumerate(raw["fix"]):
        _check_keys(f"{sid}.fix[{i}]", fix, _FIX_KEYS)
        fixes.append(
            FixDef(
                steps=_tuple(fix["steps"]),
                scope=fix.get("scope", "user"),
                note=fix.get("note", ""),
                platforms=_tuple(fix.get("platforms")),
                when=fix.get("when"),
            )
        )
    return StoreDef(
        id=sid,
        name=raw["name"],
        kind=raw["kind"],
        platforms=platforms,
        default_source=raw["default_source"],
        locate=tuple(
            _locator(f"{sid}.locate[{i}]", loc, LOCATOR_KINDS)
            for i, loc in enumerate(raw["locate"])
        ),
        fixes=tuple(fixes),
        provides_os=bool(raw.get("provides_os", False)),
        default_source_on=per_platform or None,
        consumers=_tuple(raw.get("consumers")),
        detect=Detect(
            commands=_tuple(detect_raw.get("commands")),
            paths=_tuple(detect_raw.get("paths")),
            os_release=_tuple(detect_raw.get("os_release")),
        ),
        instances=instances,
        combine=combine,
        discover=tuple(
            _locator(f"{sid}.discover[{i}]", loc, DISCOVER_KINDS)
            for i, loc in enumerate(raw.get("discover", []))
        ),
        anchors=anchors,
        packaged=_tuple(raw.get("packaged")),
        notes=_tuple(raw.get("notes")),
        sources=_tuple(raw.get("sources")),
    )


@cache
def trust_stores() -> tuple[StoreDef, ...]:
    """Every store of ``data/trust_stores.toml``, in file order (validated, cached)."""
    doc = load_toml("trust_stores.toml")
    stores = tuple(parse_store(raw) for raw in doc["store"])
    ids = [s.id for s in stores]
    dupes = {i for i in ids if ids.count(i) > 1}
    if dupes:
        raise ValueError(f"trust_stores.toml: duplicate ids {sorted(dupes)}")
    known = set(ids) | {"os"}
    for store in stores:
        for loc in store.locate:
            unknown = set(loc.to) - known
            if unknown:
                raise ValueError(f"trust_stores.toml: {store.id}: delegates to unknown {unknown}")
            for value in (loc.values or {}).values():
                if value.startswith("@") and value[1:] not in known:
                    raise ValueError(f"trust_stores.toml: {store.id}: unknown store {value}")
    return stores


def store_by_id(store_id: str) -> StoreDef:
    """One catalogue entry (KeyError when unknown)."""
    for store in trust_stores():
        if store.id == store_id:
            return store
    raise KeyError(store_id)
