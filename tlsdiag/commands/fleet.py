"""``tlsdiag fleet report``: read many machines' results, return one fleet Report."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import IO

from tlsdiag import __version__
from tlsdiag.core.fleet import FleetAccumulator
from tlsdiag.core.fleet_summary import fleet_facts, fleet_findings
from tlsdiag.model import Report
from tlsdiag.stores.results import Document, read_inputs


def run_fleet(
    paths: Sequence[str], *, stdin: IO[str] | None = None, now: datetime | None = None
) -> Report:
    """Stream every input through the fleet fold and summarise it.

    Args:
        paths: files, folders, zip files, or ``-`` for JSON lines on ``stdin``.
        stdin: the stream ``-`` reads.
        now: the report time (default: now).

    Returns:
        The fleet report (``command="fleet"``).
    """
    acc = FleetAccumulator()
    for item in read_inputs(paths, stdin):
        if isinstance(item, Document):
            acc.add(item.value, item.source)
        else:
            acc.problem(item.source, item.kind, item.message)
    facts = fleet_facts(acc)
    when = (now or datetime.now(UTC)).astimezone(UTC)
    return Report(
        command="fleet",
        target=f"{facts['machine_count']} machines",
        generated_at=when.strftime("%Y-%m-%dT%H:%M:%SZ"),
        facts=facts,
        findings=tuple(fleet_findings(facts)),
        tool_version=__version__,
    )
