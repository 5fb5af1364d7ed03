"""Issue 11 section 2: a server that works only with the lenient legacy retry is a FAIL.

Real servers on 127.0.0.1 (Python ssl); curl and openssl s_client agree that modern clients fail.
"""

from __future__ import annotations

import json
import shutil
import ssl
import subprocess
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from typer.testing import CliRunner

from tlsdiag import codes
from tlsdiag.cli.app import app
from tlsdiag.core.certbuild import new_key
from tlsdiag.lab.pki import make_ca, make_leaf
from tlsdiag.lab.servers import LabServer, TlsSettings, tls_context

pytestmark = pytest.mark.integration

runner = CliRunner()
CURL = shutil.which("curl")
HOST = "old.lab.test"
# RFC 2409 group 2: the 1024-bit MODP group old servers still ship
MODP_1024 = int(
    "FFFFFFFFFFFFFFFFC90FDAA22168C234C4C6628B80DC1CD129024E088A67CC74020BBEA63B139B22514A08798E3404"
    "DDEF9519B3CD3A431B302B0A6DF25F14374FE1356D6D51C245E485B576625E7EC6F44C42E9A637ED6B0BFF5CB6F406"
    "B7EDEE386BFB5A899FA5AE9F24117C4B1FE649286651ECE65381FFFFFFFFFFFFFFFF",
    16,
)


def _der_int(n: int) -> bytes:
    body = n.to_bytes(n.bit_length() // 8 + 1, "big")
    return b"\x02" + _der_len(len(body)) + body


def _der_len(n: int) -> bytes:
    if n < 128:
        return bytes([n])
    raw = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([0x80 | len(raw)]) + raw


def _dh_params_pem(p: int, g: int) -> bytes:
    """PKCS#3 DHParameter (SEQUENCE of p, g) as PEM, built by hand (no FFDH API needed)."""
    import base64

    body = _der_int(p) + _der_int(g)
    der = b"\x30" + _der_len(len(body)) + body
    b64 = base64.encodebytes(der).decode("ascii").replace("\n", "")
    lines = [b64[i : i + 64] for i in range(0, len(b64), 64)]
    return ("-----BEGIN DH PARAMETERS-----\n" + "\n".join(lines)
            + "\n-----END DH PARAMETERS-----\n").encode()  # fmt: skip


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path]:
    now = datetime.now(UTC)
    root = make_ca("Old Lab Root", now=now)
    leaf = make_leaf(root, now=now, names=[HOST], key=new_key("rsa", 2048))
    d = tmp_path_factory.mktemp("old")
    (d / "chain.pem").write_bytes(leaf.cert_pem)
    (d / "key.pem").write_bytes(
        leaf.key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    (d / "root.pem").write_bytes(root.cert_pem)
    (d / "dh1024.pem").write_bytes(_dh_params_pem(MODP_1024, 2))
    return d / "chain.pem", d / "key.pem", d / "root.pem"


@pytest.fixture
def dhe1024(pki: tuple[Path, Path, Path]) -> Iterator[int]:
    """A TLS 1.2 server offering only DHE-RSA with a 1024-bit group."""
    chain, key, _ = pki
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.maximum_version = ssl.TLSVersion.TLSv1_2
    ctx.set_ciphers("DHE-RSA-AES128-GCM-SHA256:@SECLEVEL=0")
    ctx.load_cert_chain(chain, key)
    ctx.load_dh_params(str(chain.parent / "dh1024.pem"))
    server = LabServer("tls", ctx=ctx).start()
    yield server.port
    server.stop()


@pytest.fixture
def tls10(pki: tuple[Path, Path, Path], tmp_path: Path) -> Iterator[int]:
    from tlsdiag.core.certbuild import Issued

    chain, key, _ = pki
    cert = __import__("cryptography.x509", fromlist=["x"]).load_pem_x509_certificate(
        chain.read_bytes()
    )
    priv = serialization.load_pem_private_key(key.read_bytes(), None)
    ctx = tls_context(TlsSettings(chain=(Issued(cert, priv),), legacy_only=True))  # type: ignore[arg-type]
    server = LabServer("tls", ctx=ctx).start()
    yield server.port
    server.stop()


def run(command: str, port: int, root: Path) -> tuple[int, dict[str, Any]]:
    target = f"{HOST}:{port}"
    argv = [command, target, "--resolve", f"{target}:127.0.0.1", "--cafile", str(root), "--json"]
    if command == "check":
        argv.append("--no-revocation")
    result = runner.invoke(app, argv)
    assert result.exit_code in (0, 1), result.output
    return result.exit_code, json.loads(result.stdout)


def errors(report: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {f["code"]: f for f in report["findings"] if f["severity"] == "error"}


def test_dhe_1024_only_server_is_a_fail_naming_the_group(dhe1024, pki):
    root = pki[2]
    if CURL:
        proc = subprocess.run(
            [CURL, "-sS", "-o", "/dev/null", "--max-time", "5", "--noproxy", "*", "--resolve",
             f"{HOST}:{dhe1024}:127.0.0.1", "--cacert", str(root), f"https://{HOST}:{dhe1024}/"],
            capture_output=True, text=True, timeout=15,
        )  # fmt: skip
        assert proc.returncode == 35 and "dh key too small" in proc.stderr.lower()
    code, report = run("check", dhe1024, root)
    assert code == 1
    weak = errors(report)[codes.SERVER_WEAK_KEY]
    assert "1024-bit Diffie-Hellman" in weak["title"]
    assert weak["evidence"]["dh_bits"] == "1024"
    assert "Java 17" in weak["evidence"]["clients_that_fail"]
    code, report = run("probe", dhe1024, root)
    assert code == 1
    assert codes.SERVER_WEAK_KEY in errors(report)
    target = f"{HOST}:{dhe1024}"
    argv = ["check", target, "--resolve", f"{target}:127.0.0.1", "--cafile", str(root)]
    console = runner.invoke(app, argv)
    assert console.stdout.startswith("FAIL"), console.stdout


def test_tls10_only_server_fails_probe_too(tls10, pki):
    code, report = run("probe", tls10, pki[2])
    assert code == 1
    assert codes.LEGACY_PROTOCOL_VERSION in errors(report)
    code, report = run("check", tls10, pki[2])
    assert code == 1
    assert (
        "Java 17" in errors(report)[codes.LEGACY_PROTOCOL_VERSION]["evidence"]["clients_that_fail"]
    )
