"""tlsdiag's own command path never imports rich (issue 17: ~25 ms per command): console
output goes through ``tlsdiag.render.term``. typer still depends on rich for its help screen,
so this looks at the commands that render reports, run as real processes."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tlsdiag.lab.cases import Lab

pytestmark = pytest.mark.integration


def _imported(args: list[str]) -> tuple[subprocess.CompletedProcess[str], set[str]]:
    """Run ``python -X importtime -m tlsdiag ARGS``: the process and every module it imported."""
    proc = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "tlsdiag", *args],
        capture_output=True,
        text=True,
        env={**os.environ, "TLSDIAG_NO_CACHE": "1"},
        timeout=60,
    )
    modules = {
        line.rsplit("|", 1)[1].strip()
        for line in proc.stderr.splitlines()
        if line.startswith("import time:") and "|" in line
    }
    return proc, modules


def _rich(modules: set[str]) -> list[str]:
    return sorted(m for m in modules if m == "rich" or m.startswith("rich."))


@pytest.mark.parametrize("case", ["good", "expired"])
def test_check_renders_without_rich(lab: Lab, case: str) -> None:
    c = lab.cases[case]
    proc, modules = _imported(
        ["check", c.target, "--resolve", c.resolve, "--cafile", str(lab.root_pem_path)]
    )
    assert proc.returncode == (0 if case == "good" else 1), proc.stderr[-2000:]
    assert ("OK  TLS to" if case == "good" else "FAIL  ") in proc.stdout
    assert "tlsdiag.render.term" in modules  # the console renderer really ran
    assert _rich(modules) == []


@pytest.mark.parametrize(
    "args",
    [
        ["explain", "curl: (60) SSL certificate problem: unable to get local issuer certificate"],
        ["explain", "--code", "server.chain_incomplete"],
    ],
)
def test_explain_renders_without_rich(args: list[str]) -> None:
    proc, modules = _imported(args)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "tlsdiag.render.explain" in modules and "tlsdiag.render.term" in modules
    assert _rich(modules) == []
