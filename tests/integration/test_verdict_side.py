"""Issue 11 section 1: an issuer nobody sent is placed on the right side.

A chain whose missing issuer is an inspection or private root is this client's problem
(``client.root_not_trusted``, with this machine's fix commands); a chain whose missing issuer is a
public CA stays the server's (``server.chain_incomplete``). Real servers on 127.0.0.1; curl agrees
that the chain verifies once the root is given to it, so the client only lacked the root.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from typer.testing import CliRunner

from tlsdiag import codes
from tlsdiag.cli.app import app

from helpers import issuer_chains as chains
from helpers.issuer_lab import pem, tls_server

pytestmark = pytest.mark.integration

runner = CliRunner()
CURL = shutil.which("curl")

ZSCALER = (
    "CN=Zscaler Intermediate Root CA (zscalertwo.net) (t),OU=Zscaler Inc.,O=Zscaler Inc.,"
    "ST=California,C=US",
    "CN=Zscaler Root CA,OU=Zscaler Inc.,O=Zscaler Inc.,L=San Jose,ST=California,C=US",
)


def check(host: str, port: int, *args: str) -> tuple[int, dict[str, Any]]:
    argv = ["check", f"{host}:{port}", "--resolve", f"{host}:{port}:127.0.0.1"]
    argv += ["--timeout", "5", "--no-revocation", "--json", *args]
    result = runner.invoke(app, argv)
    assert result.exit_code in (0, 1), result.output
    return result.exit_code, json.loads(result.stdout)


def ranked(report: dict[str, Any]) -> list[tuple[str, str]]:
    return [(f["code"], f["severity"]) for f in report["findings"] if f["severity"] != "info"]


def curl_exit(host: str, port: int, cacert=None) -> int:
    argv = [CURL or "curl", "-sS", "-o", "/dev/null", "--max-time", "5", "--noproxy", "*"]
    argv += ["--resolve", f"{host}:{port}:127.0.0.1", f"https://{host}:{port}/"]
    if cacert is not None:
        argv += ["--cacert", str(cacert)]
    return subprocess.run(argv, capture_output=True, text=True, timeout=15).returncode


def test_vendor_root_not_sent_is_the_clients_root(tmp_path):
    host = "www.example.com"
    root = chains.make_ca(ZSCALER[1])
    inter = chains.make_ca(ZSCALER[0], issuer=root)
    served = [chains.make_leaf(host, inter), inter.cert]
    with tls_server(served, chains.leaf_key(host)) as port:
        code, report = check(host, port)
        if CURL:
            root_file = tmp_path / "zscaler.pem"
            root_file.write_bytes(pem(root.cert))
            assert curl_exit(host, port) == 60  # curl: the client lacks the root
            assert curl_exit(host, port, root_file) not in (35, 60)  # with it, TLS verifies
    assert code == 1
    assert ranked(report)[0] == (codes.CLIENT_ROOT_NOT_TRUSTED, "error")
    assert codes.SERVER_CHAIN_INCOMPLETE not in {c for c, _ in ranked(report)}
    first = report["findings"][0] if report["findings"][0]["severity"] == "error" else None
    client = next(f for f in report["findings"] if f["code"] == codes.CLIENT_ROOT_NOT_TRUSTED)
    assert first is None or first["code"] == codes.CLIENT_ROOT_NOT_TRUSTED
    assert "Zscaler" in client["title"]
    assert "tlsdiag trust --ca" in client["remediation"]
    assert report["interception"]["vendor_id"] == "zscaler"


def test_corporate_root_signing_the_leaf_directly_is_ranked_client_first(tmp_path):
    host = "shop.example.net"
    root = chains.make_ca("CN=Acme Corp Root CA,O=Acme Corp,C=US")
    with tls_server([chains.make_leaf(host, root)], chains.leaf_key(host)) as port:
        code, report = check(host, port)
        if CURL:
            root_file = tmp_path / "acme.pem"
            root_file.write_bytes(pem(root.cert))
            assert curl_exit(host, port) == 60
            assert curl_exit(host, port, root_file) not in (35, 60)
    assert code == 1
    order = ranked(report)
    assert order[0] == (codes.CLIENT_ROOT_NOT_TRUSTED, "error")
    assert (codes.SERVER_CHAIN_INCOMPLETE, "warning") in order
    assert (codes.SERVER_CHAIN_INCOMPLETE, "error") not in order
    client = next(f for f in report["findings"] if f["code"] == codes.CLIENT_ROOT_NOT_TRUSTED)
    assert "tlsdiag trust --ca" in client["detail"]  # how to decide between the two


def test_public_ca_intermediate_not_sent_stays_the_servers():
    """Negative control: a public CA's name and SCTs mean the server omits its intermediate."""
    host = "www.example.org"
    root = chains.make_ca("CN=DigiCert Global Root G2,O=DigiCert Inc,C=US", label="fake-dc-root")
    inter = chains.make_ca(
        "CN=DigiCert Global G2 TLS RSA SHA256 2020 CA1,O=DigiCert Inc,C=US", issuer=root
    )
    with tls_server([chains.make_leaf(host, inter, scts=2)], chains.leaf_key(host)) as port:
        code, report = check(host, port)
    assert code == 1
    order = ranked(report)
    assert order[0] == (codes.SERVER_CHAIN_INCOMPLETE, "error")
    assert codes.CLIENT_ROOT_NOT_TRUSTED not in {c for c, _ in order}
    assert report["interception"]["inspected"] is False


def test_chain_forged_by_the_proxy_shows_interception_and_the_client_side(tmp_path):
    from tlsdiag.proxy.ca import create_ca
    from tlsdiag.proxy.forge import mint, spec_for

    now = datetime.now(UTC)
    ca_cert, ca_key = create_ca(now=now, machine="laptop")
    leaf_key = chains.leaf_key("forged")
    leaf = mint(
        spec_for("www.example.com"), leaf_key=leaf_key, issuer=ca_cert, issuer_key=ca_key, now=now
    )
    for served in ([leaf, ca_cert], [leaf]):
        path = tmp_path / "forged.pem"
        path.write_bytes(pem(*served))
        result = runner.invoke(app, ["chain", "--json", str(path)])
        assert result.exit_code == 1, result.output
        report = json.loads(result.stdout)
        assert report["interception"]["inspected"] is True
        errors = [f["code"] for f in report["findings"] if f["severity"] == "error"]
        assert errors[0] == codes.CLIENT_ROOT_NOT_TRUSTED
        assert codes.SERVER_UNTRUSTED_ROOT not in errors
        assert codes.SERVER_CHAIN_INCOMPLETE not in errors
    console = runner.invoke(app, ["chain", str(path)])
    assert "interception:" in console.stdout


def test_inspected_chain_whose_issuer_has_a_public_aia_host_ranks_the_server_first(tmp_path):
    """Ambiguous evidence: a private CA on a public name (inspected) whose leaf names an AIA URL
    on a public host. Both readings, the server's first, and how to decide."""
    from dataclasses import replace

    from tlsdiag.commands.check import CheckOptions, run_check
    from tlsdiag.core.target import parse_resolve, parse_target
    from tlsdiag.lab.pki import make_ca, make_leaf
    from tlsdiag.lab.servers import LabServer, TlsSettings, tls_context
    from tlsdiag.net.probe import ProbeOptions

    host = "shop.example.net"
    now = datetime.now(UTC)
    root = make_ca("Acme Corp Root CA", now=now, org="Acme Corp")
    inter = make_ca("Acme Corp Issuing CA", now=now, issuer=root, org="Acme Corp")
    leaf = make_leaf(
        inter,
        now=now,
        names=[host],
        not_before=now - timedelta(days=30),
        aia_ca_issuers="http://pki.acme-corp.com/issuing.crt",
    )
    ctx = tls_context(TlsSettings(chain=(leaf,)))
    server = LabServer("tls", ctx=ctx).start()
    try:
        target = parse_target(f"{host}:{server.port}")
        probe_opts = ProbeOptions(resolve=(parse_resolve(f"{host}:{server.port}:127.0.0.1"),))
        opts = replace(CheckOptions(probe=probe_opts), aia=False, revocation=False)
        report = run_check(target, opts).report
    finally:
        server.stop()
    order = [(f.code, f.severity.value) for f in report.findings if f.severity.value != "info"]
    assert order[:2] == [
        (codes.SERVER_CHAIN_INCOMPLETE, "error"),
        (codes.CLIENT_ROOT_NOT_TRUSTED, "warning"),
    ]
    assert report.facts["interception"]["inspected"] is True
    assert all("tlsdiag trust --ca" in f.detail for f in report.findings[:2])
