"""Turn the per-machine fleet state into the facts and findings of ``fleet report`` (pure).

The facts are the summary a rollout engineer reads: per inspection root (by SPKI fingerprint)
how many machines' stores trust it and which lack it, the most common failing check targets
and on which side, machines with a wrong clock, and the machines to fix first. ``machines``
lists every machine (the CSV and the HTML table are made from it).
"""

from __future__ import annotations

from collections import Counter

from tlsdiag import codes
from tlsdiag.core.findings import make_finding
from tlsdiag.core.fleet import SIDES, FleetAccumulator, MachineState, is_broken
from tlsdiag.facts.fleet import (
    ClockSkewRow,
    FixFirstRow,
    FleetFacts,
    FleetMachineRow,
    FleetRootRow,
    FleetRootStoreRow,
    FleetTargetRow,
)
from tlsdiag.model import SCHEMA_VERSION, Finding, Severity

SKEW_SECONDS = 300  # a clock this far off breaks Kerberos and makes certificates look invalid
TOP = 20  # failing targets and machines to fix first shown
NAMES_PER_STORE = 10  # machines named per store that lacks a root


def _label(m: MachineState) -> str:
    return m.info.get("hostname") or m.key


def _root_rows(acc: FleetAccumulator) -> list[FleetRootRow]:
    rows: list[FleetRootRow] = []
    for spki, root in acc.roots.items():
        machines = 0
        all_trust = 0
        per_store: dict[str, Counter[str]] = {}
        lacking_names: dict[str, list[str]] = {}
        for m in acc.machines.values():
            statuses = m.roots.get(spki)
            if statuses is None:
                continue
            machines += 1
            if not any(is_broken(s) for s in statuses.values()):
                all_trust += 1
            for sid, status in statuses.items():
                counter = per_store.setdefault(sid, Counter())
                counter["present"] += 1
                if status == "trusted":
                    counter["trusted"] += 1
                elif is_broken(status):
                    counter["lacking"] += 1
                    names = lacking_names.setdefault(sid, [])
                    if len(names) < NAMES_PER_STORE:
                        names.append(_label(m))
                else:
                    counter["unknown"] += 1
        stores: list[FleetRootStoreRow] = [
            {
                "id": sid,
                "name": acc.stores[sid]["name"] if sid in acc.stores else sid,
                "kind": acc.stores[sid]["kind"] if sid in acc.stores else "",
                "present": c["present"],
                "trusted": c["trusted"],
                "lacking": c["lacking"],
                "unknown": c["unknown"],
                "lacking_machines": lacking_names.get(sid, []),
            }
            for sid, c in per_store.items()
        ]
        stores.sort(key=lambda s: (-s["lacking"], -s["present"], s["id"]))
        rows.append(
            {
                "spki_sha256": spki,
                **root,
                "machines": machines,
                "machines_all_trust": all_trust,
                "stores": stores,
            }
        )
    rows.sort(key=lambda r: (-r["machines"], r["common_name"]))
    return rows


def _targets(acc: FleetAccumulator) -> tuple[list[FleetTargetRow], int]:
    checked: Counter[str] = Counter()
    failing: Counter[str] = Counter()
    sides: dict[str, Counter[str]] = {}
    found: dict[str, Counter[str]] = {}
    machines_checked = 0
    for m in acc.machines.values():
        machines_checked += bool(m.checks)
        for target, check in m.checks.items():
            checked[target] += 1
            if check.failed:
                failing[target] += 1
                sides.setdefault(target, Counter())[check.side] += 1
                found.setdefault(target, Counter()).update(check.codes)
    rows: list[FleetTargetRow] = [
        {
            "target": target,
            "checked": checked[target],
            "failing": n,
            "side": sides[target].most_common(1)[0][0],
            "sides": {s: sides[target][s] for s in SIDES if sides[target][s]},
            "codes": dict(found[target].most_common(5)),
        }
        for target, n in failing.most_common(TOP)
    ]
    return rows, machines_checked


def _skewed(m: MachineState) -> bool:
    return m.skew_finding or (m.skew is not None and abs(m.skew) >= SKEW_SECONDS)


def _machine_row(m: MachineState, acc: FleetAccumulator) -> FleetMachineRow:
    broken = sorted({sid for st in m.roots.values() for sid, s in st.items() if is_broken(s)})
    failing = sorted(t for t, c in m.checks.items() if c.failed)
    apps: list[str] = []
    for sid in broken:
        consumers = acc.stores[sid]["consumers"] if sid in acc.stores else []
        apps.extend(c for c in consumers if c not in apps)
    info = m.info.get
    return {
        "id": m.key,
        "identified": m.identified,
        "hostname": info("hostname", ""),
        "os": info("os", ""),
        "os_name": info("os_name", ""),
        "os_version": info("os_version", ""),
        "user": info("user", ""),
        "tool_version": info("tool_version", ""),
        "time": info("time", ""),
        "time_zone": info("time_zone", ""),
        "source": info("source", ""),
        "skew_seconds": m.skew,
        "clock_skew": _skewed(m),
        "trust_report": "trust" in m.stamps,
        "root_found": not m.no_root or bool(m.roots),
        "stores_checked": len({sid for st in m.roots.values() for sid in st}),
        "broken_stores": broken,
        "apps_affected": apps[:8],
        "checks": len(m.checks),
        "failing_targets": failing,
        "trust": {spki: dict(st) for spki, st in m.roots.items()},
    }


def fleet_facts(acc: FleetAccumulator) -> FleetFacts:
    """The facts of the fleet report.

    Args:
        acc: the state after every input was read.

    Returns:
        JSON-ready facts (documented in the README, section Fleet).
    """
    machines = [_machine_row(m, acc) for m in acc.machines.values()]
    machines.sort(key=lambda r: (-len(r["broken_stores"]), -len(r["failing_targets"]), r["id"]))
    fix_first: list[FixFirstRow] = [
        {
            "id": r["id"],
            "hostname": r["hostname"],
            "user": r["user"],
            "os_name": r["os_name"],
            "broken_stores": r["broken_stores"],
            "apps_affected": r["apps_affected"],
            "failing_targets": r["failing_targets"][:5],
        }
        for r in machines[:TOP]
        if r["broken_stores"] or r["failing_targets"]
    ]
    skew = sorted(
        (r for r in machines if r["clock_skew"]),
        key=lambda r: -abs(r["skew_seconds"] or 0),
    )
    targets, machines_checked = _targets(acc)
    newest_schema = max(acc.schema_versions, default=SCHEMA_VERSION)
    return {
        "inputs": {
            "documents": acc.documents,
            "reports_used": {c: acc.used[c] for c in ("trust", "check")},
            "superseded": acc.superseded,
            "duplicates": acc.duplicates,
            "problems": dict(acc.problems.most_common()),
            "problem_samples": list(acc.samples),
            "tool_versions": dict(acc.tool_versions.most_common()),
            "newer_schema": newest_schema > SCHEMA_VERSION,
        },
        "machine_count": len(machines),
        "machines_unidentified": sum(not r["identified"] for r in machines),
        "machines_without_trust": sum(
            not r["stores_checked"] and r["root_found"] for r in machines
        ),
        "machines_without_root": [
            r["hostname"] or r["id"] for r in machines if not r["root_found"]
        ],
        "machines_checked": machines_checked,
        "roots": _root_rows(acc),
        "failing_targets": targets,
        "clock_skew": [_skew_row(r) for r in skew[:TOP]],
        "clock_skew_count": len(skew),
        "fix_first": fix_first,
        "stores": acc.stores,
        "machines": machines,
    }


def _skew_row(r: FleetMachineRow) -> ClockSkewRow:
    return {
        "id": r["id"],
        "hostname": r["hostname"],
        "skew_seconds": r["skew_seconds"],
        "time_zone": r["time_zone"],
    }


def fleet_findings(facts: FleetFacts) -> list[Finding]:
    """Findings of the fleet report: roots some machines lack, targets failing, wrong clocks."""
    out: list[Finding] = []
    for root in facts["roots"]:
        lacking = root["machines"] - root["machines_all_trust"]
        if lacking:
            stores = [s["id"] for s in root["stores"] if s["lacking"]]
            out.append(
                make_finding(
                    codes.CLIENT_STORE_MISMATCH,
                    severity=Severity.ERROR,
                    title=f"{lacking} of {root['machines']} machines lack {root['common_name']} "
                    "in a store their apps use",
                    detail="stores lacking it: " + ", ".join(stores),
                    evidence={"spki_sha256": root["spki_sha256"], "stores": ", ".join(stores)},
                )
            )
    if facts["clock_skew_count"]:
        out.append(
            make_finding(
                codes.CLIENT_CLOCK_SKEW,
                severity=Severity.WARNING,
                title=f"{facts['clock_skew_count']} machines have a wrong clock",
                detail=f"off by {SKEW_SECONDS} s or more, or reported by the machine itself",
                evidence={"machines": ", ".join(r["hostname"] for r in facts["clock_skew"])},
            )
        )
    return out
