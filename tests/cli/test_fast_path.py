"""The typer-free fast path (tlsdiag.cli._fast): same keyword arguments as typer for what it
parses, typer's own errors for everything else, no typer import once the spec is cached."""

from __future__ import annotations

import functools
import inspect
import json
import os
import subprocess
import sys
from enum import Enum
from pathlib import Path
from typing import Any

import pytest
import typer
from typer.main import get_command
from typer.testing import CliRunner

from tlsdiag.cli import _fast, _spec, _typer
from tlsdiag.cli.app import build_app, main
from tlsdiag.lab.cases import Lab

EXISTING = Path(__file__)  # a readable file, for Path options
ERROR = "curl: (60) SSL certificate problem: unable to get local issuer certificate"

# (command as typed, arguments after it)
ACCEPTED: list[tuple[str, list[str]]] = [
    ("check", []),
    ("check", ["example.com"]),
    ("check", ["a.example", "--json", "b.example:8443"]),
    ("check", ["--resolve", "a:443:127.0.0.1", "--resolve=b:443:127.0.0.2", "x"]),
    ("check", ["--cafile", str(EXISTING), "--cacert", "/nonexistent/ca.pem", "x"]),
    ("check", ["--concurrency", "64", "--timeout", "2.5", "-x", "", "--noproxy=a,b", "x"]),
    ("check", ["-f", "json", "-f", "HTML", "--format=Console", "x"]),
    ("check", ["--servername", "-weird", "--no-sni", "-4", "-6", "--tls1.2", "--tls1_3", "x"]),
    ("check", ["--from", "targets.txt", "--no-http", "--no-revocation", "--force"]),
    ("check", ["--cipher", "ECDHE", "--alpn", "h2", "--proxy-user", "u:p", "--", "-dash"]),
    ("check", ["--concurrency", " 7 ", "--timeout", "1e1", "x"]),
    ("explain", [ERROR]),
    ("explain", ["-"]),
    ("explain", ["--", "--help", "-x"]),
    ("explain", ["--not-inspected", "--inspected", "--host", "h", "a", "b"]),
    ("explain", ["--not-inspected", "-F", str(EXISTING), "--json"]),
    ("explain", ["--file", str(EXISTING.parent)]),
    ("explain", ["--code", "server.chain_incomplete", "--format", "json"]),
    ("chain", ["-"]),
    ("chain", [str(EXISTING), "--host", "h", "--untrusted", "u1", "--untrusted", "u2"]),
    ("chain", ["--cafile-only", "--at-time", "2026-01-01", "--no-aia", "x.pem"]),
    ("probe", ["h:443", "--showcerts", "--scan", "--min-version", "1.2", "--policy", "p.toml"]),
    ("issuer", ["h", "--expect-issuer", "Zscaler", "--vendor", "a", "--vendor", "b"]),
    ("issuer", ["--platform", "linux", "--app", "teams", "h", "--expect-fingerprint=ab"]),
    ("trust", []),
    ("trust", ["--ca", str(EXISTING), "--name", "*Corp*", "--all", "--timeout", "300"]),
    ("trust", ["--from-host", "h", "--time-host", "t", "--fingerprint", "ab"]),
    ("demo", []),
    ("demo", ["--case", "expired", "--case", "good", "-f", "json"]),
    ("lab list", ["--json"]),
    ("lab serve", ["--case", "good", "--dir", "/tmp/x"]),
    ("compare", ["h"]),
    ("compare", ["before.json", "after.json", "--via", "embedded", "--run-timeout", "90"]),
    ("compare", ["--run", "curl https://x", "--proxy-ca", "ca.pem", "--policy", "p.toml"]),
    ("har", ["page.har", "--check", "--resolve", "a:1:b"]),
    ("bundle", ["h", "--no-http"]),
]

# parsed here as typer would refuse them, or as only typer can answer (help)
FALLBACK: list[tuple[str, list[str]]] = [
    ("check", ["--help"]),
    ("check", ["x", "-h"]),
    ("check", ["--nope", "x"]),
    ("check", ["--concurrency", "0", "x"]),
    ("check", ["--concurrency", "many", "x"]),
    ("check", ["--timeout", "0", "x"]),
    ("check", ["--timeout", "nan", "x"]),
    ("check", ["-f", "xml", "x"]),
    ("check", ["--json=1", "x"]),
    ("check", ["x", "--resolve"]),
    ("chain", []),
    ("probe", ["a", "b"]),
    ("compare", ["--run-timeout", "0.5", "h"]),
]

# falls back although typer accepts it: the --output callback runs only under typer, and
# clustered or attached short options are click's to read
FALLBACK_VALID: list[tuple[str, list[str]]] = [
    ("check", ["-o", "/nonexistent-dir/report.json", "x"]),
    ("check", ["-46", "x"]),
    ("check", ["-fjson", "x"]),
    ("check", ["-f=json", "x"]),
]


def _click_command(path: str) -> Any:
    name, _, sub = path.partition(" ")
    command = get_command(build_app(name)).commands[name]  # type: ignore[attr-defined]
    return command.commands[sub] if sub else command


def _typed(value: Any) -> Any:
    """A value with its type, so that Format.JSON != "json" and Path("a") != "a"."""
    if isinstance(value, list):
        return ("list", [_typed(v) for v in value])
    if isinstance(value, Enum | Path):
        return (type(value).__name__, str(value))
    return (type(value).__name__, value)


def _typer_kwargs(path: str, args: list[str]) -> dict[str, Any]:
    """The keyword arguments typer passes to the command function (recorded, not run)."""
    func = _click_command(path).callback.__wrapped__
    seen: dict[str, Any] = {}

    def recorder(**kwargs: Any) -> None:
        seen.update(kwargs)

    functools.update_wrapper(recorder, _typer.prepare(func))
    app = typer.Typer(add_completion=False)
    app.command()(recorder)
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    return seen


def _fast_kwargs(path: str, args: list[str]) -> dict[str, Any]:
    """What the fast path calls the function with, defaults filled in as Python does."""
    command = _click_command(path)
    func = command.callback.__wrapped__
    given = _fast.parse(_spec.command_spec(command), args)
    bound = inspect.signature(func).bind(**given)
    bound.apply_defaults()
    return dict(bound.arguments)


@pytest.mark.parametrize(("path", "args"), ACCEPTED, ids=[" ".join([p, *a]) for p, a in ACCEPTED])
def test_fast_parser_gives_typers_arguments(path: str, args: list[str]) -> None:
    fast = _fast_kwargs(path, args)
    assert {k: _typed(v) for k, v in fast.items()} == {
        k: _typed(v) for k, v in _typer_kwargs(path, args).items()
    }


@pytest.mark.parametrize(("path", "args"), FALLBACK, ids=[" ".join([p, *a]) for p, a in FALLBACK])
def test_what_typer_refuses_or_explains_goes_to_typer(path: str, args: list[str]) -> None:
    with pytest.raises(_fast._Fallback):
        _fast.parse(_spec.command_spec(_click_command(path)), args)
    result = CliRunner().invoke(build_app(path.split()[0]), [*path.split(), *args])
    if "--help" in args:
        assert result.exit_code == 0 and "Usage:" in result.output
    else:
        assert result.exit_code == 2, result.output
        assert "error: tlsdiag" in result.output


@pytest.mark.parametrize(("path", "args"), FALLBACK_VALID)
def test_what_only_click_reads_goes_to_typer(path: str, args: list[str]) -> None:
    with pytest.raises(_fast._Fallback):
        _fast.parse(_spec.command_spec(_click_command(path)), args)


def _main(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], *args: str) -> Any:
    monkeypatch.setattr(sys, "argv", ["tlsdiag", *args])
    with pytest.raises(SystemExit) as exc:
        main()
    out, err = capsys.readouterr()
    return exc.value.code, out, err


@pytest.mark.parametrize(
    "args",
    [
        ["check", "--concurrency", "0", "example.com"],
        ["explain", "--format", "xml", "text"],
        ["chain"],
        ["lab", "serve", "--nope"],
    ],
)
def test_a_bad_command_line_gets_typers_error_with_a_warm_cache(
    args: list[str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("TLSDIAG_NO_CACHE", "1")
    expected = _main(monkeypatch, capsys, *args)
    assert expected[0] == 2 and expected[2].startswith("error: ")
    monkeypatch.delenv("TLSDIAG_NO_CACHE")
    monkeypatch.setenv("TLSDIAG_CACHE_DIR", str(tmp_path))
    _spec.save_specs(build_app(args[0]), args[0])
    assert _spec.load_specs(args[0]) is not None
    assert _main(monkeypatch, capsys, *args) == expected


def test_a_stale_or_corrupt_spec_is_rebuilt(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("TLSDIAG_CACHE_DIR", str(tmp_path))
    args = ["explain", "--code", "server.chain_incomplete", "--json"]
    _main(monkeypatch, capsys, *args)
    [cached] = tmp_path.glob("cli-spec-explain-*.json")
    for stale in ('{"key": "0.0.0/old", "typer": ["x", [0, 0]], "commands": {}}', "{not json"):
        cached.write_text(stale)
        assert _spec.load_specs("explain") is None
        code, out, _ = _main(monkeypatch, capsys, *args)
        assert code == 0 and json.loads(out)["command"] == "explain"
        assert json.loads(cached.read_text())["key"] == _spec.spec_key()
        assert _spec.load_specs("explain") is not None


def test_the_key_changes_when_a_cli_file_changes(tmp_path: Path) -> None:
    module = tmp_path / "check.py"
    module.write_text("x = 1\n")
    before = _spec.spec_key(tmp_path)
    assert _spec.spec_key(tmp_path) == before
    module.write_text("x = 12\n")
    assert _spec.spec_key(tmp_path) != before
    (tmp_path / "notes.txt").write_text("not a module")
    assert _spec.spec_key(tmp_path) == _spec.spec_key(tmp_path)


def test_no_cache_means_no_spec(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TLSDIAG_CACHE_DIR", str(tmp_path))
    monkeypatch.setenv("TLSDIAG_NO_CACHE", "1")
    _spec.save_specs(build_app("check"), "check")
    assert list(tmp_path.iterdir()) == []
    assert _spec.load_specs("check") is None
    assert _fast.run(["check", "example.com"]) is True  # goes to typer


def _imported(stderr: str) -> set[str]:
    """Module names from ``python -X importtime`` output."""
    return {
        line.rsplit("|", 1)[1].strip()
        for line in stderr.splitlines()
        if line.startswith("import time:") and "|" in line
    }


def _run(args: list[str], env: dict[str, str]) -> tuple[int, str, set[str]]:
    proc = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "tlsdiag", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )
    return proc.returncode, proc.stdout, _imported(proc.stderr)


VOLATILE = frozenset({"generated_at", "timings_ms", "ms", "http", "machine"})  # clocks, timings


def _stable(value: Any) -> Any:
    """A report without what changes from one run to the next."""
    if isinstance(value, dict):
        return {k: _stable(v) for k, v in value.items() if k not in VOLATILE}
    if isinstance(value, list):
        return [_stable(v) for v in value]
    return value


@pytest.mark.integration
def test_check_and_explain_run_without_typer_once_the_spec_is_cached(
    lab: Lab, tmp_path: Path
) -> None:
    good = lab.cases["good"]
    check = ["check", good.target, "--resolve", good.resolve, "--cafile", str(lab.root_pem_path)]
    runs = [[*check, "--json"], ["explain", ERROR, "--format", "json"]]
    env = {**os.environ, "TLSDIAG_CACHE_DIR": str(tmp_path)}
    env.pop("TLSDIAG_NO_CACHE", None)
    for args in runs:
        first = _run(args, env)  # typer; writes the spec
        assert "typer" in first[2]
        warm = _run(args, env)
        assert "typer" not in warm[2] and "typer._click" not in warm[2]
        assert "certifi" not in warm[2]  # its answer is cached too (stores.bundles)
        cold = _run(args, {**env, "TLSDIAG_NO_CACHE": "1"})
        assert "typer" in cold[2]
        assert warm[0] == cold[0] == first[0] == 0
        assert _stable(json.loads(warm[1])) == _stable(json.loads(cold[1]))


@pytest.mark.parametrize("raised", [None, KeyboardInterrupt, EOFError, SystemExit])
def test_a_run_ends_as_under_typer(
    raised: type[BaseException] | None,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setattr(sys, "excepthook", sys.excepthook)  # typer installs its own

    def command() -> None:
        if raised is SystemExit:
            raise SystemExit(1)
        if raised is not None:
            raise raised()

    def root() -> None:
        pass

    app = typer.Typer(cls=_typer.OneLineErrors, add_completion=False)
    app.callback()(root)
    app.command("c")(command)
    with pytest.raises(SystemExit) as under_typer:
        app(["c"])
    typer_err = capsys.readouterr().err
    with pytest.raises(SystemExit) as fast:
        _fast.invoke(command, {})
    assert (fast.value.code, capsys.readouterr().err) == (under_typer.value.code, typer_err)
