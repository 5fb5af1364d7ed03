"""``demo`` end to end: start the lab in-process, check every case, one verdict per case.

The result is one ``Report`` whose facts list the cases (expected codes, codes found, the
case's own ``check`` report); ``tlsdiag.render.demo`` prints one line per case.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from tlsdiag import __version__
from tlsdiag.commands.check import CheckOptions, run_checks
from tlsdiag.core.target import parse_resolve, parse_target
from tlsdiag.core.verdict import error_codes
from tlsdiag.errors import UsageError
from tlsdiag.facts.lab import DemoCaseFacts, DemoFacts
from tlsdiag.lab.cases import CASE_NAMES, Lab, RunningCase
from tlsdiag.model import Report
from tlsdiag.net.probe import ProbeOptions
from tlsdiag.stores.bundles import load_cafile


@dataclass(frozen=True, slots=True)
class DemoLine:
    """One lab case and what ``check`` said about it."""

    case: str
    description: str
    expected: tuple[str, ...]
    found: tuple[str, ...]  # error-level codes found
    report: Report

    @property
    def as_expected(self) -> bool:
        """True when check reported exactly the expected error codes."""
        return set(self.expected) == set(self.found)

    def to_dict(self) -> DemoCaseFacts:
        """JSON-ready form (one entry of the ``cases`` fact)."""
        return {
            "case": self.case,
            "description": self.description,
            "expected": list(self.expected),
            "found": list(self.found),
            "as_expected": self.as_expected,
            "report": self.report.to_dict(),
        }


def options_for(lab: Lab, cases: Sequence[RunningCase], timeout: float = 5.0) -> CheckOptions:
    """Check options for lab cases: --resolve for each and the lab root as --cafile."""
    rules = tuple(parse_resolve(c.resolve) for c in cases)
    return CheckOptions(
        probe=ProbeOptions(resolve=rules, timeout=timeout),
        cafile=load_cafile(lab.root_pem_path),
    )


def run_demo(names: Sequence[str] | None = None, concurrency: int = 8) -> list[DemoLine]:
    """Start the lab, check every case concurrently, stop the lab."""
    with Lab(names=tuple(names)) if names else Lab() as lab:
        cases = list(lab.cases.values())
        targets = [parse_target(c.target) for c in cases]
        outcomes = run_checks(targets, options_for(lab, cases), concurrency=concurrency)
    return [
        DemoLine(
            case.spec.name,
            case.spec.description,
            case.spec.expect,
            error_codes(outcome.report.findings),
            outcome.report,
        )
        for case, outcome in zip(cases, outcomes, strict=True)
    ]


def demo_report(names: Sequence[str] | None = None) -> Report:
    """``tlsdiag demo``: run the lab cases (all, or ``names``) and report each verdict.

    Raises:
        UsageError: an unknown case name.
    """
    bad = [n for n in names or () if n not in CASE_NAMES]
    if bad:
        raise UsageError(f"unknown lab case {bad[0]!r}", f"cases: {', '.join(CASE_NAMES)}")
    start = time.monotonic()
    lines = run_demo(names)
    elapsed = time.monotonic() - start
    facts: DemoFacts = {
        "all_as_expected": all(ln.as_expected for ln in lines),
        "seconds": round(elapsed, 2),
        "cases": [ln.to_dict() for ln in lines],
    }
    return Report(
        command="demo",
        target="lab",
        generated_at=datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        facts=facts,
        tool_version=__version__,
    )
