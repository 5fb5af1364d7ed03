"""``tlsdiag demo``: start the lab in-process, check every case, one verdict line each."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from tlsdiag.core.target import parse_resolve, parse_target
from tlsdiag.lab.cases import Lab, RunningCase
from tlsdiag.model import Report, Severity
from tlsdiag.net.check import CheckOptions, run_checks
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
    lines = []
    for case, outcome in zip(cases, outcomes, strict=True):
        found = tuple(
            dict.fromkeys(f.code for f in outcome.report.findings if f.severity is Severity.ERROR)
        )
        lines.append(
            DemoLine(case.spec.name, case.spec.description, case.spec.expect, found, outcome.report)
        )
    return lines
