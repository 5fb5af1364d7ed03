"""Facts of ``lab list``, ``demo`` and ``ca path``: small, flat, JSON-ready."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, TypedDict, cast

if TYPE_CHECKING:
    from tlsdiag.model import Report


class LabCaseFacts(TypedDict):
    """One lab case and the error codes ``check`` finds on it."""

    case: str
    description: str
    expect: list[str]


class LabListFacts(TypedDict):
    """``lab list``."""

    cases: list[LabCaseFacts]


class DemoCaseFacts(TypedDict):
    """One case of the demo: expected and found error codes, and the case's ``check`` report
    as JSON (``Report.to_dict``)."""

    case: str
    description: str
    expected: list[str]
    found: list[str]
    as_expected: bool
    report: dict[str, Any]


class DemoFacts(TypedDict):
    """``demo``."""

    all_as_expected: bool
    seconds: float
    cases: list[DemoCaseFacts]


class CaPathFacts(TypedDict):
    """``ca path``: where the CA lives, whether or not it exists."""

    dir: str
    cert: str
    key: str
    exists: bool


def lab_list_facts(report: Report) -> LabListFacts:
    """The typed facts of a ``lab list`` report."""
    return cast("LabListFacts", report.facts)


def demo_facts(report: Report) -> DemoFacts:
    """The typed facts of a ``demo`` report."""
    return cast("DemoFacts", report.facts)


def ca_path_facts(report: Report) -> CaPathFacts:
    """The typed facts of a ``ca path`` report."""
    return cast("CaPathFacts", report.facts)
