"""``demo``, ``ca path`` and ``lab list`` go through a Report like every command: ``--format
console|json|html`` and ``--output`` work, and the console output stays what it was."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tlsdiag.cli.app import app
from tlsdiag.lab.cases import CASES

runner = CliRunner()


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    d = tmp_path / "tlsdiag-home"
    monkeypatch.setenv("TLSDIAG_HOME", str(d))
    return d


def test_demo_in_every_format(tmp_path: Path) -> None:
    r = runner.invoke(app, ["demo", "--case", "expired", "--case", "good"])
    assert r.exit_code == 0, r.output
    lines = r.stdout.splitlines()
    assert lines[0].startswith("tlsdiag demo: 2 lab servers on 127.0.0.1")
    assert any(ln.startswith("expired ") and "server.cert_expired" in ln for ln in lines)
    assert any(ln.startswith("good ") and "works: no error found" in ln for ln in lines)
    assert "2/2 cases diagnosed as expected" in r.stdout

    r = runner.invoke(app, ["demo", "--case", "expired", "--format", "json"])
    doc = json.loads(r.stdout)
    assert doc["command"] == "demo" and doc["all_as_expected"] is True
    [case] = doc["cases"]
    assert case["case"] == "expired" and case["found"] == ["server.cert_expired"]
    assert case["report"]["command"] == "check"

    r = runner.invoke(app, ["demo", "--case", "expired", "--format", "html"])
    assert r.exit_code == 0 and r.stdout.startswith("<!doctype html>")
    assert "server.cert_expired" in r.stdout and "tlsdiag demo:" not in r.stdout

    out = tmp_path / "demo.txt"
    r = runner.invoke(app, ["demo", "--case", "expired", "--output", str(out)])
    assert r.exit_code == 0 and r.stdout == ""
    assert "1/1 cases diagnosed as expected" in out.read_text(encoding="utf-8")


def test_ca_path_in_every_format(home: Path) -> None:
    r = runner.invoke(app, ["ca", "path"])
    assert r.exit_code == 0
    assert r.stdout.splitlines() == [str(home), str(home / "ca.pem"), str(home / "ca-key.pem")]
    r = runner.invoke(app, ["ca", "path", "--format", "json"])
    doc = json.loads(r.stdout)
    assert doc["command"] == "ca path" and doc["cert"] == str(home / "ca.pem")
    assert doc["exists"] is False and doc["findings"] == []
    r = runner.invoke(app, ["ca", "path", "--format", "html"])
    assert r.exit_code == 0 and "ca-key.pem" in r.stdout and r.stdout.startswith("<!doctype")


def test_ca_path_console_prints_odd_paths_verbatim(tmp_path: Path) -> None:
    odd = tmp_path / "[bold]x[/bold] :smile:"
    r = runner.invoke(app, ["ca", "path", "--dir", str(odd)])
    assert r.stdout.splitlines()[0] == str(odd)


def test_lab_list_in_every_format() -> None:
    r = runner.invoke(app, ["lab", "list"])
    assert r.exit_code == 0
    first = CASES[0]
    expect = ", ".join(first.expect) or "(no error)"
    assert r.stdout.splitlines()[0] == f"{first.name:<18} {first.description:<58} {expect}"
    assert len(r.stdout.splitlines()) == len(CASES)
    doc = json.loads(runner.invoke(app, ["lab", "list", "--json"]).stdout)
    assert [c["case"] for c in doc["cases"]] == [c.name for c in CASES]
    r = runner.invoke(app, ["lab", "list", "--format", "html"])
    assert "incomplete-chain" in r.stdout and r.stdout.startswith("<!doctype")
