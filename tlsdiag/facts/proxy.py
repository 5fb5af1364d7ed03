"""Facts of ``proxy`` (the summary printed when it stops) and ``proxy events FILE``."""

from __future__ import annotations

from typing import TYPE_CHECKING, TypedDict, cast

if TYPE_CHECKING:
    from tlsdiag.model import Report


class EventFacts(TypedDict, total=False):
    """One connection as the events file records it (``proxy.events.ProxyEvent.to_dict``).

    Every key is optional: a file written by another version may lack some (a line needs only
    ``action`` and ``host`` to count as an event) and keys it adds are kept as they are.
    """

    time: str
    client: str
    kind: str
    host: str
    port: int
    sni: str
    rule: str
    action: str
    tls_inspection: int
    upstream_address: str
    upstream_version: str
    cipher: str
    cipher_bits: int
    alpn: str
    client_alpn: str
    issuer: str
    subject: str
    verification: str
    tls_error_description: str
    tls_error_side: str
    tls_certificate_error: str
    tls_error_type: str
    finding: str
    detail: str
    forged: str
    client_handshake: str
    client_version: str
    http_status: int
    bytes_up: int
    bytes_down: int
    connect_ms: float
    upstream_tls_ms: float
    client_tls_ms: float
    duration_ms: float
    closed_by: str


class EventsSummaryFacts(TypedDict):
    """Counts over the events: by action, decrypted ones, by finding code, bytes each way."""

    events: int
    by_action: dict[str, int]
    inspected: int
    by_finding: dict[str, int]
    bytes_up: int
    bytes_down: int


class EventFilters(TypedDict):
    """The filters of ``proxy events`` (None when not given)."""

    host: str | None
    action: str | None
    errors: bool
    last: int | None


class ProxyEventsFacts(TypedDict):
    """``proxy events FILE``: ``total_events`` in the file, ``events`` those that passed."""

    file: str
    total_events: int
    filters: EventFilters
    summary: EventsSummaryFacts
    events: list[EventFacts]


class ProxyRunFacts(TypedDict):
    """``proxy``: the summary of a run, from ``since`` until it stopped."""

    file: str
    since: str
    total_events: int
    summary: EventsSummaryFacts


def proxy_events_facts(report: Report) -> ProxyEventsFacts:
    """The typed facts of a ``proxy events`` report."""
    return cast("ProxyEventsFacts", report.facts)


def proxy_run_facts(report: Report) -> ProxyRunFacts:
    """The typed facts of a ``proxy`` run report."""
    return cast("ProxyRunFacts", report.facts)
