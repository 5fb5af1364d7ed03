"""HTML output of ``tlsdiag fleet report``: one self-contained page (no external assets).

Counts are drawn as CSS bars; the machines table sorts on a click of its header through a small
inline script. Every value is escaped.
"""

from __future__ import annotations

import html
from typing import Any

from tlsdiag.facts.fleet import (
    FleetFacts,
    FleetMachineRow,
    FleetRootRow,
    FleetTargetRow,
    fleet_facts,
)
from tlsdiag.model import Report

_CSS = """
body{font-family:system-ui,sans-serif;margin:2em auto;max-width:75em;color:#222}
h1{font-size:1.5em}h2{font-size:1.15em;margin-top:2em}
table{border-collapse:collapse;width:100%;font-size:.9em}
th,td{border-bottom:1px solid #ddd;padding:.3em .5em;text-align:left;vertical-align:top}
th{background:#f4f4f4}th.sort{cursor:pointer}th.sort:after{content:" \\2195";color:#999}
.bar{background:#eee;width:10em;height:.9em;display:inline-block;position:relative}
.bar span{display:block;height:100%;background:#2a8a3e}.bar.bad span{background:#c0392b}
.num{text-align:right;font-variant-numeric:tabular-nums}.bad{color:#b00}.muted{color:#777}
.error{color:#b00}.warning{color:#a60}.info{color:#06a}
"""

_SCRIPT = r"""
document.querySelectorAll("table.sortable").forEach(function(table){
  table.querySelectorAll("th").forEach(function(th, col){
    th.classList.add("sort");
    th.addEventListener("click", function(){
      var body = table.tBodies[0];
      var rows = Array.prototype.slice.call(body.rows);
      var asc = th.dataset.dir !== "asc";
      th.dataset.dir = asc ? "asc" : "desc";
      rows.sort(function(a, b){
        var x = a.cells[col].dataset.v || a.cells[col].textContent;
        var y = b.cells[col].dataset.v || b.cells[col].textContent;
        var nx = parseFloat(x), ny = parseFloat(y);
        var c = (!isNaN(nx) && !isNaN(ny)) ? nx - ny : x.localeCompare(y);
        return asc ? c : -c;
      });
      rows.forEach(function(r){ body.appendChild(r); });
    });
  });
});
// "#sort-N" in the address sorts the machines table by column N (links, tests)
var wanted = /^#sort-(\d+)$/.exec(location.hash);
if (wanted) {
  var th = document.querySelectorAll("#machines th")[Number(wanted[1])];
  if (th) { th.click(); }
}
document.body.setAttribute("data-sortable", "ready");
"""


def _e(value: Any) -> str:
    return html.escape(str(value))


def _bar(part: int, whole: int, bad: bool = False) -> str:
    pct = round(100 * part / whole) if whole else 0
    cls = "bar bad" if bad else "bar"
    return f'<span class="{cls}" title="{part}/{whole}"><span style="width:{pct}%"></span></span>'


def _inputs(facts: FleetFacts) -> str:
    inputs = facts["inputs"]
    used = inputs["reports_used"]
    items = [
        f"{facts['machine_count']} machines, {used['trust']} trust and {used['check']} check "
        f"reports from {inputs['documents']} JSON documents",
        "tlsdiag versions: "
        + ", ".join(f"{_e(v)} x{n}" for v, n in inputs["tool_versions"].items()),
    ]
    if inputs["superseded"]:
        items.append(f"{inputs['superseded']} older runs replaced by newer ones")
    if inputs["duplicates"]:
        items.append(f"{inputs['duplicates']} duplicate reports ignored")
    if facts["machines_unidentified"]:
        items.append(f"{facts['machines_unidentified']} machines without a machine block")
    for kind, n in inputs["problems"].items():
        items.append(f'<span class="warning">{n} inputs not used: {_e(kind)}</span>')
    samples = "".join(
        f"<li class=muted>{_e(s['source'])}: {_e(s['kind'])}: {_e(s['message'])}</li>"
        for s in inputs["problem_samples"][:20]
    )
    return "<ul>" + "".join(f"<li>{i}</li>" for i in items) + samples + "</ul>"


def _roots(roots: list[FleetRootRow]) -> str:
    parts: list[str] = []
    for root in roots:
        parts.append(
            f"<h2>Root {_e(root['common_name'])}</h2><p class=muted>SPKI sha256 "
            f"{_e(root['spki_sha256'])}; trusted by every store on "
            f"<b>{root['machines_all_trust']}</b> of {root['machines']} machines</p>"
        )
        rows = "".join(
            f"<tr><td>{_e(s['name'])}</td><td>{_e(s['kind'])}</td>"
            f"<td class=num data-v={s['trusted']}>{s['trusted']}/{s['present']}</td>"
            f"<td>{_bar(s['trusted'], s['present'])}</td>"
            f"<td class=num data-v={s['lacking']}>{s['lacking']}</td>"
            f"<td>{_e(', '.join(s['lacking_machines']))}</td></tr>"
            for s in root["stores"]
        )
        parts.append(
            '<table class="sortable stores"><thead><tr><th>store</th><th>kind</th>'
            "<th>trusted</th><th>coverage</th><th>lacking</th><th>lacking on</th></tr></thead>"
            f"<tbody>{rows}</tbody></table>"
        )
    return "".join(parts)


def _targets(targets: list[FleetTargetRow]) -> str:
    if not targets:
        return ""
    rows = "".join(
        f"<tr><td>{_e(t['target'])}</td><td class=num data-v={t['failing']}>"
        f"{t['failing']}/{t['checked']}</td><td>{_bar(t['failing'], t['checked'], True)}</td>"
        f"<td>{_e(t['side'])}</td><td>{_e(', '.join(t['codes']))}</td></tr>"
        for t in targets
    )
    return (
        '<h2>Failing check targets</h2><table class="sortable targets"><thead><tr>'
        "<th>target</th><th>failing</th><th></th><th>side</th><th>codes</th></tr></thead>"
        f"<tbody>{rows}</tbody></table>"
    )


def _machines(machines: list[FleetMachineRow]) -> str:
    rows = []
    for m in machines:
        skew = m["skew_seconds"]
        skew_cell = "" if skew is None else f"{skew:+.0f} s"
        broken = m["broken_stores"]
        rows.append(
            f"<tr><td>{_e(m['hostname'] or m['id'])}</td><td>{_e(m['user'])}</td>"
            f"<td>{_e(m['os_name'])}</td><td>{_e(m['tool_version'])}</td>"
            f"<td class=num data-v={len(broken)}>{len(broken)}</td>"
            f'<td class="bad">{_e(", ".join(broken))}</td>'
            f"<td class=num data-v={len(m['failing_targets'])}>{len(m['failing_targets'])}</td>"
            f"<td class=num data-v={abs(skew or 0):.0f}>{_e(skew_cell)}</td>"
            f"<td>{_e(m['time'])}</td></tr>"
        )
    return (
        '<h2>Machines (most broken first; click a header to sort)</h2><table class="sortable" '
        'id="machines"><thead><tr><th>machine</th><th>user</th><th>os</th><th>tlsdiag</th>'
        "<th>stores lacking</th><th>which</th><th>failing checks</th><th>clock skew</th>"
        f"<th>time</th></tr></thead><tbody>{''.join(rows)}</tbody></table>"
    )


def to_fleet_html(report: Report) -> str:
    """The fleet report as one self-contained HTML page.

    Args:
        report: a ``fleet`` report.

    Returns:
        The HTML document.
    """
    facts = fleet_facts(report)
    findings = "".join(
        f'<li class="{_e(f.severity.value)}"><b>{_e(f.code)}</b> {_e(f.title)}'
        f"<br><span class=muted>{_e(f.detail)}</span></li>"
        for f in report.sorted_findings()
    )
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>tlsdiag fleet report</title><style>{_CSS}</style></head><body>"
        f"<h1>tlsdiag fleet report</h1><p class=muted>generated {_e(report.generated_at)} "
        f"by tlsdiag {_e(report.tool_version)}</p>"
        f"{_inputs(facts)}<ul>{findings}</ul>{_roots(facts['roots'])}"
        f"{_targets(facts['failing_targets'])}{_machines(facts['machines'])}"
        f"<script>{_SCRIPT}</script></body></html>\n"
    )
