"""The HTML report in headless Chromium: built from lab results by check --format html, it
renders to a PNG (kept as a test artifact, path printed) and its text holds the key facts."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tlsdiag.cli.app import app
from tlsdiag.lab.cases import Lab

from helpers import chromium

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(
        not chromium.installed(), reason="headless Chromium is not installed (chromium)"
    ),
]


def test_check_html_renders_in_chromium(lab: Lab, tmp_path: Path) -> None:
    page = tmp_path / "report.html"
    args = ["check", lab.cases["expired"].target, lab.cases["good"].target]
    for name in ("expired", "good"):
        args += ["--resolve", lab.cases[name].resolve]
    args += ["--cafile", str(lab.root_pem_path), "--format", "html", "-o", str(page)]
    r = CliRunner().invoke(app, args)
    assert r.exit_code == 1, r.output
    text = page.read_text(encoding="utf-8")
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", text)  # self-contained
    assert "<script" not in text

    png = tmp_path / "report.png"
    shot = chromium.run_chromium(
        tmp_path, f"--screenshot={png}", "--window-size=1200,2400", page.as_uri()
    )
    assert png.exists() and png.stat().st_size > 10_000, shot.stderr[-2000:]
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    print(f"\nHTML report screenshot: {png}")

    dom = chromium.run_chromium(tmp_path, "--dump-dom", page.as_uri()).stdout
    assert dom, "no DOM dumped"
    verdicts = dom.index('id="verdicts"')
    assert verdicts < dom.index("Chain (leaf to root)")  # verdicts first
    assert "FAIL check expired.lab.test" in dom and "OK check good.lab.test" in dom
    assert "server.cert_expired" in dom and "Next step:" in dom
    assert "Lab Test Intermediate CA" in dom
    assert re.search(r"expired \d+ days ago", dom)
    assert re.search(r"\d+ days left", dom)
    # the expired leaf's bar is red, the good leaf's green
    assert "background:#c62828" in dom and "background:#1a7f37" in dom
