"""Bad input costs the user nothing: every command, driven through each class of bad input
(target spellings, numeric options, special files, ALPN, empty expectations; stdin, stdout
and output paths are in test_bad_streams_and_outputs.py), answers with one ``error:`` line and
exit 2 (or the documented status), never an internal error, a hang or a lost file."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tlsdiag.cli.app import app

from helpers.bad_input import NEW_TARGET_COMMANDS, TARGET_COMMANDS, one_line_error, run_tlsdiag

runner = CliRunner()


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
    one_line_error(r)
    assert "\n" not in r.stderr.splitlines()[0]


@pytest.mark.parametrize("target", BAD_TARGETS[:6], ids=repr)
def test_bad_from_host_exits_2(target: str) -> None:
    r = runner.invoke(app, ["trust", "--from-host", target, "--time-host", ""])
    one_line_error(r)


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
    one_line_error(r)


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
    one_line_error(r)
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
    one_line_error(r)


@pytest.mark.parametrize("value", ["nan", "inf", "0", "-5"])
def test_proxy_idle_timeout_is_checked(value: str) -> None:
    r = runner.invoke(app, ["proxy", "--idle-timeout", value])
    one_line_error(r)


@pytest.mark.parametrize("listen", ["127.0.0.1:²", "127.0.0.1:\u0660", "²", "127.0.0.1:70000"])
def test_proxy_listen_ports_are_ascii_digits(listen: str) -> None:
    r = runner.invoke(app, ["proxy", "--listen", listen])
    one_line_error(r)


def test_bad_choice_is_one_line_not_a_usage_block() -> None:
    r = runner.invoke(app, ["check", "--format", "xml", "a.test"])
    one_line_error(r)
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
    one_line_error(r)
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
    one_line_error(r)


def test_cafile_certificate_count_limit(tmp_path: Path, pem: Path) -> None:
    big = tmp_path / "big.pem"
    big.write_bytes(pem.read_bytes() * 501)
    for command in (["check", "a.test"], ["chain", str(pem)]):
        r = runner.invoke(app, [*command, "--cafile", str(big)])
        one_line_error(r)
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
        one_line_error(r)
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
    p = run_tlsdiag([a.replace("{}", path) for a in args], cwd=fifo.parent, timeout=30)
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
    one_line_error(r)
    assert str(har) in r.stderr


@pytest.mark.parametrize(
    "content", [b"not a zip", b"PK\x03\x04truncated", b""], ids=["text", "truncated", "empty"]
)
def test_broken_bundle_zips_exit_2(content: bytes, tmp_path: Path) -> None:
    zipped = tmp_path / "b.zip"
    zipped.write_bytes(content)
    r = runner.invoke(app, ["bundle", "show", str(zipped)])
    one_line_error(r)
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
        one_line_error(r)
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
    one_line_error(r)
    assert "no proxy events" in r.stderr
