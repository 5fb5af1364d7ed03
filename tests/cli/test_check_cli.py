"""The check, probe and chain commands as a user runs them: output, JSON, exit status, bad input."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.serialization import Encoding, pkcs7
from typer.testing import CliRunner

from tlsdiag.cli.app import app
from tlsdiag.lab.cases import Lab

pytestmark = pytest.mark.integration
runner = CliRunner()


def _case_args(lab: Lab, name: str) -> list[str]:
    case = lab.cases[name]
    return [case.target, "--resolve", case.resolve, "--cafile", str(lab.root_pem_path)]


def test_check_good_exits_0_and_says_it_works(lab: Lab) -> None:
    r = runner.invoke(app, ["check", *_case_args(lab, "good")])
    assert r.exit_code == 0, r.output
    assert "works from here" in r.stdout
    assert "TLSv1.3" in r.stdout and "good.lab.test" in r.stdout


def test_check_expired_exits_1_with_verdict_evidence_and_next_step(lab: Lab) -> None:
    r = runner.invoke(app, ["check", *_case_args(lab, "expired")])
    assert r.exit_code == 1, r.output
    assert "the problem is at the server" in r.stdout
    assert "server.cert_expired" in r.stdout and "next step:" in r.stdout


def test_check_json_schema(lab: Lab) -> None:
    r = runner.invoke(app, ["check", "--json", *_case_args(lab, "wrong-host")])
    assert r.exit_code == 1, r.output
    doc = json.loads(r.stdout)
    for key in (
        "schema",
        "schema_version",
        "tool_version",
        "target",
        "handshake",
        "chain",
        "findings",
        "trust",
        "interception",
        "dns",
        "http",
        "endpoint",
    ):
        assert key in doc, key
    assert doc["schema"] == "tlsdiag.report" and doc["schema_version"] == 1
    f = doc["findings"][0]
    assert set(f) == {"code", "severity", "title", "detail", "evidence", "remediation"}
    assert f["code"] == "server.hostname_mismatch" and f["severity"] == "error"


def test_several_targets_and_from_file(lab: Lab, tmp_path: Path) -> None:
    targets = tmp_path / "targets.txt"
    targets.write_text(f"# lab\n{lab.cases['good'].target}\n\n{lab.cases['expired'].target}\n")
    args = [
        "check",
        "--json",
        "--from",
        str(targets),
        lab.cases["sha1"].target,
        "--resolve",
        lab.cases["good"].resolve,
        "--resolve",
        lab.cases["expired"].resolve,
        "--resolve",
        lab.cases["sha1"].resolve,
        "--cafile",
        str(lab.root_pem_path),
    ]
    r = runner.invoke(app, args)
    assert r.exit_code == 1, r.output
    docs = json.loads(r.stdout)
    assert [d["target"] for d in docs] == [lab.cases[n].target for n in ("sha1", "good", "expired")]
    assert [bool(d["findings"]) for d in docs] == [True, False, True]


def test_output_file(lab: Lab, tmp_path: Path) -> None:
    out = tmp_path / "report.json"
    r = runner.invoke(app, ["check", "-f", "json", "-o", str(out), *_case_args(lab, "good")])
    assert r.exit_code == 0 and r.stdout == ""
    assert json.loads(out.read_text())["findings"] == []
    html = tmp_path / "report.html"
    r = runner.invoke(
        app, ["check", "--format", "html", "-o", str(html), *_case_args(lab, "expired")]
    )
    assert r.exit_code == 1
    assert "server.cert_expired" in html.read_text() and "<html>" in html.read_text()


def test_probe_showcerts_prints_the_chain_as_sent(lab: Lab) -> None:
    r = runner.invoke(app, ["probe", "--showcerts", *_case_args(lab, "expired")])
    assert r.exit_code == 0, r.output  # the handshake works; chain problems are check's job
    assert r.stdout.count("-----BEGIN CERTIFICATE-----") == 2
    r = runner.invoke(app, ["probe", "--tls1_2", "--json", *_case_args(lab, "good")])
    assert json.loads(r.stdout)["handshake"]["version"] == "TLSv1.2"
    r = runner.invoke(app, ["probe", *_case_args(lab, "not-tls")])
    assert r.exit_code == 1 and "network.not_tls" in r.stdout


def test_chain_command_on_files_and_stdin(lab: Lab, tmp_path: Path) -> None:
    import ssl

    pem = ssl.get_server_certificate(("127.0.0.1", lab.cases["wrong-host"].port))
    leaf = tmp_path / "leaf.pem"
    leaf.write_text(pem)
    r = runner.invoke(
        app,
        [
            "chain",
            str(leaf),
            "--host",
            "wrong-host.lab.test",
            "--cafile",
            str(lab.root_pem_path),
            "--no-aia",
            "--json",
        ],
    )
    doc = json.loads(r.stdout)
    codes = {f["code"] for f in doc["findings"]}
    assert "server.hostname_mismatch" in codes and "server.chain_incomplete" in codes
    assert r.exit_code == 1
    from cryptography import x509

    cert = x509.load_pem_x509_certificate(pem.encode())
    der = tmp_path / "leaf.der"
    der.write_bytes(cert.public_bytes(Encoding.DER))
    p7 = tmp_path / "leaf.p7b"
    p7.write_bytes(pkcs7.serialize_certificates([cert], Encoding.DER))
    for path in (der, p7):
        r = runner.invoke(app, ["chain", str(path), "--no-aia", "--json"])
        assert json.loads(r.stdout)["chain"][0]["subject"].endswith("CN=other.lab.test")
    r = runner.invoke(app, ["chain", "-", "--no-aia"], input=pem)
    assert "other.lab.test" in r.stdout


BAD_INPUT = [
    (["check"], "no target given"),
    (["check", ""], "empty target"),
    (["check", "example.test:0"], "out of range"),
    (["check", "example.test:70000"], "out of range"),
    (["check", "ftp://example.test"], "unsupported scheme"),
    (["check", "https://"], "no host"),
    (["check", "a.test", "--resolve", "a.test:443"], "--resolve"),
    (["check", "a.test", "--resolve", "a.test:443:not-an-ip"], "--resolve"),
    (["check", "a.test", "--connect-to", "a.test"], "--connect-to"),
    (["check", "a.test", "--cafile", "/nonexistent/ca.pem"], "--cafile"),
    (["check", "a.test", "-4", "-6"], "-4 and -6"),
    (["check", "a.test", "--tls1_2", "--tls1_3"], "cannot be used together"),
    (["check", "a.test", "--no-sni", "--servername", "b.test"], "cannot be used together"),
    (["check", "a.test", "--cipher", "NOT-A-CIPHER"], "--cipher"),
    (["check", "--from", "/nonexistent/list.txt"], "--from"),
    (["probe", "a.test:99999"], "out of range"),
    (["chain", "/nonexistent/chain.pem"], "cannot read"),
]


@pytest.mark.parametrize(("args", "message"), BAD_INPUT, ids=[" ".join(a) for a, _ in BAD_INPUT])
def test_bad_input_is_one_line_and_exit_2(args: list[str], message: str) -> None:
    r = runner.invoke(app, args)
    assert r.exit_code == 2, r.output
    assert message in r.stderr
    assert "Traceback" not in r.output and "Traceback" not in r.stderr
    assert r.stderr.startswith("error: ")


def test_cafile_without_certificates_and_directory(tmp_path: Path) -> None:
    empty = tmp_path / "empty.pem"
    empty.write_text("not a certificate\n")
    for path in (empty, tmp_path):
        r = runner.invoke(app, ["check", "a.test", "--cafile", str(path)])
        assert r.exit_code == 2, r.output
        assert r.stderr.startswith("error: --cafile")
    garbage = tmp_path / "garbage.der"
    garbage.write_bytes(b"\x30\x03\x02\x01\x01")
    r = runner.invoke(app, ["chain", str(garbage)])
    assert r.exit_code == 2 and "no certificate found" in r.stderr


def test_output_into_a_directory_is_refused(lab: Lab, tmp_path: Path) -> None:
    r = runner.invoke(app, ["check", "-o", str(tmp_path), *_case_args(lab, "good")])
    assert r.exit_code == 2 and "is a directory" in r.stderr


def test_demo_and_lab_list() -> None:
    r = runner.invoke(app, ["demo", "--json"])
    assert r.exit_code == 0, r.output
    doc = json.loads(r.stdout)
    assert doc["all_as_expected"] is True and len(doc["cases"]) >= 17
    r = runner.invoke(app, ["demo", "--case", "nope"])
    assert r.exit_code == 2 and "unknown lab case" in r.stderr
    r = runner.invoke(app, ["lab", "list"])
    assert r.exit_code == 0 and "incomplete-chain" in r.stdout


def test_lab_serve_prints_commands_that_work(tmp_path: Path) -> None:
    """`tlsdiag lab serve` in a real process: its printed command, run as is, finds the cause."""
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tlsdiag",
            "lab",
            "serve",
            "--case",
            "expired",
            "--dir",
            str(tmp_path),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        command = ""
        for _ in range(20):
            line = proc.stdout.readline()
            if line.startswith("tlsdiag check"):
                command = line.strip()
                break
        assert command, "no command printed"
        args = command.split()[1:]
        r = runner.invoke(app, [*args, "--json"])
        assert r.exit_code == 1
        assert json.loads(r.stdout)["findings"][0]["code"] == "server.cert_expired"
        assert not any(p.name.endswith(".key") for p in tmp_path.iterdir())
    finally:
        proc.terminate()
        proc.communicate(timeout=10)


def test_connect_to_servername_and_no_sni(lab: Lab) -> None:
    case = lab.cases["good"]
    root = str(lab.root_pem_path)
    # the name on port 443 is moved to the lab port: SNI and name check keep the name
    r = runner.invoke(
        app,
        [
            "check",
            "--json",
            "good.lab.test",
            "--connect-to",
            f"good.lab.test:443:127.0.0.1:{case.port}",
            "--cafile",
            root,
        ],
    )
    doc = json.loads(r.stdout)
    assert r.exit_code == 0, doc["findings"]
    assert doc["handshake"]["sni"] == "good.lab.test" and doc["endpoint"]["address"] == "127.0.0.1"
    # an IP target with --servername: the certificate is checked against the server name
    r = runner.invoke(
        app,
        [
            "check",
            "--json",
            f"127.0.0.1:{case.port}",
            "--servername",
            "good.lab.test",
            "--cafile",
            root,
        ],
    )
    assert r.exit_code == 0, r.stdout
    # without SNI and with an IP target, the name check is against the IP: a mismatch
    r = runner.invoke(
        app, ["check", "--json", f"127.0.0.1:{case.port}", "--no-sni", "--cafile", root]
    )
    doc = json.loads(r.stdout)
    assert doc["handshake"]["sni"] == ""
    assert "server.hostname_mismatch" in {f["code"] for f in doc["findings"]}
