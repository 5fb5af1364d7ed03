"""The HTML report: one self-contained page (inline CSS, no script, no external asset, prints
well). Verdicts first; then per host the handshake, the chain as a diagram from leaf to root
with validity bars coloured by days left, and the findings with evidence and next steps; then
the bypassed-vs-inspected table, the trust matrix, the HAR, and how the report was made.

``check --format html`` gives the host view for each host; ``bundle`` writes the whole page as
``report.html``; other commands get their findings and facts."""

from __future__ import annotations

from collections.abc import Sequence

from tlsdiag.model import Report
from tlsdiag.render.html_host import host_section, issuer_section
from tlsdiag.render.html_parts import (
    document,
    esc,
    facts_pre,
    findings_block,
    verdict_list,
    worst,
)
from tlsdiag.render.html_tables import bundle_section, compare_section, har_section, trust_section

HOST_COMMANDS = frozenset({"check", "probe"})


def _generic(report: Report) -> str:
    return (
        f"<section><h2>{esc(report.command)} {esc(report.target)}</h2>"
        f'<p class="meta">generated {esc(report.generated_at)}</p>'
        + findings_block(report.findings)
        + facts_pre(report.facts)
        + "</section>"
    )


def _step_lines(bundle: Report | None) -> str:
    if bundle is None:
        return ""
    lines = [
        f'<li class="{"error" if s.get("status") == "failed" else "warning"}">'
        f"step {esc(s.get('step'))}: {esc(s.get('status'))} {esc(s.get('detail'))}</li>"
        for s in bundle.facts.get("steps") or []
        if s.get("status") != "ok"
    ]
    return f'<ul class="verdicts">{"".join(lines)}</ul>' if lines else ""


def to_html(reports: Sequence[Report]) -> str:
    """Render reports as one HTML document.

    Args:
        reports: any reports; ``bundle`` passes its own report first, then the others.

    Returns:
        The page's text (UTF-8, everything escaped).
    """
    bundle = next((r for r in reports if r.command == "bundle"), None)
    rest = [r for r in reports if r.command != "bundle"]
    hosts = [r for r in rest if r.command in HOST_COMMANDS]
    issuers = {r.target: r for r in rest if r.command == "issuer"}
    placed = {id(r) for r in hosts}
    parts = []
    if bundle is not None:
        parts.append(f"<h1>tlsdiag report: {esc(bundle.target)}</h1>")
        parts.append(
            f'<p class="meta">made {esc(bundle.generated_at)} by tlsdiag '
            f"{esc(bundle.tool_version)}</p>"
        )
        if bundle.facts.get("note"):
            parts.append(f"<p><b>Note:</b> {esc(bundle.facts['note'])}</p>")
    elif len(rest) == 1:
        parts.append(f"<h1>{esc(rest[0].command)} {esc(rest[0].target)}</h1>")
        parts.append(f'<p class="meta">generated {esc(rest[0].generated_at)}</p>')
    else:
        parts.append("<h1>tlsdiag report</h1>")
    parts.append(verdict_list(rest) + _step_lines(bundle))
    for report in hosts:
        parts.append(host_section(report))
        issuer = issuers.get(report.target)
        if issuer is not None:
            parts.append(issuer_section(issuer))
            placed.add(id(issuer))
    for report in rest:
        if id(report) in placed:
            continue
        match report.command:
            case "issuer":
                parts.append(
                    f"<section><h2>{esc(report.target)}</h2>{issuer_section(report)}</section>"
                )
            case "compare":
                parts.append(compare_section(report))
            case "trust":
                parts.append(trust_section(report))
            case "har":
                parts.append(har_section(report))
            case _:
                parts.append(_generic(report))
    if bundle is not None:
        parts.append(bundle_section(bundle))
    title = "tlsdiag report" if len(rest) != 1 else f"{rest[0].command} {rest[0].target}"
    body = "\n".join(parts)
    return document(
        title, f'<main class="{worst(f for r in rest for f in r.findings)}">{body}</main>'
    )
