"""`tlsdiag trust` command line: JSON schema, exit statuses, usage errors, console matrix,
fast import. The machine is a fake one (tests/helpers/trust_machine.py) swapped in for the
real ``machine_context``, so the result never depends on this computer's stores or env."""

from __future__ import annotations

import hashlib
import io
import json
import subprocess
import sys

import pytest
from typer.testing import CliRunner

from tlsdiag.cli.app import app
from tlsdiag.kb.trust import trust_stores
from tlsdiag.render.term import Console
from tlsdiag.render.trust import render_trust
from tlsdiag.stores import context

from helpers.trust_machine import (
    ca,
    clean_trust_env,  # noqa: F401 - autouse: clears trust env vars
    der,
    make_machine,
    pem,
    public_roots,
)

runner = CliRunner()

STORE_KEYS = {
    "id", "name", "kind", "instance", "present", "trusts_root", "status", "location",
    "overridden_by", "fix", "detail", "consumers", "notes", "sources",
}  # fmt: skip
ROOT_KEYS = {
    "subject", "common_name", "sha256", "spki_sha256", "origin", "not_before", "not_after",
    "days_left", "key", "signature_hash",
}  # fmt: skip


@pytest.fixture(scope="module")
def root():
    return ca("Acme Inspection Root")


@pytest.fixture
def machine(tmp_path, monkeypatch):
    fake = make_machine(tmp_path)
    monkeypatch.setattr(context, "machine_context", lambda env, home, **kw: fake.context())
    return fake


def invoke(*args: str):
    return runner.invoke(app, ["trust", *args])


def test_json_schema_and_exit_status_when_a_store_fails(machine, root):
    machine.os_bundle(root)
    result = invoke("--json")
    assert result.exit_code == 1, result.output
    doc = json.loads(result.stdout)
    assert doc["command"] == "trust"
    assert set(doc["root"]) == ROOT_KEYS
    assert doc["root"]["sha256"] == hashlib.sha256(der(root)).hexdigest()
    assert doc["root"]["not_after"].endswith("Z") and doc["root"]["days_left"] > 3000
    assert doc["root"]["key"] == "EC P-256"
    ids = [s["id"] for s in doc["stores"]]
    assert set(ids) == {s.id for s in trust_stores()}  # every known store, present or not
    for store in doc["stores"]:
        assert set(store) == STORE_KEYS
        assert isinstance(store["present"], bool)
        assert store["trusts_root"] in (True, False, None)
        assert isinstance(store["overridden_by"], list)
        if store["fix"] is not None:
            assert set(store["fix"]) == {"steps", "scope", "note"}
            assert store["fix"]["steps"] and store["trusts_root"] is not True
        if not store["present"]:
            assert store["trusts_root"] is None and store["fix"] is None
    by_id = {s["id"]: s for s in doc["stores"]}
    assert by_id["os-debian"]["trusts_root"] is True
    assert by_id["certifi"]["trusts_root"] is False
    assert {"code", "severity", "title", "detail", "evidence", "remediation"} <= set(
        doc["findings"][0]
    )
    assert "client.store_mismatch" in {f["code"] for f in doc["findings"]}
    assert doc["clock"]["time_zone"] and doc["clock"]["host"] is None


def test_exit_zero_when_every_present_store_trusts(machine, root):
    machine.os_bundle(root)
    machine.certifi.write_bytes(pem(*public_roots(), root))
    result = invoke("--json", "--name", "Acme Inspection")
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    present = [s for s in doc["stores"] if s["present"]]
    assert present and all(s["trusts_root"] is True for s in present)
    assert doc["findings"] == []


def test_ca_option_and_output_file(machine, root, tmp_path):
    root_file = machine.write("acme.pem", pem(root))
    out = tmp_path / "report.json"
    result = invoke("--ca", str(root_file), "--format", "json", "--output", str(out))
    assert result.exit_code == 1, result.output
    doc = json.loads(out.read_text())
    assert doc["root"]["origin"] == f"--ca {root_file}"
    fix = {s["id"]: s["fix"] for s in doc["stores"]}["os-debian"]
    assert fix["steps"][0] == (
        f"sudo cp {root_file} /usr/local/share/ca-certificates/acme-inspection-root.crt"
    )
    assert doc["findings"][0]["code"] == "client.root_not_trusted"


def test_two_private_roots_give_a_json_array(machine, root):
    machine.os_bundle(root, ca("Second Root"))
    doc = json.loads(invoke("--json").stdout)
    assert isinstance(doc, list) and len(doc) == 2


def test_no_private_root_is_not_an_error(machine):
    result = invoke("--json")
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert doc["root"] is None and "no private" in doc["note"]
    result = invoke()
    assert result.exit_code == 0
    assert "no private" in result.output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--ca", "x.pem", "--name", "acme"], "choose one of --ca, --fingerprint"),
        (["--fingerprint", "abcd"], "expected a SHA-256 fingerprint"),
        (["--name", "  "], "the pattern is empty"),
        (["--ca", "/nonexistent/root.pem"], "cannot read"),
        (["--from-host", "ftp://x"], "--from-host"),
    ],
)
def test_usage_errors_exit_2(machine, args, message):
    result = invoke(*args)
    assert result.exit_code == 2, result.output
    assert message in result.output
    assert "Traceback" not in result.output


def test_ca_file_without_certificate(machine):
    bad = machine.write("notes.txt", "not a certificate\n")
    result = invoke("--ca", str(bad))
    assert result.exit_code == 2
    assert "no certificate found" in result.output


def test_console_matrix_with_fixes_and_absent_list(machine, root):
    machine.os_bundle(root)
    result = invoke("--name", "acme")
    assert result.exit_code == 1
    text = result.output
    assert "Acme Inspection Root" in text
    assert "Python requests" in text and "NO" in text
    assert "REQUESTS_CA_BUNDLE" in text  # the fix of the failing store
    assert "known stores are not on this machine" in text
    assert "Firefox" not in text.split("known stores")[0]  # absent stores are not rows
    shown = invoke("--name", "acme", "--all").output
    assert "not found on this machine:" in shown and "Firefox profile (NSS)" in shown


def test_renderer_on_a_hand_built_report():
    from tlsdiag.model import Report

    report = Report(
        command="trust",
        target="t",
        generated_at="2026-11-21T00:00:00Z",
        facts={
            "root": {"subject": "CN=R", "sha256": "ab", "not_before": "a", "not_after": "b",
                     "days_left": 10, "key": "RSA 2048", "signature_hash": "sha256", "origin": "x"},
            "stores": [
                {"id": "git", "name": "git", "instance": None, "present": True,
                 "trusts_root": False, "status": "file-missing", "location": "$GIT_SSL_CAINFO",
                 "overridden_by": ["$GIT_SSL_CAINFO"], "detail": "the file does not exist",
                 "fix": {"steps": ["cat r >> b"], "scope": "user", "note": "n"}},
            ],
            "clock": {"local_utc": "2026-11-21T00:00:00Z", "time_zone": "CET",
                      "utc_offset": "+01:00", "skew_seconds": -42.0, "host": "h:443"},
        },
    )  # fmt: skip
    buf = io.StringIO()
    render_trust(report, Console(file=buf, width=140, no_color=True))
    text = buf.getvalue()
    assert "file-missing" in text and "cat r >> b" in text
    assert "10 days left" in text
    assert "-42 s against h:443" in text and "CET (UTC+01:00)" in text


def test_trust_command_imports_stay_light():
    code = (
        "import sys, tlsdiag.cli.trust, tlsdiag.cli.app; "
        "heavy = [m for m in ('cryptography', 'httpx', 'rich.console', 'tlsdiag.stores.engine', "
        "'tlsdiag.stores.context') "
        "if m in sys.modules]; print(heavy)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_help_lists_options():
    result = runner.invoke(app, ["trust", "--help"])
    assert result.exit_code == 0
    for option in ("--ca", "--fingerprint", "--name", "--from-host", "--time-host", "--json"):
        assert option in result.output


@pytest.mark.parametrize("option", ["--name", "--fingerprint"])
def test_a_root_that_is_not_found_is_an_input_error(machine, root, option):
    machine.os_bundle(root)
    value = "nonexistent-root" if option == "--name" else "ab" * 32
    for args in ([option, value], [option, value, "--json"]):
        result = invoke(*args)
        assert result.exit_code == 2, result.output
        assert "no certificate matches" in result.output
        assert "pass --ca FILE" in result.output
        assert "no-certificate-matching" not in result.output and "sudo cp" not in result.output
        assert "Traceback" not in result.output


def test_requests_ca_bundle_already_set_is_the_effective_store(machine, root):
    machine.os_bundle(root)
    bundle = machine.write("~/corp-bundle.pem", pem(*public_roots(), root))
    machine.env["REQUESTS_CA_BUNDLE"] = str(bundle)
    result = invoke("--json", "--name", "Acme Inspection")
    doc = json.loads(result.stdout)
    rows = {s["id"]: s for s in doc["stores"]}
    for store_id in ("certifi", "python-requests"):
        row = rows[store_id]
        assert row["trusts_root"] is True, row
        assert row["location"].startswith("$REQUESTS_CA_BUNDLE="), row
        assert row["overridden_by"] == ["$REQUESTS_CA_BUNDLE"]
    fixes = json.dumps([s["fix"] for s in doc["stores"]])
    assert "export REQUESTS_CA_BUNDLE" not in fixes
    assert result.exit_code == 0, result.output
    assert doc["findings"] == []


def test_certifi_is_the_one_of_python3_on_path_not_tlsdiags_own(tmp_path, monkeypatch, root):
    """Real machine context: the certifi read is the one `python3` on PATH reports."""
    user_certifi = tmp_path / "user-venv" / "cacert.pem"
    user_certifi.parent.mkdir()
    user_certifi.write_bytes(pem(*public_roots(), root))
    bindir = tmp_path / "bin"
    bindir.mkdir()
    python3 = bindir / "python3"
    python3.write_text(f"#!/bin/sh\necho '{user_certifi}'\n")
    python3.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bindir}:/usr/bin:/bin")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    root_file = tmp_path / "acme.pem"
    root_file.write_bytes(pem(root))
    result = invoke("--json", "--ca", str(root_file))
    doc = json.loads(result.stdout)
    row = {s["id"]: s for s in doc["stores"]}["certifi"]
    assert row["location"] == str(user_certifi), row
    assert row["trusts_root"] is True
    assert "certifi bundle (python3 on PATH)" not in {
        f["title"].split(" does not")[0] for f in doc["findings"]
    }


def test_no_python3_on_path_means_no_certifi_store(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))
    ctx = context.machine_context({"PATH": str(tmp_path)}, tmp_path)
    assert ctx.certifi_path == ""
