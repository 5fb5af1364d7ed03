"""Issue 11 section 4: the side and the words of the verdict, against real servers on 127.0.0.1."""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import threading
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from typer.testing import CliRunner

from tlsdiag import codes
from tlsdiag.cli.app import app
from tlsdiag.lab.cases import Lab

from helpers import issuer_chains as chains
from helpers.issuer_lab import pem, tls_server

pytestmark = pytest.mark.integration

runner = CliRunner()
OPENSSL = shutil.which("openssl")


def lab_args(lab: Lab, name: str) -> list[str]:
    case = lab.cases[name]
    return [case.target, "--resolve", case.resolve, "--cafile", str(lab.root_pem_path)]


def invoke(*argv: str) -> tuple[int, str]:
    result = runner.invoke(app, list(argv))
    assert result.exit_code in (0, 1), result.output
    return result.exit_code, result.stdout


def findings(stdout: str) -> dict[str, dict[str, Any]]:
    return {f["code"]: f for f in json.loads(stdout)["findings"]}


def test_client_certificate_on_a_direct_connection_is_not_the_inspection_path(lab: Lab):
    code, out = invoke("check", *lab_args(lab, "client-cert"), "--no-revocation")
    assert code == 1
    first = out.splitlines()[0]
    assert first.startswith("FAIL") and "inspection path" not in first, first
    assert "on this client" in first


@pytest.fixture
def silent_server() -> Iterator[tuple[int, list[int]]]:
    """Accepts TCP connections and never answers; counts them."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(8)
    accepted: list[int] = []
    held: list[socket.socket] = []
    stop = threading.Event()

    def serve() -> None:
        sock.settimeout(0.1)
        while not stop.is_set():
            try:
                conn, _ = sock.accept()
            except OSError:
                continue
            accepted.append(1)
            held.append(conn)

    t = threading.Thread(target=serve, daemon=True)
    t.start()
    yield sock.getsockname()[1], accepted
    stop.set()
    t.join(2)
    for c in held:
        c.close()
    sock.close()


def test_a_server_that_never_answers_is_a_timeout_and_is_not_retried(silent_server):
    port, accepted = silent_server
    target = f"silent.lab.test:{port}"
    code, out = invoke(
        "check", target, "--resolve", f"{target}:127.0.0.1", "--timeout", "1", "--json"
    )
    assert code == 1
    found = findings(out)
    assert codes.NETWORK_TIMEOUT in found and codes.NETWORK_RESET not in found
    assert len(accepted) == 1  # no legacy retry after a timeout


def test_options_the_user_forced_are_the_users_choice(lab: Lab):
    suite = "ECDHE-RSA-AES128-GCM-SHA256"  # the lab's keys are ECDSA
    args = lab_args(lab, "good")
    if OPENSSL:
        case = lab.cases["good"]
        proc = subprocess.run(
            [OPENSSL, "s_client", "-connect", f"127.0.0.1:{case.port}", "-servername",
             case.spec.host, "-tls1_2", "-cipher", suite],
            input="", capture_output=True, text=True, timeout=15,
        )  # fmt: skip
        assert proc.returncode != 0  # s_client fails with these options too
    code, out = invoke("check", *args, "--tls1_2", "--cipher", suite, "--no-revocation")
    assert code == 1
    first = out.splitlines()[0]
    assert "options you forced" in first and "at the server" not in first, first
    code, out = invoke("check", *args, "--tls1_2", "--cipher", suite, "--json")
    assert "forced_by_user" in findings(out)[codes.LEGACY_CIPHER_SUITE]["evidence"]
    code, _ = invoke("check", *args, "--no-revocation")
    assert code == 0  # without the forced options the server is fine


@pytest.mark.parametrize(
    ("age_days", "lifetime", "warned"),
    [(18, 47, False), (40, 47, True), (1, 30, False), (27, 30, True)],
)
def test_expiry_warning_is_relative_to_the_lifetime(tmp_path, age_days, lifetime, warned):
    host = "short.lab.test"
    root = chains.make_ca("CN=Short Lab Root,O=Short Lab", label="short-root")
    leaf = chains.make_leaf(
        host, root, not_before=chains.NOW - timedelta(days=age_days), days=lifetime
    )
    cafile = tmp_path / "root.pem"
    cafile.write_bytes(pem(root.cert))
    with tls_server([leaf], chains.leaf_key(host)) as port:
        target = f"{host}:{port}"
        _code, out = invoke(
            "check", target, "--resolve", f"{target}:127.0.0.1", "--cafile", str(cafile),
            "--no-revocation", "--json",
        )  # fmt: skip
    assert (codes.SERVER_CERT_EXPIRED in findings(out)) is warned


@pytest.mark.parametrize(("age_days", "warned"), [(1, False), (27, True)])
def test_a_forged_leafs_expiry_is_the_inspections(tmp_path, age_days, warned):
    host = "www.example.com"
    root = chains.make_ca("CN=Zscaler Root CA,OU=Zscaler Inc.,O=Zscaler Inc.,C=US")
    leaf = chains.make_leaf(host, root, not_before=chains.NOW - timedelta(days=age_days), days=30)
    cafile = tmp_path / "root.pem"
    cafile.write_bytes(pem(root.cert))
    with tls_server([leaf], chains.leaf_key(host)) as port:
        target = f"{host}:{port}"
        _code, out = invoke(
            "check", target, "--resolve", f"{target}:127.0.0.1", "--cafile", str(cafile),
            "--no-revocation", "--json",
        )  # fmt: skip
    found = findings(out)
    assert (codes.SERVER_CERT_EXPIRED in found) is warned
    if warned:
        f = found[codes.SERVER_CERT_EXPIRED]
        assert "forged" in f["title"] and "renew it on the server" not in f["remediation"]
        assert "nothing to renew on the server" in f["detail"]


def test_chain_file_headline_says_what_was_analysed(tmp_path):
    root = chains.make_ca("CN=File Lab Root,O=File Lab", label="file-root")
    leaf = chains.make_leaf("file.lab.test", root)
    chain_file = tmp_path / "chain.pem"
    chain_file.write_bytes(pem(leaf))
    cafile = tmp_path / "root.pem"
    cafile.write_bytes(pem(root.cert))
    code, out = invoke("chain", str(chain_file), "--cafile", str(cafile), "--no-aia")
    first = out.splitlines()[0]
    assert code == 0 and "works from here" not in first, first
    assert first.startswith("OK  the chain of 1 certificate from") and str(chain_file) in first


def test_expect_issuer_missed_on_a_direct_chain_is_not_interception(lab: Lab):
    code, out = invoke("issuer", *lab_args(lab, "good"), "--expect-issuer", "Zscaler", "--json")
    assert code == 1
    found = findings(out)
    assert found[codes.ISSUER_UNEXPECTED]["severity"] == "error"
    assert codes.INTERCEPTION_DETECTED not in found


def test_a_name_that_does_not_resolve_is_kept_as_typed():
    code, out = invoke("check", "example-nx.invalid", "--json")
    assert code == 1
    detail = findings(out)[codes.NETWORK_DNS_FAILURE]["detail"]
    assert detail.startswith("example-nx.invalid does not resolve"), detail
