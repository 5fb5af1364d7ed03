"""The throw-away PKI of explain_corpus_capture.py: test CAs and leaves for every scenario
(expired, wrong host, incomplete chain, self-signed ...), as PEM files in its work folder."""

from __future__ import annotations

import datetime as dt
import subprocess
from collections.abc import Sequence
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

NOW = dt.datetime.now(dt.UTC)


def _key(bits: int = 2048) -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=bits)


def _name(cn: str, org: str | None = None) -> x509.Name:
    attrs = [x509.NameAttribute(NameOID.COMMON_NAME, cn)]
    if org:
        attrs.insert(0, x509.NameAttribute(NameOID.ORGANIZATION_NAME, org))
    return x509.Name(attrs)


def _pem(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


def _pem_key(key: rsa.RSAPrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    )


def _signed(
    subject: x509.Name,
    key: rsa.RSAPrivateKey,
    issuer: tuple[x509.Certificate, rsa.RSAPrivateKey] | None,
    not_before: dt.datetime,
    not_after: dt.datetime,
    extensions: Sequence[tuple[x509.ExtensionType, bool]],
) -> x509.Certificate:
    """A certificate for ``key`` with these extensions (value, critical), signed by
    ``issuer`` or self-signed."""
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer[0].subject if issuer else subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
    )
    for ext, critical in extensions:
        builder = builder.add_extension(ext, critical=critical)
    return builder.sign(issuer[1] if issuer else key, hashes.SHA256())


def _ca(
    cn: str, org: str, issuer: tuple[x509.Certificate, rsa.RSAPrivateKey] | None = None
) -> tuple[x509.Certificate, rsa.RSAPrivateKey]:
    key = _key()
    usage = x509.KeyUsage(False, False, False, False, False, True, True, False, False)
    extensions: list[tuple[x509.ExtensionType, bool]] = [
        (x509.BasicConstraints(ca=True, path_length=None), True),
        (usage, True),
        (x509.SubjectKeyIdentifier.from_public_key(key.public_key()), False),
    ]
    cert = _signed(
        _name(cn, org),
        key,
        issuer,
        NOW - dt.timedelta(days=30),
        NOW + dt.timedelta(days=3650),
        extensions,
    )
    return cert, key


def _leaf(
    names: Sequence[str],
    issuer: tuple[x509.Certificate, rsa.RSAPrivateKey] | None,
    *,
    bits: int = 2048,
    not_before: dt.datetime | None = None,
    not_after: dt.datetime | None = None,
) -> tuple[x509.Certificate, rsa.RSAPrivateKey]:
    key = _key(bits)
    eku = [ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]
    extensions: list[tuple[x509.ExtensionType, bool]] = [
        (x509.SubjectAlternativeName([x509.DNSName(n) for n in names]), False),
        (x509.ExtendedKeyUsage(eku), False),
        (x509.BasicConstraints(ca=False, path_length=None), True),
    ]
    cert = _signed(
        _name(names[0]),
        key,
        issuer,
        not_before or NOW - dt.timedelta(days=1),
        not_after or NOW + dt.timedelta(days=90),
        extensions,
    )
    return cert, key


def build_pki(work: Path) -> None:
    root = _ca("Example Test Root CA", "Example Labs")
    inter = _ca("Example Test Issuing CA 1", "Example Labs", root)
    zroot = _ca("Zscaler Root CA", "Zscaler Inc.")
    zinter = _ca("Zscaler Intermediate Root CA (zscaler.net) (t)", "Zscaler Inc.", zroot)
    (work / "root.pem").write_bytes(_pem(root[0]))
    (work / "inter.pem").write_bytes(_pem(inter[0]))
    (work / "inter.key").write_bytes(_pem_key(inter[1]))

    def server(
        name: str, pair: tuple[x509.Certificate, rsa.RSAPrivateKey], chain: Sequence[object]
    ) -> None:
        (work / f"{name}.pem").write_bytes(_pem(pair[0]))
        (work / f"{name}.key").write_bytes(_pem_key(pair[1]))
        certs = [c for c in chain if isinstance(c, x509.Certificate)]
        (work / f"{name}.chain.pem").write_bytes(b"".join(map(_pem, certs)) or _pem(pair[0]))

    good = _leaf(["localhost"], inter)
    server("good", good, [inter[0]])
    server("leafonly", good, [])
    server("selfsigned", _leaf(["localhost"], None), [])
    old = (NOW - dt.timedelta(days=400), NOW - dt.timedelta(days=10))
    server("expired", _leaf(["localhost"], inter, not_before=old[0], not_after=old[1]), [inter[0]])
    future = (NOW + dt.timedelta(days=20), NOW + dt.timedelta(days=200))
    server(
        "notyet",
        _leaf(["localhost"], inter, not_before=future[0], not_after=future[1]),
        [inter[0]],
    )
    server("mismatch", _leaf(["other.example.net", "www.other.example.net"], inter), [inter[0]])
    server("zscaler", _leaf(["localhost"], zinter), [zinter[0], zroot[0]])
    server("weakkey", _leaf(["localhost"], inter, bits=1024), [inter[0]])
    # cryptography refuses SHA-1 signatures; the openssl CLI still signs them.
    req = ["openssl", "req", "-new", "-newkey", "rsa:2048", "-nodes", "-keyout", "sha1.key"]
    run_quiet([*req, "-subj", "/CN=localhost", "-out", "sha1.csr"], work)
    (work / "san.ext").write_text("subjectAltName=DNS:localhost\n")
    sign = ["openssl", "x509", "-req", "-in", "sha1.csr", "-CA", "inter.pem", "-CAkey", "inter.key"]
    run_quiet(
        [
            *sign,
            "-CAcreateserial",
            "-sha1",
            "-days",
            "30",
            "-extfile",
            "san.ext",
            "-out",
            "sha1leaf.pem",
        ],
        work,
    )
    run_quiet(["openssl", "dhparam", "-out", "dh1024.pem", "1024"], work)
    keytool = ["keytool", "-importcert", "-noprompt", "-alias", "root", "-file", "root.pem"]
    run_quiet(
        [*keytool, "-keystore", "trust.p12", "-storetype", "PKCS12", "-storepass", "changeit"], work
    )


def run_quiet(cmd: Sequence[str], cwd: Path) -> None:
    subprocess.run(cmd, cwd=cwd, check=True, capture_output=True)
