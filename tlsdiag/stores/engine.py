"""The generic trust-store engine: for each entry of ``data/trust_stores.toml`` find its
instances on this machine, resolve its locators in precedence order (env vars, config keys,
files, delegations), read the certificates, and pick the fix that applies here.

Nothing here reads ``os.environ``, the home directory or the clock by itself: everything comes
from a ``StoreContext`` (the CLI builds it from the real machine; tests build fake homes and a
fake filesystem root in temporary directories).
"""

from __future__ import annotations

import glob
import hashlib
import os
import re
import shutil
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from tlsdiag.kb_trust import FixDef, Locator, StoreDef, trust_stores
from tlsdiag.model import platform_name
from tlsdiag.stores import configfiles
from tlsdiag.stores.platform_stores import (
    CommandResult,
    RegistryHas,
    Runner,
    WindowsEnum,
    macos_trust_settings,
    read_keychain,
    read_windows_store,
)
from tlsdiag.stores.readers import Reading, pem_ders, read_path, read_pem
from tlsdiag.trust_types import FixText, SourceReading, StoreCert, StoreReading

# Placeholders the core fills in (the root and the store path): kept as they are here.
LATE_PLACEHOLDERS = frozenset(
    {"ROOT_PEM", "ROOT_ALIAS", "ROOT_NAME", "STORE_PATH", "BUNDLE_PEM", "OVERRIDE"}
)
_DRIVE = re.compile(r"^[A-Za-z]:[/\\]")


def subprocess_runner(env: Mapping[str, str], timeout: float = 10.0) -> Runner:
    """A runner that executes argv with ``env`` (None when the program is not on its PATH)."""

    def run(argv: Sequence[str]) -> CommandResult | None:
        exe = shutil.which(argv[0], path=env.get("PATH", ""))
        if exe is None:
            return None
        try:
            proc = subprocess.run(
                [exe, *argv[1:]],
                env=dict(env),
                capture_output=True,
                timeout=timeout,
                check=False,
                stdin=subprocess.DEVNULL,
            )
        except (OSError, subprocess.SubprocessError) as exc:
            return CommandResult(127, b"", str(exc).encode())
        return CommandResult(proc.returncode, proc.stdout, proc.stderr)

    return run


@dataclass(frozen=True)
class StoreContext:
    """Where and how to look: environment, home directory, platform, filesystem root.

    Attributes:
        env: the environment the audited tools would see (the CLI passes ``os.environ``).
        home: the user's home directory.
        platform: ``linux``, ``macos`` or ``windows``.
        fs_root: absolute paths of the catalogue are read below this directory (``/``).
        certifi_path: ``certifi.where()`` of the interpreter to report on ("" = none).
        openssl_cafile / openssl_capath: OpenSSL's compiled-in defaults.
        run: command runner (``security``, ``pip --version``); default: real subprocesses.
        windows_enum: ``ssl.enum_certificates`` or a replay of it.
        registry_has: does a registry key exist (``HKLM\\...\\<SHA1>``).
    """

    env: Mapping[str, str]
    home: Path
    platform: str
    fs_root: Path = Path("/")
    certifi_path: str = ""
    openssl_cafile: str = ""
    openssl_capath: str = ""
    run: Runner | None = None
    windows_enum: WindowsEnum | None = None
    registry_has: RegistryHas | None = None
    _cache: dict[Any, Any] = field(default_factory=dict, compare=False, repr=False)

    @property
    def runner(self) -> Runner:
        """The command runner (real subprocesses unless one was given)."""
        if self.run is None:
            if "runner" not in self._cache:
                self._cache["runner"] = subprocess_runner(self.env)
            runner: Runner = self._cache["runner"]
            return runner
        return self.run

    def which(self, command: str) -> str | None:
        """``command`` on the context's PATH."""
        return shutil.which(command, path=self.env.get("PATH", ""))


# -------------------------------------------------------------------------- placeholders


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
    if drive and ctx.platform != "windows":
        return None
    if posix_abs and ctx.platform == "windows" and ctx.fs_root == Path("/"):
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


# ------------------------------------------------------------------------------ predicates


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


# ------------------------------------------------------------------------------- locators


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


# ----------------------------------------------------------------------------- instances


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


def machine_context(
    env: Mapping[str, str],
    home: Path,
    *,
    platform: str | None = None,
    certifi_path: str | None = None,
) -> StoreContext:
    """The context of the real machine (the CLI passes ``os.environ`` and ``Path.home()``)."""
    import ssl

    plat = platform or platform_name(other="linux")
    if certifi_path is None:
        try:
            import certifi

            certifi_path = certifi.where()
        except ImportError:
            certifi_path = ""
    paths = ssl.get_default_verify_paths()
    windows_enum: WindowsEnum | None = None
    registry_has: RegistryHas | None = None
    if plat == "windows" and hasattr(ssl, "enum_certificates"):
        windows_enum = ssl.enum_certificates
        registry_has = _winreg_has()
    return StoreContext(
        env=dict(env),
        home=home,
        platform=plat,
        certifi_path=certifi_path,
        openssl_cafile=paths.openssl_cafile or "",
        openssl_capath=paths.openssl_capath or "",
        windows_enum=windows_enum,
        registry_has=registry_has,
    )


def _winreg_has() -> RegistryHas | None:  # pragma: no cover - Windows only
    try:
        import importlib

        winreg: Any = importlib.import_module("winreg")
    except ImportError:
        return None
    hives = {"HKLM": winreg.HKEY_LOCAL_MACHINE, "HKCU": winreg.HKEY_CURRENT_USER}

    def has(key: str) -> bool:
        hive, _, sub = key.partition("\\")
        try:
            winreg.CloseKey(winreg.OpenKey(hives[hive], sub))
        except (OSError, KeyError):
            return False
        return True

    return has


__all__ = [
    "CommandResult",
    "Runner",
    "StoreContext",
    "data_path",
    "evaluate_store",
    "expand",
    "machine_context",
    "predicate",
    "read_stores",
    "subprocess_runner",
]
