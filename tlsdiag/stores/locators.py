"""Locators: one place a store can come from (env var, config key, path, glob, JVM option,
delegation, built-in list, keychain, Windows store), resolved to a ``SourceReading`` with the
certificates read from it."""

from __future__ import annotations

import glob
import re
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

from tlsdiag.core.trust.records import SourceReading, StoreCert
from tlsdiag.kb.trust import Locator
from tlsdiag.stores.context import StoreContext
from tlsdiag.stores.placeholders import _user_path, data_path, expand
from tlsdiag.stores.platform_stores import macos_trust_settings, read_keychain, read_windows_store
from tlsdiag.stores.predicates import _config_lookup
from tlsdiag.stores.readers import Reading, read_path, read_pem


class _Reader:
    """Reads store files once per run (several stores share the OS bundle)."""

    def __init__(self) -> None:
        self._cache: dict[tuple[str, str], Reading] = {}

    def read(self, reader: str, path: Path) -> Reading:
        key = (reader, str(path))
        if key not in self._cache:
            self._cache[key] = read_path(reader, path)
        return self._cache[key]


def _file_source(
    loc: Locator, label: str, path: Path, reader: _Reader, *, missing_is_failure: bool = True
) -> SourceReading:
    base = SourceReading(
        kind=loc.kind,
        label=label,
        path=str(path),
        group=loc.group,
        replaces_default=loc.replaces_default,
        extends=loc.extends,
        partial=loc.partial,
    )
    if not path.exists():
        return _with(base, missing=missing_is_failure, error="" if missing_is_failure else "absent")
    certs, error = reader.read(loc.reader, path)
    return _with(base, certs=certs, error=error)


def _with(base: SourceReading, **changes: Any) -> SourceReading:
    return replace(base, **changes)


def _value_source(
    loc: Locator, label: str, value: str, ctx: StoreContext, reader: _Reader, base_dir: Path | None
) -> SourceReading:
    """An env or config value: a path, or a keyword mapped by ``values``."""
    mapped = (loc.values or {}).get(value.strip().lower())
    if mapped is not None:
        shown = f"{label}={value}"
        if mapped.startswith("@"):
            return SourceReading(
                kind="delegate",
                label=shown,
                group=loc.group,
                delegate_to=(mapped[1:],),
                replaces_default=loc.replaces_default,
            )
        if mapped == "!disabled":
            return SourceReading(
                kind=loc.kind,
                label=shown,
                group=loc.group,
                disabled=True,
                replaces_default=loc.replaces_default,
            )
    return _file_source(loc, f"{label}={value}", _user_path(value, ctx, base_dir), reader)


def _resolve_locator(
    loc: Locator, ctx: StoreContext, variables: Mapping[str, str], reader: _Reader
) -> SourceReading | None:
    match loc.kind:
        case "env":
            value = ctx.env.get(loc.name)
            if not value:
                return None
            return _value_source(loc, f"${loc.name}", value, ctx, reader, None)
        case "path":
            for template in loc.candidates:
                path = data_path(template, ctx, variables)
                if path is not None and path.exists():
                    return _file_source(loc, loc.label or str(path), path, reader)
            return None
        case "glob":
            certs: dict[str, StoreCert] = {}
            matched: list[str] = []
            for template in loc.patterns:
                pattern = data_path(template, ctx, variables)
                if pattern is None:
                    continue
                for name in sorted(glob.glob(str(pattern))):
                    matched.append(name)
                    for cert in reader.read(loc.reader, Path(name))[0]:
                        certs.setdefault(cert.sha256, cert)
            if not matched:
                return None
            return SourceReading(
                kind="glob",
                label=loc.label or "glob",
                path=", ".join(matched),
                group=loc.group,
                certs=tuple(certs.values()),
                partial=loc.partial,
            )
        case "config":
            found = _config_lookup(ctx, loc.syntax, loc.files, loc.key, loc.sections, variables)
            if found is None:
                return None
            value, file = found
            label = f"{file} {loc.key}"
            if isinstance(value, list):  # Firefox policies: a list of certificate files
                union: dict[str, StoreCert] = {}
                for item in value:
                    for cert in read_pem(_user_path(str(item), ctx, file.parent))[0]:
                        union.setdefault(cert.sha256, cert)
                return SourceReading(
                    kind="config",
                    label=label,
                    path=", ".join(map(str, value)),
                    group=loc.group,
                    certs=tuple(union.values()),
                )
            if isinstance(value, bool):
                value = "true" if value else "false"
            return _value_source(loc, label, str(value), ctx, reader, file.parent)
        case "jvm-option":
            option = re.compile(rf"-D{re.escape(loc.property)}=(\"[^\"]*\"|\S+)")
            for name in loc.env:
                match = option.search(ctx.env.get(name, ""))
                if match:
                    value = match.group(1).strip('"')
                    label = f"${name} -D{loc.property}"
                    return _file_source(loc, f"{label}={value}", _user_path(value, ctx), reader)
            return None
        case "delegate":
            label = loc.label or "uses " + " + ".join(loc.to)
            return SourceReading(kind="delegate", label=label, group=loc.group, delegate_to=loc.to)
        case "builtin":
            return SourceReading(
                kind="builtin",
                label=loc.label or "built-in",
                group=loc.group,
                public_only=loc.public,
            )
        case "keychain":
            if "macos_trust" not in ctx._cache:
                ctx._cache["macos_trust"] = macos_trust_settings(ctx.runner)
            union = {}
            errors = []
            shown = []
            for template in loc.keychains:
                keychain = expand(template, ctx, variables)
                if keychain is None:
                    continue
                shown.append(keychain)
                certs_kc, error = read_keychain(keychain, ctx.runner, ctx._cache["macos_trust"])
                if error:
                    errors.append(error)
                for cert in certs_kc:
                    union.setdefault(cert.sha256, cert)
            return SourceReading(
                kind="keychain",
                label="keychain " + ", ".join(shown),
                path=", ".join(shown),
                certs=tuple(union.values()),
                error="; ".join(errors) if errors and not union else "",
            )
        case "windows-store":
            certs_ws, error = read_windows_store(
                loc.store, loc.registry, ctx.windows_enum, ctx.registry_has
            )
            where = loc.registry[0].split("\\", 1)[0] if loc.registry else ""
            return SourceReading(
                kind="windows-store",
                label=f"{where} {loc.store}".strip(),
                path="; ".join(loc.registry),
                certs=certs_ws,
                error=error,
            )
    raise ValueError(f"unknown locator kind {loc.kind!r}")
