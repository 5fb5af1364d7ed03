"""The ``when`` tables of ``data/trust_stores.toml``: platform, env vars, tool versions, config
keys, Firefox prefs, overrides, evaluated for one ``StoreContext``."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from tlsdiag.stores import configfiles
from tlsdiag.stores.context import StoreContext
from tlsdiag.stores.placeholders import data_path, expand


def _os_release_ids(ctx: StoreContext) -> set[str]:
    if "os_release" not in ctx._cache:
        ids: set[str] = set()
        for name in ("etc/os-release", "usr/lib/os-release"):
            try:
                text = (ctx.fs_root / name).read_text(encoding="utf-8", errors="replace")
            except OSError:
                continue
            for line in text.splitlines():
                key, _, value = line.partition("=")
                if key in {"ID", "ID_LIKE"}:
                    ids.update(value.strip().strip("\"'").lower().split())
            break
        ctx._cache["os_release"] = ids
    cached: set[str] = ctx._cache["os_release"]
    return cached


def _version_tuple(text: str) -> tuple[int, ...]:
    return tuple(int(p) for p in re.findall(r"\d+", text)[:4])


def _command_version(ctx: StoreContext, argv: Sequence[str], regex: str) -> str | None:
    key = ("version", tuple(argv))
    if key not in ctx._cache:
        result = ctx.runner(argv)
        text = b"" if result is None else result.stdout + result.stderr
        match = re.search(regex, text.decode("utf-8", "replace"))
        ctx._cache[key] = match.group(1) if match else None
    value: str | None = ctx._cache[key]
    return value


def _config_lookup(
    ctx: StoreContext,
    syntax: str,
    files: Sequence[str],
    key: str,
    sections: Sequence[str] = (),
    variables: Mapping[str, str] | None = None,
) -> tuple[Any, Path] | None:
    """The value of a config key in the first file that sets it, and that file."""
    expanded_sections = [s for s in (expand(x, ctx, variables) for x in sections) if s]
    for template in files:
        path = data_path(template, ctx, variables)
        if path is None or not path.is_file():
            continue
        value: Any
        match syntax:
            case "ini":
                value = configfiles.ini_value(path, expanded_sections, key)
            case "kv":
                value = configfiles.kv_value(path, key)
            case "curlrc":
                value = configfiles.curlrc_value(path, key)
            case "gitconfig":
                value = configfiles.gitconfig_value(path, key)
            case "json":
                value = configfiles.json_value(path, key)
            case _:
                raise ValueError(f"unknown config syntax {syntax!r}")
        if value not in (None, "", []):
            return value, path
    return None


def predicate(when: Mapping[str, Any], ctx: StoreContext, variables: Mapping[str, str]) -> bool:
    """Evaluate a ``when`` table of the catalogue (all of its keys must hold)."""
    return all(_predicate_one(key, arg, ctx, variables) for key, arg in when.items())


def _predicate_one(key: str, arg: Any, ctx: StoreContext, variables: Mapping[str, str]) -> bool:
    match key:
        case "any":
            return any(predicate(p, ctx, variables) for p in arg)
        case "all":
            return all(predicate(p, ctx, variables) for p in arg)
        case "not":
            return not predicate(arg, ctx, variables)
        case "platform":
            return ctx.platform in arg
        case "env_set":
            return bool(ctx.env.get(arg))
        case "env_equals":
            return all(ctx.env.get(k, "") == v for k, v in arg.items())
        case "env_contains":
            return all(v in ctx.env.get(k, "") for k, v in arg.items())
        case "version_gte":
            version = _command_version(ctx, arg["argv"], arg["regex"])
            return version is not None and _version_tuple(version) >= _version_tuple(arg["gte"])
        case "config":
            found = _config_lookup(
                ctx, arg["syntax"], arg["files"], arg["key"], arg.get("sections", ()), variables
            )
            if found is None:
                return False
            return "equals" not in arg or str(found[0]).lower() == str(arg["equals"]).lower()
        case "json":
            found = _config_lookup(ctx, "json", arg["files"], arg["keypath"], (), variables)
            return found is not None and found[0] == arg["equals"]
        case "pref" | "pref_absent":
            profile = variables.get("PROFILE_DIR")
            if not profile:
                return False
            name = arg["key"] if key == "pref" else arg
            value = configfiles.firefox_pref(Path(profile), name)
            return value is None if key == "pref_absent" else value == arg["equals"]
        case "override":
            return bool(variables.get("OVERRIDE")) == bool(arg)
        case "path_under":
            store_path = variables.get("STORE_PATH")
            if not store_path:
                return False
            real = os.path.realpath(store_path)
            for template in arg:
                base = data_path(template, ctx, variables)
                if base is not None and real.startswith(os.path.realpath(base) + os.sep):
                    return True
            return False
    raise ValueError(f"trust_stores.toml: unknown predicate {key!r}")
