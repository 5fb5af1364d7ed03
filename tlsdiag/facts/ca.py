"""Facts of ``ca trust-help``: the steps that make each store trust the proxy's CA."""

from __future__ import annotations

from typing import TYPE_CHECKING, TypedDict, cast

if TYPE_CHECKING:
    from tlsdiag.model import Report


class TrustHelpStoreFacts(TypedDict):
    """One store of the catalogue and how to make it trust the CA (printed, never run)."""

    id: str
    name: str
    kind: str
    platforms: list[str]
    scope: str
    steps: list[str]
    note: str
    consumers: list[str]


class TrustHelpFacts(TypedDict):
    """``ca trust-help``: ``platform`` is ``linux``, ``macos``, ``windows`` or ``all``."""

    platform: str
    ca_cert: str
    ca_exists: bool
    stores: list[TrustHelpStoreFacts]


def trust_help_facts(report: Report) -> TrustHelpFacts:
    """The typed facts of a ``ca trust-help`` report."""
    return cast("TrustHelpFacts", report.facts)
