"""The lab agrees with independent clients: curl and openssl s_client see the same problems.

Each case's tlsdiag code is compared with what curl's exit status and s_client's verify
result say about the same server; skipped when the client is not installed.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from tlsdiag.lab.cases import Lab

pytestmark = pytest.mark.integration

CURL = shutil.which("curl")
OPENSSL = shutil.which("openssl")

# case -> curl exit statuses that mean the same thing (curl does not fetch AIA; 35 = handshake
# failed, 56 = receive error after the handshake, 60 = certificate verification failed)
CURL_EXPECT = {
    "good": {0},
    "expired": {60},
    "not-yet-valid": {60},
    "wrong-host": {60},
    "wildcard": {60},
    "cn-only": {0},  # OpenSSL-based curl still falls back to the CN; browsers, Python, Go do not
    "self-signed": {60},
    "untrusted-root": {60},
    "incomplete-chain": {60},
    "incomplete-no-aia": {60},
    "sha1": {60, 35},
    "rsa1024": {60, 35},
    "tls10": {35},
    "client-cert": {56, 55, 35},  # the alert arrives while curl sends (55) or reads (56)
    "revoked": {0},  # curl does not check revocation unless asked (--cert-status needs stapling)
    "not-tls": {35},
    "reset": {35, 56},
}

# case -> substring of s_client's "Verify return code" line
OPENSSL_VERIFY = {
    "good": "0 (ok)",
    "expired": "10 (certificate has expired)",
    "not-yet-valid": "9 (certificate is not yet valid)",
    "self-signed": "18 (self-signed certificate)",
    "untrusted-root": "19 (self-signed certificate in certificate chain)",
    "incomplete-chain": "21 (unable to verify the first certificate)",
    "incomplete-no-aia": "21 (unable to verify the first certificate)",
    "wrong-host": "62 (hostname mismatch)",
}


@pytest.mark.skipif(CURL is None, reason="curl is not installed")
@pytest.mark.parametrize("name", sorted(CURL_EXPECT))
def test_curl_sees_the_same_problem(lab: Lab, name: str) -> None:
    case = lab.cases[name]
    proc = subprocess.run(
        [
            CURL or "curl",
            "-sS",
            "-o",
            "/dev/null",
            "--max-time",
            "5",
            "--noproxy",
            "*",
            "--resolve",
            case.resolve,
            "--cacert",
            str(lab.root_pem_path),
            f"https://{case.target}/",
        ],
        capture_output=True,
        text=True,
        timeout=15,
    )
    assert proc.returncode in CURL_EXPECT[name], proc.stderr


@pytest.mark.skipif(OPENSSL is None, reason="openssl is not installed")
@pytest.mark.parametrize("name", sorted(OPENSSL_VERIFY))
def test_openssl_verify_result_matches(lab: Lab, name: str) -> None:
    case = lab.cases[name]
    proc = subprocess.run(
        [
            OPENSSL or "openssl",
            "s_client",
            "-connect",
            f"127.0.0.1:{case.port}",
            "-servername",
            case.spec.host,
            "-verify_hostname",
            case.spec.host,
            "-CAfile",
            str(lab.root_pem_path),
        ],
        input="",
        capture_output=True,
        text=True,
        timeout=15,
    )
    verify = [ln for ln in proc.stdout.splitlines() if "Verify return code" in ln]
    assert verify, proc.stdout + proc.stderr
    assert OPENSSL_VERIFY[name] in verify[-1]


@pytest.mark.skipif(OPENSSL is None, reason="openssl is not installed")
def test_ca_names_from_a_real_openssl_server(tmp_path: Path) -> None:
    """openssl s_server sends CA names in its CertificateRequest; tlsdiag lists them."""
    import socket
    import time
    from datetime import UTC, datetime

    from tlsdiag.commands.check import CheckOptions, run_check
    from tlsdiag.core.target import parse_resolve, parse_target
    from tlsdiag.lab.pki import make_ca, make_leaf
    from tlsdiag.net.probe import ProbeOptions

    now = datetime.now(UTC)
    root = make_ca("Client Auth Root", now=now)
    leaf = make_leaf(root, now=now, names=["mtls.test"])
    (tmp_path / "root.pem").write_bytes(root.cert_pem)
    (tmp_path / "leaf.pem").write_bytes(leaf.cert_pem)
    (tmp_path / "leaf.key").write_bytes(leaf.key_pem)
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    server = subprocess.Popen(
        [
            OPENSSL or "openssl",
            "s_server",
            "-accept",
            f"127.0.0.1:{port}",
            "-naccept",
            "1",
            "-cert",
            str(tmp_path / "leaf.pem"),
            "-key",
            str(tmp_path / "leaf.key"),
            "-Verify",
            "1",
            "-CAfile",
            str(tmp_path / "root.pem"),
            "-tls1_2",
        ],
        stdin=subprocess.PIPE,  # s_server ends the session at EOF on stdin: keep it open
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert server.stdout is not None
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:  # s_server prints ACCEPT once it listens
            if "ACCEPT" in server.stdout.readline():
                break
        resolve = (parse_resolve(f"mtls.test:{port}:127.0.0.1"),)
        opts = CheckOptions(
            probe=ProbeOptions(resolve=resolve, timeout=3.0, http=False), revocation=False
        )
        out = run_check(parse_target(f"mtls.test:{port}"), opts)
    finally:
        server.kill()
        server.communicate(timeout=5)
    hs = out.report.facts["handshake"]
    assert hs["client_certificate_requested"] is True
    assert any("Client Auth Root" in n for n in hs["client_ca_names"]), hs
    assert "app.mutual_tls" in {f.code for f in out.report.findings}
