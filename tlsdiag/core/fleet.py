"""Fold many machines' ``trust`` and ``check`` reports into per-machine state (pure, streaming).

A :class:`FleetAccumulator` takes one parsed JSON value at a time and keeps only a small state
per machine (its newest run of each command): memory grows with the number of machines, not
with the number or size of the files. Newest wins: a machine's older run of a command is
dropped when a newer one arrives (``superseded``); the same run seen twice counts as a
``duplicate``. Foreign values (not a tlsdiag report, another command) are counted, not fatal.
:mod:`tlsdiag.core.fleet_summary` turns the state into the report's facts.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from tlsdiag import codes
from tlsdiag.facts.fleet import FleetRootInfo, FleetStoreInfo, ProblemSample
from tlsdiag.kb.findings import findings
from tlsdiag.model import SCHEMA

COMMANDS = ("trust", "check")
SIDES = ("client", "inspection", "server", "network")
PROBLEM_SAMPLES = 50  # problems listed by name; the rest are only counted

# Store statuses from ``tlsdiag trust``, worst first: a machine's store with several instances
# (two JDKs) takes the worst of them.
_BROKEN = ("missing", "present-expired", "present-untrusted", "file-missing")
_ORDER = {s: i for i, s in enumerate((*_BROKEN, "unreadable", "unknown", "verification-disabled"))}


def is_broken(status: str) -> bool:
    """True for a store that is present and does not trust the root."""
    return status in _BROKEN


def worse(a: str, b: str) -> str:
    """The worse of two store statuses (``trusted`` is the best)."""
    return a if _ORDER.get(a, 99) <= _ORDER.get(b, 99) else b


@dataclass(slots=True)
class CheckState:
    """One ``check`` target on one machine: failed or not, on which side, the error codes."""

    failed: bool
    side: str
    codes: tuple[str, ...]


@dataclass(slots=True)
class MachineState:
    """What is kept of one machine: its identity and its newest run of each command."""

    key: str
    identified: bool
    info: dict[str, str] = field(default_factory=dict)
    stamps: dict[str, str] = field(default_factory=dict)
    roots: dict[str, dict[str, str]] = field(default_factory=dict)  # spki -> store id -> status
    no_root: bool = False
    skew: float | None = None
    skew_finding: bool = False
    checks: dict[str, CheckState] = field(default_factory=dict)


@dataclass(slots=True)
class FleetAccumulator:
    """The streaming fold; feed it with :meth:`add` and :meth:`problem`."""

    machines: dict[str, MachineState] = field(default_factory=dict)
    roots: dict[str, FleetRootInfo] = field(default_factory=dict)  # by SPKI
    stores: dict[str, FleetStoreInfo] = field(default_factory=dict)  # by store id
    documents: int = 0
    used: Counter[str] = field(default_factory=Counter)  # command -> reports taken
    superseded: int = 0
    duplicates: int = 0
    problems: Counter[str] = field(default_factory=Counter)
    samples: list[ProblemSample] = field(default_factory=list)
    tool_versions: Counter[str] = field(default_factory=Counter)  # per report read
    schema_versions: Counter[int] = field(default_factory=Counter)

    def problem(self, source: str, kind: str, message: str) -> None:
        """Record an input that was not used (counted; the first few kept by name)."""
        self.problems[kind] += 1
        if len(self.samples) < PROBLEM_SAMPLES:
            self.samples.append({"source": source, "kind": kind, "message": message})

    def add(self, value: Any, source: str) -> None:
        """Take one parsed JSON value (normally one report) from ``source``."""
        self.documents += 1
        if not isinstance(value, dict) or value.get("schema") != SCHEMA:
            self.problem(source, "foreign", "not a tlsdiag report")
            return
        command = value.get("command")
        if command not in COMMANDS:
            self.problem(source, "other-command", f"a tlsdiag {command!r} report")
            return
        try:
            self._add_report(value, str(command), source)
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            self.problem(source, "malformed", f"{type(exc).__name__}: {exc}")

    def _machine(self, report: dict[str, Any], source: str) -> MachineState:
        block = report.get("machine")
        if isinstance(block, dict) and block.get("id"):
            key, identified = str(block["id"]), True
        else:
            # Results of a tlsdiag without the machine block: one machine per folder.
            parent = source.replace("\\", "/").rsplit("/", 1)[0] if "/" in source else source
            key, identified = f"unidentified:{parent}", False
        state = self.machines.get(key)
        if state is None:
            state = self.machines[key] = MachineState(key, identified)
        return state

    def _add_report(self, report: dict[str, Any], command: str, source: str) -> None:
        version = str(report.get("tool_version") or "unknown")
        self.tool_versions[version] += 1
        schema = report.get("schema_version")
        self.schema_versions[schema if isinstance(schema, int) else 0] += 1
        machine = self._machine(report, source)
        raw_block = report.get("machine")
        block: dict[str, Any] = raw_block if isinstance(raw_block, dict) else {}
        stamp = str(block.get("time") or report.get("generated_at") or "")
        current = machine.stamps.get(command)
        if current is not None and stamp < current:
            self.superseded += 1
            return
        if current is None or stamp > current:
            if current is not None:
                self.superseded += 1
                _reset(machine, command)
            machine.stamps[command] = stamp
        if not machine.info or stamp >= max(machine.stamps.values()):
            machine.info = _info(block, version, source)
            if not machine.identified:
                machine.info["hostname"] = (
                    machine.key.split(":", 1)[1].rsplit("/", 1)[-1] + " (no machine block)"
                )
        if command == "trust":
            fresh = self._add_trust(machine, report)
        else:
            fresh = self._add_check(machine, report)
        if fresh:
            self.used[command] += 1
        else:
            self.duplicates += 1

    def _add_trust(self, machine: MachineState, report: dict[str, Any]) -> bool:
        clock = report.get("clock") or {}
        if isinstance(clock.get("skew_seconds"), int | float):
            machine.skew = float(clock["skew_seconds"])
        if any(f.get("code") == codes.CLIENT_CLOCK_SKEW for f in report.get("findings") or ()):
            machine.skew_finding = True
        root = report.get("root")
        if not isinstance(root, dict):
            machine.no_root = True
            return True
        spki = str(root.get("spki_sha256") or root.get("sha256"))
        if spki in machine.roots:
            return False
        if spki not in self.roots:
            self.roots[spki] = {
                "subject": str(root.get("subject", "")),
                "common_name": str(root.get("common_name") or root.get("subject", "")),
                "sha256": str(root.get("sha256", "")),
                "not_after": str(root.get("not_after", "")),
            }
        statuses: dict[str, str] = {}
        for store in report.get("stores") or ():
            if not store.get("present"):
                continue
            sid = str(store["id"])
            status = str(store.get("status") or "unknown")
            statuses[sid] = worse(status, statuses[sid]) if sid in statuses else status
            if sid not in self.stores:
                self.stores[sid] = {
                    "name": str(store.get("name", sid)),
                    "kind": str(store.get("kind", "")),
                    "consumers": [str(c) for c in store.get("consumers") or ()][:6],
                }
        machine.roots[spki] = statuses
        return True

    def _add_check(self, machine: MachineState, report: dict[str, Any]) -> bool:
        target = str(report.get("target", ""))
        if target in machine.checks:
            return False
        found = [f for f in report.get("findings") or () if isinstance(f, dict)]
        if any(f.get("code") == codes.CLIENT_CLOCK_SKEW for f in found):
            machine.skew_finding = True
        errors = tuple(str(f.get("code")) for f in found if f.get("severity") == "error")
        inspected = bool((report.get("interception") or {}).get("inspected"))
        machine.checks[target] = CheckState(bool(errors), side_of(errors, inspected), errors)
        return True


def side_of(error_codes: tuple[str, ...], inspected: bool) -> str:
    """Where a failing check is to be fixed: ``client``, ``inspection``, ``server``, ``network``.

    The side of each code comes from ``data/findings.toml`` (``where``). A client-side error
    wins (the machine must change); on an inspected connection the rest is the inspecting
    proxy's (it made the chain this machine saw); otherwise the server's, then the network's.

    Args:
        error_codes: the check's error-level finding codes.
        inspected: the check saw TLS inspection.

    Returns:
        The side, or ``""`` when the check did not fail.
    """
    if not error_codes:
        return ""
    known = findings()
    wheres = {known[c].where if c in known else c.split(".", 1)[0] for c in error_codes}
    if "client" in wheres:
        return "client"
    if inspected or "inspection" in wheres:
        return "inspection"
    return "server" if "server" in wheres else "network"


def _reset(machine: MachineState, command: str) -> None:
    if command == "trust":
        machine.roots.clear()
        machine.no_root = False
        machine.skew = None
        machine.skew_finding = False
    else:
        machine.checks.clear()


def _info(block: dict[str, Any], version: str, source: str) -> dict[str, str]:
    keys = ("hostname", "os", "os_name", "os_version", "user", "time", "time_zone", "utc_offset")
    info = {k: str(block.get(k) or "") for k in keys}
    info["tool_version"] = str(block.get("tool_version") or version)
    info["source"] = source
    return info
