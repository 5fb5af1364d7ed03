"""Console rendering of proxy events, the CA and trust help (hand-built reports)."""

from __future__ import annotations

import io
from datetime import UTC, datetime

from tlsdiag.facts.proxy import EventFilters
from tlsdiag.model import Report
from tlsdiag.proxy.events import ProxyEvent
from tlsdiag.proxy.report import events_report
from tlsdiag.render.proxy import render_events, render_trust_help
from tlsdiag.render.term import Console

NO_FILTERS: EventFilters = {"host": None, "action": None, "errors": False, "last": None}


def _report() -> Report:
    events = [
        ProxyEvent(
            time="2026-11-21T10:00:00.000Z",
            host="good.test",
            sni="good.test",
            port=443,
            action="inspect",
            tls_inspection=1,
            upstream_version="TLSv1.3",
            bytes_up=10,
            bytes_down=20,
        ).to_dict(),
        ProxyEvent(
            time="2026-11-21T10:00:01.000Z",
            host="old.test",
            sni="old.test",
            port=443,
            action="block",
            tls_inspection=1,
            finding="legacy.protocol_version",
            tls_error_description="protocol version",
            tls_error_side="server",
            detail="no TLS version in common",
        ).to_dict(),
    ]
    return events_report(
        events, source="ev.jsonl", now=datetime.now(UTC), filters=NO_FILTERS, total=2
    )


def _render(width: int) -> str:
    console = Console(file=io.StringIO(), width=width, no_color=True)
    render_events(_report(), console)
    out = console.file.getvalue()  # type: ignore[attr-defined]
    return str(out)


def test_wide_table_and_narrow_lines_show_the_same_facts() -> None:
    for width in (140, 80):
        out = _render(width)
        assert "good.test:443" in out and "old.test:443" in out
        assert "legacy.protocol_version" in out and "protocol version" in out
        assert "2 shown of 2 (inspect 1, block 1; inspected 2)" in out
    assert "up/down" in _render(140)  # the table header only on wide consoles
    assert "up/down" not in _render(80)


def test_trust_help_lists_steps() -> None:
    report = Report(
        command="ca trust-help",
        target="/x/ca.pem",
        generated_at="2026-11-21T10:00:00Z",
        facts={
            "platform": "linux",
            "ca_cert": "/x/ca.pem",
            "ca_exists": False,
            "stores": [
                {
                    "name": "Linux system store",
                    "scope": "system",
                    "steps": ["sudo update-ca-certificates"],
                    "note": "",
                }
            ],
        },
    )
    console = Console(file=io.StringIO(), width=100, no_color=True)
    render_trust_help(report, console)
    out = console.file.getvalue()  # type: ignore[attr-defined]
    assert "tlsdiag ca init" in out and "sudo update-ca-certificates" in out
