"""Facts of ``issuer``: the verdict at the top level, the trust, then the chain."""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal, TypedDict, cast

from tlsdiag.facts.check import InterceptionFacts
from tlsdiag.facts.ids import Platform, RootSetId

if TYPE_CHECKING:
    from tlsdiag.model import Report


class ConnectionFacts(TypedDict):
    """Where the probe connected."""

    host: str
    port: int
    sni: str
    address: str


class InspectionRootFacts(TypedDict):
    """An inspection root this machine trusts."""

    vendor_id: str
    root: str


class IssuerCertFacts(TypedDict):
    """One certificate of the presented chain or the built path."""

    subject: str
    issuer: str
    sha256: str
    not_before: str
    not_after: str
    sct_count: int


class IssuerChainFacts(TypedDict):
    """The presented chain and the built path."""

    presented_chain: list[IssuerCertFacts]
    path: list[IssuerCertFacts]


class IssuerFacts(TypedDict):
    """``issuer``: ``verdict`` is ``unknown`` (and ``interception`` None) when no certificate
    was seen."""

    connection: ConnectionFacts
    verdict: Literal["inspected", "direct", "unknown"]
    tls_inspection: int | None
    interception: InterceptionFacts | None
    platform: Platform | str
    app: str | None
    trusted_by: dict[RootSetId, bool]
    inspection_roots_trusted_here: list[InspectionRootFacts]
    presented_chain: list[IssuerCertFacts]
    path: list[IssuerCertFacts]


def issuer_facts(report: Report) -> IssuerFacts:
    """The typed facts of an ``issuer`` report.

    Args:
        report: a report built by ``tlsdiag.core.issuer.report.issuer_report``.

    Returns:
        Its facts, typed.
    """
    return cast("IssuerFacts", report.facts)
