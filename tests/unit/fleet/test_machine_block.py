"""The machine block: stable, overridable id, nothing secret, serialised by the report."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tlsdiag.core.machine import hashed_id, machine_block
from tlsdiag.model import Report
from tlsdiag.stores import machine as M

NOW = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)


def test_env_id_wins_and_block_has_the_documented_keys(monkeypatch: pytest.MonkeyPatch) -> None:
    block = machine_block(M.gather({"TLSDIAG_MACHINE_ID": " laptop-17 "}, NOW), now=NOW)
    assert block["id"] == "laptop-17" and block["id_source"] == "env"
    assert set(block) == {
        "id",
        "id_source",
        "hostname",
        "os",
        "os_name",
        "os_version",
        "arch",
        "user",
        "tool_version",
        "python_version",
        "time",
        "time_zone",
        "utc_offset",
    }
    assert block["time"] == "2026-11-20T10:00:00Z"
    assert block["utc_offset"][0] in "+-"


def test_system_id_is_hashed_with_a_salt(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    raw = "3d1219c7c4c5404aaa1f6d2a48adfda4"
    (tmp_path / "machine-id").write_text(raw + "\n")
    monkeypatch.setattr(M, "_ID_FILES", (tmp_path / "machine-id",))
    ident, source = M.machine_id({})
    assert source == "machine-id" and ident == hashed_id(raw)
    assert raw not in ident and len(ident) == 32
    assert hashed_id(raw.upper()) == ident  # stable across spellings


def test_generated_id_is_kept_in_the_config_dir(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(M, "_ID_FILES", ())
    monkeypatch.setattr(M, "_system_id", lambda: None)
    env = {"TLSDIAG_HOME": str(tmp_path / "cfg")}
    first = M.machine_id(env)
    assert first[1] == "generated" and M.machine_id(env) == first
    assert (tmp_path / "cfg" / "machine-id").read_text().strip() == first[0]


def test_report_serialises_the_block_after_the_envelope() -> None:
    plain = Report("trust", "x", "2026-11-20T10:00:00Z")
    assert "machine" not in plain.to_dict()
    with_block = M.attach_machine([plain], {"TLSDIAG_MACHINE_ID": "m1"}, NOW)[0]
    doc = with_block.to_dict()
    assert list(doc)[:7] == [
        "schema",
        "schema_version",
        "tool_version",
        "command",
        "target",
        "generated_at",
        "machine",
    ]
    assert doc["machine"]["id"] == "m1"
    text = json.dumps(doc)
    assert "TLSDIAG_MACHINE_ID" not in text and "PATH" not in text
