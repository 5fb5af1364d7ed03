"""HTML sections of the report beyond one host: the trust matrix, the HAR's domains with the
bypassed-vs-inspected table, the compare results, and the bundle's steps and environment."""

from __future__ import annotations

from collections.abc import Mapping

from tlsdiag.facts.bundle import bundle_facts
from tlsdiag.facts.har import HarFacts, har_facts
from tlsdiag.model import Report
from tlsdiag.render.html_parts import Raw, esc, findings_block, kv_table, table

_STATUS_CLASS = {"trusted": "ok", "missing": "err", "absent": "", "no-root": ""}


def trust_section(report: Report) -> str:
    """The trust matrix: each store on this machine and whether it trusts the root."""
    facts = report.facts
    root = facts.get("root") or {}
    rows = []
    for s in facts.get("stores") or []:
        status = str(s.get("status", ""))
        cls = _STATUS_CLASS.get(status, "warn" if s.get("present") else "")
        fix = s.get("fix") or {}
        rows.append(
            [
                s.get("name"),
                s.get("kind"),
                "yes" if s.get("present") else "no",
                Raw(f'<span class="{cls}">{esc(status)}</span>'),
                s.get("location") or "",
                fix.get("summary") or fix.get("command") or "" if isinstance(fix, dict) else "",
            ]
        )
    head = kv_table(
        [
            ("Root", root.get("subject") if isinstance(root, Mapping) else None),
            ("SHA-256", root.get("sha256") if isinstance(root, Mapping) else None),
            ("Chosen by", (facts.get("selection") or {}).get("mode")),
            ("Platform", facts.get("platform")),
        ]
    )
    return (
        f'<section class="trust"><h2>Trust matrix: {esc(report.target)}</h2>{head}'
        + table(["Store", "Kind", "Present", "Status", "Location", "Fix"], rows)
        + "<h3>Findings</h3>"
        + findings_block(report.findings)
        + "</section>"
    )


def _handling_table(facts: HarFacts) -> str:
    if checks := facts.get("checks"):
        rows = [
            [c["host"], c["port"], c["handling"], c["issuer"], ", ".join(c["errors"])]
            for c in checks
        ]
        return "<h3>Bypassed vs inspected</h3>" + table(
            ["Host", "Port", "Handling", "Issuer seen", "Errors"], rows, "handling"
        )
    if policy := facts.get("policy"):
        rows = [[h["host"], h["action"], h["rule"]] for h in policy["hosts"]]
        return (
            f"<h3>Policy {esc(policy['file'])}: bypassed vs inspected</h3>"
            + table(["Host", "Action", "Rule"], rows, "handling")
            + kv_table([("Not covered by a bypass rule", ", ".join(policy["not_covered"]))])
        )
    return ""


def har_section(report: Report) -> str:
    """The HAR: domains (registrable) with their hosts and counts, failed requests."""
    facts = har_facts(report)
    rows = [
        [
            d["domain"],
            h["host"],
            h["requests"],
            h["failed"],
            ", ".join(f"{k}: {v}" for k, v in h["statuses"].items()),
            h.get("handling", ""),
        ]
        for d in facts["domains"]
        for h in d["hosts"]
    ]
    failed = [
        [f["host"], f["method"], f["status"], f["problem"], f["url"]]
        for f in facts["failed_requests"]
    ]
    return (
        f'<section class="har"><h2>HAR: {esc(report.target)}</h2>'
        + kv_table(
            [
                ("Entries", facts["entries"]),
                ("Host names", facts["hosts"]),
                ("Failed or blocked requests", facts["failed_total"]),
                ("Recorded by", facts["creator"]),
            ]
        )
        + _handling_table(facts)
        + "<h3>Domains</h3>"
        + table(["Domain", "Host", "Requests", "Failed", "Statuses", "Handling"], rows)
        + (
            "<h3>Failed or blocked requests</h3>"
            + table(["Host", "Method", "Status", "Problem", "URL (redacted)"], failed)
            if failed
            else ""
        )
        + "<h3>Findings</h3>"
        + findings_block(report.findings)
        + "</section>"
    )


def compare_section(report: Report) -> str:
    """A ``compare`` report: both paths side by side, differences marked, verdict, findings."""
    from tlsdiag.render.compare import compare_body

    return (
        f'<section class="compare"><h2>Bypassed vs inspected: {esc(report.target)}</h2>'
        + compare_body(report)
        + findings_block(report.findings)
        + "</section>"
    )


def bundle_section(report: Report) -> str:
    """The bundle's own report: note, steps (failed ones first in colour), environment."""
    facts = bundle_facts(report)
    steps = [
        [
            s["step"],
            Raw(
                f'<span class="{ {"ok": "ok", "failed": "err"}.get(s["status"], "warn") }">'
                f"{esc(s['status'])}</span>"
            ),
            s["detail"],
            s["seconds"],
        ]
        for s in facts["steps"]
    ]
    env = facts["environment"]
    versions, when, clock, proxy, os_ = (
        env["versions"],
        env["time"],
        env["clock"],
        env["proxy"],
        env["os"],
    )
    platform_proxy = "; ".join(
        ", ".join(f"{k}={v}" for k, v in p.items()) for p in (proxy["platform"] if proxy else [])
    )
    if clock is None:
        skew: object = ""
    elif clock["skew_seconds"] is not None:
        skew = f"{clock['skew_seconds']} s against {clock.get('host')}"
    else:
        skew = clock.get("note", "")
    return (
        '<section class="bundle"><h2>How this report was made</h2>'
        + kv_table(
            [
                ("Note", facts["note"]),
                ("Command", facts["command_line"]),
                ("OS", f"{os_['name']} ({os_['system']} {os_['release']})" if os_ else ""),
                (
                    "Versions",
                    ", ".join(f"{k} {v}" for k, v in versions.items()) if versions else "",
                ),
                ("Local time", when["local"] if when else None),
                ("Time zone", f"{when['time_zone']} (UTC{when['utc_offset']})" if when else ""),
                ("Clock skew", skew),
                (
                    "Proxy (environment)",
                    ", ".join(f"{k}={v}" for k, v in proxy["environment"].items()) if proxy else "",
                ),
                ("Proxy (platform)", platform_proxy),
            ]
        )
        + "<h3>Steps</h3>"
        + table(["Step", "Status", "Detail", "Seconds"], steps)
        + "</section>"
    )
