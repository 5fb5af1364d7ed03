"""``tlsdiag compare`` against the lab: real TLS on 127.0.0.1, the embedded proxy in-process."""

from __future__ import annotations

import json
import shutil
import socket
import ssl
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from tlsdiag.cli.app import app
from tlsdiag.lab.cases import CASE_NAMES, Lab
from tlsdiag.lab.pki import make_ca, make_leaf
from tlsdiag.lab.servers import LabServer, TlsSettings, tls_context

pytestmark = pytest.mark.integration
runner = CliRunner()

EXPECTED = dict.fromkeys(CASE_NAMES, "server")
EXPECTED.update({"good": "none", "client-cert": "inspection"})


def _compare(lab: Lab, name: str, *extra: str) -> tuple[int, dict[str, Any]]:
    case = lab.cases[name]
    args = ["compare", case.target, "--resolve", case.resolve]
    args += ["--cafile", str(lab.root_pem_path), "--json", "--timeout", "5", *extra]
    r = runner.invoke(app, args)
    assert r.exit_code in (0, 1), r.output
    return r.exit_code, json.loads(r.stdout)


@pytest.mark.parametrize("name", CASE_NAMES)
def test_every_lab_case_has_its_verdict(lab: Lab, name: str) -> None:
    code, doc = _compare(lab, name)
    assert doc["verdict"]["origin"] == EXPECTED[name], doc["verdict"]
    assert code == (0 if name == "good" else 1)
    assert doc["bypassed"]["command"] == "check" and doc["inspected"]["command"] == "check"
    assert "bypass_rule" in doc["verdict"]
    if name != "good":
        assert doc["findings"][0]["severity"] == "error"
        snippet = doc["verdict"]["bypass_rule"]
        assert f'host = "{lab.cases[name].spec.host}"' in snippet and "*" not in snippet


def test_a_problem_the_proxys_own_connection_avoids_is_not_called_masked(lab: Lab) -> None:
    """Behind the pq-middlebox, the browser-sized hello is reset bypassed; the embedded proxy's
    own (small) hello gets through. Not a certificate the proxy re-signs."""
    _, doc = _compare(lab, "pq-middlebox")
    summary = doc["verdict"]["summary"]
    assert "Inspected, it works: the proxy makes its own connection" in summary
    assert "re-signs" not in summary


def test_good_case_agrees_and_inspected_side_is_inspected(lab: Lab) -> None:
    _, doc = _compare(lab, "good")
    rows = {r["label"]: r for r in doc["rows"]}
    assert rows["tls_inspection"]["inspected"] == "1"
    assert "throwaway" in rows["issuer"]["inspected"]
    assert not rows["handshake"]["differs"]
    assert doc["findings"] == []


def test_masked_hostname_mismatch(lab: Lab, tmp_path: Path) -> None:
    policy = tmp_path / "allow.toml"
    policy.write_text('[policy]\ninvalid_certificate = "allow"\n')
    _, doc = _compare(lab, "wrong-host", "--policy", str(policy))
    v = doc["verdict"]
    assert v["origin"] == "server" and v["code"] == "server.hostname_mismatch"
    assert "masks" in v["summary"] and "invalid_certificate = allow" in v["summary"]
    assert doc["inspected"]["http"]["status"] == 200  # the proxy re-signed: no error inspected


def test_blocked_hostname_mismatch_names_the_block(lab: Lab) -> None:
    _, doc = _compare(lab, "wrong-host")
    assert "blocks it by policy" in doc["verdict"]["summary"]
    rows = {r["label"]: r for r in doc["rows"]}
    assert "403" in rows["HTTP"]["inspected"] and "block page" in rows["HTTP"]["inspected"]


@pytest.fixture
def tls12_only(tmp_path: Path) -> Iterator[tuple[int, Path]]:
    """A server that speaks TLS 1.2 at most, its CA in a PEM file."""
    now = datetime.now(UTC)
    ca = make_ca("Legacy Test Root", now=now, not_before=now - timedelta(days=30))
    leaf = make_leaf(ca, now=now, names=["legacy.lab.test"], not_before=now - timedelta(days=30))
    ctx = tls_context(TlsSettings(chain=(leaf, ca)))
    ctx.maximum_version = ssl.TLSVersion.TLSv1_2
    server = LabServer("tls", ctx=ctx).start()
    pem = tmp_path / "ca.pem"
    pem.write_bytes(ca.cert_pem)
    yield server.port, pem
    server.stop()


def test_legacy_server_under_policy_minimum(tls12_only: tuple[int, Path], tmp_path: Path) -> None:
    port, pem = tls12_only
    policy = tmp_path / "min13.toml"
    policy.write_text('[policy]\nserver_min_tls = "1.3"\n')
    target = f"legacy.lab.test:{port}"
    r = runner.invoke(
        app,
        [
            "compare",
            target,
            "--resolve",
            f"{target}:127.0.0.1",
            "--cafile",
            str(pem),
            "--policy",
            str(policy),
            "--json",
            "--no-revocation",
        ],
    )
    code, doc = r.exit_code, json.loads(r.stdout)
    assert doc["bypassed"]["handshake"]["version"] == "TLSv1.2"
    assert [f["code"] for f in doc["bypassed"]["findings"] if f["severity"] == "error"] == []
    v = doc["verdict"]
    assert code == 1 and v["origin"] == "inspection", v
    assert "minimum" in v["summary"] and "server_min_tls = 1.3" in v["summary"]
    assert 'action = "bypass"' in v["bypass_rule"]


def test_mutual_tls_server(lab: Lab) -> None:
    _, doc = _compare(lab, "client-cert")
    v = doc["verdict"]
    assert v["origin"] == "inspection" and v["code"] == "app.mutual_tls"
    assert 'host = "client-cert.lab.test"' in v["bypass_rule"]


def test_saved_reports_before_after(lab: Lab, tmp_path: Path) -> None:
    _, doc = _compare(lab, "good")
    before, after = tmp_path / "before.json", tmp_path / "after.json"
    after.write_text(json.dumps(doc["bypassed"]))
    before.write_text(json.dumps(doc["inspected"]))
    r = runner.invoke(app, ["compare", str(before), str(after), "--json"])
    assert r.exit_code == 0, r.output
    out = json.loads(r.stdout)
    assert out["labels"][1] == f"inspected ({before})"
    assert "was inspected (tls_inspection 1)" in out["inspecting_path"]["description"]


def test_html_marks_differences(lab: Lab) -> None:
    case = lab.cases["expired"]
    r = runner.invoke(
        app,
        [
            "compare",
            case.target,
            "--resolve",
            case.resolve,
            "--cafile",
            str(lab.root_pem_path),
            "--format",
            "html",
        ],
    )
    assert r.exit_code == 1
    assert "<tr class=diff>" in r.stdout and "verdict: <span" in r.stdout


def test_unreachable_via_proxy_is_a_clear_error(lab: Lab) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again: nothing listens there
    case = lab.cases["good"]
    r = runner.invoke(
        app,
        ["compare", case.target, "--resolve", case.resolve, "--via", f"http://127.0.0.1:{port}"],
    )
    assert r.exit_code == 3
    assert "cannot connect to the proxy" in r.output and "Traceback" not in r.output


@pytest.mark.skipif(shutil.which("curl") is None, reason="needs curl")
def test_run_curl_with_its_own_store(lab: Lab) -> None:
    case = lab.cases["good"]
    cmd = (
        f"curl -sS --max-time 10 --cacert {lab.root_pem_path} --resolve {case.resolve} "
        f"https://{case.target}/"
    )
    r = runner.invoke(
        app,
        [
            "compare",
            "--run",
            cmd,
            "--resolve",
            case.resolve,
            "--cafile",
            str(lab.root_pem_path),
            "--json",
            "--run-timeout",
            "20",
        ],
    )
    assert r.exit_code == 1, r.output
    doc = json.loads(r.stdout)
    assert doc["bypassed"]["exit_status"] == 0
    assert doc["inspected"]["exit_status"] != 0
    v = doc["verdict"]
    assert v["origin"] == "client" and v["code"] == "client.store_mismatch", v
    assert "--cacert" in v["summary"]
    assert doc["run"]["app_store"]["id"] == "curl"


@pytest.mark.skipif(shutil.which("curl") is None, reason="needs curl")
def test_run_curl_trusting_the_machine_store_works_both_ways(lab: Lab, tmp_path: Path) -> None:
    case = lab.cases["good"]
    cmd = f"curl -sS --max-time 10 https://{case.target}/"
    # bypassed, curl trusts the lab root through CURL_CA_BUNDLE; inspected the proxy's root is
    # added to the machine bundle compare hands out
    r = runner.invoke(
        app,
        [
            "compare",
            "--run",
            cmd,
            "--resolve",
            case.resolve,
            "--cafile",
            str(lab.root_pem_path),
            "--json",
        ],
        env={"CURL_CA_BUNDLE": str(lab.root_pem_path)},
    )
    doc = json.loads(r.stdout)
    assert doc["inspected"]["exit_status"] == 0, doc["inspected"]


def test_console_prints_the_bypass_rule_as_lines(lab: Lab) -> None:
    """The rule snippet is copied into a policy file: one TOML line per line on the console,
    never a single line with escaped newlines."""
    case = lab.cases["wrong-host"]
    args = ["compare", case.target, "--resolve", case.resolve, "--cafile", str(lab.root_pem_path)]
    r = runner.invoke(app, [*args, "--timeout", "5"])
    assert r.exit_code == 1, r.output
    lines = [line.strip() for line in r.stdout.splitlines()]
    assert "[[rule]]" in lines
    assert f'host = "{case.spec.host}"' in lines
    assert "\\n" not in r.stdout
