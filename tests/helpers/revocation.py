"""OCSP and CRL builders for the revocation unit tests (responses made at test time)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.x509 import ocsp

from tlsdiag.core.certbuild import Issued

NOW = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)


@dataclass(frozen=True)
class Pki:
    root: Issued
    issuer: Issued  # the intermediate that signs the leaf
    leaf: Issued
    other: Issued  # an unrelated CA (wrong signer)
    other_leaf: Issued  # another leaf of the same issuer


def build_ocsp(
    *,
    leaf: x509.Certificate,
    issuer: x509.Certificate,
    signer_cert: x509.Certificate,
    signer_key: Any,
    status: ocsp.OCSPCertStatus = ocsp.OCSPCertStatus.GOOD,
    this_update: datetime = NOW - timedelta(minutes=10),
    next_update: datetime | None = NOW + timedelta(hours=1),
    revocation_time: datetime | None = None,
    reason: x509.ReasonFlags | None = None,
    certificates: Sequence[x509.Certificate] = (),
    algorithm: hashes.HashAlgorithm | None = None,
    by_name: bool = False,
) -> bytes:
    """A signed OCSP response (DER) about ``leaf``."""
    builder = (
        ocsp.OCSPResponseBuilder()
        .add_response(
            cert=leaf,
            issuer=issuer,
            algorithm=algorithm or hashes.SHA1(),
            cert_status=status,
            this_update=this_update,
            next_update=next_update,
            revocation_time=revocation_time,
            revocation_reason=reason,
        )
        .responder_id(
            ocsp.OCSPResponderEncoding.NAME if by_name else ocsp.OCSPResponderEncoding.HASH,
            signer_cert,
        )
    )
    if certificates:
        builder = builder.certificates(list(certificates))
    return builder.sign(signer_key, hashes.SHA256()).public_bytes(serialization.Encoding.DER)


def build_crl(
    *,
    issuer_name: x509.Name,
    signer_key: Any,
    revoked: Sequence[tuple[int, datetime, x509.ReasonFlags | None]] = (),
    last_update: datetime = NOW - timedelta(hours=1),
    next_update: datetime = NOW + timedelta(days=1),
    encoding: serialization.Encoding = serialization.Encoding.DER,
) -> bytes:
    """A signed CRL listing ``revoked`` (serial, date, reason)."""
    builder = (
        x509.CertificateRevocationListBuilder()
        .issuer_name(issuer_name)
        .last_update(last_update)
        .next_update(next_update)
    )
    for serial, when, reason in revoked:
        entry = x509.RevokedCertificateBuilder().serial_number(serial).revocation_date(when)
        if reason is not None:
            entry = entry.add_extension(x509.CRLReason(reason), critical=False)
        builder = builder.add_revoked_certificate(entry.build())
    return builder.sign(signer_key, hashes.SHA256()).public_bytes(encoding)
