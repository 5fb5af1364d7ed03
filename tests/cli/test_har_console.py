"""``tlsdiag har`` on the console: the policy snippet to paste is printed as TOML lines."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from tlsdiag.cli.app import app

HAR = Path(__file__).resolve().parents[2] / "fixtures" / "har"


def test_har_console_prints_the_rule_as_lines() -> None:
    r = CliRunner().invoke(app, ["har", str(HAR / "firefox-blocked.har")])
    assert r.exit_code in (0, 1), r.output
    lines = [line.strip() for line in r.stdout.splitlines()]
    assert "[[rule]]" in lines and 'id = "page-domains"' in lines
    assert 'host = ["files.corp.example"]' in lines
    assert "\\n" not in r.stdout
