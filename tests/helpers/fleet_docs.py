"""Hand-built trust and check reports (as JSON dicts) for the fleet tests."""

from __future__ import annotations

from typing import Any

ROOT_SPKI = "ab" * 32


def machine(mid: str, time: str = "2026-11-20T10:00:00Z", host: str = "") -> dict[str, Any]:
    return {
        "id": mid,
        "id_source": "env",
        "hostname": host or mid,
        "os": "linux",
        "os_name": "Debian GNU/Linux 12 (bookworm)",
        "os_version": "12",
        "arch": "x86_64",
        "user": "alice",
        "tool_version": "0.1.0",
        "python_version": "3.11.7",
        "time": time,
        "time_zone": "CET",
        "utc_offset": "+01:00",
    }


def store(sid: str, status: str, kind: str = "library", present: bool = True) -> dict[str, Any]:
    return {
        "id": sid,
        "name": f"{sid} store",
        "kind": kind,
        "instance": None,
        "present": present,
        "trusts_root": {"trusted": True, "absent": None}.get(status, False),
        "status": status,
        "consumers": [f"{sid}-app"],
    }


def trust(
    mid: str | None,
    stores: dict[str, str],
    *,
    time: str = "2026-11-20T10:00:00Z",
    skew: float | None = None,
    version: str = "0.1.0",
) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "schema": "tlsdiag.report",
        "schema_version": 1,
        "tool_version": version,
        "command": "trust",
        "target": "Corp Inspection Root",
        "generated_at": time,
        "root": {
            "subject": "CN=Corp Inspection Root",
            "common_name": "Corp Inspection Root",
            "sha256": "cd" * 32,
            "spki_sha256": ROOT_SPKI,
            "not_after": "2030-01-01T00:00:00Z",
        },
        "clock": {"skew_seconds": skew, "time_zone": "CET"},
        "stores": [store(s, st) for s, st in stores.items()],
        "findings": [],
    }
    if mid is not None:
        doc["machine"] = machine(mid, time)
    return doc


def check(
    mid: str,
    target: str,
    errors: tuple[str, ...] = (),
    *,
    inspected: bool = False,
    time: str = "2026-11-20T10:00:00Z",
) -> dict[str, Any]:
    return {
        "schema": "tlsdiag.report",
        "schema_version": 1,
        "tool_version": "0.1.0",
        "command": "check",
        "target": target,
        "generated_at": time,
        "machine": machine(mid, time),
        "interception": {"inspected": inspected},
        "findings": [{"code": c, "severity": "error", "title": c} for c in errors],
    }
