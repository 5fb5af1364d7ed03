"""``tlsdiag fleet report`` through the CLI: formats, stdin, exit status, bad input not fatal."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

from typer.testing import CliRunner

from tlsdiag.cli.app import app

from helpers.fleet_docs import check, trust

runner = CliRunner()


def _results(tmp_path: Path) -> Path:
    root = tmp_path / "results"
    for host, stores in (("h1", {"certifi": "missing"}), ("h2", {"certifi": "trusted"})):
        (root / host).mkdir(parents=True)
        (root / host / "trust.json").write_text(json.dumps([trust(host, stores)]))
        (root / host / "check.json").write_text(json.dumps([check(host, "a.test:443")]))
    (root / "h3.json").write_text('{"schema": "tlsdiag.report", "comm')
    return root


def test_console_summary_exits_1_when_a_machine_lacks_the_root(tmp_path: Path) -> None:
    r = runner.invoke(app, ["fleet", "report", str(_results(tmp_path))])
    assert r.exit_code == 1, r.output
    assert "2 machines" in r.stdout and "Corp Inspection Root" in r.stdout
    assert "1 truncated" in r.stdout and "h3.json" in r.stdout
    assert "certifi" in r.stdout and "h1" in r.stdout


def test_json_csv_html(tmp_path: Path) -> None:
    results = _results(tmp_path)
    doc = json.loads(runner.invoke(app, ["fleet", "report", "--json", str(results)]).stdout)
    assert doc["command"] == "fleet" and doc["machine_count"] == 2
    assert doc["findings"][0]["code"] == "client.store_mismatch"
    out = tmp_path / "fleet.csv"
    r = runner.invoke(app, ["fleet", "report", "-f", "csv", "-o", str(out), str(results)])
    assert r.exit_code == 1 and r.stdout == ""
    rows = list(csv.DictReader(io.StringIO(out.read_text())))
    assert {(row["machine_id"], row["status"]) for row in rows} == {
        ("h1", "missing"),
        ("h2", "trusted"),
    }
    page = runner.invoke(app, ["fleet", "report", "--format", "html", str(results)]).stdout
    assert page.startswith("<!DOCTYPE html>") and "<script>" in page


def test_stdin_and_all_good_exits_0() -> None:
    lines = json.dumps(trust("h1", {"certifi": "trusted"})) + "\n"
    r = runner.invoke(app, ["fleet", "report", "--json", "-"], input=lines)
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)["machines"][0]["id"] == "h1"


def test_missing_path_is_reported_not_fatal(tmp_path: Path) -> None:
    r = runner.invoke(app, ["fleet", "report", "--json", str(tmp_path / "nope")])
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)["inputs"]["problems"] == {"unreadable": 1}
