"""Facts of ``ca trust-help``: the steps that make each store trust the proxy's CA."""

from __future__ import annotations

from typing import TYPE_CHECKING, TypedDict, cast

if TYPE_CHECKING:
    from tlsdiag.model import Report


class TrustHelpFix(TypedDict):
    """One store's fix: runnable steps, ``user`` or ``system`` scope, and a note naming any
    ``<VALUE>`` the user must supply."""

    steps: list[str]
    scope: str
    note: str


class TrustHelpStoreFacts(TypedDict):
    """One store of the catalogue (one per JDK or Firefox profile found on this machine) and
    how to make it trust the CA (printed, never run)."""

    id: str
    name: str
    kind: str
    instance: str  # the JDK or profile this entry is for; "" for the store as a whole
    platforms: list[str]
    steps: list[str]
    scope: str
    note: str
    consumers: list[str]


class TrustHelpFacts(TypedDict):
    """``ca trust-help``: ``platform`` is ``linux``, ``macos``, ``windows`` or ``all``."""

    platform: str
    ca_cert: str
    ca_exists: bool
    machine: bool  # the steps come from this machine's stores (``platform`` is this OS)
    stores: list[TrustHelpStoreFacts]


def trust_help_facts(report: Report) -> TrustHelpFacts:
    """The typed facts of a ``ca trust-help`` report."""
    return cast("TrustHelpFacts", report.facts)
