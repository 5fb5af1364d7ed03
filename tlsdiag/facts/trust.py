"""Facts of ``trust``: the root looked for, one row per known store, the clock."""

from __future__ import annotations

from typing import TYPE_CHECKING, NotRequired, TypedDict, cast

from tlsdiag.facts.ids import Platform

if TYPE_CHECKING:
    from tlsdiag.model import Report


class RootFacts(TypedDict):
    """The root being looked for (dates, key and hash are None when only its name is known)."""

    subject: str
    common_name: str
    sha256: str | None
    spki_sha256: str | None
    origin: str
    not_before: str | None
    not_after: str | None
    days_left: int | None
    key: str | None
    signature_hash: str | None


class FixFacts(TypedDict):
    """The steps that make one store trust the root (printed, never run)."""

    steps: list[str]
    scope: str
    note: str


class StoreRowFacts(TypedDict):
    """One row of the coverage matrix."""

    id: str
    name: str
    kind: str
    instance: str | None
    present: bool
    trusts_root: bool | None
    status: str
    location: str | None
    overridden_by: list[str]
    fix: FixFacts | None
    detail: str
    consumers: list[str]
    notes: list[str]
    sources: list[str]


class ClockFacts(TypedDict):
    """The local clock, and its skew against a server's Date header when one was asked."""

    host: str | None
    local_utc: str
    time_zone: str
    utc_offset: NotRequired[str]
    server_date: str | None
    skew_seconds: float | None
    error: NotRequired[str]


class SelectionFacts(TypedDict):
    """How the root was chosen: ``ca``, ``fingerprint``, ``name``, ``from-host``, ``os-private``."""

    mode: str
    value: str | None


class PresentedFacts(TypedDict):
    """One certificate sent by ``--from-host``."""

    subject: str
    issuer: str


class TrustFacts(TypedDict):
    """``trust``: one report per root; ``root`` is None (and ``note`` says why) when none."""

    root: RootFacts | None
    selection: SelectionFacts
    platform: Platform
    clock: ClockFacts
    presented: NotRequired[list[PresentedFacts]]
    inspected: NotRequired[bool | None]
    stores: list[StoreRowFacts]
    note: NotRequired[str]


def trust_facts(report: Report) -> TrustFacts:
    """The typed facts of a ``trust`` report.

    Args:
        report: a report built by ``tlsdiag.commands.trust``.

    Returns:
        Its facts, typed.
    """
    return cast("TrustFacts", report.facts)
