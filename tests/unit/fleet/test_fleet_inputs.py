"""Reading result files: folders, zips, JSON lines, stdin, truncated and foreign files."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

from tlsdiag.stores.results import Document, Problem, read_inputs

from helpers.fleet_docs import check, trust


def _kinds(items: list[Document | Problem]) -> list[str]:
    return [i.kind if isinstance(i, Problem) else "doc" for i in items]


def test_folder_zip_and_json_lines(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "trust.json").write_text(json.dumps(trust("m1", {"certifi": "trusted"})))
    (tmp_path / "a" / "check.json").write_text(
        json.dumps([check("m1", "x.test:443"), check("m1", "y.test:443")], indent=2)
    )
    (tmp_path / "b.jsonl").write_text(
        json.dumps(trust("m2", {})) + "\n\n" + json.dumps(check("m2", "x.test:443")) + "\n"
    )
    with zipfile.ZipFile(tmp_path / "c.zip", "w") as zf:
        zf.writestr("host3/trust.json", json.dumps(trust("m3", {})))
        zf.writestr("host3/readme.txt", "hello")
    (tmp_path / "notes.txt").write_text("hello")
    items = list(read_inputs([str(tmp_path)]))
    assert _kinds(items) == ["doc", "doc", "doc", "skipped", "skipped", "doc", "doc", "doc"]
    sources = [i.source.removeprefix(str(tmp_path) + "/") for i in items]
    assert sources == [
        "b.jsonl:1",
        "b.jsonl:3",  # line numbers count the blank line
        "c.zip!host3/trust.json",
        "c.zip!host3/readme.txt",
        "notes.txt",
        "a/check.json[0]",
        "a/check.json[1]",
        "a/trust.json",
    ]


def test_truncated_not_json_missing_and_empty(tmp_path: Path) -> None:
    full = json.dumps(trust("m1", {"certifi": "trusted"}), indent=2)
    (tmp_path / "cut.json").write_text(full[: len(full) // 2])
    (tmp_path / "cut-string.json").write_text('{"schema": "tlsdi')
    (tmp_path / "html.json").write_text("<html>not json</html>")
    (tmp_path / "empty.json").write_text("")
    (tmp_path / "binary.json").write_bytes(b"\xff\xfe\x00")
    names = ["cut.json", "cut-string.json", "html.json", "empty.json", "binary.json", "nope"]
    items = list(read_inputs([str(tmp_path / n) for n in names]))
    assert _kinds(items) == [
        "truncated",
        "truncated",
        "not-json",
        "truncated",
        "not-json",
        "unreadable",
    ]


def test_a_broken_line_in_json_lines_spoils_only_that_line(tmp_path: Path) -> None:
    lines = [json.dumps(trust("m1", {})), '{"schema": "tls', json.dumps(trust("m2", {}))]
    (tmp_path / "r.jsonl").write_text("\n".join(lines))
    assert _kinds(list(read_inputs([str(tmp_path / "r.jsonl")]))) == ["doc", "truncated", "doc"]


def test_stdin_json_lines() -> None:
    stdin = io.StringIO(json.dumps(trust("m1", {})) + "\n" + json.dumps([check("m1", "a")]) + "\n")
    items = list(read_inputs(["-"], stdin))
    assert [i.source for i in items] == ["<stdin>:1", "<stdin>:2[0]"]


def test_a_broken_zip_is_a_problem(tmp_path: Path) -> None:
    (tmp_path / "bad.zip").write_bytes(b"PK\x03\x04 not really")
    (item,) = read_inputs([str(tmp_path / "bad.zip")])
    assert isinstance(item, Problem) and item.kind == "unreadable"
