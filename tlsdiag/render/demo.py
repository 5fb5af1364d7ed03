"""Console rendering of ``tlsdiag demo``: one verdict line per lab case."""

from __future__ import annotations

from tlsdiag.facts.lab import DemoCaseFacts, demo_facts
from tlsdiag.model import Report
from tlsdiag.render.term import Console, escape


def _line(case: DemoCaseFacts) -> str:
    findings = case["report"]["findings"]  # errors first, as Report.to_dict sorts them
    errors = [f for f in findings if f["severity"] == "error"]
    if errors:
        verdict = f"[red]{escape(errors[0]['code'])}[/]: {escape(errors[0]['title'])}"
        if len(errors) > 1:
            verdict += f" [dim](+{len(errors) - 1} more)[/]"
    else:
        verdict = "[green]works[/]: no error found"
    expected = ", ".join(case["expected"]) or "no error"
    mark = (
        "[green]as expected[/]"
        if case["as_expected"]
        else f"[bold red]UNEXPECTED[/] (expected {escape(expected)})"
    )
    return f"{case['case']:<18} {verdict}  {mark}"


def render_demo_report(report: Report, console: Console) -> None:
    """The demo: a header, one line per case, the tally.

    Args:
        report: the ``demo`` report (facts ``cases``, ``seconds``).
        console: where to print.
    """
    facts = demo_facts(report)
    cases = facts["cases"]
    console.print(
        f"[bold]tlsdiag demo[/]: {len(cases)} lab servers on 127.0.0.1, "
        f"each checked with `tlsdiag check`\n"
    )
    for case in cases:
        console.print(_line(case))
    good = sum(bool(case["as_expected"]) for case in cases)
    console.print(
        f"\n{good}/{len(cases)} cases diagnosed as expected in {facts['seconds']:.1f} s. "
        "See one in full: tlsdiag lab serve, then run a printed command."
    )
