"""Pieces shared by the HTML report: escaping, the stylesheet, verdicts, findings, key/value
tables, and the certificate box with its validity bar (plain strings, everything escaped)."""

from __future__ import annotations

import html
import json
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from tlsdiag.kb.findings import where_of
from tlsdiag.model import Finding, Report, Severity

CSS = """
:root{--ok:#1a7f37;--warn:#b35900;--err:#c62828;--mute:#666;--line:#ddd}
body{font-family:system-ui,-apple-system,'Segoe UI',sans-serif;max-width:64em;margin:1.5em auto;
 padding:0 1em;color:#222;line-height:1.4}
h1{font-size:1.5em;margin:0 0 .3em}h2{font-size:1.25em;border-bottom:2px solid #333;
 padding-bottom:.2em;margin-top:2em}h3{font-size:1.05em;margin:1.2em 0 .4em}
.meta{color:var(--mute);font-size:.9em}
.verdicts{list-style:none;padding:0}.verdicts li{padding:.35em .6em;margin:.2em 0;
 border-left:6px solid var(--ok);background:#f6f8f6}
.verdicts li.error{border-color:var(--err);background:#fdf2f2}
.verdicts li.warning{border-color:var(--warn);background:#fff8ef}
.badge{display:inline-block;font-weight:bold;font-size:.8em;padding:0 .4em;border-radius:3px;
 color:#fff;background:var(--ok);margin-right:.4em}
.badge.error{background:var(--err)}.badge.warning{background:var(--warn)}
.badge.info{background:#1565c0}
table{border-collapse:collapse;margin:.4em 0;font-size:.92em}
tr.diff td{background:#fff3cd}tr.diff td.label::before{content:'\\2260 ';color:#b00}
.origin{font-weight:bold}
th,td{border:1px solid var(--line);padding:.25em .5em;text-align:left;vertical-align:top}
th{background:#f3f3f3}
table.kv th{width:13em}
.finding{border:1px solid var(--line);border-left:6px solid #1565c0;padding:.5em .8em;
 margin:.6em 0;break-inside:avoid}
.finding.error{border-left-color:var(--err)}.finding.warning{border-left-color:var(--warn)}
.finding .next{margin-top:.3em}.finding code{font-size:.95em}
.chain{display:flex;flex-direction:column;align-items:flex-start;gap:0}
.cert{border:1px solid #999;border-radius:6px;padding:.4em .7em;min-width:32em;
 max-width:100%;background:#fafafa;break-inside:avoid}
.cert.extra{border-style:dashed;background:#fff}
.cert .name{font-weight:bold}.cert .sub{color:var(--mute);font-size:.85em}
.arrow{margin-left:2em;color:var(--mute);font-size:.85em}
.bar{height:.7em;background:#eee;border-radius:3px;overflow:hidden;margin:.25em 0;width:100%}
.bar span{display:block;height:100%}
.ok{color:var(--ok)}.warn{color:var(--warn)}.err{color:var(--err)}
pre{background:#f4f4f4;padding:.6em;overflow:auto;font-size:.85em;white-space:pre-wrap}
@media print{body{max-width:none;margin:0}h2{break-before:auto}a{color:inherit}
 .finding,.cert,table{break-inside:avoid}}
"""


def esc(value: Any) -> str:
    """HTML-escaped text of any value (None as an empty string)."""
    return html.escape("" if value is None else str(value))


def document(title: str, body: str) -> str:
    """One self-contained page: inline CSS, no script, no external asset."""
    return (
        "<!doctype html>\n<html>\n<head><meta charset='utf-8'>"
        "<meta name='viewport' content='width=device-width,initial-scale=1'>"
        f"<title>{esc(title)}</title><style>{CSS}</style></head>\n<body>\n{body}\n</body></html>\n"
    )


def worst(findings: Iterable[Finding]) -> str:
    """``error``, ``warning`` or ``ok``."""
    sev = {f.severity for f in findings}
    return "error" if Severity.ERROR in sev else "warning" if Severity.WARNING in sev else "ok"


def verdict_text(report: Report) -> str:
    """One line: OK, or FAIL with the first error's title and where the problem is."""
    errors = [f for f in report.sorted_findings() if f.severity is Severity.ERROR]
    head = f"{report.command} {report.target}".strip()
    if errors:
        inspected = bool((report.facts.get("interception") or {}).get("inspected"))
        where = where_of(errors[0].code, errors[0].evidence, inspected)
        return f"FAIL {head}: {errors[0].title} (the problem is {where or 'see below'})"
    warnings = [f for f in report.findings if f.severity is Severity.WARNING]
    if warnings:
        return f"OK {head}, {len(warnings)} warning(s): {warnings[0].title}"
    return f"OK {head}"


def verdict_list(reports: Sequence[Report]) -> str:
    """The verdicts first: one coloured line per report."""
    items = "".join(f'<li class="{worst(r.findings)}">{esc(verdict_text(r))}</li>' for r in reports)
    return f'<h2 id="verdicts">Verdicts</h2><ul class="verdicts">{items}</ul>'


def kv_table(rows: Iterable[tuple[str, Any]]) -> str:
    """A two-column table (rows whose value is None or empty are left out)."""
    body = "".join(
        f"<tr><th>{esc(k)}</th><td>{esc(v)}</td></tr>" for k, v in rows if v not in (None, "")
    )
    return f'<table class="kv">{body}</table>' if body else ""


def table(headers: Sequence[str], rows: Iterable[Sequence[Any]], cls: str = "") -> str:
    """A table with a header row; cells are escaped unless given as ``Raw``."""
    head = "".join(f"<th>{esc(h)}</th>" for h in headers)
    body = "".join(
        "<tr>" + "".join(f"<td>{c if isinstance(c, Raw) else esc(c)}</td>" for c in row) + "</tr>"
        for row in rows
    )
    return f'<table class="{cls}"><tr>{head}</tr>{body}</table>'


class Raw(str):
    """Markup already escaped (a table cell that holds HTML)."""

    __slots__ = ()


def findings_block(findings: Sequence[Finding]) -> str:
    """Each finding: severity, code and title, what was seen, the evidence, the next step."""
    if not findings:
        return '<p class="ok">No findings.</p>'
    parts = []
    for f in sorted(findings, key=lambda f: f.severity.rank):
        sev = f.severity.value
        evidence = kv_table(f.evidence.items()) if f.evidence else ""
        parts.append(
            f'<div class="finding {sev}"><span class="badge {sev}">{esc(sev.upper())}</span>'
            f"<code>{esc(f.code)}</code> <b>{esc(f.title)}</b>"
            f"<div>{esc(f.detail)}</div>{evidence}"
            f'<div class="next"><b>Next step:</b> {esc(f.remediation)}</div></div>'
        )
    return "".join(parts)


def _parse(ts: str) -> datetime | None:
    try:
        value = datetime.fromisoformat(ts.replace("Z", "+00:00"))
    except (TypeError, ValueError):
        return None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def validity_bar(not_before: str, not_after: str, now_iso: str) -> str:
    """A bar of the certificate's lifetime (elapsed part filled), coloured by days left:
    green over 30 days, orange 30 or fewer, red under 8, expired or not yet valid."""
    start, end, now = _parse(not_before), _parse(not_after), _parse(now_iso)
    if start is None or end is None or now is None:
        return ""
    days_left = (end - now).total_seconds() / 86400
    life = max((end - start).total_seconds(), 1.0)
    elapsed = min(max((now - start).total_seconds() / life, 0.0), 1.0)
    if now < start:
        colour, label = "#c62828", f"not valid before {start:%Y-%m-%d}"
    elif days_left < 0:
        colour, label = "#c62828", f"expired {-days_left:.0f} days ago ({end:%Y-%m-%d})"
    else:
        colour = "#c62828" if days_left < 8 else "#e68a00" if days_left <= 30 else "#1a7f37"
        label = f"{days_left:.0f} days left (until {end:%Y-%m-%d})"
    return (
        f'<div class="bar" title="{esc(label)}" data-days-left="{days_left:.0f}">'
        f'<span style="width:{elapsed * 100:.0f}%;background:{colour}"></span></div>'
        f'<div class="sub">{esc(label)}</div>'
    )


def facts_pre(facts: Mapping[str, Any]) -> str:
    """All facts as indented JSON (the generic view)."""
    text = json.dumps(dict(facts), indent=2, ensure_ascii=False, default=str)
    return f"<details><summary>All facts (JSON)</summary><pre>{esc(text)}</pre></details>"
