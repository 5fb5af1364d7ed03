"""The fleet fold and summary: newest wins, duplicates, foreign input, sides, the rankings."""

from __future__ import annotations

import csv
import io
from typing import Any

from tlsdiag.core.fleet import FleetAccumulator, side_of
from tlsdiag.core.fleet_summary import fleet_facts, fleet_findings
from tlsdiag.facts.fleet import FleetFacts
from tlsdiag.model import Report
from tlsdiag.render.fleet_csv import to_csv

from helpers.fleet_docs import ROOT_SPKI, check, trust


def _facts(*docs: dict[str, Any]) -> FleetFacts:
    acc = FleetAccumulator()
    for i, doc in enumerate(docs):
        acc.add(doc, f"in/{i}.json")
    return fleet_facts(acc)


def test_per_root_store_counts_and_who_lacks_it() -> None:
    facts = _facts(
        trust("m1", {"os-debian": "trusted", "certifi": "missing", "java": "trusted"}),
        trust("m2", {"os-debian": "trusted", "certifi": "trusted"}),
        trust("m3", {"os-debian": "missing", "certifi": "missing", "node": "unknown"}),
    )
    assert facts["machine_count"] == 3
    (root,) = facts["roots"]
    assert root["spki_sha256"] == ROOT_SPKI and root["machines"] == 3
    assert root["machines_all_trust"] == 1
    stores = {s["id"]: s for s in root["stores"]}
    assert stores["certifi"] | {
        "lacking_machines": sorted(stores["certifi"]["lacking_machines"])
    } == {
        "id": "certifi",
        "name": "certifi store",
        "kind": "library",
        "present": 3,
        "trusted": 1,
        "lacking": 2,
        "unknown": 0,
        "lacking_machines": ["m1", "m3"],
    }
    assert stores["java"]["present"] == 1 and stores["node"]["unknown"] == 1
    assert root["stores"][0]["id"] == "certifi"  # most lacking first
    # the most broken machine comes first; a machine that lacks nothing is not listed
    assert [m["id"] for m in facts["fix_first"]] == ["m3", "m1"]
    assert facts["fix_first"][0]["broken_stores"] == ["certifi", "os-debian"]
    assert "certifi-app" in facts["fix_first"][0]["apps_affected"]


def test_absent_stores_are_not_counted() -> None:
    doc = trust("m1", {"certifi": "trusted"})
    doc["stores"].append({"id": "firefox", "present": False, "status": "absent"})
    (root,) = _facts(doc)["roots"]
    assert [s["id"] for s in root["stores"]] == ["certifi"]


def test_newest_run_wins_and_duplicates_are_counted_once() -> None:
    old = trust("m1", {"certifi": "missing"}, time="2026-11-01T00:00:00Z")
    new = trust("m1", {"certifi": "trusted"}, time="2026-11-02T00:00:00Z")
    acc = FleetAccumulator()
    for doc in (old, new, new, old):
        acc.add(doc, "x.json")
    facts = fleet_facts(acc)
    assert facts["machine_count"] == 1
    assert facts["roots"][0]["stores"][0]["trusted"] == 1
    assert facts["inputs"]["superseded"] == 2 and facts["inputs"]["duplicates"] == 1
    assert facts["machines"][0]["time"] == "2026-11-02T00:00:00Z"
    assert fleet_findings(facts) == []


def test_checks_of_an_older_run_are_replaced() -> None:
    facts = _facts(
        check("m1", "a.test:443", ("server.cert_expired",), time="2026-11-01T00:00:00Z"),
        check("m1", "b.test:443", time="2026-11-02T00:00:00Z"),
    )
    assert facts["failing_targets"] == [] and facts["machines"][0]["checks"] == 1


def test_foreign_truncated_and_other_commands_are_reported_not_fatal() -> None:
    acc = FleetAccumulator()
    acc.add({"hello": 1}, "a.json")
    acc.add([1, 2], "b.json")
    acc.add({"schema": "tlsdiag.report", "command": "chain"}, "c.json")
    acc.add(trust(None, {}) | {"stores": 5}, "d.json")
    acc.problem("e.json", "truncated", "truncated: Expecting value")
    acc.add(trust("m1", {"certifi": "trusted"}), "f.json")
    facts = fleet_facts(acc)
    assert facts["inputs"]["problems"] == {
        "foreign": 2,
        "other-command": 1,
        "malformed": 1,
        "truncated": 1,
    }
    assert [s["source"] for s in facts["inputs"]["problem_samples"]] == [
        "a.json",
        "b.json",
        "c.json",
        "d.json",
        "e.json",
    ]
    assert facts["machine_count"] == 2  # m1, and d.json's machine-less report


def test_versions_and_machines_without_a_machine_block() -> None:
    old = trust(None, {"certifi": "missing"}, version="0.0.9")
    facts = _facts(old, trust("m1", {"certifi": "trusted"}))
    assert facts["inputs"]["tool_versions"] == {"0.0.9": 1, "0.1.0": 1}
    assert facts["machines_unidentified"] == 1
    lacking = facts["roots"][0]["stores"][0]["lacking_machines"]
    assert lacking == ["in (no machine block)"]


def test_failing_targets_and_their_side() -> None:
    facts = _facts(
        check("m1", "pypi.org:443", ("client.root_not_trusted",)),
        check("m2", "pypi.org:443", ("client.root_not_trusted",)),
        check("m3", "pypi.org:443"),
        check("m1", "old.test:443", ("server.cert_expired",)),
        check("m2", "proxy.test:443", ("server.untrusted_root",), inspected=True),
    )
    by_target = {t["target"]: t for t in facts["failing_targets"]}
    assert facts["failing_targets"][0]["target"] == "pypi.org:443"
    assert by_target["pypi.org:443"] | {} == {
        "target": "pypi.org:443",
        "checked": 3,
        "failing": 2,
        "side": "client",
        "sides": {"client": 2},
        "codes": {"client.root_not_trusted": 2},
    }
    assert by_target["old.test:443"]["side"] == "server"
    assert by_target["proxy.test:443"]["side"] == "inspection"
    assert facts["machines_checked"] == 3


def test_side_of() -> None:
    assert side_of((), False) == ""
    assert side_of(("network.reset",), False) == "network"
    assert side_of(("network.reset", "server.cert_expired"), False) == "server"
    assert side_of(("server.cert_expired", "client.clock_skew"), True) == "client"
    assert side_of(("policy.blocked",), False) == "inspection"


def test_clock_skew_from_the_trust_clock_and_from_findings() -> None:
    skewed = trust("m1", {"certifi": "trusted"}, skew=-7200.0)
    small = trust("m2", {"certifi": "trusted"}, skew=12.0)
    reported = check("m3", "a.test:443", ("client.clock_skew",))
    facts = _facts(skewed, small, reported)
    assert [m["id"] for m in facts["clock_skew"]] == ["m1", "m3"]
    assert facts["clock_skew"][0]["skew_seconds"] == -7200.0
    assert [f.code for f in fleet_findings(facts)] == ["client.clock_skew"]


def test_csv_has_one_row_per_machine_and_store() -> None:
    facts = _facts(
        trust("m1", {"os-debian": "trusted", "certifi": "missing"}),
        trust("m2", {"os-debian": "trusted"}),
        check("m3", "a.test:443", ("server.cert_expired",)),
    )
    report = Report("fleet", "3 machines", "2026-11-20T10:00:00Z", facts=facts)
    rows = list(csv.DictReader(io.StringIO(to_csv(report))))
    assert [(r["machine_id"], r["store"], r["trusts_root"]) for r in rows] == [
        ("m1", "os-debian", "yes"),
        ("m1", "certifi", "no"),
        ("m3", "", ""),
        ("m2", "os-debian", "yes"),
    ]
    assert rows[0]["root"] == "Corp Inspection Root" and rows[2]["failing_checks"] == "1"
