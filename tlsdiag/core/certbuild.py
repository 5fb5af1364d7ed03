"""The one certificate builder: keys, CAs, leaves, PEM (pure; time is an argument).

Shaped like trustme: a key, a CA (root or intermediate), a leaf with its names, and the
certificate and key as PEM. The lab, the proxy's CA and forger, and the tests build their
certificates here; the options are explicit so that each caller gets exactly the extensions it
asks for (a forged leaf has no SKI, a lab leaf has one, an OCSP signer has neither).
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import AuthorityInformationAccessOID, ExtendedKeyUsageOID, NameOID

from tlsdiag.core.der import encode_tlv

PrivateKey = ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey

SERVER_AUTH = ExtendedKeyUsageOID.SERVER_AUTH

_CURVES: dict[int, type[ec.EllipticCurve]] = {256: ec.SECP256R1, 384: ec.SECP384R1}
RSA_CA_BITS = (2048, 4096)  # the RSA sizes a CA key may have (inclusive)


class KeyType(StrEnum):
    """Key types by name (``ec256`` is EC P-256, ``rsa2048`` RSA with 2048 bits)."""

    EC256 = "ec256"
    EC384 = "ec384"
    RSA2048 = "rsa2048"
    RSA3072 = "rsa3072"
    RSA4096 = "rsa4096"


@dataclass(frozen=True, slots=True)
class Issued:
    """A certificate and its private key."""

    cert: x509.Certificate
    key: PrivateKey

    @property
    def cert_pem(self) -> bytes:
        """The certificate as PEM."""
        return cert_pem(self.cert)

    @property
    def key_pem(self) -> bytes:
        """The private key as unencrypted PKCS#8 PEM (never written to reports)."""
        return key_pem(self.key)


def cert_pem(cert: x509.Certificate) -> bytes:
    """A certificate as PEM."""
    return cert.public_bytes(serialization.Encoding.PEM)


def cert_der(cert: x509.Certificate) -> bytes:
    """A certificate as DER."""
    return cert.public_bytes(serialization.Encoding.DER)


def key_pem(key: PrivateKey) -> bytes:
    """A private key as unencrypted PKCS#8 PEM."""
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def new_key(kind: str = "ec", bits: int | None = None) -> PrivateKey:
    """A new private key.

    Args:
        kind: ``ec`` or ``rsa``, or a :class:`KeyType` value such as ``rsa4096``.
        bits: EC curve size (256 or 384; default 256) or RSA modulus size (default 2048).

    Returns:
        The key.

    Raises:
        ValueError: an unknown kind or curve size.
    """
    m = re.fullmatch(r"(ec|rsa)(\d+)", kind)
    if m:
        kind, bits = m[1], int(m[2])
    if kind == "rsa":
        return rsa.generate_private_key(public_exponent=65537, key_size=bits or 2048)
    if kind == "ec":
        curve = _CURVES.get(bits or 256)
        if curve is None:
            raise ValueError(f"EC keys are P-256 or P-384, not {bits} bits")
        return ec.generate_private_key(curve())
    raise ValueError(f"unknown key type {kind!r}")


def ca_key_problem(key: object) -> str | None:
    """Why ``key`` cannot sign as a CA here (None when it can: RSA 2048-4096, EC P-256/P-384)."""
    if isinstance(key, rsa.RSAPrivateKey):
        lo, hi = RSA_CA_BITS
        if lo <= key.key_size <= hi:
            return None
        return f"RSA {key.key_size} is not supported (RSA keys must have {lo} to {hi} bits)"
    if isinstance(key, ec.EllipticCurvePrivateKey):
        if key.curve.key_size in _CURVES:
            return None
        return f"EC curve {key.curve.name} is not supported (use P-256 or P-384)"
    kind = type(key).__name__.removeprefix("_").removesuffix("PrivateKey") or "this"
    return f"{kind} keys are not supported (use RSA 2048-4096 or EC P-256/P-384)"


SignatureHash = hashes.SHA256 | hashes.SHA384 | hashes.SHA512


def signature_hash(key: object) -> SignatureHash | None:
    """The hash to sign with ``key``: SHA-384 for P-384, SHA-512 for P-521, None for EdDSA
    (which hashes by itself), SHA-256 otherwise."""
    if isinstance(key, ec.EllipticCurvePrivateKey):
        if key.curve.key_size >= 521:
            return hashes.SHA512()
        if key.curve.key_size >= 384:
            return hashes.SHA384()
        return hashes.SHA256()
    if isinstance(key, rsa.RSAPrivateKey):
        return hashes.SHA256()
    return None


def name(cn: str | None = None, org: str | None = None) -> x509.Name:
    """A name with a CN (when given) and an O (when given), CN first."""
    attrs = []
    if cn is not None:
        attrs.append(x509.NameAttribute(NameOID.COMMON_NAME, cn))
    if org:
        attrs.append(x509.NameAttribute(NameOID.ORGANIZATION_NAME, org))
    return x509.Name(attrs)


def general_names(names: Sequence[str]) -> list[x509.GeneralName]:
    """SAN entries: IP literals as iPAddress, everything else as dNSName."""
    out: list[x509.GeneralName] = []
    for n in names:
        # An IPv4 literal ends with a digit and an IPv6 one has a colon: other names need no
        # parse (a failed one raises, which costs microseconds per name).
        if ":" in n or n[-1:].isdigit():
            try:
                out.append(x509.IPAddress(ipaddress.ip_address(n)))
                continue
            except ValueError:
                pass
        out.append(x509.DNSName(n))
    return out


def _key_usage(*, ca: bool, key_encipherment: bool = False) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=True,
        content_commitment=False,
        key_encipherment=key_encipherment,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=ca,
        crl_sign=ca,
        encipher_only=False,
        decipher_only=False,
    )


def _aia(ca_issuers: str | None, ocsp: str | None) -> x509.AuthorityInformationAccess | None:
    access = []
    if ocsp:
        access.append(
            x509.AccessDescription(
                AuthorityInformationAccessOID.OCSP, x509.UniformResourceIdentifier(ocsp)
            )
        )
    if ca_issuers:
        access.append(
            x509.AccessDescription(
                AuthorityInformationAccessOID.CA_ISSUERS, x509.UniformResourceIdentifier(ca_issuers)
            )
        )
    return x509.AuthorityInformationAccess(access) if access else None


def _start(
    subject: x509.Name,
    key: PrivateKey,
    issuer: Issued | None,
    not_before: datetime,
    not_after: datetime,
    serial: int | None,
) -> x509.CertificateBuilder:
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer.cert.subject if issuer else subject)
        .public_key(key.public_key())
        .serial_number(serial if serial is not None else x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
    )


def _sign(builder: x509.CertificateBuilder, key: PrivateKey, issuer: Issued | None) -> Issued:
    signer = issuer.key if issuer else key
    return Issued(builder.sign(signer, signature_hash(signer)), key)


def build_ca(
    subject: x509.Name,
    *,
    not_before: datetime,
    not_after: datetime,
    key: PrivateKey | None = None,
    issuer: Issued | None = None,
    path_length: int | None = None,
    permitted_dns: Sequence[str] = (),
    self_aki: bool = False,
    aia_ca_issuers: str | None = None,
    extensions: Sequence[x509.ExtensionType] = (),
) -> Issued:
    """A CA certificate: a self-signed root, or an intermediate signed by ``issuer``.

    It has basicConstraints CA:TRUE (critical), keyUsage digitalSignature, keyCertSign and
    cRLSign (critical), a subjectKeyIdentifier, and an authorityKeyIdentifier when it has an
    issuer.

    Args:
        subject: its name.
        not_before: start of validity.
        not_after: end of validity.
        key: its key (a new EC P-256 key when None).
        issuer: the CA that signs it (None: self-signed).
        path_length: the basicConstraints path length (None: unlimited).
        permitted_dns: DNS name constraints (critical); none when empty.
        self_aki: give a root an authorityKeyIdentifier equal to its own SKI.
        aia_ca_issuers: an AIA caIssuers URL.
        extensions: further non-critical extensions, added last.

    Returns:
        The certificate and its key.
    """
    key = key or new_key()
    ski = x509.SubjectKeyIdentifier.from_public_key(key.public_key())
    builder = (
        _start(subject, key, issuer, not_before, not_after, None)
        .add_extension(x509.BasicConstraints(ca=True, path_length=path_length), critical=True)
        .add_extension(_key_usage(ca=True), critical=True)
        .add_extension(ski, critical=False)
    )
    if issuer:
        builder = builder.add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer.key.public_key()),
            critical=False,
        )
    elif self_aki:
        builder = builder.add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ski), critical=False
        )
    if permitted_dns:
        subtrees: list[x509.GeneralName] = [x509.DNSName(p) for p in permitted_dns]
        builder = builder.add_extension(
            x509.NameConstraints(permitted_subtrees=subtrees, excluded_subtrees=None),
            critical=True,
        )
    aia = _aia(aia_ca_issuers, None)
    if aia is not None:
        builder = builder.add_extension(aia, critical=False)
    for ext in extensions:
        builder = builder.add_extension(ext, critical=False)
    return _sign(builder, key, issuer)


class LeafTemplate:
    """End-entity certificates of one key and one issuer, their fixed part built once.

    The fixed part: the public key, the issuer's name, basicConstraints CA:FALSE (critical),
    keyUsage (critical, when asked: digitalSignature, plus keyEncipherment for RSA), the EKUs,
    a subjectKeyIdentifier and an authorityKeyIdentifier (when asked, in that order). Each
    certificate then adds its subject, serial, dates and subjectAltName (``builder``): the
    proxy mints one per name without building the rest again.
    """

    def __init__(
        self,
        key: PrivateKey,
        issuer: Issued | None,
        *,
        eku: Sequence[x509.ObjectIdentifier] = (SERVER_AUTH,),
        key_usage: bool = False,
        ski: bool = True,
        aki: bool = True,
    ) -> None:
        self.key = key
        self.issuer = issuer
        self._signer = issuer.key if issuer else key
        self._hash = signature_hash(self._signer)
        fixed = (
            x509.CertificateBuilder()
            .public_key(key.public_key())
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        )
        if issuer is not None:
            fixed = fixed.issuer_name(issuer.cert.subject)
        if key_usage:
            rsa_key = isinstance(key, rsa.RSAPrivateKey)
            fixed = fixed.add_extension(
                _key_usage(ca=False, key_encipherment=rsa_key), critical=True
            )
        if eku:
            fixed = fixed.add_extension(x509.ExtendedKeyUsage(list(eku)), critical=False)
        if ski:
            fixed = fixed.add_extension(
                x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False
            )
        if issuer and aki:
            fixed = fixed.add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer.key.public_key()),
                critical=False,
            )
        self._fixed = fixed

    def builder(
        self,
        subject: x509.Name,
        *,
        not_before: datetime,
        not_after: datetime,
        names: Sequence[str] = (),
        serial: int | None = None,
    ) -> x509.CertificateBuilder:
        """One certificate's builder: the fixed part, then ``subject`` (the issuer too when
        self-signed), serial (random when None), dates and ``names`` as subjectAltName."""
        builder = (
            self._fixed.subject_name(subject)
            .serial_number(serial if serial is not None else x509.random_serial_number())
            .not_valid_before(not_before)
            .not_valid_after(not_after)
        )
        if self.issuer is None:
            builder = builder.issuer_name(subject)
        if names:
            builder = builder.add_extension(
                x509.SubjectAlternativeName(general_names(names)), critical=False
            )
        return builder

    def sign(self, builder: x509.CertificateBuilder) -> x509.Certificate:
        """Sign with the issuer's key (the certificate's own when self-signed)."""
        return builder.sign(self._signer, self._hash)


def build_leaf(
    subject: x509.Name,
    *,
    issuer: Issued | None,
    not_before: datetime,
    not_after: datetime,
    key: PrivateKey | None = None,
    names: Sequence[str] = (),
    eku: Sequence[x509.ObjectIdentifier] = (SERVER_AUTH,),
    key_usage: bool = False,
    ski: bool = True,
    aki: bool = True,
    aia_ca_issuers: str | None = None,
    aia_ocsp: str | None = None,
    crl_url: str | None = None,
    extensions: Sequence[x509.ExtensionType] = (),
    serial: int | None = None,
) -> Issued:
    """An end-entity certificate (basicConstraints CA:FALSE, critical).

    Args:
        subject: its name.
        issuer: the CA that signs it (None: self-signed with ``key``).
        not_before: start of validity.
        not_after: end of validity.
        key: its key (a new EC P-256 key when None).
        names: DNS names and IP literals for the subjectAltName (none when empty).
        eku: extended key usages (no extension when empty).
        key_usage: add a critical keyUsage: digitalSignature, plus keyEncipherment for RSA.
        ski: add a subjectKeyIdentifier.
        aki: add an authorityKeyIdentifier (only when it has an issuer).
        aia_ca_issuers: an AIA caIssuers URL.
        aia_ocsp: an AIA OCSP URL.
        crl_url: a CRL distribution point URL.
        extensions: further non-critical extensions, added last.
        serial: the serial number (random when None).

    Returns:
        The certificate and its key.
    """
    key = key or new_key()
    template = LeafTemplate(key, issuer, eku=eku, key_usage=key_usage, ski=ski, aki=aki)
    builder = template.builder(
        subject, not_before=not_before, not_after=not_after, names=names, serial=serial
    )
    aia = _aia(aia_ca_issuers, aia_ocsp)
    if aia is not None:
        builder = builder.add_extension(aia, critical=False)
    if crl_url:
        point = x509.DistributionPoint([x509.UniformResourceIdentifier(crl_url)], None, None, None)
        builder = builder.add_extension(x509.CRLDistributionPoints([point]), critical=False)
    for ext in extensions:
        builder = builder.add_extension(ext, critical=False)
    return Issued(template.sign(builder), key)


_SHA256_RSA = bytes.fromhex("06092a864886f70d01010b")  # OID 1.2.840.113549.1.1.11
_SHA1_RSA = bytes.fromhex("06092a864886f70d010105")  # OID 1.2.840.113549.1.1.5


def resign_sha1(cert: x509.Certificate, issuer_key: rsa.RSAPrivateKey) -> x509.Certificate:
    """Re-sign an RSA/SHA-256 certificate with SHA-1 (cryptography no longer signs SHA-1).

    The TBS part is kept; its signature algorithm OID is switched to sha1WithRSAEncryption
    (same length) and the outer structure is rebuilt around a new PKCS#1 v1.5 SHA-1 signature.
    """
    from cryptography.hazmat.primitives.asymmetric import padding

    tbs = cert.tbs_certificate_bytes
    if tbs.count(_SHA256_RSA) != 1:
        raise ValueError("expected one sha256WithRSAEncryption identifier in the TBS")
    tbs = tbs.replace(_SHA256_RSA, _SHA1_RSA)
    signature = issuer_key.sign(tbs, padding.PKCS1v15(), hashes.SHA1())
    alg = encode_tlv(0x30, _SHA1_RSA + b"\x05\x00")
    bits = encode_tlv(0x03, b"\x00" + signature)
    return x509.load_der_x509_certificate(encode_tlv(0x30, tbs + alg + bits))
