"""A self-contained HTML page for a ticket (everything escaped)."""

from __future__ import annotations

import html
import json
from collections.abc import Sequence

from tlsdiag.model import Report

_CSS = (
    "body{font-family:sans-serif;max-width:60em;margin:2em auto}"
    ".error{color:#b00}.warning{color:#a60}.info{color:#06a}"
    "pre{background:#f4f4f4;padding:1em;overflow:auto}"
)


def _report_html(report: Report) -> str:
    parts = [f"<h2>{html.escape(report.command)} {html.escape(report.target)}</h2>"]
    parts.append(f"<p>generated {html.escape(report.generated_at)}</p>")
    if report.findings:
        parts.append("<ul>")
        for f in report.sorted_findings():
            sev = html.escape(f.severity.value)
            parts.append(
                f'<li class="{sev}"><b>{sev.upper()} {html.escape(f.code)}</b>: '
                f"{html.escape(f.title)}<br>{html.escape(f.detail)}"
                f"<br><i>next step:</i> {html.escape(f.remediation)}</li>"
            )
        parts.append("</ul>")
    else:
        parts.append("<p>No findings.</p>")
    facts = json.dumps(dict(report.facts), indent=2, ensure_ascii=False, default=str)
    parts.append(f"<pre>{html.escape(facts)}</pre>")
    return "\n".join(parts)


def to_html(reports: Sequence[Report]) -> str:
    """Render reports as one HTML document."""
    body = "\n<hr>\n".join(_report_html(r) for r in reports)
    return (
        "<!doctype html><html><head><meta charset='utf-8'><title>tlsdiag report</title>"
        f"<style>{_CSS}</style></head><body>{body}</body></html>"
    )
