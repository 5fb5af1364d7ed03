"""The lab's incomplete-chain PKI: an intermediate published for AIA, an OCSP responder, a CRL.

Builds on :mod:`tlsdiag.lab.pki` (certificates generated at start, never stored). The TLS
server of the "incomplete chain" scenario sends only the leaf; the leaf's AIA caIssuers URL
points at a :class:`tlsdiag.lab.pki_http.PkiHttpServer` that serves the intermediate (DER, PEM
and PKCS#7 variants), and its AIA OCSP and CRL distribution point URLs point at the same server.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.serialization import pkcs7
from cryptography.x509.oid import ExtendedKeyUsageOID

from tlsdiag.core.certbuild import Issued, build_leaf, cert_der, name
from tlsdiag.lab.pki import make_ca, make_leaf

if TYPE_CHECKING:
    from tlsdiag.lab.pki_http import PkiHttpServer


def pkcs7_der(certs: Sequence[x509.Certificate]) -> bytes:
    """A certs-only PKCS#7 (``.p7c``) in DER."""
    return pkcs7.serialize_certificates(list(certs), serialization.Encoding.DER)


def pkcs7_pem(certs: Sequence[x509.Certificate]) -> bytes:
    """A certs-only PKCS#7 in PEM (``-----BEGIN PKCS7-----``)."""
    return pkcs7.serialize_certificates(list(certs), serialization.Encoding.PEM)


def make_ocsp_signer(
    cn: str,
    issuer: Issued,
    *,
    now: datetime,
    days: int = 5,
    ocsp_signing: bool = True,
) -> Issued:
    """A delegated OCSP responder certificate issued by ``issuer``.

    Args:
        cn: its common name.
        issuer: the CA that delegates to it.
        now: the time it is valid around.
        days: validity after ``now``.
        ocsp_signing: carry id-kp-OCSPSigning (False makes a certificate that must be rejected).
    """
    usage = ExtendedKeyUsageOID.OCSP_SIGNING if ocsp_signing else ExtendedKeyUsageOID.SERVER_AUTH
    return build_leaf(
        name(cn, "tlsdiag lab"),
        issuer=issuer,
        not_before=now - timedelta(hours=1),
        not_after=now + timedelta(days=days),
        eku=(usage,),
        ski=False,
        aki=False,
    )


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
    now: datetime,
    hosts: Sequence[str] = ("localhost", "127.0.0.1"),
    revoked: bool = False,
    root: Issued | None = None,
) -> AiaLab:
    """Build root -> intermediate -> leaf and publish the intermediate, OCSP and CRL on ``server``.

    Routes: ``/aia/intermediate.der`` (the leaf's caIssuers URL), ``.pem`` and ``.p7c`` variants,
    ``/ocsp`` (the leaf's OCSP URL) and ``/crl/intermediate.crl`` (its CRL distribution point).

    Args:
        server: where to publish (its ``base_url`` goes into the leaf).
        now: the time the certificates are valid around.
        hosts: the leaf's DNS names / IP addresses.
        revoked: list the leaf as revoked (keyCompromise, 30 minutes ago) in OCSP and the CRL.
        root: the lab root to issue under (a new one when None).

    Returns:
        The certificates and URLs.
    """
    root = root or make_ca("tlsdiag lab AIA Root CA", now=now)
    intermediate = make_ca("tlsdiag lab AIA Intermediate CA", now=now, issuer=root, path_length=0)
    ca_url = server.url_for("/aia/intermediate.der")
    ocsp_url = server.url_for("/ocsp")
    crl_url = server.url_for("/crl/intermediate.crl")
    leaf = make_leaf(
        intermediate,
        now=now,
        names=list(hosts),
        aia_ca_issuers=ca_url,
        aia_ocsp=ocsp_url,
        crl_url=crl_url,
    )
    revocations: dict[int, tuple[datetime, x509.ReasonFlags | None]] = {}
    if revoked:
        revocations[leaf.cert.serial_number] = (
            now - timedelta(minutes=30),
            x509.ReasonFlags.key_compromise,
        )
    server.add_file("/aia/intermediate.der", cert_der(intermediate.cert), "application/pkix-cert")
    server.add_file("/aia/intermediate.pem", intermediate.cert_pem, "application/x-pem-file")
    server.add_file(
        "/aia/intermediate.p7c", pkcs7_der([intermediate.cert]), "application/pkcs7-mime"
    )
    server.add_ocsp_responder("/ocsp", intermediate.cert, intermediate.key, revoked=revocations)
    server.add_crl(
        "/crl/intermediate.crl", intermediate.cert, intermediate.key, revoked=revocations
    )
    return AiaLab(root, intermediate, leaf, ca_url, ocsp_url, crl_url)
