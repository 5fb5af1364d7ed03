"""Console rendering of ``tlsdiag lab list``: one line per case."""

from __future__ import annotations

from tlsdiag.facts.lab import lab_list_facts
from tlsdiag.model import Report
from tlsdiag.render.term import Console


def render_lab_list(report: Report, console: Console) -> None:
    """Each case: name, description, the error codes ``check`` finds (or "(no error)").

    Args:
        report: the ``lab list`` report (fact ``cases``).
        console: where to print.
    """
    for c in lab_list_facts(report)["cases"]:
        expect = ", ".join(c["expect"]) or "(no error)"
        console.print(
            f"{c['case']:<18} {c['description']:<58} {expect}",
            markup=False,
            soft_wrap=True,
        )
