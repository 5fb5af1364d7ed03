"""Fix commands as data: the values of the ``${ROOT_*}`` placeholders and filling them into the
steps of ``data/trust_stores.toml`` (printed by ``tlsdiag trust`` and ``tlsdiag ca trust-help``,
never run). Pure."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence

from tlsdiag.core.trust.records import StoreReading
from tlsdiag.core.trust.roots import RootInfo
from tlsdiag.facts.ca import TrustHelpFix, TrustHelpStoreFacts
from tlsdiag.kb.trust import FixDef, StoreDef

DEFAULT_BUNDLE = "~/.config/tlsdiag/ca-bundle.pem"


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:48]


def fix_variables(root: RootInfo, bundle: str = DEFAULT_BUNDLE) -> dict[str, str]:
    """The values of ``${ROOT_PEM}``, ``${ROOT_ALIAS}``, ``${ROOT_NAME}``, ``${BUNDLE_PEM}``."""
    alias = _slug(root.common_name) or f"inspection-root-{root.sha256[:8]}"
    return {
        "ROOT_PEM": root.pem_path or f"{alias}.pem",
        "ROOT_ALIAS": alias,
        "ROOT_NAME": root.common_name,
        "BUNDLE_PEM": bundle,
    }


def render_steps(steps: Iterable[str], variables: Mapping[str, str]) -> list[str]:
    """Fill the root placeholders of fix steps."""
    out = []
    for step in steps:
        for key, value in variables.items():
            step = step.replace("${" + key + "}", value)
        out.append(step)
    return out


# --- ``ca trust-help``: every store's steps, runnable as printed --------------------------------

OS_FIX = "@os-fix"

USER_VALUES: dict[str, tuple[str, str]] = {
    "JAVA_HOME": (
        "<JAVA_HOME>",
        "<JAVA_HOME> is the JDK's directory (the one with bin/keytool); repeat for every JDK",
    ),
    "PROFILE_DIR": (
        "<FIREFOX_PROFILE_DIR>",
        "<FIREFOX_PROFILE_DIR> is the Firefox profile directory (about:profiles shows it)",
    ),
    "STORE_PATH": ("<BUNDLE_FILE>", "<BUNDLE_FILE> is the CA bundle file the tool is set to use"),
    "OVERRIDE": ("<SETTING>", "<SETTING> is the setting that points the tool at that file"),
}
"""Placeholders nothing on this machine resolves: the value the user must supply, and what it is."""

_LEFT = re.compile(r"\$\{([A-Za-z_]+)\}")


def supply_values(text: str, defaults: Mapping[str, str] | None = None) -> tuple[str, list[str]]:
    """Replace the ``${NAME}`` placeholders left in ``text`` by ``<NAME>`` values to supply.

    Args:
        text: a fix step or note after the known values were filled in.
        defaults: values to use for a placeholder before asking the user (Java's store path).

    Returns:
        The text, and one sentence per value the user must supply.
    """
    wanted: list[str] = []

    def one(m: re.Match[str]) -> str:
        name = m.group(1)
        if defaults and name in defaults:
            return _LEFT.sub(one, defaults[name])
        shown, what = USER_VALUES.get(name, (f"<{name}>", f"<{name}> is a value you must supply"))
        if what not in wanted:
            wanted.append(what)
        return shown

    return _LEFT.sub(one, text), wanted


def help_fix(
    steps: Iterable[str],
    note: str,
    scope: str,
    variables: Mapping[str, str],
    os_steps: Iterable[str] | None,
    *,
    defaults: Mapping[str, str] | None = None,
) -> TrustHelpFix:
    """One store's fix for ``ca trust-help``: placeholders filled, ``@os-fix`` expanded.

    Args:
        steps: the fix's steps (``${ROOT_*}`` and machine values may still be placeholders).
        note: the fix's note.
        scope: ``user`` or ``system``.
        variables: the known values (``ROOT_PEM``, ``ROOT_ALIAS``, ``ROOT_NAME``, ``BUNDLE_PEM``
            and, on this machine, ``STORE_PATH``, ``OVERRIDE``, ``JAVA_HOME`` ...).
        os_steps: the OS store's steps for ``@os-fix`` (None: several OS stores could apply).
        defaults: see :func:`supply_values`.

    Returns:
        ``{"steps": [...], "scope": ..., "note": ...}``: no ``${...}`` and no ``@os-fix`` left;
        a value nothing here knows is shown as ``<NAME>`` and explained in the note.
    """
    out: list[str] = []
    notes: list[str] = []
    wanted: list[str] = []
    for step in render_steps(steps, variables):
        if step.strip() == OS_FIX:
            scope = "system"
            if os_steps is None:
                notes.append("this tool reads the OS store: use the system store steps above")
            else:
                out.extend(os_steps)
            continue
        text, need = supply_values(step, defaults)
        out.append(text)
        wanted += [w for w in need if w not in wanted]
    if note:
        text, need = supply_values(render_steps([note], variables)[0], defaults)
        notes.append(text)
        wanted += [w for w in need if w not in wanted]
    return {"steps": out, "scope": scope, "note": "; ".join([*notes, *wanted])}


def _static_fix(store: StoreDef, platform: str | None) -> FixDef | None:
    """The fix that applies when nothing about the machine is known (no ``when``)."""
    fixes = [f for f in store.fixes if not f.platforms or not platform or platform in f.platforms]
    plain = [f for f in fixes if not f.when]
    if store.instances == "java-home":  # a JDK's own keytool command, wherever it is
        plain = [f for f in plain if OS_FIX not in f.steps] or plain
    return plain[0] if plain else (fixes[0] if fixes else None)


def _static_os_steps(
    stores: Sequence[StoreDef], platform: str | None, variables: Mapping[str, str]
) -> list[str] | None:
    """``@os-fix`` without a machine: the one OS store's steps, None when several could apply."""
    if platform is None:
        return None
    os_stores = [s for s in stores if s.provides_os and platform in s.platforms]
    if sum(1 for s in os_stores if s.detect.os_release) > 1 or not os_stores:
        return None  # Linux: one system store per distribution family
    fix = _static_fix(os_stores[0], platform)
    return render_steps(fix.steps, variables) if fix else None


def trust_help_entries(
    stores: Sequence[StoreDef],
    readings: Sequence[StoreReading] | None,
    variables: Mapping[str, str],
    *,
    platform: str | None,
) -> list[TrustHelpStoreFacts]:
    """How to trust a root in each store of the catalogue (steps printed, never run).

    Args:
        stores: the trust-store catalogue.
        readings: this machine's stores (``stores.engine.read_stores``) when ``platform`` is
            this machine's, else None: the fix that applies here and its values (the store
            path, the override, each JDK and Firefox profile) come from them.
        variables: ``ROOT_PEM``, ``ROOT_ALIAS``, ``ROOT_NAME``, ``BUNDLE_PEM``.
        platform: ``linux``, ``macos``, ``windows``, or None for all.

    Returns:
        One entry per store (per JDK or profile found here): id, name, kind, instance,
        platforms, scope, steps, note, consumers. Every step is runnable as printed, or names
        the ``<VALUE>`` the user must supply (explained in the note).
    """
    by_id: dict[str, list[StoreReading]] = {}
    for reading in readings or ():
        by_id.setdefault(reading.id, []).append(reading)
    os_steps: list[str] | None
    here = [r for r in readings or () if r.provides_os and r.present and r.fix]
    os_paths = {s.path for r in here for s in r.sources if s.path}
    if readings is not None:
        os_steps = (
            render_steps(here[0].fix.steps, {**variables, **here[0].variables})
            if here and here[0].fix
            else _static_os_steps(stores, platform, variables)
        )
    else:
        os_steps = _static_os_steps(stores, platform, variables)
    out: list[TrustHelpStoreFacts] = []
    for store in stores:
        if platform and platform not in store.platforms:
            continue
        static = _static_fix(store, platform)
        defaults = {"STORE_PATH": "${JAVA_HOME}/lib/security/cacerts"}
        if store.instances != "java-home":
            defaults = {}
        made: list[tuple[str, TrustHelpFix]] = []
        for reading in by_id.get(store.id, []):
            if reading.fix is None:
                continue
            local = {**variables, **reading.variables}
            steps, note, scope = reading.fix.steps, reading.fix.note, reading.fix.scope
            if (
                os_steps is not None
                and local.get("STORE_PATH") in os_paths
                and local.get("OVERRIDE")
            ):
                steps, scope = (OS_FIX,), "system"
                note = f"{local['OVERRIDE']} points at the OS bundle"
            if static is not None and store.instances == "java-home" and OS_FIX in steps:
                managed = note
                steps, note, scope = static.steps, static.note, static.scope
                note = f"{managed}: the OS steps cover this JDK; keytool works until that rebuild"
            fix = help_fix(steps, note, scope, local, os_steps, defaults=defaults)
            made.append((reading.instance, fix))
        if not made and static is not None:
            made.append(("", help_fix(static.steps, static.note, static.scope, variables,
                                      os_steps, defaults=defaults)))  # fmt: skip
        for instance, fix in made:
            out.append(
                {
                    "id": store.id,
                    "name": f"{store.name} ({instance})" if instance else store.name,
                    "kind": store.kind,
                    "instance": instance,
                    "platforms": list(store.platforms),
                    "steps": fix["steps"],
                    "scope": fix["scope"],
                    "note": fix["note"],
                    "consumers": list(store.consumers),
                }
            )
    return out
