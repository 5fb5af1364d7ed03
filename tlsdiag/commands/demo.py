"""``demo`` end to end: start the lab in-process, check every case, one verdict per case.

The result is one ``Report`` whose facts list the cases (expected codes, codes found, the
case's own ``check`` report); ``tlsdiag.render.demo`` prints one line per case.

For speed the lab's RSA keys are begun first, on another core, while this imports what
``check`` needs, and each case is checked as soon as its server is up, while the lab builds
the next ones.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from tlsdiag import __version__
from tlsdiag.errors import UsageError
from tlsdiag.facts.lab import DemoCaseFacts, DemoFacts
from tlsdiag.lab.keys import LabKeys
from tlsdiag.model import Report

if TYPE_CHECKING:
    from concurrent.futures import Future

    from tlsdiag.commands.check import CheckOptions, CheckOutcome
    from tlsdiag.lab.cases import Lab, RunningCase
    from tlsdiag.stores.bundles import RootSet


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


def options_for(
    lab: Lab, cases: Sequence[RunningCase], timeout: float = 5.0, *, cafile: RootSet | None = None
) -> CheckOptions:
    """Check options for lab cases: --resolve for each and the lab root as --cafile (read from
    the lab's root file unless given)."""
    from tlsdiag.commands.check import CheckOptions
    from tlsdiag.core.target import parse_resolve
    from tlsdiag.net.probe import ProbeOptions
    from tlsdiag.stores.bundles import load_cafile

    rules = tuple(parse_resolve(c.resolve) for c in cases)
    return CheckOptions(
        probe=ProbeOptions(resolve=rules, timeout=timeout),
        cafile=cafile or load_cafile(lab.root_pem_path),
        browser_hello=True,  # as `tlsdiag check` does
    )


def run_demo(
    names: Sequence[str] | None = None, *, workers: int = 4, keys: LabKeys | None = None
) -> list[DemoLine]:
    """Start the lab, check each case as soon as its server is up, stop the lab.

    Args:
        names: the cases (all when None).
        workers: threads checking cases while this thread builds the lab. The checks hold the
            GIL most of the time, but each waits for the lab's servers several times; on a
            busy machine every such wake-up waits for the scheduler, and a few checks at once
            overlap those waits (measured: 4 beat 1, 2 and 8).
        keys: the lab's RSA keys, when begun earlier.

    Returns:
        One line per case, in the lab's order.
    """
    from concurrent.futures import ThreadPoolExecutor

    from tlsdiag.commands.check import run_check
    from tlsdiag.core.target import parse_target
    from tlsdiag.core.verdict import error_codes
    from tlsdiag.lab.cases import CASE_NAMES, Lab
    from tlsdiag.stores.bundles import load_cafile

    lab = Lab(names=tuple(names) if names else CASE_NAMES, keys=keys)
    futures: dict[str, Future[CheckOutcome]] = {}
    roots: list[RootSet] = []  # the lab root as --cafile, read once

    def check(case: RunningCase) -> None:
        if not roots:
            roots.append(load_cafile(lab.root_pem_path))
        opts = options_for(lab, [case], cafile=roots[0])
        futures[case.spec.name] = pool.submit(run_check, parse_target(case.target), opts)

    pool = ThreadPoolExecutor(max_workers=max(1, workers), thread_name_prefix="demo-check")
    try:
        lab.start(on_case=check)
        outcomes = {name: future.result() for name, future in futures.items()}
    finally:
        pool.shutdown(cancel_futures=True)
        lab.stop()
    return [
        DemoLine(
            case.spec.name,
            case.spec.description,
            case.spec.expect,
            error_codes(outcomes[name].report.findings),
            outcomes[name].report,
        )
        for name, case in lab.cases.items()
    ]


def demo_report(names: Sequence[str] | None = None) -> Report:
    """``tlsdiag demo``: run the lab cases (all, or ``names``) and report each verdict.

    Raises:
        UsageError: an unknown case name.
    """
    keys = LabKeys(names or None)  # first: these keys take longest, and run on another core
    from tlsdiag.lab.cases import CASE_NAMES

    bad = [n for n in names or () if n not in CASE_NAMES]
    if bad:
        raise UsageError(f"unknown lab case {bad[0]!r}", f"cases: {', '.join(CASE_NAMES)}")
    start = time.monotonic()
    lines = run_demo(names, keys=keys)
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
