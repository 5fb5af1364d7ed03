"""The ``${...}`` placeholders of ``data/trust_stores.toml`` (env vars, files, the home and
config directories, certifi, OpenSSL defaults) and the catalogue's paths, expanded for one
``StoreContext``."""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path

from tlsdiag.facts.ids import Platform
from tlsdiag.stores.context import StoreContext

# Placeholders the core fills in (the root and the store path): kept as they are here.
LATE_PLACEHOLDERS = frozenset(
    {"ROOT_PEM", "ROOT_ALIAS", "ROOT_NAME", "STORE_PATH", "BUNDLE_PEM", "OVERRIDE"}
)
_DRIVE = re.compile(r"^[A-Za-z]:[/\\]")


def _split_top(text: str, sep: str) -> tuple[str, str | None]:
    """Split at the first ``sep`` outside ``${...}``."""
    depth = 0
    i = 0
    while i < len(text):
        if text.startswith("${", i):
            depth += 1
            i += 2
            continue
        ch = text[i]
        if ch == "}" and depth:
            depth -= 1
        elif ch == sep and not depth:
            return text[:i], text[i + 1 :]
        i += 1
    return text, None


def expand(
    template: str,
    ctx: StoreContext,
    variables: Mapping[str, str] | None = None,
    *,
    keep_late: bool = False,
) -> str | None:
    """Fill in ``${...}`` placeholders; None when one cannot be resolved (unset env var ...)."""
    variables = variables or {}
    out: list[str] = []
    i = 0
    while i < len(template):
        start = template.find("${", i)
        if start < 0:
            out.append(template[i:])
            break
        out.append(template[i:start])
        depth = 1
        j = start + 2
        while j < len(template) and depth:
            if template.startswith("${", j):
                depth += 1
                j += 2
                continue
            if template[j] == "}":
                depth -= 1
            j += 1
        if depth:
            return None
        value = _resolve(template[start + 2 : j - 1], ctx, variables, keep_late)
        if value is None:
            return None
        out.append(value)
        i = j
    return "".join(out)


def _resolve(
    inner: str, ctx: StoreContext, variables: Mapping[str, str], keep_late: bool
) -> str | None:
    if inner.startswith("env:"):
        name, fallback = _split_top(inner[4:], "|")
        value = ctx.env.get(name)
        if value:
            return value
        return expand(fallback, ctx, variables) if fallback is not None else None
    if inner.startswith("file:"):
        raw, fallback = _split_top(inner[5:], "|")
        path = expand(raw, ctx, variables)
        if path:
            try:
                first = Path(path).read_text(encoding="utf-8").strip().splitlines()
            except OSError:
                first = []
            if first and first[0].strip():
                return first[0].strip()
        return expand(fallback, ctx, variables) if fallback is not None else None
    if inner in variables:
        return variables[inner]
    simple = {
        "HOME": str(ctx.home),
        "XDG_CONFIG_HOME": ctx.env.get("XDG_CONFIG_HOME") or str(ctx.home / ".config"),
        "APPDATA": ctx.env.get("APPDATA", ""),
        "PROGRAMDATA": ctx.env.get("PROGRAMDATA", ""),
        "LOCALAPPDATA": ctx.env.get("LOCALAPPDATA", ""),
        "CERTIFI": ctx.certifi_path,
        "OPENSSL_CAFILE": ctx.openssl_cafile,
        "OPENSSL_CAPATH": ctx.openssl_capath,
    }
    if inner in simple:
        return simple[inner] or None
    if inner in LATE_PLACEHOLDERS and keep_late:
        return "${" + inner + "}"
    return None


def data_path(
    template: str, ctx: StoreContext, variables: Mapping[str, str] | None = None
) -> Path | None:
    """A path of the catalogue, expanded; literal absolute paths are read below ``fs_root``.

    Windows drive paths are only considered on Windows, POSIX absolute paths only elsewhere.
    """
    drive = bool(_DRIVE.match(template))
    posix_abs = template.startswith("/")
    if drive and ctx.platform != Platform.WINDOWS:
        return None
    if posix_abs and ctx.platform == Platform.WINDOWS and ctx.fs_root == Path("/"):
        return None
    value = expand(template, ctx, variables)
    if not value:
        return None
    if (drive or posix_abs) and ctx.fs_root != Path("/"):
        rel = value[3:] if drive else value.lstrip("/")
        prefix = value[0] if drive else ""
        return ctx.fs_root / prefix / rel if prefix else ctx.fs_root / rel
    return Path(value)


def _user_path(value: str, ctx: StoreContext, base: Path | None = None) -> Path:
    """A path a user wrote in an env var or config file (``~`` expanded)."""
    if value.startswith("~"):
        return ctx.home / value[1:].lstrip("/\\")
    path = Path(value)
    if not path.is_absolute() and base is not None:
        return base / path
    return path
