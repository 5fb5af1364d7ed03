"""Event lines: appended and flushed per connection, read back, filtered, summarised."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tlsdiag.errors import InputError
from tlsdiag.facts.proxy import EventFilters
from tlsdiag.proxy.events import FIELD_NAMES, EventLog, ProxyEvent, filter_events, read_events
from tlsdiag.proxy.report import events_report, is_error_event

NO_FILTERS: EventFilters = {"host": None, "action": None, "errors": False, "last": None}


def _ev(host: str, action: str, finding: str = "", alert: str = "") -> ProxyEvent:
    return ProxyEvent(
        host=host,
        port=443,
        sni=host,
        action=action,
        finding=finding,
        tls_error_description=alert,
        tls_inspection=int(action != "bypass"),
    )


def test_each_event_is_flushed_as_one_json_line(tmp_path: Path) -> None:
    path = tmp_path / "events.jsonl"
    log = EventLog(path)
    log.write(_ev("a.test", "inspect"))
    # Readable before close: flushed per line.
    lines = path.read_text().splitlines()
    assert len(lines) == 1
    rec = json.loads(lines[0])
    assert set(rec) == set(FIELD_NAMES)
    for key in (
        "tls_inspection",
        "tls_error_description",
        "tls_certificate_error",
        "tls_error_type",
        "finding",
        "bytes_up",
        "bytes_down",
        "duration_ms",
    ):
        assert key in rec
    log.write(_ev("b.test", "block", "server.cert_expired", "certificate expired"))
    log.close()
    log2 = EventLog(path)  # append, never truncate
    log2.write(_ev("c.test", "bypass"))
    log2.close()
    assert [e["host"] for e in read_events(path)] == ["a.test", "b.test", "c.test"]


def test_filters_and_error_detection() -> None:
    events = [
        _ev("a.test", "inspect").to_dict(),
        _ev("b.test", "block", "server.cert_expired", "certificate expired").to_dict(),
        _ev("push.apple.com", "bypass", "platform.default_bypass").to_dict(),
    ]
    assert [e["host"] for e in filter_events(events, host="B.TEST")] == ["b.test"]
    assert [e["host"] for e in filter_events(events, action="bypass")] == ["push.apple.com"]
    assert [is_error_event(e) for e in events] == [False, True, False]


def test_report_has_one_finding_per_code_and_host() -> None:
    events = [
        _ev("b.test", "block", "server.cert_expired", "certificate expired").to_dict()
        for _ in range(3)
    ]
    report = events_report(events, source="x", now=datetime.now(UTC), filters=NO_FILTERS, total=3)
    assert len(report.findings) == 1
    assert report.findings[0].evidence["connections"] == "3"
    assert report.exit_code == 1
    assert report.to_dict()["summary"]["by_action"] == {"block": 3}


def test_read_events_errors(tmp_path: Path) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text("hello\nworld\n")
    with pytest.raises(InputError):
        read_events(bad)
    with pytest.raises(InputError):
        read_events(tmp_path)
    mixed = tmp_path / "mixed.jsonl"
    mixed.write_text('garbage\n{"host": "a", "action": "inspect"}\n{"partial": \n')
    assert len(read_events(mixed)) == 1


def test_a_missing_events_folder_is_an_input_error_not_created(tmp_path: Path) -> None:
    from tlsdiag.errors import InputError

    with pytest.raises(InputError, match="does not exist"):
        EventLog(tmp_path / "no" / "such" / "events.jsonl")
    assert not (tmp_path / "no").exists()
