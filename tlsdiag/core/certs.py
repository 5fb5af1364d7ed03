"""Read certificates into summaries and answer small questions about them (pure)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from datetime import UTC, datetime
from functools import lru_cache

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import dsa, ec, ed448, ed25519, rsa
from cryptography.x509.oid import AuthorityInformationAccessOID, ExtensionOID, NameOID

from tlsdiag.core.memo import IdentityMemo
from tlsdiag.model import CertSummary


def name_string(name: x509.Name) -> str:
    """``CN=..., O=..., C=...`` (most specific first)."""
    return name.rfc4514_string().replace(",", ", ") if len(name) else "(empty)"


def name_attr(name: x509.Name, oid: x509.ObjectIdentifier) -> str:
    """The first value of one attribute ("" when absent)."""
    attrs = name.get_attributes_for_oid(oid)
    value = attrs[0].value if attrs else ""
    return value if isinstance(value, str) else value.decode("utf-8", "replace")


def common_name(name: x509.Name) -> str:
    """The CN of a name ("" when absent)."""
    return name_attr(name, NameOID.COMMON_NAME)


@lru_cache(maxsize=8192)
def fingerprint(cert: x509.Certificate) -> str:
    """SHA-256 fingerprint, lower-case hex (memoised: root sets are compared on every check)."""
    return cert.fingerprint(hashes.SHA256()).hex()


def spki_sha256(cert: x509.Certificate) -> str:
    """SHA-256 of the SubjectPublicKeyInfo, lower-case hex (pinning, key identity)."""
    der = cert.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return hashlib.sha256(der).hexdigest()


def utc(dt: datetime) -> str:
    """ISO 8601 UTC with a Z."""
    return dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def key_description(cert: x509.Certificate) -> tuple[str, int]:
    """("RSA 2048", 2048), ("EC P-256", 256), ("Ed25519", 256) ..."""
    key = cert.public_key()
    if isinstance(key, rsa.RSAPublicKey):
        return f"RSA {key.key_size}", key.key_size
    if isinstance(key, ec.EllipticCurvePublicKey):
        names = {"secp256r1": "P-256", "secp384r1": "P-384", "secp521r1": "P-521"}
        return f"EC {names.get(key.curve.name, key.curve.name)}", key.curve.key_size
    if isinstance(key, ed25519.Ed25519PublicKey):
        return "Ed25519", 256
    if isinstance(key, ed448.Ed448PublicKey):
        return "Ed448", 456
    if isinstance(key, dsa.DSAPublicKey):
        return f"DSA {key.key_size}", key.key_size
    return type(key).__name__, 0


def signature_hash(cert: x509.Certificate) -> str:
    """The hash of the certificate's signature ("sha256", "sha1", "md5", "" for EdDSA)."""
    try:
        algo = cert.signature_hash_algorithm
    except Exception:  # unsupported algorithm OID: report by name
        return cert.signature_algorithm_oid._name.lower()
    return algo.name if algo is not None else ""


def _ext(cert: x509.Certificate, oid: x509.ObjectIdentifier) -> x509.ExtensionType | None:
    try:
        return cert.extensions.get_extension_for_oid(oid).value
    except (x509.ExtensionNotFound, x509.DuplicateExtension, ValueError):
        return None  # absent, or unreadable (certrules.extension_problems names which)


def san_names(cert: x509.Certificate) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(dNSNames, iPAddresses) of the subjectAltName extension."""
    ext = _ext(cert, ExtensionOID.SUBJECT_ALTERNATIVE_NAME)
    if not isinstance(ext, x509.SubjectAlternativeName):
        return (), ()
    dns = tuple(ext.get_values_for_type(x509.DNSName))
    ips = tuple(str(ip) for ip in ext.get_values_for_type(x509.IPAddress))
    return dns, ips


def has_san(cert: x509.Certificate) -> bool:
    """True when the certificate has a subjectAltName extension."""
    return isinstance(
        _ext(cert, ExtensionOID.SUBJECT_ALTERNATIVE_NAME), x509.SubjectAlternativeName
    )


def aia_urls(cert: x509.Certificate) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(caIssuers URLs, OCSP URLs) of the authorityInfoAccess extension."""
    ext = _ext(cert, ExtensionOID.AUTHORITY_INFORMATION_ACCESS)
    if not isinstance(ext, x509.AuthorityInformationAccess):
        return (), ()
    issuers, ocsp = [], []
    for desc in ext:
        if isinstance(desc.access_location, x509.UniformResourceIdentifier):
            if desc.access_method == AuthorityInformationAccessOID.CA_ISSUERS:
                issuers.append(desc.access_location.value)
            elif desc.access_method == AuthorityInformationAccessOID.OCSP:
                ocsp.append(desc.access_location.value)
    return tuple(issuers), tuple(ocsp)


def crl_urls(cert: x509.Certificate) -> tuple[str, ...]:
    """HTTP(S) URLs of the CRL distribution points."""
    ext = _ext(cert, ExtensionOID.CRL_DISTRIBUTION_POINTS)
    if not isinstance(ext, x509.CRLDistributionPoints):
        return ()
    out: list[str] = []
    for point in ext:
        out.extend(
            n.value for n in point.full_name or () if isinstance(n, x509.UniformResourceIdentifier)
        )
    return tuple(out)


def sct_count(cert: x509.Certificate) -> int:
    """How many embedded Signed Certificate Timestamps the certificate carries."""
    ext = _ext(cert, ExtensionOID.PRECERT_SIGNED_CERTIFICATE_TIMESTAMPS)
    if isinstance(ext, x509.PrecertificateSignedCertificateTimestamps):
        return len(ext)
    return 0


def is_ca(cert: x509.Certificate) -> bool:
    """basicConstraints CA:TRUE."""
    ext = _ext(cert, ExtensionOID.BASIC_CONSTRAINTS)
    return isinstance(ext, x509.BasicConstraints) and ext.ca


def signed_by(cert: x509.Certificate, issuer: x509.Certificate) -> bool:
    """True when ``issuer``'s name and key produced ``cert``'s signature."""
    if cert.issuer != issuer.subject:
        return False
    try:
        cert.verify_directly_issued_by(issuer)
    except InvalidSignature:
        return False
    except (ValueError, TypeError):
        return _legacy_signed_by(cert, issuer)
    return True


def name_key(name: x509.Name) -> str:
    """A text equal for two names exactly when they compare equal (``x509.Name`` equality: each
    RDN's set of attribute OIDs and values, string types aside), to index names kept on disk."""
    rdns = [
        sorted(
            {
                (a.oid.dotted_string, "s", a.value)
                if isinstance(a.value, str)
                else (a.oid.dotted_string, "b", a.value.hex())
                for a in rdn
            }
        )
        for rdn in name.rdns
    ]
    return json.dumps(rdns, separators=(",", ":"))


_Index = dict[object, list[x509.Certificate]]
_INDEXES: IdentityMemo[tuple[x509.Certificate, ...], _Index] = IdentityMemo(32)
"""Subject-name indexes of root sets: a root set is indexed once per process, not hashed per
call (by subject, or by the given ``name_key`` texts: the variant)."""


def _by_subject(certs: tuple[x509.Certificate, ...], subject_keys: Sequence[str]) -> _Index:
    """``certs`` grouped by subject (``x509.Name``, or the given ``name_key`` texts), in order."""

    def index_of(certs: tuple[x509.Certificate, ...]) -> _Index:
        index: _Index = {}
        keys: Sequence[object] = subject_keys or [cert.subject for cert in certs]
        for key, cert in zip(keys, certs, strict=True):
            index.setdefault(key, []).append(cert)
        return index

    return _INDEXES.get(certs, index_of, bool(subject_keys))


def signers_in(
    cert: x509.Certificate,
    certs: tuple[x509.Certificate, ...],
    subject_keys: Sequence[str] = (),
) -> list[x509.Certificate]:
    """The certificates of ``certs`` that signed ``cert``, in their order: the same answer as
    ``[c for c in certs if signed_by(cert, c)]``, looking only at those named as its issuer
    (names compare and hash alike, so the index finds exactly the candidates the scan would).

    Args:
        cert: the certificate whose issuer is looked for.
        certs: the candidates (a root set; indexed once per tuple).
        subject_keys: ``name_key`` of each candidate's subject when known (a cache of the
            bundle), which spares parsing every subject; empty to read them from ``certs``.
    """
    index = _by_subject(certs, subject_keys)
    key: object = name_key(cert.issuer) if subject_keys else cert.issuer
    return [c for c in index.get(key, ()) if signed_by(cert, c)]


def _legacy_signed_by(cert: x509.Certificate, issuer: x509.Certificate) -> bool:
    """Check a signature cryptography's X.509 layer refuses (SHA-1, MD5) with the raw key.

    Only to recognise the issuer of an old certificate; the weak signature is then reported.
    """
    from cryptography.hazmat.primitives.asymmetric import padding

    key = issuer.public_key()
    try:
        algo = cert.signature_hash_algorithm
        if algo is None:
            return False
        if isinstance(key, rsa.RSAPublicKey):
            key.verify(cert.signature, cert.tbs_certificate_bytes, padding.PKCS1v15(), algo)
        elif isinstance(key, ec.EllipticCurvePublicKey):
            key.verify(cert.signature, cert.tbs_certificate_bytes, ec.ECDSA(algo))
        else:
            return False
    except Exception:  # any failure means "not verified by this issuer"
        return False
    return True


def is_self_signed(cert: x509.Certificate) -> bool:
    """Subject equals issuer and the certificate's own key verifies its signature."""
    return signed_by(cert, cert)


def not_before(cert: x509.Certificate) -> datetime:
    """notBefore as an aware UTC datetime."""
    return cert.not_valid_before_utc


def not_after(cert: x509.Certificate) -> datetime:
    """notAfter as an aware UTC datetime."""
    return cert.not_valid_after_utc


def summarize(cert: x509.Certificate, position: int) -> CertSummary:
    """A summary of one certificate for reports."""
    key, bits = key_description(cert)
    dns, ips = san_names(cert)
    issuers, ocsp = aia_urls(cert)
    try:
        sig_name = cert.signature_algorithm_oid._name
    except AttributeError:
        sig_name = cert.signature_algorithm_oid.dotted_string
    return CertSummary(
        position=position,
        subject=name_string(cert.subject),
        issuer=name_string(cert.issuer),
        subject_cn=common_name(cert.subject),
        issuer_cn=common_name(cert.issuer),
        issuer_o=name_attr(cert.issuer, NameOID.ORGANIZATION_NAME),
        serial=format(cert.serial_number, "x"),
        not_before=utc(not_before(cert)),
        not_after=utc(not_after(cert)),
        key=key,
        key_bits=bits,
        signature=sig_name,
        signature_hash=signature_hash(cert),
        sha256=fingerprint(cert),
        san_dns=dns,
        san_ip=ips,
        is_ca=is_ca(cert),
        self_issued=cert.issuer == cert.subject,
        aia_ca_issuers=issuers,
        aia_ocsp=ocsp,
        crl_urls=crl_urls(cert),
        sct_count=sct_count(cert),
    )


def load_der_chain(ders: Sequence[bytes]) -> list[x509.Certificate]:
    """Parse DER certificates (as recorded by the probe)."""
    return [x509.load_der_x509_certificate(d) for d in ders]
