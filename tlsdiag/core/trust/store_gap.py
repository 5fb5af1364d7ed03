"""For ``check``: which tools fail when the chain verifies against the OS store but not against
certifi (or the reverse), from the catalogue's default sources, and the
``client.store_mismatch`` finding that says so. Pure."""

from __future__ import annotations

from dataclasses import dataclass, field

from tlsdiag import codes
from tlsdiag.core.findings import make_finding
from tlsdiag.kb.trust import default_source_for, trust_stores
from tlsdiag.model import Finding, Severity


@dataclass(frozen=True, slots=True)
class StoreGap:
    """Which tools fail when the root is in one of (OS store, certifi) but not the other."""

    failing: tuple[str, ...]
    working: tuple[str, ...]
    store_ids: tuple[str, ...]  # catalogue ids of the failing stores
    detail: str
    unknown: tuple[str, ...] = field(default=())  # stores with their own files: audit them


def tools_failing_for(
    root_in_os: bool, root_in_certifi: bool, platform: str | None = None
) -> list[str]:
    """Tools that fail by default (no override) given where the root is."""
    gap = store_gap_summary(
        root_in_os=root_in_os, root_in_certifi=root_in_certifi, platform=platform
    )
    return list(gap.failing)


def store_gap_summary(
    *, root_in_os: bool, root_in_certifi: bool, platform: str | None = None
) -> StoreGap:
    """From the catalogue's ``default_source`` of each store: which tools fail by default.

    Args:
        root_in_os: the chain verifies against the OS store.
        root_in_certifi: the chain verifies against certifi (the public bundle).
        platform: ``linux``, ``macos`` or ``windows`` to keep only that platform's stores and
            defaults (None: every store, generic defaults).

    Returns:
        The failing and working tool names (deduplicated, catalogue order), the failing store
        ids, one sentence for a finding, and the stores with their own files (Java, Firefox)
        whose answer needs ``tlsdiag trust``.
    """
    failing: dict[str, None] = {}
    working: dict[str, None] = {}
    ids: list[str] = []
    unknown: list[str] = []
    for store in trust_stores():
        if store.provides_os or (platform and platform not in store.platforms):
            continue
        match default_source_for(store, platform):
            case "os":
                ok: bool | None = root_in_os
            case "certifi" | "public":
                ok = root_in_certifi
            case _:
                ok = None
        if ok is None:
            unknown.append(store.id)
            continue
        target = working if ok else failing
        for tool in store.consumers or (store.name,):
            target.setdefault(tool, None)
        if not ok:
            ids.append(store.id)
    for tool in list(working):
        if tool in failing:
            del working[tool]
    if root_in_os and not root_in_certifi:
        detail = (
            "The chain verifies against the OS store but not against certifi: the browser and "
            "OS-store tools work, tools with their own bundle fail: " + ", ".join(failing) + "."
        )
    elif root_in_certifi and not root_in_os:
        detail = (
            "The chain verifies against certifi but not against the OS store: "
            + ", ".join(failing)
            + " fail."
        )
    elif not root_in_os and not root_in_certifi:
        detail = "The chain verifies against neither the OS store nor certifi."
    else:
        detail = "The chain verifies against both the OS store and certifi."
    return StoreGap(tuple(failing), tuple(working), tuple(ids), detail, tuple(unknown))


def store_mismatch_finding(
    *,
    root_in_os: bool,
    root_in_certifi: bool,
    root_subject: str = "",
    platform: str | None = None,
    severity: Severity | None = None,
) -> Finding | None:
    """The ``client.store_mismatch`` finding for ``check`` (None when both agree).

    Args:
        root_in_os: the chain verifies against the OS store.
        root_in_certifi: the chain verifies against certifi.
        root_subject: the root's name, for the evidence.
        platform: ``linux`` / ``macos`` / ``windows`` (None: every platform's stores).
        severity: overrides the code's default (error), e.g. a warning from ``check``.

    Returns:
        The finding, naming the tools that fail by default, or None.
    """
    if root_in_os == root_in_certifi:
        return None
    gap = store_gap_summary(
        root_in_os=root_in_os, root_in_certifi=root_in_certifi, platform=platform
    )
    return make_finding(
        codes.CLIENT_STORE_MISMATCH,
        severity=severity,
        detail=gap.detail,
        evidence={
            **({"root": root_subject} if root_subject else {}),
            "os_store": "trusts" if root_in_os else "does not trust",
            "certifi": "trusts" if root_in_certifi else "does not trust",
            "failing_tools": ", ".join(gap.failing),
        },
        remediation=(
            "Run `tlsdiag trust --from-host HOST` for the exact fix per store (for Python tools: "
            "REQUESTS_CA_BUNDLE pointing at a bundle of the public roots plus the inspection root)."
        ),
    )
