"""The coverage matrix: one row per store reading, saying whether the store trusts the root,
what overrides it and how to fix it (delegations between stores resolved). Pure: ``now`` is an
argument."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from tlsdiag.core.certs import utc
from tlsdiag.core.trust.fixes import DEFAULT_BUNDLE, fix_variables, render_steps
from tlsdiag.core.trust.records import SourceReading, StoreCert, StoreReading
from tlsdiag.core.trust.roots import PublicRoots, RootInfo
from tlsdiag.facts.trust import FixFacts, StoreRowFacts


@dataclass(frozen=True, slots=True)
class MatrixRow:
    """One line of the coverage matrix."""

    id: str
    name: str
    kind: str
    instance: str
    present: bool
    trusts_root: bool | None
    status: str
    location: str
    overridden_by: tuple[str, ...] = ()
    fix: FixFacts | None = None
    detail: str = ""
    consumers: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()
    provides_os: bool = False
    sources: tuple[str, ...] = ()

    def to_dict(self) -> StoreRowFacts:
        """JSON form (``stores[]`` of ``trust --json``)."""
        return {
            "id": self.id,
            "name": self.name,
            "kind": self.kind,
            "instance": self.instance or None,
            "present": self.present,
            "trusts_root": self.trusts_root,
            "status": self.status,
            "location": self.location or None,
            "overridden_by": list(self.overridden_by),
            "fix": FixFacts(**self.fix) if self.fix else None,
            "detail": self.detail,
            "consumers": list(self.consumers),
            "notes": list(self.notes),
            "sources": list(self.sources),
        }


@dataclass(frozen=True, slots=True)
class _Verdict:
    trusted: bool | None
    status: str
    detail: str = ""


def _cert_verdict(root: RootInfo, certs: Sequence[StoreCert], now: datetime) -> _Verdict:
    """Does this list of certificates hold the root as a usable trust anchor?"""
    exact = [c for c in certs if root.sha256 and c.sha256 == root.sha256]
    same_key = [
        c
        for c in certs
        if root.spki_sha256 and c.spki_sha256 == root.spki_sha256 and c not in exact
    ]
    namesakes = [c for c in certs if c.subject == root.subject and c not in exact + same_key]
    for group, how in ((exact, ""), (same_key, " (same key, another certificate)")):
        usable = [c for c in group if c.trusted]
        if usable:
            fresh = [c for c in usable if not c.not_after or c.not_after > utc(now)]
            if fresh:
                return _Verdict(True, "trusted", f"holds the root{how}")
            return _Verdict(False, "present-expired", f"holds only an expired copy{how}")
        if group:
            return _Verdict(False, "present-untrusted", group[0].why_untrusted)
    if namesakes:
        other = namesakes[0]
        return _Verdict(
            False,
            "rotated",
            f"holds a root with the same name but another key (valid until {other.not_after}): "
            "an older or newer root, not the one that signs",
        )
    return _Verdict(False, "missing", "does not hold the root")


_ORDER = {True: 0, None: 1, False: 2}


class _Resolver:
    """Resolves delegations (``os``, ``certifi``, ``node`` ...) between readings."""

    def __init__(
        self,
        root: RootInfo,
        readings: Sequence[StoreReading],
        public: PublicRoots,
        now: datetime,
    ) -> None:
        self.root = root
        self.readings = readings
        self.public = public
        self.now = now
        self._memo: dict[str, _Verdict] = {}
        self._active: set[str] = set()

    def targets(self, store_id: str) -> list[StoreReading]:
        if store_id == "os":
            return [r for r in self.readings if r.provides_os and r.present]
        return [r for r in self.readings if r.id == store_id and r.present]

    def store(self, reading: StoreReading) -> _Verdict:
        key = f"{reading.id}|{reading.instance}"
        if key in self._memo:
            return self._memo[key]
        if key in self._active:
            return _Verdict(None, "unknown", "delegation loop")
        self._active.add(key)
        verdict = self._store(reading)
        self._active.discard(key)
        self._memo[key] = verdict
        return verdict

    def source(self, source: SourceReading) -> _Verdict:
        if source.disabled:
            return _Verdict(None, "verification-disabled", f"{source.label}: verification is off")
        if source.missing:
            return _Verdict(False, "file-missing", f"{source.label}: the file does not exist")
        if source.error:
            return _Verdict(None, "unreadable", source.error)
        if source.public_only:
            if self.public.holds_root(self.root):
                return _Verdict(True, "trusted", f"{source.label} holds public roots only")
            return _Verdict(False, "missing", f"{source.label}: public roots only")
        if source.kind == "builtin":
            return _Verdict(None, "unknown", source.label)
        if source.delegate_to:
            verdicts = []
            for target in source.delegate_to:
                found = self.targets(target)
                if not found:
                    verdicts.append(_Verdict(None, "unknown", f"{target} not found here"))
                verdicts.extend(self.store(r) for r in found)
            return _combine(verdicts, via=" + ".join(source.delegate_to))
        return _cert_verdict(self.root, source.certs, self.now)

    def _store(self, reading: StoreReading) -> _Verdict:
        counted = [s for s in reading.sources if not s.partial]
        if not counted:
            return _Verdict(None, "unknown", "no store found for this tool")
        verdict = _combine([self.source(s) for s in counted])
        if verdict.trusted is False and reading.anchors:
            waiting = _cert_verdict(self.root, reading.anchors, self.now)
            if waiting.trusted:
                return _Verdict(
                    False,
                    "anchor-not-applied",
                    f"the root is in {_first_where(reading.anchors, self.root)} but not in "
                    f"the bundle: `{reading.anchor_update}` was not run",
                )
        return verdict


def _first_where(certs: Sequence[StoreCert], root: RootInfo) -> str:
    for cert in certs:
        if cert.sha256 == root.sha256 or cert.spki_sha256 == root.spki_sha256:
            return cert.where or "the anchor directory"
    return "the anchor directory"


def _combine(verdicts: Sequence[_Verdict], via: str = "") -> _Verdict:
    """Trusted if any source trusts; unknown if none does and one is unknown; else the most
    telling failure."""
    if not verdicts:
        return _Verdict(None, "unknown", "")
    best = sorted(verdicts, key=lambda v: _ORDER[v.trusted])[0]
    if best.trusted is False:
        telling = [v for v in verdicts if v.status != "missing"]
        best = telling[0] if telling else best
    detail = f"via {via}: {best.detail}" if via and best.detail else best.detail
    return _Verdict(best.trusted, best.status, detail)


def _location(reading: StoreReading, resolver: _Resolver) -> str:
    parts = []
    for source in reading.sources:
        if source.delegate_to:
            names = list(
                dict.fromkeys(r.id for t in source.delegate_to for r in resolver.targets(t))
            )
            if not names or names == list(source.delegate_to):
                parts.append(source.label)
            else:
                parts.append(f"{source.label} -> {', '.join(names)}")
        elif source.kind in {"env", "config", "jvm-option"} or not source.path:
            parts.append(source.label)
        else:
            parts.append(source.path)
    return "; ".join(parts)


def _incomplete_override(reading: StoreReading, public: PublicRoots) -> SourceReading | None:
    """An override that replaces the default store with a file holding no public root."""
    for source in reading.sources:
        if not source.replaces_default or not source.certs or source.delegate_to:
            continue
        if not any(public.holds(c) for c in source.certs):
            return source
    return None


def _points_at_os(reading: StoreReading, os_paths: set[str]) -> str:
    """The env var or config key of this store that points at the OS bundle ("" if none)."""
    if reading.provides_os:
        return ""
    for source in reading.sources:
        if (source.replaces_default or source.extends) and source.path in os_paths:
            return source.label.split("=", 1)[0]
    return ""


def build_matrix(
    root: RootInfo,
    readings: Sequence[StoreReading],
    public: PublicRoots,
    now: datetime,
    *,
    bundle: str = DEFAULT_BUNDLE,
) -> list[MatrixRow]:
    """One row per store reading: does the store trust the root, what overrides it, the fix."""
    resolver = _Resolver(root, readings, public, now)
    variables = fix_variables(root, bundle)
    os_readings = [r for r in readings if r.provides_os and r.present]
    os_paths = {s.path for r in os_readings for s in r.sources if s.path}
    os_steps = next(
        (render_steps(r.fix.steps, {**variables, **r.variables}) for r in os_readings if r.fix),
        ["install the root in the operating system's trust store"],
    )
    rows = []
    for reading in readings:
        if not reading.present:
            rows.append(
                MatrixRow(
                    id=reading.id,
                    name=reading.name,
                    kind=reading.kind,
                    instance=reading.instance,
                    present=False,
                    trusts_root=None,
                    status="absent",
                    location="",
                    consumers=reading.consumers,
                    provides_os=reading.provides_os,
                    sources=reading.sources_urls,
                )
            )
            continue
        verdict = resolver.store(reading)
        status, detail = verdict.status, verdict.detail
        incomplete = _incomplete_override(reading, public) if verdict.trusted else None
        fix: FixFacts | None = None
        if incomplete is not None:
            status = "override-incomplete"
            name = incomplete.label.split("=", 1)[0]
            detail = (
                f"{name} replaces the default store with {incomplete.path}, which holds "
                f"{len(incomplete.certs)} certificate(s) and no public root: sites that are not "
                "inspected (bypassed) will fail"
            )
            public_source = next(iter(sorted(os_paths)), "") or "$(python3 -m certifi)"
            fix = {
                "steps": [f'cat "{public_source}" >> "{incomplete.path}"   # add the public roots'],
                "scope": "user",
                "note": (
                    f"or point {name} at a complete bundle (public roots plus the inspection "
                    "root), or remove it so the tool uses its default store"
                ),
            }
        elif verdict.trusted is False:
            if status == "anchor-not-applied":
                fix = {"steps": [reading.anchor_update], "scope": "system", "note": ""}
            elif pointer := _points_at_os(reading, os_paths):
                fix = {
                    "steps": os_steps,
                    "scope": "system",
                    "note": f"{pointer} points at the OS bundle",
                }
            elif reading.fix is not None:
                local = {
                    **variables,
                    "STORE_PATH": reading.variables.get("STORE_PATH", ""),
                    "OVERRIDE": reading.variables.get("OVERRIDE", ""),
                }
                steps: list[str] = []
                for step in render_steps(reading.fix.steps, local):
                    steps.extend(os_steps if step == "@os-fix" else [step])
                fix = {
                    "steps": steps,
                    "scope": "system" if "@os-fix" in reading.fix.steps else reading.fix.scope,
                    "note": render_steps([reading.fix.note], local)[0],
                }
        notes = list(reading.notes)
        notes.extend(
            f"{path} is ignored by the update tool (wrong file name extension)"
            for path in reading.anchor_ignored
        )
        partial = [s for s in reading.sources if s.partial]
        for source in partial:
            hit = _cert_verdict(root, source.certs, now)
            if hit.trusted:
                notes.append(f"the root is in {source.path} ({source.label} only)")
        rows.append(
            MatrixRow(
                id=reading.id,
                name=reading.name,
                kind=reading.kind,
                instance=reading.instance,
                present=True,
                trusts_root=verdict.trusted,
                status=status,
                location=_location(reading, resolver),
                overridden_by=tuple(
                    s.label.split("=", 1)[0]
                    for s in reading.sources
                    if s.replaces_default or s.extends
                ),
                fix=fix,
                detail=detail,
                consumers=reading.consumers,
                notes=tuple(notes),
                provides_os=reading.provides_os,
                sources=reading.sources_urls,
            )
        )
    return rows
