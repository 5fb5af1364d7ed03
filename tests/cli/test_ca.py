"""``tlsdiag ca``: init (0600 key, no overwrite), show, export, path, trust-help."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest
from cryptography import x509
from typer.testing import CliRunner

from tlsdiag.cli.app import app

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
