"""`tlsdiag issuer` against real TLS servers on 127.0.0.1 serving chains built at test time.

The server is reached with --resolve (so the name the client asks for can be public or internal)
and the private roots are given with --cafile, as a user would.
"""

from __future__ import annotations

import json
import socket
from datetime import timedelta
from typing import Any

import pytest
from typer.testing import CliRunner

from tlsdiag.cli.app import app
from tlsdiag.facts.ids import RootSetId
from tlsdiag.stores.bundles import RootSet

from helpers import issuer_chains as chains
from helpers.issuer_lab import pem, tls_server

pytestmark = pytest.mark.integration

runner = CliRunner()


def run_issuer(host: str, port: int, *args: str, cafile=None) -> tuple[int, dict[str, Any]]:
    argv = [
        "issuer",
        f"{host}:{port}",
        "--resolve",
        f"{host}:{port}:127.0.0.1",
        "--timeout",
        "5",
        "--json",
        *args,
    ]
    if cafile is not None:
        argv += ["--cafile", str(cafile)]
    result = runner.invoke(app, argv)
    assert result.exit_code in (0, 1), result.output
    return result.exit_code, json.loads(result.stdout)


def codes_of(report: dict[str, Any]) -> dict[str, str]:
    return {f["code"]: f["severity"] for f in report["findings"]}


# Chains re-signed by roots named like inspection products (intermediate DN, root DN).
VENDOR_CHAINS = {
    "zscaler": (
        "CN=Zscaler Intermediate Root CA (zscalertwo.net) (t),OU=Zscaler Inc.,O=Zscaler Inc.,"
        "ST=California,C=US",
        "CN=Zscaler Root CA,OU=Zscaler Inc.,O=Zscaler Inc.,L=San Jose,ST=California,C=US",
    ),
    "netskope": (
        "CN=ca.acme.goskope.com,OU=IT,O=Acme Corp,C=US",
        "CN=certadmin,O=Netskope Inc.,C=US",
    ),
    "cato": (None, "CN=Cato Networks Root CA"),
    "fortinet": (
        None,
        "CN=FG100FTK20000000,OU=Certificate Authority,O=Fortinet,L=Sunnyvale,ST=California,C=US",
    ),
    "cisco-umbrella": (
        "CN=Cisco Umbrella Secondary SubCA lon-SG,O=Cisco",
        "CN=Cisco Umbrella Root CA,O=Cisco",
    ),
    "mitmproxy": (None, "CN=mitmproxy,O=mitmproxy"),
    "charles": (
        None,
        "CN=Charles Proxy CA (21 Nov 2026\\, laptop),OU=https://charlesproxy.com/ssl,O=XK72 Ltd,"
        "L=Auckland,ST=Auckland,C=NZ",
    ),
}


def build_chain(intermediate_dn, root_dn, host, **leaf_kw):
    root = chains.make_ca(root_dn)
    issuer = chains.make_ca(intermediate_dn, issuer=root) if intermediate_dn else root
    leaf = chains.make_leaf(host, issuer, **leaf_kw)
    served = [leaf] if issuer is root else [leaf, issuer.cert]
    return root, served


@pytest.mark.parametrize("vendor_id", sorted(VENDOR_CHAINS))
def test_chain_resigned_by_a_vendor_root_is_inspected_by_that_vendor(vendor_id, tmp_path):
    host = "www.example.com"
    root, served = build_chain(*VENDOR_CHAINS[vendor_id], host)
    cafile = tmp_path / "root.pem"
    cafile.write_bytes(pem(root.cert))
    with tls_server(served, chains.leaf_key(host)) as port:
        code, report = run_issuer(host, port, cafile=cafile)
    assert code == 0
    verdict = report["interception"]
    assert verdict["inspected"] is True
    assert verdict["vendor_id"] == vendor_id
    assert verdict["confidence"] == "high"
    assert report["tls_inspection"] == 1
    assert report["verdict"] == "inspected"
    assert codes_of(report)["interception.detected"] == "info"
    assert report["trusted_by"].get("--cafile") is True
    assert report["presented_chain"][0]["subject"] == f"CN={host}"


def test_vendor_root_not_installed_anywhere_is_still_named(tmp_path):
    """The usual helpdesk case: the proxy's root is missing on this client."""
    host = "www.example.com"
    _, served = build_chain(*VENDOR_CHAINS["zscaler"], host)
    with tls_server(served, chains.leaf_key(host)) as port:
        code, report = run_issuer(host, port)
    verdict = report["interception"]
    assert (verdict["inspected"], verdict["vendor_id"]) == (True, "zscaler")
    assert any("nor trusted by this machine" in r for r in verdict["reasons"])
    assert code == 0  # the issuer command itself reports only the verdict


def test_private_root_with_cafile_public_name_is_inspection_internal_name_is_pki(tmp_path):
    root = chains.make_ca("CN=Acme Corp Root CA,O=Acme Corp,C=US")
    cafile = tmp_path / "acme.pem"
    cafile.write_bytes(pem(root.cert))

    public_host = "shop.example.net"
    with tls_server([chains.make_leaf(public_host, root)], chains.leaf_key(public_host)) as port:
        code, report = run_issuer(public_host, port, cafile=cafile)
    verdict = report["interception"]
    assert code == 0
    assert verdict["inspected"] is True and verdict["vendor"] is None
    assert verdict["confidence"] == "medium"
    assert any("trusted by --cafile" in r for r in verdict["reasons"])

    internal_host = "wiki.corp.internal"
    with tls_server(
        [chains.make_leaf(internal_host, root)], chains.leaf_key(internal_host)
    ) as port:
        code, report = run_issuer(internal_host, port, cafile=cafile)
    verdict = report["interception"]
    assert code == 0
    assert verdict["inspected"] is False
    assert report["tls_inspection"] == 0
    assert any("internal PKI" in r for r in verdict["reasons"])
    assert "interception.detected" not in codes_of(report)


def test_public_looking_chain_without_scts_is_a_forged_copy(tmp_path):
    host = "api.example.org"
    root, served = build_chain(
        "CN=R11,O=Let's Encrypt,C=US",
        "CN=ISRG Root X1,O=Internet Security Research Group,C=US",
        host,
    )
    cafile = tmp_path / "fake-isrg.pem"
    cafile.write_bytes(pem(root.cert))
    with tls_server(served, chains.leaf_key(host)) as port:
        code, report = run_issuer(host, port, cafile=cafile)
    verdict = report["interception"]
    assert verdict["inspected"] is True and verdict["confidence"] == "high"
    assert any(
        "claims 'Let's Encrypt'" in r and "no embedded SCTs" in r for r in verdict["reasons"]
    )
    assert code == 0


def test_leaf_forged_minutes_ago_is_flagged(tmp_path):
    host = "news.example.com"
    root = chains.make_ca("CN=Gateway Signing CA,O=Some Gateway")
    cafile = tmp_path / "gw.pem"
    cafile.write_bytes(pem(root.cert))
    leaf = chains.make_leaf(host, root, not_before=chains.NOW - timedelta(minutes=3), days=14)
    with tls_server([leaf], chains.leaf_key(host)) as port:
        _, report = run_issuer(host, port, cafile=cafile)
    assert any("forged on the fly" in r for r in report["interception"]["reasons"])
    assert report["interception"]["confidence"] == "high"


@pytest.fixture
def public_program(monkeypatch):
    """Stand in for the public root program: a test root that plays the role of a certifi root
    (the real certifi roots cannot sign test chains)."""
    root = chains.make_ca("CN=Test Public Root R1,O=Test Public Trust,C=US")
    public = RootSet(RootSetId.PUBLIC, "(test public program)", (root.cert,))
    import tlsdiag.commands.check as check_mod
    import tlsdiag.commands.issuer as issuer_mod

    monkeypatch.setattr(check_mod, "public_roots", lambda: public)
    monkeypatch.setattr(issuer_mod, "public_roots", lambda: public)
    return root


def test_direct_public_chain_with_scts(public_program):
    host = "www.example.com"
    ica = chains.make_ca("CN=Test Public TLS CA 1,O=Test Public Trust,C=US", issuer=public_program)
    leaf = chains.make_leaf(host, ica, scts=2)
    with tls_server([leaf, ica.cert], chains.leaf_key(host)) as port:
        code, report = run_issuer(host, port, "--platform", "windows")
    verdict = report["interception"]
    assert code == 0
    assert verdict["inspected"] is False and verdict["public_root"] is True
    assert verdict["confidence"] == "high"
    assert report["verdict"] == "direct" and report["tls_inspection"] == 0
    assert report["presented_chain"][0]["sct_count"] == 2
    assert codes_of(report) == {}


def test_direct_chain_on_a_default_bypass_platform_is_expected(public_program):
    host = "www.example.com"
    ica = chains.make_ca("CN=Test Public TLS CA 1,O=Test Public Trust,C=US", issuer=public_program)
    leaf = chains.make_leaf(host, ica, scts=1, not_before=chains.NOW - timedelta(days=2))
    with tls_server([leaf, ica.cert], chains.leaf_key(host)) as port:
        code, report = run_issuer(host, port, "--platform", "linux", "--vendor", "cato")
        assert code == 0
        found = codes_of(report)
        assert found["platform.default_bypass"] == "info"
        assert found["domain.newly_published"] == "warning"

        # The same on Windows: Cato inspects Windows, so nothing explains the public issuer.
        code, report = run_issuer(host, port, "--platform", "windows", "--vendor", "cato")
        assert "platform.default_bypass" not in codes_of(report)

        # A script that expects Cato fails (exit 1), and the bypass finding says why.
        code, report = run_issuer(host, port, "--platform", "android", "--expect-issuer", "Cato")
    assert code == 1
    errors = [f for f in report["findings"] if f["severity"] == "error"]
    assert [f["title"] for f in errors] == ["issuer is not the expected one"]
    assert "platform.default_bypass" in codes_of(report)


def test_expect_issuer_and_fingerprint(tmp_path):
    host = "www.example.com"
    root, served = build_chain(*VENDOR_CHAINS["zscaler"], host)
    cafile = tmp_path / "root.pem"
    cafile.write_bytes(pem(root.cert))
    with tls_server(served, chains.leaf_key(host)) as port:
        code, _ = run_issuer(host, port, "--expect-issuer", "zscaler", cafile=cafile)
        assert code == 0
        code, report = run_issuer(host, port, "--expect-issuer", "Netskope", cafile=cafile)
        assert code == 1
        assert report["findings"][0]["title"] == "issuer is not the expected one"
        assert report["findings"][0]["code"] == "interception.detected"

        pin = chains.fp(root.cert)
        colon_pin = ":".join(pin[i : i + 2] for i in range(0, 64, 2)).upper()
        code, _ = run_issuer(host, port, "--expect-fingerprint", colon_pin, cafile=cafile)
        assert code == 0
        code, report = run_issuer(host, port, "--expect-fingerprint", "ab" * 32, cafile=cafile)
    assert code == 1
    assert "pinned certificate is missing" in report["findings"][0]["title"]


def test_connection_refused_gives_no_verdict_and_exit_1():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again below: nothing listens there
    code, report = run_issuer("www.example.com", port)
    assert code == 1
    assert report["verdict"] == "unknown" and report["interception"] is None
    assert any(f["code"].startswith("network.") for f in report["findings"])
