"""``tlsdiag probe HOST --scan`` as a user runs it: JSON keys, tables, policy options, exits."""

from __future__ import annotations

import json
import ssl
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from tlsdiag.cli.app import app

from helpers.scan_servers import python_server, scripted_server

pytestmark = pytest.mark.integration
runner = CliRunner()


def _tls10() -> AbstractContextManager[int]:
    return python_server(
        minimum=ssl.TLSVersion.TLSv1,
        maximum=ssl.TLSVersion.TLSv1,
        ciphers="AES128-SHA:ECDHE-RSA-AES256-SHA:@SECLEVEL=0",
    )


def _json(args: list[str], exit_code: int) -> Any:
    r = runner.invoke(app, ["probe", *args, "--json"])
    assert r.exit_code == exit_code, r.output
    return json.loads(r.stdout)


def test_scan_json_has_versions_and_ciphers_per_version() -> None:
    with python_server() as port:
        d = _json([f"127.0.0.1:{port}", "--scan"], 0)
    assert d["command"] == "probe"
    assert d["scan"]["versions"] == ["TLSv1.2", "TLSv1.3"]
    assert set(d["scan"]["ciphers"]) == {"TLSv1.2", "TLSv1.3"}
    assert "TLS_AES_128_GCM_SHA256" in d["scan"]["ciphers"]["TLSv1.3"]
    assert d["policy"]["connects"] is True
    rows = {c["id"]: c for c in d["clients"]}
    assert rows["chrome"]["connects"] and rows["chrome"]["version"] == "TLSv1.3"
    assert not rows["schannel-win7"]["connects"]  # no ECDHE_RSA + GCM, no TLS 1.3 in Windows 7
    assert d["findings"] == []


def test_tls10_server_fails_the_default_policy_and_passes_a_lowered_one() -> None:
    with _tls10() as port:
        d = _json([f"127.0.0.1:{port}", "--scan"], 1)
        (f,) = d["findings"]
        assert f["code"] == "legacy.protocol_version"
        assert f["title"] == "The server speaks only TLS 1.0"
        assert f["evidence"]["missing_versions"] == "TLSv1.2, TLSv1.3"
        ok = _json([f"127.0.0.1:{port}", "--scan", "--min-version", "1.0"], 0)
        assert (
            ok["policy"]["usable"]["TLSv1.0"] == ["TLS_RSA_WITH_AES_128_CBC_SHA"]
            or ok["policy"]["usable"]["TLSv1.0"]
        )
        rows = {c["id"]: c for c in ok["clients"]}
        assert rows["schannel-win10"]["connects"] and not rows["java17"]["connects"]


def test_policy_file_sets_the_minimum(tmp_path: Path) -> None:
    pol = tmp_path / "policy.toml"
    pol.write_text('[policy]\nserver_min_tls = "1.0"\n', encoding="utf-8")
    with _tls10() as port:
        d = _json([f"127.0.0.1:{port}", "--scan", "--policy", str(pol)], 0)
    assert d["policy"]["min_version"] == "TLSv1.0"
    assert str(pol) in d["policy"]["label"]


def test_cipher_level_strong_names_the_missing_suites() -> None:
    with python_server(
        minimum=ssl.TLSVersion.TLSv1_2, maximum=ssl.TLSVersion.TLSv1_2, ciphers="AES128-SHA"
    ) as port:
        d = _json([f"127.0.0.1:{port}", "--scan", "--cipher-level", "strong"], 1)
        medium = _json([f"127.0.0.1:{port}", "--scan"], 0)
    (f,) = d["findings"]
    assert f["code"] == "legacy.cipher_suite"
    assert "TLS_RSA_WITH_AES_128_CBC_SHA" in f["title"]
    assert f["evidence"]["server_suites_TLSv1.2"] == "TLS_RSA_WITH_AES_128_CBC_SHA"
    assert "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256" in f["evidence"]["missing_suites"]
    assert medium["findings"] == []


def test_console_shows_tables() -> None:
    with python_server() as port:
        r = runner.invoke(app, ["probe", f"127.0.0.1:{port}", "--scan"])
    assert r.exit_code == 0, r.output
    assert "TLS 1.3 cipher suites, server preference order" in r.stdout
    assert "Protocol versions" in r.stdout and "Common clients" in r.stdout
    assert "Java 8" in r.stdout


def test_check_names_ssl3_when_the_handshake_fails() -> None:
    with scripted_server(0x0300, [0x0005]) as port:
        r = runner.invoke(app, ["check", f"127.0.0.1:{port}", "--json"])
    assert r.exit_code == 1, r.output
    d = json.loads(r.stdout)
    f = next(f for f in d["findings"] if f["code"] == "legacy.protocol_version")
    assert f["title"] == "The server speaks only SSL 3.0"


@pytest.mark.parametrize(
    "args",
    [
        ["--policy", "x.toml"],
        ["--min-version", "1.2"],
        ["--scan", "--tls1_2"],
        ["--scan", "--cipher", "AES128-SHA"],
        ["--scan", "--cipher-level", "bogus"],
        ["--scan", "--min-version", "2.5"],
    ],
)
def test_bad_option_combinations_exit_2(args: list[str]) -> None:
    r = runner.invoke(app, ["probe", "127.0.0.1:1", *args])
    assert r.exit_code == 2, r.output
