"""Checks shared by the bad-input CLI tests (tests/cli/test_bad_*.py)."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime
from typing import Any

NOW = datetime.now(UTC)
TARGET_COMMANDS = (["check"], ["probe"], ["issuer"])
NEW_TARGET_COMMANDS = (["compare"], ["bundle", "--no-compare"], ["probe", "--scan"])


def one_line_error(r: object, code: int = 2) -> None:
    out = r.stderr  # type: ignore[attr-defined]
    assert r.exit_code == code, (r.exit_code, r.output)  # type: ignore[attr-defined]
    assert out.startswith("error: "), out
    assert "Traceback" not in out and "failed unexpectedly" not in out
    assert len([line for line in out.splitlines() if line.startswith("error:")]) == 1


def run_tlsdiag(args: list[str], **kw: Any) -> subprocess.CompletedProcess[str]:
    capture: bool = kw.pop("capture", True)
    timeout: float = kw.pop("timeout", 60)
    return subprocess.run(
        [sys.executable, "-m", "tlsdiag", *args],
        capture_output=capture,
        text=True,
        timeout=timeout,
        **kw,
    )
