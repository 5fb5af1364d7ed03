"""Facts of ``ca init`` / ``ca show`` (the inspection CA) and ``ca trust-help`` (the steps
that make each store trust it)."""

from __future__ import annotations

from typing import TYPE_CHECKING, NotRequired, TypedDict, cast

if TYPE_CHECKING:
    from tlsdiag.model import Report


class CaCertFacts(TypedDict):
    """The inspection CA: what a person needs to know about it (times ISO 8601 UTC)."""

    subject: str
    not_before: str
    not_after: str
    key: str  # "EC P-256", "RSA 2048" ...
    sha256: str  # of the DER certificate, hex
    spki_sha256_base64: str  # Chromium's SPKI allow-list format
    permitted_domains: list[str]  # its name constraints
    cert_path: str  # "" when the CA is not on disk
    key_path: str


class CaFacts(CaCertFacts):
    """``ca init`` / ``ca show``: the CA, whether ``ca init`` just created it, its days left."""

    created: NotRequired[bool]  # only in ``ca init``
    days_left: int
    expired: bool


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


def ca_facts_of(report: Report) -> CaFacts:
    """The typed facts of a ``ca init`` or ``ca show`` report."""
    return cast("CaFacts", report.facts)
