"""The proxy signs with any key an enterprise root has: RSA 2048-4096, EC P-256/P-384.

Real CAs given as files (as ``--ca-cert``/``--ca-key`` would), a trustme origin, the proxy and
real clients (Python ssl, ``curl --cacert``), all on 127.0.0.1.
"""

from __future__ import annotations

import shutil
import ssl
import subprocess
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import trustme
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from typer.testing import CliRunner

from tlsdiag.cli.app import app
from tlsdiag.core.certbuild import KeyType, key_pem, new_key
from tlsdiag.proxy.ca import CaMaterial, CaPaths, create_ca, load_ca
from tlsdiag.proxy.listener import ProxyConfig, ResolveTo, RunningProxy
from tlsdiag.proxy.policy import default_policy

from helpers.relay_rig import ENV, Origin, tls_tunnel

pytestmark = pytest.mark.integration

HOST = "origin.test"


@pytest.fixture(scope="module")
def origin(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[int, Path]]:
    d = tmp_path_factory.mktemp("origin")
    ca = trustme.CA()
    ca.cert_pem.write_to_path(str(d / "origin-ca.pem"))
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ca.issue_cert(HOST).configure_cert(ctx)
    server = Origin(ctx)
    yield server.port, d / "origin-ca.pem"
    server.close()


def _ca_files(directory: Path, key_type: KeyType) -> CaPaths:
    """A CA made elsewhere (as an enterprise root would be), written as two PEM files."""
    directory.mkdir()
    cert, key = create_ca(now=datetime.now(UTC), machine="corp", key=new_key(key_type))
    paths = CaPaths.in_dir(directory)
    paths.cert.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    paths.key.write_bytes(key_pem(key))
    paths.key.chmod(0o600)  # a CA key open to other users is refused
    return paths


@pytest.fixture(scope="module")
def rsa4096_ca(tmp_path_factory: pytest.TempPathFactory) -> CaMaterial:
    return load_ca(_ca_files(tmp_path_factory.mktemp("rsa") / "ca", KeyType.RSA4096))


@pytest.fixture(scope="module")
def p384_ca(tmp_path_factory: pytest.TempPathFactory) -> CaMaterial:
    return load_ca(_ca_files(tmp_path_factory.mktemp("p384") / "ca", KeyType.EC384))


def _proxy(
    ca: CaMaterial, origin: tuple[int, Path], leaf_key: KeyType, *, native: bool = True
) -> RunningProxy:
    port, origin_ca = origin
    cfg = ProxyConfig(
        ca=ca,
        policy=default_policy(),
        port=0,
        resolve=(ResolveTo(HOST, port, ("127.0.0.1",)),),
        upstream_cafiles=(origin_ca,),
        leaf_key=leaf_key,
        native_certs=native,
    )
    return RunningProxy(cfg)


def _mode(p: RunningProxy) -> str:
    assert p.server is not None
    return p.server.forger.mode


def _forged_leaf(p: RunningProxy, port: int, cafile: Path) -> x509.Certificate:
    """CONNECT, then TLS with Python's ssl trusting only ``cafile``; the leaf it accepted."""
    with tls_tunnel(p.port, HOST, port, cafile) as tls:
        der = tls.getpeercert(binary_form=True)
    assert der is not None
    return x509.load_der_x509_certificate(der)


def _curl(p: RunningProxy, port: int, cafile: Path) -> subprocess.CompletedProcess[str]:
    cmd = ["curl", "-sS", "-m", "15", "-x", p.url, "--cacert", str(cafile), "-w", "%{http_code}"]
    url = f"https://{HOST}:{port}/"
    return subprocess.run([*cmd, url], env=ENV, capture_output=True, text=True, timeout=30)


@pytest.mark.parametrize("native", [True, False], ids=["native", "context"])
@pytest.mark.parametrize("leaf_key", [KeyType.EC256, KeyType.RSA2048])
@pytest.mark.parametrize("which", ["rsa4096_ca", "p384_ca"])
def test_clients_accept_leaves_forged_by_rsa_and_p384_cas(
    which: str,
    leaf_key: KeyType,
    native: bool,
    origin: tuple[int, Path],
    request: pytest.FixtureRequest,
) -> None:
    """Both ways of presenting a leaf (libssl per connection, a context per leaf)."""
    ca: CaMaterial = request.getfixturevalue(which)
    port, _ = origin
    with _proxy(ca, origin, leaf_key, native=native) as p:
        assert _mode(p) == ("native" if native else "context")
        leaf = _forged_leaf(p, port, ca.paths.cert)
        assert leaf.issuer == ca.cert.subject
        leaf.verify_directly_issued_by(ca.cert)  # signed by the CA's key
        expected_hash = hashes.SHA384 if which == "p384_ca" else hashes.SHA256
        assert isinstance(leaf.signature_hash_algorithm, expected_hash)
        key = leaf.public_key()
        if leaf_key is KeyType.RSA2048:
            assert isinstance(key, rsa.RSAPublicKey) and key.key_size == 2048
        else:
            assert isinstance(key, ec.EllipticCurvePublicKey) and key.curve.name == "secp256r1"
        if shutil.which("curl"):
            r = _curl(p, port, ca.paths.cert)
            assert r.returncode == 0 and r.stdout.endswith("200"), r.stderr


@pytest.mark.parametrize("native", [True, False], ids=["native", "context"])
def test_openssl_sees_the_leaf_then_the_ca_and_verifies(
    native: bool, p384_ca: CaMaterial, origin: tuple[int, Path]
) -> None:
    """``openssl s_client -showcerts`` through the tunnel: leaf and CA sent, verified."""
    if shutil.which("openssl") is None:
        pytest.skip("no openssl")
    port, _ = origin
    with _proxy(p384_ca, origin, KeyType.EC256, native=native) as p:
        for _ in range(2):  # a new name, then the cached leaf
            cmd = [
                "openssl",
                "s_client",
                "-proxy",
                f"127.0.0.1:{p.port}",
                "-connect",
                f"{HOST}:{port}",
                "-servername",
                HOST,
                "-verify_hostname",
                HOST,
                "-verify_return_error",
                "-CAfile",
                str(p384_ca.paths.cert),
                "-showcerts",
            ]
            r = subprocess.run(cmd, input="", capture_output=True, text=True, timeout=30)
            assert r.returncode == 0, r.stdout + r.stderr
            assert "Verify return code: 0 (ok)" in r.stdout
            pems = x509.load_pem_x509_certificates(r.stdout.encode())
            assert [c.subject for c in pems][1:] == [p384_ca.cert.subject]
            assert pems[1] == p384_ca.cert
            pems[0].verify_directly_issued_by(p384_ca.cert)


@pytest.mark.parametrize("native", [True, False], ids=["native", "context"])
def test_a_client_without_the_ca_refuses_the_forged_leaf(
    native: bool, rsa4096_ca: CaMaterial, origin: tuple[int, Path], tmp_path: Path
) -> None:
    """Negative control: the same client, trusting another root, fails verification."""
    other = tmp_path / "other.pem"
    trustme.CA().cert_pem.write_to_path(str(other))
    port, _ = origin
    with _proxy(rsa4096_ca, origin, KeyType.EC256, native=native) as p:
        with pytest.raises(ssl.SSLCertVerificationError):
            _forged_leaf(p, port, other)
        if shutil.which("curl"):
            assert _curl(p, port, other).returncode != 0


runner = CliRunner()


def _bad_key_files(tmp_path: Path, key: Any) -> list[str]:
    cert, _ = create_ca(now=datetime.now(UTC), machine="corp")
    (tmp_path / "ca.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    (tmp_path / "ca-key.pem").write_bytes(pem)
    (tmp_path / "ca-key.pem").chmod(0o600)  # a CA key open to other users is refused
    return ["--ca-cert", str(tmp_path / "ca.pem"), "--ca-key", str(tmp_path / "ca-key.pem")]


@pytest.mark.parametrize(
    ("make_key", "words"),
    [
        (ed25519.Ed25519PrivateKey.generate, "Ed25519 keys are not supported"),
        (lambda: new_key("rsa", 1024), "RSA 1024 is not supported"),
    ],
)
def test_an_unsupported_ca_key_is_a_one_line_input_error(
    tmp_path: Path, make_key: Any, words: str
) -> None:
    args = _bad_key_files(tmp_path, make_key())
    r = runner.invoke(app, ["proxy", "--listen", "127.0.0.1:0", *args])
    assert r.exit_code == 2, r.output
    lines = r.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: CA key") and words in lines[0]


def test_leaf_key_option_refuses_other_values(tmp_path: Path) -> None:
    args = _bad_key_files(tmp_path, ec.generate_private_key(ec.SECP256R1()))
    r = runner.invoke(app, ["proxy", "--listen", "127.0.0.1:0", "--leaf-key", "dsa", *args])
    assert r.exit_code == 2 and "--leaf-key" in r.output


@pytest.mark.parametrize("key_type", ["rsa2048", "ec384"])
def test_ca_init_key_type(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, key_type: str) -> None:
    monkeypatch.setenv("TLSDIAG_HOME", str(tmp_path / "home"))
    r = runner.invoke(app, ["ca", "init", "--key-type", key_type])
    assert r.exit_code == 0, r.output
    ca = load_ca(CaPaths.in_dir(tmp_path / "home"))
    if key_type == "rsa2048":
        assert isinstance(ca.key, rsa.RSAPrivateKey) and ca.key.key_size == 2048
    else:
        assert isinstance(ca.key, ec.EllipticCurvePrivateKey) and ca.key.curve.name == "secp384r1"


def test_ca_init_refuses_an_unknown_key_type(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TLSDIAG_HOME", str(tmp_path / "home"))
    r = runner.invoke(app, ["ca", "init", "--key-type", "rsa1024"])
    assert r.exit_code == 2 and "--key-type" in r.output
    assert not (tmp_path / "home" / "ca-key.pem").exists()
