"""A small throw-away PKI for the lab and the tests: root, intermediate, leaf, OCSP signer.

Certificates are generated when asked (EC P-256 keys: fast), never stored. A leaf can point at
URLs of a running :class:`tlsdiag.lab.pki_http.PkiHttpServer` (AIA caIssuers, AIA OCSP, CRL
distribution point), which is how the lab builds its "incomplete chain" server: the TLS server
sends only the leaf, and the intermediate is published over HTTP for AIA completion.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from ipaddress import ip_address
from typing import TYPE_CHECKING

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import pkcs7
from cryptography.x509.oid import AuthorityInformationAccessOID, ExtendedKeyUsageOID, NameOID

if TYPE_CHECKING:
    from tlsdiag.lab.pki_http import PkiHttpServer


@dataclass(frozen=True, slots=True)
class Issued:
    """A certificate with its private key."""

    cert: x509.Certificate
    key: ec.EllipticCurvePrivateKey

    @property
    def pem(self) -> bytes:
        """The certificate as PEM."""
        return self.cert.public_bytes(serialization.Encoding.PEM)

    @property
    def der(self) -> bytes:
        """The certificate as DER."""
        return self.cert.public_bytes(serialization.Encoding.DER)

    def key_pem(self) -> bytes:
        """The private key as unencrypted PKCS#8 PEM (for a local TLS server only)."""
        return self.key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )


def _name(cn: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "tlsdiag lab"),
            x509.NameAttribute(NameOID.COMMON_NAME, cn),
        ]
    )


def _ski(key: ec.EllipticCurvePrivateKey) -> x509.SubjectKeyIdentifier:
    return x509.SubjectKeyIdentifier.from_public_key(key.public_key())


def _pointers(
    builder: x509.CertificateBuilder,
    *,
    ca_issuers: Sequence[str],
    ocsp: Sequence[str],
    crl: Sequence[str],
) -> x509.CertificateBuilder:
    access = [
        x509.AccessDescription(
            AuthorityInformationAccessOID.OCSP, x509.UniformResourceIdentifier(u)
        )
        for u in ocsp
    ] + [
        x509.AccessDescription(
            AuthorityInformationAccessOID.CA_ISSUERS, x509.UniformResourceIdentifier(u)
        )
        for u in ca_issuers
    ]
    if access:
        builder = builder.add_extension(x509.AuthorityInformationAccess(access), critical=False)
    if crl:
        points = [
            x509.DistributionPoint([x509.UniformResourceIdentifier(u)], None, None, None)
            for u in crl
        ]
        builder = builder.add_extension(x509.CRLDistributionPoints(points), critical=False)
    return builder


def _base(
    subject: x509.Name,
    key: ec.EllipticCurvePrivateKey,
    issuer: Issued | None,
    *,
    now: datetime,
    days: int,
    serial: int | None,
) -> x509.CertificateBuilder:
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer.cert.subject if issuer else subject)
        .public_key(key.public_key())
        .serial_number(serial if serial is not None else x509.random_serial_number())
        .not_valid_before(now - timedelta(hours=1))
        .not_valid_after(now + timedelta(days=days))
        .add_extension(_ski(key), critical=False)
    )
    signer_key = issuer.key if issuer else key
    return builder.add_extension(
        x509.AuthorityKeyIdentifier.from_issuer_public_key(signer_key.public_key()),
        critical=False,
    )


def new_key() -> ec.EllipticCurvePrivateKey:
    """A fresh P-256 key."""
    return ec.generate_private_key(ec.SECP256R1())


def make_root(cn: str, *, now: datetime, days: int = 30) -> Issued:
    """A self-signed root CA."""
    key = new_key()
    builder = _base(_name(cn), key, None, now=now, days=days, serial=None)
    builder = builder.add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
    builder = builder.add_extension(_ca_key_usage(), critical=True)
    return Issued(builder.sign(key, hashes.SHA256()), key)


def make_intermediate(
    cn: str,
    parent: Issued,
    *,
    now: datetime,
    days: int = 20,
    ca_issuers: Sequence[str] = (),
    ocsp: Sequence[str] = (),
    crl: Sequence[str] = (),
) -> Issued:
    """An intermediate CA signed by ``parent``."""
    key = new_key()
    builder = _base(_name(cn), key, parent, now=now, days=days, serial=None)
    builder = builder.add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
    builder = builder.add_extension(_ca_key_usage(), critical=True)
    builder = _pointers(builder, ca_issuers=ca_issuers, ocsp=ocsp, crl=crl)
    return Issued(builder.sign(parent.key, hashes.SHA256()), key)


def make_leaf(
    hosts: Sequence[str],
    parent: Issued,
    *,
    now: datetime,
    days: int = 10,
    serial: int | None = None,
    ca_issuers: Sequence[str] = (),
    ocsp: Sequence[str] = (),
    crl: Sequence[str] = (),
) -> Issued:
    """A TLS server certificate for ``hosts`` (DNS names or IP literals) signed by ``parent``."""
    key = new_key()
    sans: list[x509.GeneralName] = []
    for host in hosts:
        try:
            sans.append(x509.IPAddress(ip_address(host)))
        except ValueError:
            sans.append(x509.DNSName(host))
    builder = _base(_name(hosts[0]), key, parent, now=now, days=days, serial=serial)
    builder = builder.add_extension(
        x509.BasicConstraints(ca=False, path_length=None), critical=True
    )
    builder = builder.add_extension(x509.SubjectAlternativeName(sans), critical=False)
    builder = builder.add_extension(
        x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False
    )
    builder = _pointers(builder, ca_issuers=ca_issuers, ocsp=ocsp, crl=crl)
    return Issued(builder.sign(parent.key, hashes.SHA256()), key)


def make_ocsp_signer(
    cn: str, parent: Issued, *, now: datetime, days: int = 5, ocsp_signing: bool = True
) -> Issued:
    """A delegated OCSP responder certificate (id-kp-OCSPSigning unless told otherwise)."""
    key = new_key()
    builder = _base(_name(cn), key, parent, now=now, days=days, serial=None)
    builder = builder.add_extension(
        x509.BasicConstraints(ca=False, path_length=None), critical=True
    )
    usage = ExtendedKeyUsageOID.OCSP_SIGNING if ocsp_signing else ExtendedKeyUsageOID.SERVER_AUTH
    builder = builder.add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
    return Issued(builder.sign(parent.key, hashes.SHA256()), key)


def _ca_key_usage() -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=True,
        content_commitment=False,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=True,
        crl_sign=True,
        encipher_only=False,
        decipher_only=False,
    )


def pkcs7_der(certs: Sequence[x509.Certificate]) -> bytes:
    """A certs-only PKCS#7 (``.p7c``) in DER."""
    return pkcs7.serialize_certificates(list(certs), serialization.Encoding.DER)


@dataclass(frozen=True, slots=True)
class AiaLab:
    """The incomplete-chain scenario: a leaf whose intermediate is only reachable via AIA."""

    root: Issued
    intermediate: Issued
    leaf: Issued
    ca_issuers_url: str
    ocsp_url: str
    crl_url: str


def publish_incomplete_chain(
    server: PkiHttpServer,
    *,
    hosts: Sequence[str] = ("localhost", "127.0.0.1"),
    now: datetime,
    revoked: bool = False,
) -> AiaLab:
    """Build root -> intermediate -> leaf and publish the intermediate, OCSP and CRL on ``server``.

    The leaf's AIA caIssuers points at ``/aia/intermediate.der``; OCSP at ``/ocsp``; CRL at
    ``/crl/intermediate.crl``. With ``revoked=True`` the leaf is listed as revoked
    (keyCompromise) by both. The TLS side (sending only the leaf) belongs to the lab server.
    """
    root = make_root("tlsdiag lab Root CA", now=now)
    intermediate = make_intermediate(
        "tlsdiag lab Intermediate CA",
        root,
        now=now,
        ca_issuers=[server.url_for("/aia/root.der")],
    )
    server.add_file("/aia/root.der", root.der, "application/pkix-cert")
    ca_url = server.url_for("/aia/intermediate.der")
    ocsp_url = server.url_for("/ocsp")
    crl_url = server.url_for("/crl/intermediate.crl")
    leaf = make_leaf(
        hosts, intermediate, now=now, ca_issuers=[ca_url], ocsp=[ocsp_url], crl=[crl_url]
    )
    revocations: dict[int, tuple[datetime, x509.ReasonFlags | None]] = {}
    if revoked:
        revocations[leaf.cert.serial_number] = (
            now - timedelta(minutes=30),
            x509.ReasonFlags.key_compromise,
        )
    server.add_file("/aia/intermediate.der", intermediate.der, "application/pkix-cert")
    server.add_file("/aia/intermediate.pem", intermediate.pem, "application/x-pem-file")
    server.add_file(
        "/aia/intermediate.p7c", pkcs7_der([intermediate.cert]), "application/pkcs7-mime"
    )
    server.add_ocsp_responder("/ocsp", intermediate.cert, intermediate.key, revoked=revocations)
    server.add_crl(
        "/crl/intermediate.crl", intermediate.cert, intermediate.key, revoked=revocations
    )
    return AiaLab(root, intermediate, leaf, ca_url, ocsp_url, crl_url)
