"""Revocation status from OCSP responses and CRLs (pure: bytes, certificates and ``now`` in).

The network side (who is asked, in which order, with which timeout) lives in
``tlsdiag.net.revocation``. Everything here checks what a careful client checks before it
believes an answer: the response is for *this* certificate, it is signed by the issuer (or by a
responder the issuer delegated to), and it is fresh. An answer that fails any check is
``unknown`` with the reason in ``detail``; it never counts as "good" or "revoked".

Revoked is an error finding (``server.revoked``); "no source answered" is a warning
(``server.revocation_unknown``), never an error: responders are often unreachable behind
proxies and firewalls, and that says nothing about the certificate.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import NamedTuple

from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import dsa, ec, ed448, ed25519, padding, rsa
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509 import ocsp
from cryptography.x509.oid import ExtendedKeyUsageOID, SignatureAlgorithmOID

from tlsdiag import codes
from tlsdiag.core.findings import make_finding
from tlsdiag.model import Finding

GOOD = "good"
REVOKED = "revoked"
UNKNOWN = "unknown"

CLOCK_SKEW = timedelta(minutes=5)
"""How far thisUpdate may lie in the future, and nextUpdate in the past, before we object."""

MAX_AGE_WITHOUT_NEXT_UPDATE = timedelta(days=7)
"""An OCSP response without nextUpdate is accepted this long after its thisUpdate."""


class RevocationStatus(NamedTuple):
    """What one source (stapled OCSP, an OCSP responder, a CRL) said about one certificate."""

    status: str  # "good" | "revoked" | "unknown"
    source: str  # "stapled OCSP", "OCSP http://...", "CRL http://..."
    reason: str = ""  # revocation reason (e.g. "keyCompromise") when revoked
    revoked_at: str = ""  # ISO 8601 UTC
    detail: str = ""  # why unknown (unreachable, bad signature, stale response ...)

    @property
    def definitive(self) -> bool:
        """True for an answer a client acts on (good or revoked)."""
        return self.status in (GOOD, REVOKED)

    def to_dict(self) -> dict[str, str]:
        """JSON-ready form."""
        return {
            "status": self.status,
            "source": self.source,
            "reason": self.reason,
            "revoked_at": self.revoked_at,
            "detail": self.detail,
        }


# --------------------------------------------------------------------------- OCSP


def ocsp_request_der(
    leaf: x509.Certificate,
    issuer: x509.Certificate,
    *,
    algorithm: hashes.HashAlgorithm | None = None,
) -> bytes:
    """A DER OCSP request for ``leaf`` (CertID hashed with SHA-1 unless told otherwise).

    SHA-1 in the CertID is what RFC 5019 responders (the ones public CAs run) expect; it is an
    identifier, not a signature.

    Args:
        leaf: the certificate whose status is asked.
        issuer: the certificate that signed ``leaf``.
        algorithm: the CertID hash algorithm.

    Returns:
        The request, ready to POST as ``application/ocsp-request``.
    """
    builder = ocsp.OCSPRequestBuilder().add_certificate(leaf, issuer, algorithm or hashes.SHA1())
    return builder.build().public_bytes(Encoding.DER)


def evaluate_ocsp_response(
    der: bytes,
    *,
    leaf: x509.Certificate,
    issuer: x509.Certificate,
    now: datetime,
    source: str,
) -> RevocationStatus:
    """The status an OCSP response gives for ``leaf``, after checking it can be believed.

    Checks, in order: the response parses and its status is ``successful``; one of its single
    responses is for ``leaf`` (issuer name hash, issuer key hash, serial); it is signed by the
    issuer itself or by a delegated responder certificate that the issuer signed, that carries
    id-kp-OCSPSigning and is valid at ``now``; thisUpdate is not in the future and nextUpdate
    (or thisUpdate plus 7 days when absent) is not in the past, with 5 minutes for clock skew.

    Args:
        der: the response body.
        leaf: the certificate asked about.
        issuer: its issuer.
        now: the time to judge freshness at (aware, UTC).
        source: where the response came from ("stapled OCSP", "OCSP http://...").

    Returns:
        ``good`` or ``revoked`` when every check passed, else ``unknown`` with the reason.
    """

    def unknown(detail: str) -> RevocationStatus:
        return RevocationStatus(UNKNOWN, source, detail=detail)

    if not der:
        return unknown("empty OCSP response")
    try:
        response = ocsp.load_der_ocsp_response(der)
    except ValueError:
        return unknown("not an OCSP response (the body does not parse as DER OCSPResponse)")
    if response.response_status is not ocsp.OCSPResponseStatus.SUCCESSFUL:
        return unknown(f"the responder answered {_status_name(response.response_status)}")

    try:
        single = _matching_single(response, leaf, issuer)
    except (ValueError, UnsupportedAlgorithm) as exc:
        return unknown(f"malformed OCSP response: {exc}")
    if single is None:
        return unknown(
            f"the response is not about this certificate (serial {leaf.serial_number:x})"
        )

    problem = _ocsp_signature_problem(response, issuer, now)
    if problem:
        return unknown(problem)

    this_update = single.this_update_utc
    next_update = single.next_update_utc
    if this_update > now + CLOCK_SKEW:
        return unknown(f"the response is not yet valid (thisUpdate {_iso(this_update)})")
    expires = next_update or this_update + MAX_AGE_WITHOUT_NEXT_UPDATE
    if now > expires + CLOCK_SKEW:
        what = "nextUpdate" if next_update else "thisUpdate + 7 days"
        return unknown(f"stale response ({what} {_iso(expires)} has passed)")

    status = single.certificate_status
    if status is ocsp.OCSPCertStatus.GOOD:
        return RevocationStatus(GOOD, source)
    if status is ocsp.OCSPCertStatus.REVOKED:
        when = single.revocation_time_utc
        return RevocationStatus(
            REVOKED,
            source,
            reason=_reason_name(single.revocation_reason),
            revoked_at=_iso(when) if when else "",
        )
    return unknown("the responder does not know this certificate (status unknown)")


def _matching_single(
    response: ocsp.OCSPResponse, leaf: x509.Certificate, issuer: x509.Certificate
) -> ocsp.OCSPSingleResponse | None:
    cache: dict[str, tuple[bytes, bytes]] = {}
    for single in response.responses:
        if single.serial_number != leaf.serial_number:
            continue
        algorithm = single.hash_algorithm
        if algorithm.name not in cache:
            cache[algorithm.name] = _cert_id_hashes(leaf, issuer, algorithm)
        name_hash, key_hash = cache[algorithm.name]
        if single.issuer_name_hash == name_hash and single.issuer_key_hash == key_hash:
            return single
    return None


def _cert_id_hashes(
    leaf: x509.Certificate, issuer: x509.Certificate, algorithm: hashes.HashAlgorithm
) -> tuple[bytes, bytes]:
    """(issuerNameHash, issuerKeyHash) as a request built with ``algorithm`` would carry."""
    request = ocsp.OCSPRequestBuilder().add_certificate(leaf, issuer, algorithm).build()
    return request.issuer_name_hash, request.issuer_key_hash


def _ocsp_signature_problem(
    response: ocsp.OCSPResponse, issuer: x509.Certificate, now: datetime
) -> str:
    """ "" when the response is signed by the issuer or a valid delegated responder."""
    if _responder_is(response, issuer):
        signer = issuer
    else:
        delegated = [c for c in response.certificates if _responder_is(response, c)]
        if not delegated:
            return (
                "the response is signed by a responder that is neither the issuer nor a "
                "certificate included in the response"
            )
        signer = delegated[0]
        problem = _delegated_problem(signer, issuer, now)
        if problem:
            return problem
    hash_alg = response.signature_hash_algorithm
    pss = response.signature_algorithm_oid == SignatureAlgorithmOID.RSASSA_PSS
    if not _signature_ok(
        signer, response.signature, response.tbs_response_bytes, hash_alg, pss=pss
    ):
        who = "issuer" if signer is issuer else "delegated responder"
        return f"bad signature: the response does not verify with the {who}'s key"
    return ""


def _responder_is(response: ocsp.OCSPResponse, cert: x509.Certificate) -> bool:
    if response.responder_name is not None:
        return response.responder_name == cert.subject
    key_hash = response.responder_key_hash
    return key_hash is not None and key_hash == _key_sha1(cert)


def _key_sha1(cert: x509.Certificate) -> bytes:
    """SHA-1 of the subjectPublicKey BIT STRING (the ResponderID byKey form)."""
    return x509.SubjectKeyIdentifier.from_public_key(cert.public_key()).digest


def _delegated_problem(signer: x509.Certificate, issuer: x509.Certificate, now: datetime) -> str:
    name = signer.subject.rfc4514_string()
    try:
        signer.verify_directly_issued_by(issuer)
    except (ValueError, TypeError, InvalidSignature, UnsupportedAlgorithm):
        return f"bad signature: the delegated responder {name!r} is not issued by the issuer"
    try:
        eku = signer.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    except (x509.ExtensionNotFound, ValueError):
        eku = None
    if eku is None or ExtendedKeyUsageOID.OCSP_SIGNING not in eku:
        return f"the delegated responder {name!r} lacks id-kp-OCSPSigning"
    if not signer.not_valid_before_utc <= now <= signer.not_valid_after_utc:
        return f"the delegated responder certificate {name!r} is not valid now"
    return ""


def _signature_ok(
    signer: x509.Certificate,
    signature: bytes,
    data: bytes,
    hash_alg: hashes.HashAlgorithm | None,
    *,
    pss: bool = False,
) -> bool:
    key = signer.public_key()
    try:
        if isinstance(key, rsa.RSAPublicKey) and hash_alg is not None:
            pad: padding.AsymmetricPadding = (
                padding.PSS(padding.MGF1(hash_alg), padding.PSS.AUTO) if pss else padding.PKCS1v15()
            )
            key.verify(signature, data, pad, hash_alg)
        elif isinstance(key, ec.EllipticCurvePublicKey) and hash_alg is not None:
            key.verify(signature, data, ec.ECDSA(hash_alg))
        elif isinstance(key, dsa.DSAPublicKey) and hash_alg is not None:
            key.verify(signature, data, hash_alg)
        elif isinstance(key, ed25519.Ed25519PublicKey | ed448.Ed448PublicKey):
            key.verify(signature, data)
        else:
            return False
    except (InvalidSignature, UnsupportedAlgorithm, ValueError):
        return False
    return True


def _status_name(status: ocsp.OCSPResponseStatus) -> str:
    return {
        ocsp.OCSPResponseStatus.MALFORMED_REQUEST: "malformedRequest",
        ocsp.OCSPResponseStatus.INTERNAL_ERROR: "internalError",
        ocsp.OCSPResponseStatus.TRY_LATER: "tryLater",
        ocsp.OCSPResponseStatus.SIG_REQUIRED: "sigRequired",
        ocsp.OCSPResponseStatus.UNAUTHORIZED: "unauthorized",
    }.get(status, status.name.lower())


# --------------------------------------------------------------------------- CRL


def evaluate_crl(
    der_or_pem: bytes,
    *,
    leaf: x509.Certificate,
    issuer: x509.Certificate,
    now: datetime,
    source: str,
) -> RevocationStatus:
    """The status a CRL gives for ``leaf``, after checking it can be believed.

    Checks: the CRL parses (DER or PEM); its issuer name is the issuer's subject and its
    signature verifies with the issuer's key (indirect CRLs are not supported); thisUpdate is
    not in the future and nextUpdate is not in the past (5 minutes of clock skew allowed). Then
    the leaf's serial is looked up; an entry means revoked, with its reason and date (an entry
    with reason removeFromCRL means good).

    Args:
        der_or_pem: the CRL as fetched.
        leaf: the certificate asked about.
        issuer: its issuer (the CRL signer).
        now: the time to judge freshness at (aware, UTC).
        source: where the CRL came from ("CRL http://...").

    Returns:
        ``good`` or ``revoked`` when every check passed, else ``unknown`` with the reason.
    """

    def unknown(detail: str) -> RevocationStatus:
        return RevocationStatus(UNKNOWN, source, detail=detail)

    crl = _load_crl(der_or_pem)
    if crl is None:
        return unknown("not a CRL (the body parses neither as DER nor as PEM X509 CRL)")
    if crl.issuer != issuer.subject:
        return unknown(
            f"the CRL is issued by {crl.issuer.rfc4514_string()!r}, "
            f"not by the certificate's issuer {issuer.subject.rfc4514_string()!r}"
        )
    try:
        valid = crl.is_signature_valid(issuer.public_key())  # type: ignore[arg-type]  # any CA key type
    except (TypeError, ValueError, UnsupportedAlgorithm):
        valid = False
    if not valid:
        return unknown("bad signature: the CRL does not verify with the issuer's key")

    entry = crl.get_revoked_certificate_by_serial_number(leaf.serial_number)
    listed = " (it lists this certificate as revoked)" if entry is not None else ""
    if crl.last_update_utc > now + CLOCK_SKEW:
        return unknown(f"the CRL is not yet valid (thisUpdate {_iso(crl.last_update_utc)})")
    next_update = crl.next_update_utc
    if next_update is not None and now > next_update + CLOCK_SKEW:
        return unknown(f"stale CRL (nextUpdate {_iso(next_update)} has passed){listed}")

    if entry is None:
        return RevocationStatus(GOOD, source)
    reason = _crl_entry_reason(entry)
    if reason is x509.ReasonFlags.remove_from_crl:
        return RevocationStatus(GOOD, source)
    return RevocationStatus(
        REVOKED,
        source,
        reason=_reason_name(reason),
        revoked_at=_iso(entry.revocation_date_utc),
    )


def _load_crl(data: bytes) -> x509.CertificateRevocationList | None:
    try:
        if b"-----BEGIN" in data[:2048]:
            return x509.load_pem_x509_crl(data)
        return x509.load_der_x509_crl(data)
    except ValueError:
        return None


def _crl_entry_reason(entry: x509.RevokedCertificate) -> x509.ReasonFlags | None:
    try:
        return entry.extensions.get_extension_for_class(x509.CRLReason).value.reason
    except (x509.ExtensionNotFound, ValueError):
        return None


# --------------------------------------------------------------------------- findings


def revocation_findings(statuses: Sequence[RevocationStatus], *, subject: str) -> list[Finding]:
    """Findings for the statuses one revocation check produced.

    ``server.revoked`` (error) when any source says revoked, with the reason and date;
    ``server.revocation_unknown`` (warning) when sources were asked and none gave a definitive
    answer; nothing when a source said good, or when there was nothing to ask (the certificate
    names no responder and no CRL, as is usual for private and inspection CAs).

    Args:
        statuses: what each source said, in the order they were asked.
        subject: how to name the certificate in the text (e.g. its subject CN or host).

    Returns:
        Zero or one finding.
    """
    revoked = [s for s in statuses if s.status == REVOKED]
    if revoked:
        first = revoked[0]
        reason = first.reason or "unspecified"
        when = first.revoked_at or "an unknown date"
        evidence = {"source": first.source, "reason": reason}
        if first.revoked_at:
            evidence["revoked_at"] = first.revoked_at
        return [
            make_finding(
                codes.SERVER_REVOKED,
                detail=(
                    f"{_source_phrase(first.source)} says the certificate of {subject} was "
                    f"revoked on {when} (reason: {reason})."
                ),
                evidence=evidence,
            )
        ]
    if not statuses or any(s.status == GOOD for s in statuses):
        return []
    evidence = {s.source: s.detail or s.status for s in statuses}
    asked = ", ".join(s.source for s in statuses)
    return [
        make_finding(
            codes.SERVER_REVOCATION_UNKNOWN,
            detail=(
                f"No revocation source gave an answer for the certificate of {subject} "
                f"(asked: {asked}). This is not an error by itself."
            ),
            evidence=evidence,
        )
    ]


def _source_phrase(source: str) -> str:
    if source.startswith("OCSP "):
        return f"The OCSP responder at {source[5:]}"
    if source.startswith("CRL "):
        return f"The CRL at {source[4:]}"
    if source == "stapled OCSP":
        return "The OCSP response stapled by the server"
    return source


# --------------------------------------------------------------------------- helpers

_REASON_NAMES = {
    x509.ReasonFlags.unspecified: "unspecified",
    x509.ReasonFlags.key_compromise: "keyCompromise",
    x509.ReasonFlags.ca_compromise: "cACompromise",
    x509.ReasonFlags.affiliation_changed: "affiliationChanged",
    x509.ReasonFlags.superseded: "superseded",
    x509.ReasonFlags.cessation_of_operation: "cessationOfOperation",
    x509.ReasonFlags.certificate_hold: "certificateHold",
    x509.ReasonFlags.privilege_withdrawn: "privilegeWithdrawn",
    x509.ReasonFlags.aa_compromise: "aACompromise",
    x509.ReasonFlags.remove_from_crl: "removeFromCRL",
}


def _reason_name(reason: x509.ReasonFlags | None) -> str:
    """RFC 5280 name of a reason code; "unspecified" when none was given."""
    if reason is None:
        return "unspecified"
    return _REASON_NAMES.get(reason, reason.value)


def _iso(when: datetime) -> str:
    if when.tzinfo is not None:
        when = when.astimezone(UTC)
    return when.strftime("%Y-%m-%dT%H:%M:%SZ")
