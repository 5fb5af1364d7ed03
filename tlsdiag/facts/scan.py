"""Facts of ``probe --scan``: the endpoint, what the scan found, the policy and the clients.

Versions are keys like ``TLSv1.2`` (``SSLv3`` ... ``TLSv1.3``); suites are IANA names.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, NotRequired, TypedDict, cast

if TYPE_CHECKING:
    from tlsdiag.model import Report


class ScanEndpointFacts(TypedDict):
    """What was asked for and the addresses it resolved to (the scan uses the first)."""

    input: str
    host: str
    port: int
    sni: str
    addresses: list[str]


class ScanFailureFacts(TypedDict):
    """Why no probe got a TLS answer (a ``ProbeFailure``)."""

    code: str
    message: str
    detail: str


class ScanResultFacts(TypedDict):
    """``ScanResult.to_dict``: accepted versions, suites per version in preference order."""

    versions: list[str]  # accepted, lowest first
    ciphers: dict[str, list[str]]
    server_order: dict[str, bool]  # only versions with two suites or more
    groups: dict[str, list[str]]  # only versions whose groups were checked
    answers: dict[str, str]  # what the server said to each version probe
    address: str
    sni: str
    probes: int
    seconds: float
    failure: ScanFailureFacts | None


class PolicySummary(TypedDict):
    """``ScanPolicy.describe``: the policy (or client) compared with the server."""

    label: str
    min_version: str
    max_version: str
    cipher_level: str | None
    min_cipher_bits: int
    versions: list[str]


class PolicyFacts(PolicySummary):
    """The policy, plus what it would use with this server."""

    usable: dict[str, list[str]]  # version -> suites the policy allows, server's order
    connects: bool


class ClientRowFacts(TypedDict):
    """One common client: whether it connects, and with which version and suite."""

    id: str
    name: str
    connects: bool
    version: NotRequired[str]  # the highest version in common, when there is one
    suite: NotRequired[str]  # when it connects
    reason: str  # why it does not connect ("" when it does)


class ScanFacts(TypedDict):
    """``probe --scan``: only ``endpoint`` when the name does not resolve."""

    endpoint: ScanEndpointFacts
    scan: NotRequired[ScanResultFacts]
    policy: NotRequired[PolicyFacts]
    clients: NotRequired[list[ClientRowFacts]]  # empty when the scan failed


def scan_facts(report: Report) -> ScanFacts:
    """The typed facts of a ``probe --scan`` report.

    Args:
        report: a report built by ``tlsdiag.commands.scan.run_scan``.

    Returns:
        Its facts, typed.
    """
    return cast("ScanFacts", report.facts)
