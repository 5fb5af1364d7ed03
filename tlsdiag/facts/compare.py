"""Facts of ``compare``: a host bypassed and inspected side by side (``CompareFacts``), or an
application run both ways with ``--run`` (``CompareRunFacts``); both end in a verdict."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, TypedDict, cast

if TYPE_CHECKING:
    from tlsdiag.facts.explain import ExplainTextFacts
    from tlsdiag.facts.proxy import EventFacts
    from tlsdiag.model import Report


class CompareVerdictFacts(TypedDict):
    """Where the problem is (``server``, ``inspection``, ``client`` or ``none``) and the fix
    (``core.compare.Verdict.to_dict``)."""

    origin: str
    summary: str
    recommendation: str
    code: str  # the finding code the verdict rests on ("" for none)
    bypass_rule: str  # a targeted bypass rule (policy TOML), "" when that is not the fix


class CompareEventFacts(TypedDict):
    """The embedded proxy's decision for the host compared."""

    action: str  # inspect / bypass / block
    finding: str
    detail: str
    rule: str


class InspectingPathFacts(TypedDict):
    """The inspecting path: ``embedded`` (a proxy started here), ``proxy`` (an explicit one) or
    ``reports`` (two saved reports), and the embedded proxy's event and policy."""

    kind: str
    description: str
    event: CompareEventFacts | None
    policy: dict[str, object] | None


class CompareRowFacts(TypedDict):
    """One line of the table."""

    label: str
    bypassed: str
    inspected: str
    differs: bool


class CompareFacts(TypedDict):
    """``compare HOST`` or ``compare BEFORE.json AFTER.json``: the table, the verdict and the
    two ``check`` reports as they were compared (``Report.to_dict`` of each)."""

    inspecting_path: InspectingPathFacts
    labels: list[str]  # the two column headings
    rows: list[CompareRowFacts]
    differences: list[str]  # the labels of the rows that differ
    verdict: CompareVerdictFacts
    bypassed: dict[str, Any]
    inspected: dict[str, Any]


class AppStoreFacts(TypedDict):
    """The trust store the application of ``--run`` uses, and how to add a root to it."""

    id: str
    name: str
    steps: list[str]


class RunCommandFacts(TypedDict):
    """``--run``: the command, its time limit, the application and its store."""

    command: str
    timeout_s: float
    app: str
    app_store: AppStoreFacts | None


class RunOutcomeFacts(TypedDict):
    """One run of the command (``core.compare_run.RunOutcome.to_dict``)."""

    exit_status: int | None  # None: it did not finish in time (or could not start)
    timed_out: bool
    seconds: float
    error: str  # could not start it
    stderr: str  # the last 2,000 characters


class RunPathFacts(TypedDict):
    """``--run``: the embedded proxy, its policy and every connection it saw."""

    kind: str
    description: str
    policy: dict[str, object]
    events: list[EventFacts]


class CompareRunFacts(TypedDict):
    """``compare --run COMMAND``: the two runs, ``explain`` of the inspected run's error
    output, and the verdict."""

    run: RunCommandFacts
    inspecting_path: RunPathFacts
    bypassed: RunOutcomeFacts
    inspected: RunOutcomeFacts
    explain: ExplainTextFacts | None
    verdict: CompareVerdictFacts


def is_run(report: Report) -> bool:
    """True for a ``compare --run`` report."""
    return "run" in report.facts


def compare_facts(report: Report) -> CompareFacts:
    """The typed facts of a ``compare HOST`` (or saved reports) report."""
    return cast("CompareFacts", report.facts)


def compare_run_facts(report: Report) -> CompareRunFacts:
    """The typed facts of a ``compare --run`` report."""
    return cast("CompareRunFacts", report.facts)
