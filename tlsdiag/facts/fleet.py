"""Facts of ``fleet report``: many machines' ``trust`` and ``check`` reports folded into one
summary (``core.fleet_summary.fleet_facts``); ``machines`` lists every machine (the CSV and the
HTML table are made from it)."""

from __future__ import annotations

from typing import TYPE_CHECKING, TypedDict, cast

if TYPE_CHECKING:
    from tlsdiag.model import Report


class FleetRootInfo(TypedDict):
    """An inspection root as the ``trust`` reports name it."""

    subject: str
    common_name: str
    sha256: str
    not_after: str


class FleetStoreInfo(TypedDict):
    """A trust store as the ``trust`` reports describe it."""

    name: str
    kind: str
    consumers: list[str]  # the applications that use it (at most 6)


class ProblemSample(TypedDict):
    """An input that was not used, by name."""

    source: str
    kind: str  # foreign, other-command, malformed ...
    message: str


class FleetInputs(TypedDict):
    """What was read, used, superseded or skipped."""

    documents: int
    reports_used: dict[str, int]  # trust / check -> reports taken
    superseded: int
    duplicates: int
    problems: dict[str, int]
    problem_samples: list[ProblemSample]
    tool_versions: dict[str, int]
    newer_schema: bool


class FleetRootStoreRow(TypedDict):
    """One store and how many machines' copy of it trusts the root."""

    id: str
    name: str
    kind: str
    present: int
    trusted: int
    lacking: int
    unknown: int
    lacking_machines: list[str]  # at most 10


class FleetRootRow(FleetRootInfo):
    """One inspection root (by SPKI) across the machines."""

    spki_sha256: str
    machines: int
    machines_all_trust: int
    stores: list[FleetRootStoreRow]


class FleetTargetRow(TypedDict):
    """A check target failing on some machines, and on which side."""

    target: str
    checked: int
    failing: int
    side: str  # client / inspection / server / network
    sides: dict[str, int]
    codes: dict[str, int]  # the five most common error codes


class ClockSkewRow(TypedDict):
    """A machine with a wrong clock."""

    id: str
    hostname: str
    skew_seconds: float | None
    time_zone: str


class FixFirstRow(TypedDict):
    """A machine to fix first: its broken stores and failing targets."""

    id: str
    hostname: str
    user: str
    os_name: str
    broken_stores: list[str]
    apps_affected: list[str]
    failing_targets: list[str]  # at most 5


class FleetMachineRow(TypedDict):
    """One machine: who it is, its clock, its stores and checks."""

    id: str
    identified: bool
    hostname: str
    os: str
    os_name: str
    os_version: str
    user: str
    tool_version: str
    time: str
    time_zone: str
    source: str
    skew_seconds: float | None
    clock_skew: bool
    trust_report: bool
    root_found: bool
    stores_checked: int
    broken_stores: list[str]
    apps_affected: list[str]
    checks: int
    failing_targets: list[str]
    trust: dict[str, dict[str, str]]  # spki -> store id -> status


class FleetFacts(TypedDict):
    """``fleet report``: the inputs, the roots, failing targets, clocks, machines to fix first."""

    inputs: FleetInputs
    machine_count: int
    machines_unidentified: int
    machines_without_trust: int
    machines_without_root: list[str]
    machines_checked: int
    roots: list[FleetRootRow]
    failing_targets: list[FleetTargetRow]
    clock_skew: list[ClockSkewRow]
    clock_skew_count: int
    fix_first: list[FixFirstRow]
    stores: dict[str, FleetStoreInfo]
    machines: list[FleetMachineRow]


def fleet_facts(report: Report) -> FleetFacts:
    """The typed facts of a ``fleet report`` report."""
    return cast("FleetFacts", report.facts)
