"""Bad streams and output paths cost the user nothing: a closed or empty stdin, a closed pipe
or a full device on stdout, non-ASCII output, and every way an output path could lose a file
(an existing file, the input itself, a symlink, a missing folder) get one ``error:`` line and
the documented exit status."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from tlsdiag.cli.app import app
from tlsdiag.lab.pki import make_ca

from helpers.bad_input import NOW, TARGET_COMMANDS, one_line_error, run_tlsdiag

runner = CliRunner()

# ------------------------------------------------------------------ stdin states


def _closed_stdin() -> None:
    os.close(0)


@pytest.mark.parametrize(
    ("args", "code"),
    [
        (["chain", "-"], 2),
        (["explain", "-"], 2),
        (["explain"], 2),
        (["explain", "--file", "-"], 2),
        (["fleet", "report", "-"], 2),
        (["fleet", "report", "--json", "-"], 2),
    ],
)
def test_closed_stdin_is_an_input_error(args: list[str], code: int) -> None:
    p = run_tlsdiag(args, preexec_fn=_closed_stdin)
    assert p.returncode == code, p.stderr
    assert p.stderr.startswith("error: ") and "Traceback" not in p.stderr


@pytest.mark.parametrize("args", [["chain", "-"], ["explain", "-"], ["fleet", "report", "-"]])
def test_a_closed_stdin_object_is_an_input_error(args: list[str]) -> None:
    """``sys.stdin`` present but closed (not just file descriptor 0 missing)."""
    code = (
        "import sys; sys.stdin.close(); sys.argv = ['tlsdiag', *sys.argv[1:]]; "
        "from tlsdiag.cli.app import main; main()"
    )
    p = subprocess.run(
        [sys.executable, "-c", code, *args], capture_output=True, text=True, timeout=60
    )
    assert p.returncode == 2, p.stderr
    assert p.stderr.startswith("error: stdin") and "Traceback" not in p.stderr


def test_empty_stdin_is_an_input_error() -> None:
    for args in (["chain", "-"], ["explain", "-"]):
        p = run_tlsdiag(args, stdin=subprocess.DEVNULL)
        assert p.returncode == 2 and p.stderr.startswith("error: "), p.stderr


# ------------------------------------------------------------------ stdout states

TEXT = "curl: (60) SSL certificate problem: unable to get local issuer certificate"


def _explain_into(stdout: Any) -> subprocess.CompletedProcess[str]:
    """``tlsdiag explain TEXT`` with its stdout on ``stdout`` (a descriptor or a file)."""
    return subprocess.run(
        [sys.executable, "-m", "tlsdiag", "explain", TEXT],
        stdout=stdout,
        stderr=subprocess.PIPE,
        text=True,
        timeout=60,
    )


def test_closed_pipe_exits_141_without_a_false_verdict() -> None:
    read, write = os.pipe()
    os.close(read)
    try:
        p = _explain_into(write)
    finally:
        os.close(write)
    assert p.returncode == 141, p.stderr
    assert "Traceback" not in p.stderr and "Exception ignored" not in p.stderr


def test_full_stdout_device_exits_141_with_one_line() -> None:
    with open("/dev/full", "w") as full:
        p = _explain_into(full)
    assert p.returncode == 141, p.stderr
    assert p.stderr.startswith("error: stdout") and "Traceback" not in p.stderr


def test_ascii_stdout_escapes_non_ascii_output() -> None:
    env = {**os.environ, "PYTHONIOENCODING": "ascii"}
    p = run_tlsdiag(["explain", "☃ " + TEXT], env=env)
    assert p.returncode == 0, p.stderr
    assert "\\u2603" in p.stdout and "Traceback" not in p.stderr


def test_console_output_to_a_pipe_is_never_cut_at_80_columns(tmp_path: Path) -> None:
    ca = tmp_path / "long.pem"
    org = "Inspection Organisation " + "x" * 36 + " END"
    ca.write_bytes(make_ca("Inspection Root " + "y" * 40, now=NOW, org=org).cert_pem)
    p = run_tlsdiag(["chain", str(ca)])
    assert " END" in p.stdout, p.stdout


# ------------------------------------------------------------------ output paths


def test_output_file_rules(tmp_path: Path, pem: Path) -> None:
    out = tmp_path / "report.json"
    r = runner.invoke(app, ["chain", str(pem), "--json", "-o", str(out)])
    assert r.exit_code in (0, 1) and json.loads(out.read_text())["command"] == "chain"
    out.write_text("precious")
    r = runner.invoke(app, ["chain", str(pem), "--json", "-o", str(out)])
    one_line_error(r)
    assert "already exists" in r.stderr and "--force" in r.stderr
    assert out.read_text() == "precious"
    r = runner.invoke(app, ["chain", str(pem), "--json", "-o", str(out), "--force"])
    assert r.exit_code in (0, 1) and out.read_text().startswith("{")
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]


def test_output_that_is_the_input_is_refused_even_with_force(tmp_path: Path, pem: Path) -> None:
    copy = tmp_path / "chain.pem"
    copy.write_bytes(pem.read_bytes())
    log = tmp_path / "log.txt"
    log.write_text(TEXT)
    for args in (
        ["chain", str(copy), "-o", str(copy), "--force"],
        ["explain", "--file", str(log), "-o", str(log), "--force"],
        ["check", "127.0.0.1:1", "--cafile", str(copy), "-o", str(copy), "--force"],
    ):
        r = runner.invoke(app, args)
        one_line_error(r)
        assert "also an input" in r.stderr
    assert copy.read_bytes() == pem.read_bytes() and log.read_text() == TEXT


def test_a_symlink_at_the_output_path_is_never_followed(tmp_path: Path, pem: Path) -> None:
    victim = tmp_path / "victim.txt"
    victim.write_text("keep me")
    link = tmp_path / "out.json"
    link.symlink_to(victim)
    r = runner.invoke(app, ["chain", str(pem), "--json", "-o", str(link)])
    one_line_error(r)
    r = runner.invoke(app, ["chain", str(pem), "--json", "-o", str(link), "--force"])
    assert r.exit_code in (0, 1), r.output
    assert victim.read_text() == "keep me" and not link.is_symlink()
    dangling = tmp_path / "dangling.json"
    dangling.symlink_to(tmp_path / "nowhere.json")
    r = runner.invoke(app, ["chain", str(pem), "--json", "-o", str(dangling)])
    one_line_error(r)
    assert not (tmp_path / "nowhere.json").exists()


@pytest.mark.parametrize(
    "args",
    [
        ["explain", TEXT],
        ["explain", "--code", "server.chain_incomplete"],
        ["ca", "trust-help"],
        ["ca", "path"],
        ["lab", "list"],
    ],
    ids=lambda a: " ".join(a[:2]),
)
def test_every_command_refuses_to_overwrite(args: list[str], tmp_path: Path) -> None:
    out = tmp_path / "existing.txt"
    out.write_text("precious")
    r = runner.invoke(app, [*args, "-o", str(out)], env={"TLSDIAG_HOME": str(tmp_path / "h")})
    one_line_error(r)
    assert out.read_text() == "precious"


def test_output_into_a_missing_folder_is_refused(tmp_path: Path, pem: Path) -> None:
    r = runner.invoke(app, ["chain", str(pem), "-o", str(tmp_path / "no" / "such" / "r.txt")])
    one_line_error(r)
    assert not (tmp_path / "no").exists()


def test_fleet_lists_special_files_as_unreadable_without_blocking(fifo: Path) -> None:
    r = runner.invoke(app, ["fleet", "report", "--json", "/dev/zero", str(fifo)])
    assert "Traceback" not in r.output and "failed unexpectedly" not in r.output
    text = r.stdout
    assert "/dev/zero" in text and str(fifo) in text and "not a regular file" in text


@pytest.mark.parametrize("command", [*TARGET_COMMANDS, ["trust", "--from-host"]], ids=str)
def test_an_existing_output_is_refused_before_any_network_step(
    command: list[str], tmp_path: Path
) -> None:
    out = tmp_path / "existing.json"
    out.write_text("precious")
    r = runner.invoke(app, [*command, "a.test", "-o", str(out)])  # a.test: the guard would fail
    one_line_error(r)
    assert "already exists" in r.stderr and out.read_text() == "precious"


def _new_command_outputs(pem: Path, out: Path) -> list[list[str]]:
    har = str(pem.with_name("page.har"))
    saved = str(pem.with_name("saved.json"))
    return [
        ["har", har, "-o", str(out)],
        ["compare", saved, saved, "-o", str(out)],
        ["fleet", "report", saved, "-o", str(out)],
        ["bundle", "a.test", "--no-compare", "-o", str(out)],
        ["probe", "--scan", "a.test", "-o", str(out)],
    ]


@pytest.mark.parametrize("at_output", ["file", "symlink", "dangling-symlink", "directory"])
def test_new_commands_never_replace_an_output_without_force(
    at_output: str, pem: Path, tmp_path: Path
) -> None:
    out = tmp_path / "out.txt"
    victim = tmp_path / "victim.txt"
    victim.write_text("precious")
    match at_output:
        case "file":
            out.write_text("precious")
        case "symlink":
            out.symlink_to(victim)
        case "dangling-symlink":
            out.symlink_to(tmp_path / "nowhere.txt")
        case "directory":
            out.mkdir()
    for args in _new_command_outputs(pem, out):
        r = runner.invoke(app, args)
        one_line_error(r)
        assert victim.read_text() == "precious", args
        assert not (tmp_path / "nowhere.txt").exists(), args
    assert out.is_dir() or out.is_symlink() or out.read_text() == "precious"


@pytest.mark.parametrize("command", ["har", "compare", "fleet", "bundle"])
def test_new_commands_never_write_over_their_input(command: str, tmp_path: Path) -> None:
    har = tmp_path / "page.har"
    har.write_text('{"log": {"version": "1.2", "entries": []}}')
    saved = tmp_path / "saved.json"
    saved.write_text(json.dumps({"command": "check", "endpoint": {"host": "a.test"}}))
    args = {
        "har": ["har", str(har), "-o", str(har)],
        "compare": ["compare", str(saved), str(saved), "-o", str(saved)],
        "fleet": ["fleet", "report", str(saved), "-o", str(saved)],
        "bundle": ["bundle", "a.test", "--no-compare", "--har", str(har), "-o", str(har)],
    }[command]
    before = {p: p.read_bytes() for p in (har, saved)}
    r = runner.invoke(app, [*args, "--force"])
    one_line_error(r)
    assert "also an input" in r.stderr
    assert {p: p.read_bytes() for p in (har, saved)} == before


def test_new_commands_replace_a_symlink_with_force_never_its_target(
    pem: Path, tmp_path: Path
) -> None:
    victim = tmp_path / "victim.txt"
    victim.write_text("precious")
    for args in _new_command_outputs(pem, tmp_path / "out.txt")[:3]:
        out = tmp_path / "out.txt"
        out.unlink(missing_ok=True)
        out.symlink_to(victim)
        r = runner.invoke(app, [*args, "--force"])
        assert r.exit_code in (0, 1), r.output
        assert victim.read_text() == "precious" and not out.is_symlink(), args
