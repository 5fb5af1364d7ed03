"""CSV output of ``tlsdiag fleet report``: one row per machine, inspection root and store."""

from __future__ import annotations

import csv
import io
from typing import Any

from tlsdiag.facts.fleet import FleetMachineRow, fleet_facts
from tlsdiag.model import Report

COLUMNS = (
    "machine_id",
    "hostname",
    "os",
    "os_version",
    "user",
    "tool_version",
    "time",
    "time_zone",
    "clock_skew_seconds",
    "root",
    "root_spki_sha256",
    "store",
    "store_name",
    "store_kind",
    "status",
    "trusts_root",
    "failing_checks",
)


def _base(m: FleetMachineRow) -> list[Any]:
    skew = m["skew_seconds"]
    return [
        m["id"],
        m["hostname"],
        m["os_name"],
        m["os_version"],
        m["user"],
        m["tool_version"],
        m["time"],
        m["time_zone"],
        "" if skew is None else f"{skew:.0f}",
    ]


def to_csv(report: Report) -> str:
    """The rows for a spreadsheet (a machine with no trust report gets one row, no store).

    Args:
        report: a ``fleet`` report.

    Returns:
        CSV text with a header row.
    """
    facts = fleet_facts(report)
    roots = {r["spki_sha256"]: r["common_name"] for r in facts["roots"]}
    stores = facts["stores"]
    buf = io.StringIO()
    out = csv.writer(buf, lineterminator="\n")
    out.writerow(COLUMNS)
    for m in facts["machines"]:
        base = _base(m)
        failing = len(m["failing_targets"])
        if not m["trust"]:
            out.writerow([*base, "", "", "", "", "", "", "", failing])
            continue
        for spki, statuses in m["trust"].items():
            for sid, status in statuses.items():
                info = stores.get(sid)
                broken = sid in m["broken_stores"]
                trusted = "yes" if status == "trusted" else ("no" if broken else "")
                out.writerow(
                    [
                        *base,
                        roots.get(spki, ""),
                        spki,
                        sid,
                        info["name"] if info else sid,
                        info["kind"] if info else "",
                        status,
                        trusted,
                        failing,
                    ]
                )
    return buf.getvalue()
