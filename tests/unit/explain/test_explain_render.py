"""Console rendering of explain reports (hand-built reports, no engine)."""

from __future__ import annotations

import io
from collections.abc import Mapping
from typing import Any

from tlsdiag.facts.explain import CauseFacts, ExplainFacts, InspectionFacts
from tlsdiag.model import Report
from tlsdiag.render.explain import CONSOLE_CAUSES, render_explain
from tlsdiag.render.term import Console


def render(facts: Mapping[str, Any]) -> str:
    buf = io.StringIO()
    report = Report(command="explain", target="t", generated_at="2026-11-21T00:00:00Z", facts=facts)
    render_explain(report, Console(file=buf, width=100, no_color=True))
    return buf.getvalue()


def text_facts(**given: Any) -> ExplainFacts:
    """Complete ``explain`` facts of a text: ``given`` over empty defaults."""
    inspection: InspectionFacts = {
        "inspected": None,
        "source": "none",
        "vendors": [],
        "evidence": [],
        "proxy_seen": False,
    }
    facts: ExplainFacts = {
        "input": {"source": "argument", "characters": 0, "truncated": False},
        "recognised": False,
        "host": None,
        "port": None,
        "public_host": False,
        "clients": [],
        "inspection": inspection,
        "matches": [],
        "causes": [],
        "suggestions": [],
        "notes": [],
    }
    return {**facts, **given}  # type: ignore[typeddict-item]  # given: keys of ExplainFacts


def cause(code: str, score: float) -> CauseFacts:
    return {
        "code": code,
        "score": score,
        "title": f"title of {code}",
        "why": f"why {code}",
        "meaning": f"means {code}",
        "inspection": f"inspected {code}",
        "next": f"do {code}",
        "check": f"tlsdiag check x.example  # {code}",
        "patterns": [],
    }


def test_recognised_report_shows_matches_context_and_ranked_causes() -> None:
    facts = text_facts(
        input={"source": "stdin", "characters": 30, "truncated": False},
        recognised=True,
        host="x.example",
        port=8443,
        inspection={
            "inspected": True,
            "source": "text",
            "vendors": ["Zscaler"],
            "evidence": [],
            "proxy_seen": False,
        },
        matches=[
            {
                "pattern": "curl-60",
                "client": "curl",
                "client_name": "curl",
                "line": 4,
                "excerpt": "curl: (60) [boom]",
                "meaning": "curl failed",
            }
        ],
        causes=[cause(f"c.{i}", 0.9 - i * 0.1) for i in range(8)],
    )
    out = render(facts)
    assert "Recognised 1 error message" in out and "line 4" in out
    assert "curl: (60) [boom]" in out  # rich markup in the text is escaped, not interpreted
    assert "inspected" in out and "Zscaler" in out
    assert "Host: x.example:8443" in out
    assert out.index("1. title of c.0") < out.index("2. title of c.1")
    assert f"{CONSOLE_CAUSES}. title of c.{CONSOLE_CAUSES - 1}" in out
    assert f"title of c.{CONSOLE_CAUSES}" not in out
    assert "less likely cause(s) in --json" in out
    assert "under inspection: inspected c.0" in out and "do: do c.0" in out


def test_unrecognised_report_says_so_and_lists_suggestions() -> None:
    facts = text_facts(
        suggestions=[
            {
                "pattern": "openssl-20",
                "client": "openssl",
                "example": "verify error:num=20:unable to get",
                "similarity": 0.5,
            }
        ],
    )
    out = render(facts)
    assert "No known TLS error recognised" in out
    assert "openssl: verify error:num=20" in out
    assert "Likely causes" not in out


def test_code_explanation() -> None:
    out = render(
        {
            "explanation": {
                "code": "server.chain_incomplete",
                "title": "T",
                "severity": "error",
                "where": "server",
                "meaning": "M",
                "inspection": "I",
                "next": "N",
                "check": "tlsdiag check <host>",
            }
        }
    )
    assert "server.chain_incomplete" in out and "means: M" in out
    assert "check: tlsdiag check <host>" in out and "do: N" in out
