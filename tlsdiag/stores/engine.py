"""The generic trust-store engine: for each entry of ``data/trust_stores.toml`` find its
instances on this machine, resolve its locators in precedence order (env vars, config keys,
files, delegations), read the certificates, and pick the fix that applies here.

The context (``stores.context``), placeholders (``stores.placeholders``), ``when`` predicates
(``stores.predicates``) and locators (``stores.locators``) are separate modules.
"""

from __future__ import annotations

import glob
import hashlib
import os
from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path

from tlsdiag.core.trust.records import FixText, SourceReading, StoreCert, StoreReading
from tlsdiag.kb.trust import FixDef, StoreDef, trust_stores
from tlsdiag.stores import configfiles
from tlsdiag.stores.context import StoreContext
from tlsdiag.stores.locators import _Reader, _resolve_locator
from tlsdiag.stores.placeholders import data_path, expand
from tlsdiag.stores.predicates import _os_release_ids, predicate
from tlsdiag.stores.readers import pem_ders, read_pem


def _instances(store: StoreDef, ctx: StoreContext) -> list[tuple[str, dict[str, str]]]:
    if store.instances == "single":
        return [("", {})]
    var = "JAVA_HOME" if store.instances == "java-home" else "PROFILE_DIR"
    seen: set[str] = set()
    out: list[tuple[str, dict[str, str]]] = []

    def add(label: str, path: Path) -> None:
        real = os.path.realpath(path)
        if real in seen or not path.is_dir():
            return
        seen.add(real)
        out.append((label, {var: str(path)}))

    for disc in store.discover:
        if disc.platforms and ctx.platform not in disc.platforms:
            continue
        if disc.kind == "env":
            value = ctx.env.get(disc.name)
            if value and _has_any(Path(value), disc.requires or _java_requires(store)):
                add(value, Path(value))
        elif disc.kind == "glob":
            for template in disc.patterns:
                pattern = data_path(template, ctx)
                if pattern is None:
                    continue
                for name in sorted(glob.glob(str(pattern))):
                    if _has_any(Path(name), disc.requires):
                        add(name, Path(name))
        elif disc.kind == "ini-profiles":
            for template in disc.files:
                ini = data_path(template, ctx)
                if ini is None or not ini.is_file():
                    continue
                for name, directory in configfiles.firefox_profiles(ini):
                    add(f"{name} ({directory})", directory)
    return out


def _java_requires(store: StoreDef) -> tuple[str, ...]:
    for disc in store.discover:
        if disc.requires:
            return disc.requires
    return ()


def _has_any(base: Path, relatives: Sequence[str]) -> bool:
    return not relatives or any((base / rel).exists() for rel in relatives)


# --------------------------------------------------------------------------------- stores


def _detected(store: StoreDef, ctx: StoreContext, sources: Sequence[SourceReading]) -> bool:
    detect = store.detect
    if detect.empty:
        return any(
            s.kind not in {"delegate", "builtin"} and not (s.missing and not s.replaces_default)
            for s in sources
        )
    if detect.os_release and _os_release_ids(ctx) & set(detect.os_release):
        return True
    if any(ctx.which(cmd) for cmd in detect.commands):
        return True
    for template in detect.paths:
        path = data_path(template, ctx)
        if path is not None and path.exists():
            return True
    return False


def override_name(source: SourceReading) -> str:
    """``$REQUESTS_CA_BUNDLE`` or ``~/.npmrc cafile``: the label without the value."""
    return source.label.split("=", 1)[0]


def _choose_fix(
    fixes: Sequence[FixDef], ctx: StoreContext, variables: Mapping[str, str]
) -> FixText | None:
    for fix in fixes:
        if fix.platforms and ctx.platform not in fix.platforms:
            continue
        if fix.when and not predicate(fix.when, ctx, variables):
            continue
        steps = tuple(expand(step, ctx, variables, keep_late=True) or step for step in fix.steps)
        note = expand(fix.note, ctx, variables, keep_late=True) or fix.note
        return FixText(steps=steps, scope=fix.scope, note=note)
    return None


def _read_anchors(
    store: StoreDef, ctx: StoreContext
) -> tuple[tuple[StoreCert, ...], tuple[str, ...]]:
    if store.anchors is None:
        return (), ()
    certs: dict[str, StoreCert] = {}
    ignored: list[str] = []
    for template in store.anchors.dirs:
        base = data_path(template, ctx)
        if base is None or not base.is_dir():
            continue
        for file in sorted(p for p in base.rglob("*") if p.is_file()):
            if store.anchors.suffix and not file.name.endswith(store.anchors.suffix):
                ignored.append(str(file))
                continue
            for cert in read_pem(file)[0]:
                certs.setdefault(cert.sha256, replace(cert, where=str(file)))
    return tuple(certs.values()), tuple(ignored)


def _file_ders(path: Path) -> list[bytes]:
    try:
        return pem_ders(path.read_bytes())
    except OSError:
        return []


def evaluate_store(
    store: StoreDef,
    ctx: StoreContext,
    *,
    instance: str = "",
    variables: Mapping[str, str] | None = None,
    reader: _Reader | None = None,
) -> StoreReading:
    """Read one store (one instance of it) on this machine."""
    variables = dict(variables or {})
    reader = reader or _Reader()
    base = StoreReading(
        id=store.id,
        name=store.name,
        kind=store.kind,
        default_source=store.default_source,
        present=False,
        instance=instance,
        provides_os=store.provides_os,
        consumers=store.consumers,
        notes=store.notes,
        sources_urls=store.sources,
    )
    if ctx.platform not in store.platforms:
        return base
    sources: list[SourceReading] = []
    chosen: set[str] = set()
    for loc in store.locate:
        if loc.platforms and ctx.platform not in loc.platforms:
            continue
        if store.combine == "first" and loc.group in chosen:
            continue
        if loc.when and not predicate(loc.when, ctx, variables):
            continue
        source = _resolve_locator(loc, ctx, variables, reader)
        if source is None:
            continue
        sources.append(source)
        chosen.add(loc.group)
    present = bool(instance) or _detected(store, ctx, sources)
    store_path = next((s.path for s in sources if s.path and s.kind != "glob"), "")
    if store_path:
        variables["STORE_PATH"] = store_path
    override = next((s for s in sources if s.replaces_default and s.path), None)
    if override is not None:
        variables["OVERRIDE"] = override_name(override)
    anchors, ignored = _read_anchors(store, ctx) if present else ((), ())
    fix = _choose_fix(store.fixes, ctx, variables)
    packaged: set[str] = set()
    for template in store.packaged if present else ():
        base_dir = data_path(template, ctx)
        if base_dir is not None and base_dir.is_dir():
            for file in base_dir.rglob("*"):
                if file.is_file():
                    packaged.update(hashlib.sha256(d).hexdigest() for d in _file_ders(file))
    return replace(
        base,
        present=present,
        sources=tuple(sources),
        fix=fix,
        anchors=anchors,
        anchor_update=store.anchors.update if store.anchors else "",
        anchor_ignored=ignored,
        packaged=frozenset(packaged),
        variables=variables,
    )


def read_stores(
    ctx: StoreContext, catalogue: Sequence[StoreDef] | None = None
) -> list[StoreReading]:
    """Every store of the catalogue, one reading per instance (absent stores included)."""
    reader = _Reader()
    out: list[StoreReading] = []
    for store in catalogue if catalogue is not None else trust_stores():
        if ctx.platform not in store.platforms:
            out.append(evaluate_store(store, ctx, reader=reader))
            continue
        instances = _instances(store, ctx)
        if not instances:
            out.append(evaluate_store(store, ctx, reader=reader))
            continue
        for label, variables in instances:
            out.append(
                evaluate_store(store, ctx, instance=label, variables=variables, reader=reader)
            )
    return out
