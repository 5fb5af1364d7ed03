"""Facts of ``har FILE``: what a page used, grouped by registrable domain, and how each host
was handled (``--check`` or ``--policy``)."""

from __future__ import annotations

from typing import TYPE_CHECKING, NotRequired, TypedDict, cast

if TYPE_CHECKING:
    from tlsdiag.model import Report


class HarHostFacts(TypedDict):
    """One host name of the page: its requests, failed ones, schemes, ports, HTTP statuses."""

    host: str
    requests: int
    failed: int
    schemes: list[str]
    ports: list[int]
    statuses: dict[str, int]  # status -> count, sorted by status
    handling: NotRequired[str]  # with --check or --policy: inspected/bypassed/failing, action


class HarDomainFacts(TypedDict):
    """A registrable domain (eTLD+1) and its host names, most requests first."""

    domain: str
    requests: int
    failed: int
    hosts: list[HarHostFacts]


class HarFailedRequest(TypedDict):
    """A failed or blocked request (URL redacted)."""

    url: str
    host: str
    method: str
    status: int
    size: int  # response body bytes, -1 unknown
    problem: str


class HarCheckRow(TypedDict):
    """``--check``: one HTTPS host checked, how it was handled and the issuer seen."""

    host: str
    port: int
    handling: str  # inspected | bypassed | failing
    issuer: str
    errors: list[str]  # error-level finding codes


class HarPolicyHost(TypedDict):
    """``--policy``: what the policy decides for one host."""

    host: str
    action: str
    rule: str


class HarPolicyFacts(TypedDict):
    """``--policy``: the decisions, and the hosts no bypass rule covers."""

    file: str
    hosts: list[HarPolicyHost]
    bypassed: list[str]
    not_covered: list[str]


class HarSummaryFacts(TypedDict):
    """The HAR's counts (``core.har.HarSummary.to_facts``)."""

    entries: int
    entries_without_url: int
    creator: str
    pages: list[str]
    hosts: int
    domains: list[HarDomainFacts]
    failed_requests: list[HarFailedRequest]
    failed_total: int
    failed_listed: int


class HarFacts(HarSummaryFacts):
    """``har FILE``: the file, the ``--check`` rows or ``--policy`` decisions, the counts
    (in the JSON output ``file``, ``checks`` and ``policy`` come first)."""

    file: str
    checks: NotRequired[list[HarCheckRow]]
    policy: NotRequired[HarPolicyFacts]


def har_facts(report: Report) -> HarFacts:
    """The typed facts of a ``har`` report."""
    return cast("HarFacts", report.facts)
