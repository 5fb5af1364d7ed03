"""``lab`` end to end: list the lab cases, and check the ``lab serve`` options before the
servers start (``tlsdiag.lab`` builds the PKI and runs the servers)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

from tlsdiag import __version__
from tlsdiag.errors import UsageError
from tlsdiag.facts.lab import LabListFacts
from tlsdiag.lab.cases import CASE_NAMES, CASES, Lab
from tlsdiag.model import Report


def list_report() -> Report:
    """``lab list``: each case, what it demonstrates and the error codes ``check`` finds."""
    facts: LabListFacts = {
        "cases": [
            {"case": c.name, "description": c.description, "expect": list(c.expect)} for c in CASES
        ]
    }
    return Report(
        command="lab list",
        target="lab",
        generated_at=datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        facts=facts,
        tool_version=__version__,
    )


def open_lab(case: Sequence[str] | None, directory: Path | None) -> Lab:
    """``lab serve``: the lab to start (a context manager), after checking the options.

    Raises:
        UsageError: an unknown case, or a ``--dir`` that is not a directory or already holds
            ``lab-root.pem``.
    """
    names = tuple(case) if case else CASE_NAMES
    bad = [n for n in names if n not in CASE_NAMES]
    if bad:
        raise UsageError(f"unknown lab case {bad[0]!r}", f"cases: {', '.join(CASE_NAMES)}")
    if directory is not None and directory.exists() and not directory.is_dir():
        raise UsageError(f"--dir {directory}: exists and is not a directory")
    if directory is not None and not directory.exists() and not directory.parent.is_dir():
        raise UsageError(
            f"--dir {directory}: the folder {directory.parent} does not exist",
            "create it first (tlsdiag creates at most the last folder of --dir)",
        )
    if directory is not None and (directory / "lab-root.pem").exists():
        raise UsageError(
            f"--dir {directory}: lab-root.pem already exists; not overwriting it",
            "remove it or choose another directory",
        )
    return Lab(names=names, directory=directory)
