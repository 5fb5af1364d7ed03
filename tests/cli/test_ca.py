"""``tlsdiag ca``: init (0600 key, no overwrite), show, export, path, trust-help."""

from __future__ import annotations

import json
import stat
import sys
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from typer.testing import CliRunner

from tlsdiag.cli.app import app
from tlsdiag.stores import context

runner = CliRunner()


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    d = tmp_path / "tlsdiag-home"
    monkeypatch.setenv("TLSDIAG_HOME", str(d))
    return d


def test_init_show_export_path(home: Path) -> None:
    r = runner.invoke(app, ["ca", "init", "--json"])
    assert r.exit_code == 0, r.output
    info = json.loads(r.stdout)
    assert info["command"] == "ca init" and info["key"] == "EC P-256"
    assert info["cert_path"] == str(home / "ca.pem")
    assert stat.S_IMODE((home / "ca-key.pem").stat().st_mode) == 0o600

    r = runner.invoke(app, ["ca", "init"])
    assert r.exit_code == 2 and "already exists" in r.output and "--force" in r.output

    r = runner.invoke(app, ["ca", "show", "--json"])
    assert r.exit_code == 0
    shown = json.loads(r.stdout)
    assert shown["sha256"] == info["sha256"] and shown["days_left"] >= 364

    r = runner.invoke(app, ["ca", "show"])
    assert r.exit_code == 0 and "tlsdiag inspection CA" in r.stdout

    r = runner.invoke(app, ["ca", "export"])
    assert r.exit_code == 0
    pem = r.stdout_bytes
    assert pem.startswith(b"-----BEGIN CERTIFICATE-----") and b"PRIVATE" not in pem
    out = home.parent / "ca.der"
    r = runner.invoke(app, ["ca", "export", "--der", "--output", str(out)])
    assert r.exit_code == 0
    assert x509.load_der_x509_certificate(out.read_bytes()) == x509.load_pem_x509_certificate(pem)

    r = runner.invoke(app, ["ca", "path"])
    assert r.stdout.splitlines() == [str(home), str(home / "ca.pem"), str(home / "ca-key.pem")]

    r = runner.invoke(
        app, ["ca", "init", "--force", "--permit", "example.com", "--days", "30", "--json"]
    )
    assert r.exit_code == 0, r.output
    again = json.loads(r.stdout)
    assert again["sha256"] != info["sha256"] and again["permitted_domains"] == ["example.com"]


def test_show_without_ca_says_how_to_create_one(home: Path) -> None:
    r = runner.invoke(app, ["ca", "show"])
    assert r.exit_code == 2
    assert "no CA in" in r.output and "tlsdiag ca init" in r.output
    r = runner.invoke(app, ["ca", "export"])
    assert r.exit_code == 2 and "tlsdiag ca init" in r.output
    r = runner.invoke(app, ["ca", "path", "--json"])
    assert json.loads(r.stdout)["exists"] is False


def test_bad_permit_is_usage_error(home: Path) -> None:
    r = runner.invoke(app, ["ca", "init", "--permit", "not a domain"])
    assert r.exit_code == 2 and "--permit" in r.output
    assert not (home / "ca-key.pem").exists()


@pytest.mark.parametrize("platform", ["linux", "macos", "windows"])
def test_trust_help_per_platform(home: Path, platform: str) -> None:
    runner.invoke(app, ["ca", "init"])
    r = runner.invoke(app, ["ca", "trust-help", "--platform", platform, "--json"])
    assert r.exit_code == 0, r.output
    info = json.loads(r.stdout)
    assert info["platform"] == platform and info["stores"]
    steps = " ".join(s for store in info["stores"] for s in store["steps"])
    assert str(home / "ca.pem") in steps
    expected = {
        "linux": "update-ca-certificates",
        "macos": "security add-trusted-cert",
        "windows": "certutil",
    }[platform]
    assert expected in steps


def test_trust_help_bad_platform(home: Path) -> None:
    r = runner.invoke(app, ["ca", "trust-help", "--platform", "beos"])
    assert r.exit_code == 2 and "--platform" in r.output


# --- trust-help: every printed command runnable, or the value to supply named ----------------


def _fake_machine(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    from helpers.trust_machine import ca as make_ca
    from helpers.trust_machine import make_machine, pem, pkcs12_truststore

    for name in ("SSL_CERT_FILE", "SSL_CERT_DIR", "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE"):
        monkeypatch.delenv(name, raising=False)
    machine = make_machine(tmp_path / "machine")
    jdk = machine.path("/usr/lib/jvm/jdk-21")
    (jdk / "bin").mkdir(parents=True)
    (jdk / "lib/security").mkdir(parents=True)
    pkcs12_truststore(jdk / "lib/security/cacerts", {"pub": make_ca("Public Root")}, b"changeit")
    profile = machine.home / ".mozilla/firefox/abc.default-release"
    profile.mkdir(parents=True)
    machine.write(
        "~/.mozilla/firefox/profiles.ini",
        "[Profile0]\nName=default-release\nIsRelative=1\nPath=abc.default-release\n",
    )
    bundle = machine.write("~/corp-bundle.pem", pem(make_ca("Corp Root")))
    machine.env["REQUESTS_CA_BUNDLE"] = str(bundle)
    monkeypatch.setattr(context, "machine_context", lambda env, home, **kw: machine.context())
    return machine


def _all_text(info: dict[str, Any]) -> str:
    return "\n".join(s for store in info["stores"] for s in [*store["steps"], store["note"]])


@pytest.mark.skipif(sys.platform != "linux", reason="this machine's platform is Linux")
def test_trust_help_resolves_this_machines_values(
    home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    machine = _fake_machine(tmp_path, monkeypatch)
    runner.invoke(app, ["ca", "init"])
    r = runner.invoke(app, ["ca", "trust-help", "--json"])
    assert r.exit_code == 0, r.output
    info = json.loads(r.stdout)
    text = _all_text(info)
    assert "${" not in text and "@os-fix" not in text, text
    by_id = {s["id"]: s for s in info["stores"]}
    jdk = machine.path("/usr/lib/jvm/jdk-21")
    java = " ".join(by_id["java"]["steps"])
    assert f'"{jdk}/bin/keytool" -importcert' in java
    assert f'-keystore "{jdk}/lib/security/cacerts"' in java
    profile = machine.home / ".mozilla/firefox/abc.default-release"
    assert f"sql:{profile}" in " ".join(by_id["firefox"]["steps"])
    requests = by_id["python-requests"]
    assert f'>> "{machine.home / "corp-bundle.pem"}"' in " ".join(requests["steps"])
    assert "export REQUESTS_CA_BUNDLE" not in " ".join(requests["steps"])
    assert "update-ca-certificates" in " ".join(by_id["docker"]["steps"])  # @os-fix expanded


@pytest.mark.parametrize("platform", ["macos", "windows", "all"])
def test_trust_help_elsewhere_names_the_values_to_supply(home: Path, platform: str) -> None:
    runner.invoke(app, ["ca", "init"])
    r = runner.invoke(app, ["ca", "trust-help", "--platform", platform, "--json"])
    assert r.exit_code == 0, r.output
    info = json.loads(r.stdout)
    text = _all_text(info)
    assert "${" not in text and "@os-fix" not in text, text
    java = next(s for s in info["stores"] if s["id"] == "java")
    assert '"<JAVA_HOME>/bin/keytool" -importcert' in java["steps"][0]
    assert "<JAVA_HOME> is the JDK's directory" in java["note"]
    for store in info["stores"]:
        for value in ("<JAVA_HOME>", "<FIREFOX_PROFILE_DIR>", "<BUNDLE_FILE>", "<SETTING>"):
            if value in " ".join(store["steps"]):
                assert f"{value} is" in store["note"], store


def test_trust_help_console_prints_no_template(home: Path) -> None:
    runner.invoke(app, ["ca", "init"])
    r = runner.invoke(app, ["ca", "trust-help", "--platform", "all"])
    assert r.exit_code == 0, r.output
    assert "${" not in r.stdout and "@os-fix" not in r.stdout
    assert "keytool" in r.stdout
