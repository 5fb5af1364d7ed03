"""Bad input costs the user nothing: every command, driven through each class of bad input
(target spellings, numeric options, special files, stdin states, output paths, ALPN, empty
expectations), answers with one ``error:`` line and exit 2 (or the documented status), never an
internal error, a hang or a lost file."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from tlsdiag.cli.app import app
from tlsdiag.lab.pki import make_ca

runner = CliRunner()
NOW = datetime.now(UTC)

TARGET_COMMANDS = (["check"], ["probe"], ["issuer"])
NEW_TARGET_COMMANDS = (["compare"], ["bundle", "--no-compare"], ["probe", "--scan"])


def _one_line_error(r: object, code: int = 2) -> None:
    out = r.stderr  # type: ignore[attr-defined]
    assert r.exit_code == code, (r.exit_code, r.output)  # type: ignore[attr-defined]
    assert out.startswith("error: "), out
    assert "Traceback" not in out and "failed unexpectedly" not in out
    assert len([line for line in out.splitlines() if line.startswith("error:")]) == 1


@pytest.fixture(scope="module")
def pem(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("pem") / "root.pem"
    path.write_bytes(make_ca("Bad Input Root", now=NOW).cert_pem)
    path.with_name("page.har").write_text('{"log": {"version": "1.2", "entries": []}}')
    saved = {"command": "check", "endpoint": {"host": "a.test", "port": 443}, "findings": []}
    path.with_name("saved.json").write_text(json.dumps(saved))
    return path


@pytest.fixture()
def fifo(tmp_path: Path) -> Iterator[Path]:
    path = tmp_path / "fifo"
    os.mkfifo(path)
    yield path


@pytest.fixture()
def closed_port() -> int:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = int(s.getsockname()[1])
    s.close()
    return port


# ------------------------------------------------------------------ targets

BAD_TARGETS = [
    "host.test:443:443",
    "[zzz]:443",
    "999.999.999.999",
    "1.2.3",
    "https://127.0.0.1:1\\@evil.test",
    "-x",
    "a\x00b.test",
    "a\tb.test",
    "a\nb.test",
    "host.test:",
    "host.test:²",
    "host.test:\u0660",
    "host.test:65536",
    "ftp://host.test",
    "[::1",
    "exa mple.test",
]


@pytest.mark.parametrize("command", [*TARGET_COMMANDS, *NEW_TARGET_COMMANDS], ids=" ".join)
@pytest.mark.parametrize("target", BAD_TARGETS, ids=repr)
def test_bad_target_spellings_exit_2(command: list[str], target: str) -> None:
    r = runner.invoke(app, [*command, "--timeout", "1", "--", target])
    _one_line_error(r)
    assert "\n" not in r.stderr.splitlines()[0]


@pytest.mark.parametrize("target", BAD_TARGETS[:6], ids=repr)
def test_bad_from_host_exits_2(target: str) -> None:
    r = runner.invoke(app, ["trust", "--from-host", target, "--time-host", ""])
    _one_line_error(r)


@pytest.mark.parametrize(
    "option",
    [
        ["--resolve", "a.test:443:[::1"],
        ["--resolve", "a.test:443:999.1.1.1"],
        ["--resolve", "a.test:²:127.0.0.1"],
        ["--resolve", "a\nb:443:127.0.0.1"],
        ["--connect-to", "a.test:443:[zz]:1"],
        ["--connect-to", "a.test:443:[::1:1"],
        ["--connect-to", "a.test:443"],
        ["--servername", "a\x1b[31m.test"],
    ],
    ids=repr,
)
@pytest.mark.parametrize(
    "command", [*TARGET_COMMANDS, *NEW_TARGET_COMMANDS, ["trust", "--from-host"]], ids=str
)
def test_malformed_target_options_exit_2(command: list[str], option: list[str]) -> None:
    r = runner.invoke(app, [*command, "a.test", *option, "--timeout", "1"])
    _one_line_error(r)


def test_userinfo_is_dropped_from_every_output_and_said(closed_port: int) -> None:
    url = f"https://user:s3cret@127.0.0.1:{closed_port}/"
    for fmt in ("json", "html", "console"):
        r = runner.invoke(app, ["check", url, "--timeout", "2", "--format", fmt])
        assert r.exit_code == 1, r.output
        assert "s3cret" not in r.stdout and "user:" not in r.stdout
        assert "user name and password in the URL are ignored" in r.stderr
    r = runner.invoke(app, ["check", url, "--timeout", "2", "--json"])
    assert json.loads(r.stdout)["target"] == f"127.0.0.1:{closed_port}" or "s3cret" not in r.stdout


# ------------------------------------------------------------------ numeric options

BAD_SECONDS = ["nan", "inf", "-inf", "1e309", "-1", "0", "301", "abc"]


@pytest.mark.parametrize("value", BAD_SECONDS)
@pytest.mark.parametrize(
    "command",
    [
        ["check", "a.test"],
        ["probe", "a.test"],
        ["issuer", "a.test"],
        ["trust", "--from-host", "a.test"],
        ["chain", "-"],
        ["compare", "a.test"],
        ["bundle", "a.test"],
        ["har", "page.har", "--check"],
        ["probe", "--scan", "a.test"],
    ],
    ids=" ".join,
)
def test_timeouts_must_be_finite_positive_and_bounded(command: list[str], value: str) -> None:
    r = runner.invoke(app, [*command, "--timeout", value])
    _one_line_error(r)
    assert "--timeout" in r.stderr


@pytest.mark.parametrize(
    "args",
    [
        ["compare", "--run", "true", "--run-timeout", "nan"],
        ["compare", "--run", "true", "--run-timeout", "inf"],
        ["compare", "--run", "true", "--run-timeout", "0"],
        ["har", "page.har", "--check", "--concurrency", "0"],
        ["har", "page.har", "--check", "--concurrency", "65"],
        ["har", "page.har", "--check", "--concurrency", "nan"],
    ],
    ids=" ".join,
)
def test_numeric_options_of_the_new_commands(args: list[str]) -> None:
    r = runner.invoke(app, args)
    _one_line_error(r)


@pytest.mark.parametrize("value", ["nan", "inf", "0", "-5"])
def test_proxy_idle_timeout_is_checked(value: str) -> None:
    r = runner.invoke(app, ["proxy", "--idle-timeout", value])
    _one_line_error(r)


@pytest.mark.parametrize("listen", ["127.0.0.1:²", "127.0.0.1:\u0660", "²", "127.0.0.1:70000"])
def test_proxy_listen_ports_are_ascii_digits(listen: str) -> None:
    r = runner.invoke(app, ["proxy", "--listen", listen])
    _one_line_error(r)


def test_bad_choice_is_one_line_not_a_usage_block() -> None:
    r = runner.invoke(app, ["check", "--format", "xml", "a.test"])
    _one_line_error(r)
    assert "Usage:" not in r.output and "xml" in r.stderr


# ------------------------------------------------------------------ ALPN, expectations, --cafile


@pytest.mark.parametrize(
    ("alpn", "says"),
    [
        ("h2,☃", "☃"),
        ("h2,,http/1.1", "empty"),
        (",", "comma-separated"),
        ("x" * 256, "255 bytes"),
        (",".join(f"p{i}" for i in range(17)), "at most 16"),
        ("h2 x", "printable ASCII"),
    ],
)
@pytest.mark.parametrize("command", [*TARGET_COMMANDS, *NEW_TARGET_COMMANDS[:2]], ids=" ".join)
def test_alpn_is_validated_locally(command: list[str], alpn: str, says: str) -> None:
    r = runner.invoke(app, [*command, "a.test", "--alpn", alpn])
    _one_line_error(r)
    assert says in r.stderr


@pytest.mark.parametrize(
    "option",
    [
        ["--expect-fingerprint", ""],
        ["--expect-fingerprint", "abcd"],
        ["--expect-issuer", ""],
        ["--expect-issuer", "   "],
        ["--expect-issuer", "("],
    ],
    ids=repr,
)
def test_empty_or_malformed_expectations_exit_2(option: list[str]) -> None:
    r = runner.invoke(app, ["issuer", "a.test", *option])
    _one_line_error(r)


def test_cafile_certificate_count_limit(tmp_path: Path, pem: Path) -> None:
    big = tmp_path / "big.pem"
    big.write_bytes(pem.read_bytes() * 501)
    for command in (["check", "a.test"], ["chain", str(pem)]):
        r = runner.invoke(app, [*command, "--cafile", str(big)])
        _one_line_error(r)
        assert "500 certificates" in r.stderr


# ------------------------------------------------------------------ special files


def _file_commands(path: str, pem: Path) -> list[list[str]]:
    return [
        ["check", "a.test", "--cafile", path],
        ["probe", "a.test", "--cafile", path],
        ["issuer", "a.test", "--cafile", path],
        ["trust", "--from-host", "a.test", "--cafile", path],
        ["chain", str(pem), "--cafile", path],
        ["check", "--from", path],
        ["chain", path],
        ["explain", "--file", path],
        ["proxy", "events", path],
        ["har", path],
        ["har", str(pem.with_name("page.har")), "--policy", path],
        ["compare", path, str(pem.with_name("saved.json"))],
        ["compare", str(pem.with_name("saved.json")), path],
        ["compare", "a.test", "--proxy-ca", path],
        ["compare", "a.test", "--policy", path],
        ["probe", "--scan", "a.test", "--policy", path],
        ["bundle", "show", path],
    ]


def _bundle_commands(path: str, out: Path) -> list[list[str]]:
    """bundle refuses special input files before any step (a missing one is a failed step)."""
    return [
        ["bundle", "a.test", "--no-compare", "-o", str(out), option, path]
        for option in ("--har", "--events", "--policy")
    ]


@pytest.mark.parametrize("kind", ["dev-zero", "fifo", "directory", "missing"])
def test_special_files_are_refused_up_front(kind: str, pem: Path, fifo: Path) -> None:
    path = {
        "dev-zero": "/dev/zero",
        "fifo": str(fifo),
        "directory": str(fifo.parent),
        "missing": str(fifo.parent / "missing.pem"),
    }[kind]
    commands = _file_commands(path, pem)
    if kind == "missing":  # a missing non-.json second input: compare says what it expects
        commands = [c for c in commands if c[0] != "compare" or "saved.json" not in " ".join(c)]
        commands.append(["compare", str(pem.with_name("saved.json")), path + ".json"])
    else:
        commands += _bundle_commands(path, fifo.parent / "bundle.zip")
    for args in commands:
        r = runner.invoke(app, args)
        _one_line_error(r)
        assert path in r.stderr, args
    assert not (fifo.parent / "bundle.zip").exists()


@pytest.mark.parametrize("special", ["/dev/zero", "fifo", "directory"])
@pytest.mark.parametrize(
    "args",
    [["har", "{}"], ["bundle", "show", "{}"], ["bundle", "a.test", "--har", "{}", "-o", "b.zip"]],
    ids=" ".join,
)
def test_special_files_never_block_a_subprocess(args: list[str], special: str, fifo: Path) -> None:
    """As a user runs it (no test runner in between): one line, exit 2, no hang."""
    path = {"/dev/zero": "/dev/zero", "fifo": str(fifo), "directory": str(fifo.parent)}[special]
    p = _run([a.replace("{}", path) for a in args], cwd=fifo.parent, timeout=30)
    assert p.returncode == 2, p.stderr
    assert p.stderr.startswith("error: ") and len(p.stderr.strip().splitlines()) <= 2, p.stderr


@pytest.mark.parametrize(
    "content",
    [
        b'{"log": {"version": "1.2", "entries": [{"request": {"url": "https://a.test/"',
        b"",
        b"\xff\xfe not utf-8",
        b"[1, 2]",
        b'{"log": ' * 2000,
    ],
    ids=["truncated", "empty", "not-utf8", "not-a-har", "deep"],
)
def test_broken_har_files_exit_2(content: bytes, tmp_path: Path) -> None:
    har = tmp_path / "page.har"
    har.write_bytes(content)
    r = runner.invoke(app, ["har", str(har)])
    _one_line_error(r)
    assert str(har) in r.stderr


@pytest.mark.parametrize(
    "content", [b"not a zip", b"PK\x03\x04truncated", b""], ids=["text", "truncated", "empty"]
)
def test_broken_bundle_zips_exit_2(content: bytes, tmp_path: Path) -> None:
    zipped = tmp_path / "b.zip"
    zipped.write_bytes(content)
    r = runner.invoke(app, ["bundle", "show", str(zipped)])
    _one_line_error(r)
    assert "not a readable zip" in r.stderr


def test_a_truncated_bundle_zip_is_a_manifest_problem(tmp_path: Path) -> None:
    import zipfile

    full = tmp_path / "full.zip"
    with zipfile.ZipFile(full, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("manifest.json", json.dumps({"files": {}}))
        zf.writestr("report.json", json.dumps([{"command": "bundle"}]) + " " * 5000)
    cut = tmp_path / "cut.zip"
    cut.write_bytes(full.read_bytes()[: full.stat().st_size - 30])
    r = runner.invoke(app, ["bundle", "show", str(cut)])
    assert r.exit_code in (1, 2), r.output
    assert "Traceback" not in r.output and "failed unexpectedly" not in r.output


def test_oversized_files_are_refused(tmp_path: Path, pem: Path) -> None:
    huge = tmp_path / "huge.txt"
    with huge.open("wb") as fh:
        fh.truncate(11 * 1024 * 1024)
    for args in (["check", "a.test", "--cafile", str(huge)], ["check", "--from", str(huge)]):
        r = runner.invoke(app, args)
        _one_line_error(r)
        assert "larger than" in r.stderr


def test_policy_file_wrong_types_and_deep_nesting() -> None:
    from tlsdiag.errors import InputError
    from tlsdiag.proxy.policy import parse_policy

    for text in ("rule = [1, 2]", "x = " + "[" * 5000 + "]" * 5000, "[policy]\ndefault_bypass = 3"):
        with pytest.raises((ValueError, InputError)):
            parse_policy(text)


def test_events_of_the_wrong_shape_are_skipped(tmp_path: Path) -> None:
    events = tmp_path / "ev.jsonl"
    events.write_text('{"action": 5, "host": []}\n[1,2]\n"x"\n')
    r = runner.invoke(app, ["proxy", "events", str(events)])
    _one_line_error(r)
    assert "no proxy events" in r.stderr


# ------------------------------------------------------------------ stdin states


def _run(args: list[str], **kw: Any) -> subprocess.CompletedProcess[str]:
    capture: bool = kw.pop("capture", True)
    timeout: float = kw.pop("timeout", 60)
    return subprocess.run(
        [sys.executable, "-m", "tlsdiag", *args],
        capture_output=capture,
        text=True,
        timeout=timeout,
        **kw,
    )


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
    p = _run(args, preexec_fn=_closed_stdin)
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
        p = _run(args, stdin=subprocess.DEVNULL)
        assert p.returncode == 2 and p.stderr.startswith("error: "), p.stderr


# ------------------------------------------------------------------ stdout states

TEXT = "curl: (60) SSL certificate problem: unable to get local issuer certificate"


def test_closed_pipe_exits_141_without_a_false_verdict() -> None:
    read, write = os.pipe()
    os.close(read)
    try:
        p = subprocess.run(
            [sys.executable, "-m", "tlsdiag", "explain", TEXT],
            stdout=write,
            stderr=subprocess.PIPE,
            text=True,
            timeout=60,
        )
    finally:
        os.close(write)
    assert p.returncode == 141, p.stderr
    assert "Traceback" not in p.stderr and "Exception ignored" not in p.stderr


def test_full_stdout_device_exits_141_with_one_line() -> None:
    with open("/dev/full", "w") as full:
        p = subprocess.run(
            [sys.executable, "-m", "tlsdiag", "explain", TEXT],
            stdout=full,
            stderr=subprocess.PIPE,
            text=True,
            timeout=60,
        )
    assert p.returncode == 141, p.stderr
    assert p.stderr.startswith("error: stdout") and "Traceback" not in p.stderr


def test_ascii_stdout_escapes_non_ascii_output() -> None:
    env = {**os.environ, "PYTHONIOENCODING": "ascii"}
    p = _run(["explain", "☃ " + TEXT], env=env)
    assert p.returncode == 0, p.stderr
    assert "\\u2603" in p.stdout and "Traceback" not in p.stderr


def test_console_output_to_a_pipe_is_never_cut_at_80_columns(tmp_path: Path) -> None:
    ca = tmp_path / "long.pem"
    org = "Inspection Organisation " + "x" * 36 + " END"
    ca.write_bytes(make_ca("Inspection Root " + "y" * 40, now=NOW, org=org).cert_pem)
    p = _run(["chain", str(ca)])
    assert " END" in p.stdout, p.stdout


# ------------------------------------------------------------------ output paths


def test_output_file_rules(tmp_path: Path, pem: Path) -> None:
    out = tmp_path / "report.json"
    r = runner.invoke(app, ["chain", str(pem), "--json", "-o", str(out)])
    assert r.exit_code in (0, 1) and json.loads(out.read_text())["command"] == "chain"
    out.write_text("precious")
    r = runner.invoke(app, ["chain", str(pem), "--json", "-o", str(out)])
    _one_line_error(r)
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
        _one_line_error(r)
        assert "also an input" in r.stderr
    assert copy.read_bytes() == pem.read_bytes() and log.read_text() == TEXT


def test_a_symlink_at_the_output_path_is_never_followed(tmp_path: Path, pem: Path) -> None:
    victim = tmp_path / "victim.txt"
    victim.write_text("keep me")
    link = tmp_path / "out.json"
    link.symlink_to(victim)
    r = runner.invoke(app, ["chain", str(pem), "--json", "-o", str(link)])
    _one_line_error(r)
    r = runner.invoke(app, ["chain", str(pem), "--json", "-o", str(link), "--force"])
    assert r.exit_code in (0, 1), r.output
    assert victim.read_text() == "keep me" and not link.is_symlink()
    dangling = tmp_path / "dangling.json"
    dangling.symlink_to(tmp_path / "nowhere.json")
    r = runner.invoke(app, ["chain", str(pem), "--json", "-o", str(dangling)])
    _one_line_error(r)
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
    _one_line_error(r)
    assert out.read_text() == "precious"


def test_output_into_a_missing_folder_is_refused(tmp_path: Path, pem: Path) -> None:
    r = runner.invoke(app, ["chain", str(pem), "-o", str(tmp_path / "no" / "such" / "r.txt")])
    _one_line_error(r)
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
    _one_line_error(r)
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
        _one_line_error(r)
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
    _one_line_error(r)
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
