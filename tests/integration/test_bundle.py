"""tlsdiag bundle on several lab hosts with a HAR holding cookies and tokens: every listed file is
in the zip, the manifest verifies, no private key and no secret anywhere; a failing step still
yields a bundle; bundle show detects tampering; the output is never overwritten without --force."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tlsdiag.cli.app import app
from tlsdiag.lab.cases import Lab

pytestmark = pytest.mark.integration
runner = CliRunner()
HAR = Path(__file__).resolve().parents[2] / "fixtures" / "har"
SECRETS = (
    b"SECRET-COOKIE-1234",
    b"SECRET-BEARER",
    b"SECRET-TOKEN-9876",
    b"SECRET-SESSION-5555",
    b"U0VDUkVULVBST1hZ",
    b"SECRET-PASSWORD-1",
    b"SECRET-APIKEY-3333",
    b"SECRET-SIG-1111",
    b"SECRET-PAGE-7777",
    b"SECRET-BODY-4242",
    b"proxypass",
)
FILES = {
    "report.json",
    "report.html",
    "har-summary.json",
    "env.json",
    "README.txt",
    "manifest.json",
}


def _lab_args(lab: Lab, *names: str) -> list[str]:
    args = [lab.cases[n].target for n in names]
    for n in names:
        args += ["--resolve", lab.cases[n].resolve]
    return [*args, "--cafile", str(lab.root_pem_path), "--timeout", "3"]


def test_bundle_of_lab_hosts_is_complete_and_safe(
    lab: Lab, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HTTPS_PROXY", "http://alice:proxypass@proxy.corp.invalid:8080")
    events = tmp_path / "events.jsonl"
    events.write_text(json.dumps({"action": "inspect", "host": "good.lab.test"}) + "\n")
    policy = tmp_path / "policy.toml"
    policy.write_text('[[rule]]\nid = "bank"\naction = "bypass"\nhost = [".bank.example"]\n')
    out = tmp_path / "b.zip"
    r = runner.invoke(
        app,
        [
            "bundle",
            *_lab_args(lab, "good", "expired", "incomplete-chain"),
            "--har",
            str(HAR / "chrome-login.har"),
            "--keep-har",
            "--note",
            "portal fails since 9:00",
            "--events",
            str(events),
            "--policy",
            str(policy),
            "-o",
            str(out),
        ],
    )
    assert r.exit_code == 1, r.output  # the expired host is an error finding
    assert "[1/" in r.stderr and "wrote" in r.stderr  # the progress display
    with zipfile.ZipFile(out) as zf:
        names = set(zf.namelist())
        blobs = {n: zf.read(n) for n in names}
    assert names >= FILES and "har/redacted.har" in names
    certs = sorted(n for n in names if n.startswith("certs/"))
    assert len(certs) == 3 and all(b"BEGIN CERTIFICATE" in blobs[c] for c in certs)
    for name, blob in blobs.items():
        assert b"PRIVATE KEY" not in blob, name
        assert not [s for s in SECRETS if s in blob], name
    reports = json.loads(blobs["report.json"])
    assert [r["command"] for r in reports][:1] == ["bundle"]
    assert {r["schema"] for r in reports} == {"tlsdiag.report"}
    commands = [r["command"] for r in reports]
    assert commands.count("check") == 3 and commands.count("issuer") == 3
    assert "trust" in commands and "har" in commands
    bundle = reports[0]
    assert bundle["compare"]["status"] == "ok", bundle["compare"]
    assert commands.count("compare") == 3  # bypassed vs inspected for every host
    assert bundle["failed_steps"] == []
    env = json.loads(blobs["env.json"])
    assert env["versions"]["openssl"].startswith("OpenSSL")
    assert env["proxy"]["environment"]["HTTPS_PROXY"] == "http://REDACTED@proxy.corp.invalid:8080"
    assert env["proxy_events"]["count"] == 1 and env["proxy_policy"]["rules"][0]["id"] == "bank"
    assert env["clock"]["skew_seconds"] is not None and abs(env["clock"]["skew_seconds"]) < 5
    assert "nameservers" in env["dns"] or "error" in env["dns"]
    readme = blobs["README.txt"].decode()
    assert "portal fails since 9:00" in readme and "[ok] compare good.lab.test" in readme
    page = blobs["report.html"].decode()
    assert page.index("Verdicts") < page.index("Chain (leaf to root)")
    assert "server.cert_expired" in page and "Trust matrix" in page
    manifest = json.loads(blobs["manifest.json"])
    assert set(manifest["files"]) == names - {"manifest.json"}

    r = runner.invoke(app, ["bundle", "show", str(out)])
    assert r.exit_code == 0, r.output
    assert "manifest OK" in r.stdout and "portal fails since 9:00" in r.stdout

    # tamper: one byte of env.json changed -> show exits 1 naming the file
    tampered = tmp_path / "t.zip"
    with zipfile.ZipFile(out) as src, zipfile.ZipFile(tampered, "w") as dst:
        for n in src.namelist():
            data = src.read(n)
            dst.writestr(n, data.replace(b"OpenSSL", b"OpenSSX") if n == "env.json" else data)
    r = runner.invoke(app, ["bundle", "show", str(tampered)])
    assert r.exit_code == 1 and "env.json: sha256 does not match" in r.stdout


def test_failing_steps_still_yield_a_bundle(lab: Lab, tmp_path: Path) -> None:
    broken_har = tmp_path / "cut.har"
    broken_har.write_text((HAR / "chrome-login.har").read_text()[:900])
    out = tmp_path / "b.zip"
    r = runner.invoke(
        app,
        [
            "bundle",
            *_lab_args(lab, "good"),
            "--har",
            str(broken_har),
            "--events",
            str(tmp_path / "missing.jsonl"),
            "--no-compare",
            "-o",
            str(out),
        ],
    )
    assert r.exit_code == 1, r.output  # the lab root is in no store of this machine
    with zipfile.ZipFile(out) as zf:
        bundle = json.loads(zf.read("report.json"))[0]
        readme = zf.read("README.txt").decode()
    failed = bundle["failed_steps"]
    assert any(s.startswith("har ") for s in failed) and any(s.startswith("events") for s in failed)
    assert bundle["compare"]["status"] == "skipped"
    assert "[failed] har cut.har - " in readme and "truncated" in readme


def test_existing_output_needs_force(lab: Lab, tmp_path: Path) -> None:
    out = tmp_path / "b.zip"
    out.write_text("keep me")
    args = ["bundle", *_lab_args(lab, "good"), "--no-compare", "-o", str(out)]
    r = runner.invoke(app, args)
    assert r.exit_code == 2 and "exists" in r.stderr and out.read_text() == "keep me"
    target = tmp_path / "precious.txt"
    target.write_text("precious")
    link = tmp_path / "link.zip"
    link.symlink_to(target)
    r = runner.invoke(app, ["bundle", *_lab_args(lab, "good"), "--no-compare", "-o", str(link)])
    assert r.exit_code == 2 and target.read_text() == "precious"
    r = runner.invoke(app, [*args, "--force"])
    assert r.exit_code == 1, r.output  # written; the lab root is untrusted here
    assert zipfile.is_zipfile(out)
    r = runner.invoke(app, [*args[:-1], str(link), "--force"])
    assert r.exit_code == 1 and target.read_text() == "precious" and not link.is_symlink()
