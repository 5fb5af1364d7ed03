"""``tlsdiag demo``: the lab, checked end to end, offline, in a few seconds."""

from __future__ import annotations

from typing import Annotated

import typer

from tlsdiag.cli._common import (
    FormatOpt,
    JsonOpt,
    OutputOpt,
    handle_errors,
    pick_format,
    write_output,
)
from tlsdiag.model import Format


def demo(
    case: Annotated[
        list[str] | None, typer.Option("--case", help="Only this lab case (repeatable).")
    ] = None,
    fmt: FormatOpt = Format.CONSOLE,
    as_json: JsonOpt = False,
    output: OutputOpt = None,
) -> None:
    """Start the built-in lab, check every case, print one verdict line per case.

    Works offline. Exit status 0 when every case got its expected diagnosis, 1 otherwise.
    """
    with handle_errors():
        import json
        import time

        from tlsdiag.errors import UsageError
        from tlsdiag.lab.cases import CASE_NAMES
        from tlsdiag.lab.demo import run_demo

        if case:
            bad = [c for c in case if c not in CASE_NAMES]
            if bad:
                raise UsageError(f"unknown lab case {bad[0]!r}", f"cases: {', '.join(CASE_NAMES)}")
        start = time.monotonic()
        lines = run_demo(case)
        elapsed = time.monotonic() - start
        ok = all(line.as_expected for line in lines)
        chosen = pick_format(fmt, as_json)
        if chosen is Format.JSON:
            data = {
                "schema": "tlsdiag.demo",
                "schema_version": 1,
                "all_as_expected": ok,
                "seconds": round(elapsed, 2),
                "cases": [
                    {
                        "case": ln.case,
                        "description": ln.description,
                        "expected": list(ln.expected),
                        "found": list(ln.found),
                        "as_expected": ln.as_expected,
                        "report": ln.report.to_dict(),
                    }
                    for ln in lines
                ],
            }
            write_output(json.dumps(data, indent=2), output)
        else:
            from tlsdiag.render.demo import demo_text, render_demo

            if output is not None:
                write_output(demo_text(lines, elapsed), output)
            else:
                render_demo(lines, elapsed)
    raise typer.Exit(0 if ok else 1)


def register(app: typer.Typer) -> None:
    """Add the command to the app."""
    app.command("demo")(demo)
