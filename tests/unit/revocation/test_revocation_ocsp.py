"""OCSP response evaluation on responses signed at test time (no network)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.x509 import ocsp

from tlsdiag.core.certbuild import Issued, new_key
from tlsdiag.core.revocation import evaluate_crl, evaluate_ocsp_response, ocsp_request_der
from tlsdiag.lab.aia_pki import make_ocsp_signer
from tlsdiag.lab.pki import make_ca, make_leaf

from helpers.revocation import NOW, Pki, build_crl, build_ocsp

SRC = "OCSP http://ocsp.example.test"


def judge(der: bytes, pki: Pki, *, now=NOW, leaf=None, issuer=None):
    return evaluate_ocsp_response(
        der,
        leaf=leaf or pki.leaf.cert,
        issuer=issuer or pki.issuer.cert,
        now=now,
        source=SRC,
    )


def direct(pki: Pki, **kw) -> bytes:
    return build_ocsp(
        leaf=pki.leaf.cert,
        issuer=pki.issuer.cert,
        signer_cert=pki.issuer.cert,
        signer_key=pki.issuer.key,
        **kw,
    )


def test_good_response_signed_by_issuer(pki: Pki) -> None:
    status = judge(direct(pki), pki)
    assert (status.status, status.source, status.detail) == ("good", SRC, "")
    assert status.definitive


def test_revoked_with_reason_and_date(pki: Pki) -> None:
    when = NOW - timedelta(days=2, hours=3)
    der = direct(
        pki,
        status=ocsp.OCSPCertStatus.REVOKED,
        revocation_time=when,
        reason=x509.ReasonFlags.key_compromise,
    )
    status = judge(der, pki)
    assert status.status == "revoked"
    assert status.reason == "keyCompromise"
    assert status.revoked_at == "2026-11-19T09:00:00Z"


def test_revoked_without_reason_is_unspecified(pki: Pki) -> None:
    der = direct(pki, status=ocsp.OCSPCertStatus.REVOKED, revocation_time=NOW - timedelta(days=1))
    status = judge(der, pki)
    assert (status.status, status.reason) == ("revoked", "unspecified")


def test_status_unknown_from_responder(pki: Pki) -> None:
    status = judge(direct(pki, status=ocsp.OCSPCertStatus.UNKNOWN), pki)
    assert status.status == "unknown"
    assert "does not know this certificate" in status.detail


def test_wrong_signature_is_not_believed(pki: Pki) -> None:
    # An impostor CA with the issuer's name (but its own key) answers "revoked" by name.
    impostor = make_ca("Unit Issuing CA", now=NOW)
    assert impostor.cert.subject == pki.issuer.cert.subject
    der = build_ocsp(
        leaf=pki.leaf.cert,
        issuer=pki.issuer.cert,
        signer_cert=impostor.cert,
        signer_key=impostor.key,
        status=ocsp.OCSPCertStatus.REVOKED,
        revocation_time=NOW - timedelta(days=1),
        by_name=True,
    )
    status = judge(der, pki)
    assert status.status == "unknown"
    assert "bad signature" in status.detail


def test_tampered_signature_is_not_believed(pki: Pki) -> None:
    der = bytearray(direct(pki))
    der[-1] ^= 0x01  # the last bytes are the signature when no certificate is included
    status = judge(bytes(der), pki)
    assert status.status == "unknown"
    assert "bad signature" in status.detail


def test_responder_that_is_not_the_issuer_and_not_included(pki: Pki) -> None:
    der = build_ocsp(
        leaf=pki.leaf.cert,
        issuer=pki.issuer.cert,
        signer_cert=pki.other.cert,
        signer_key=pki.other.key,
    )
    status = judge(der, pki)
    assert status.status == "unknown"
    assert "neither the issuer" in status.detail


def test_stale_next_update(pki: Pki) -> None:
    der = direct(pki, this_update=NOW - timedelta(days=3), next_update=NOW - timedelta(hours=2))
    status = judge(der, pki)
    assert status.status == "unknown"
    assert "stale" in status.detail and "2026-11-21T10:00:00Z" in status.detail


def test_next_update_within_clock_skew_is_accepted(pki: Pki) -> None:
    der = direct(pki, this_update=NOW - timedelta(days=1), next_update=NOW - timedelta(minutes=2))
    assert judge(der, pki).status == "good"


def test_this_update_in_the_future(pki: Pki) -> None:
    der = direct(pki, this_update=NOW + timedelta(hours=1), next_update=NOW + timedelta(hours=5))
    status = judge(der, pki)
    assert status.status == "unknown"
    assert "not yet valid" in status.detail


def test_without_next_update_accepted_for_seven_days(pki: Pki) -> None:
    fresh = direct(pki, this_update=NOW - timedelta(days=1), next_update=None)
    old = direct(pki, this_update=NOW - timedelta(days=8), next_update=None)
    assert judge(fresh, pki).status == "good"
    stale = judge(old, pki)
    assert stale.status == "unknown" and "thisUpdate + 7 days" in stale.detail


def test_delegated_responder_is_accepted(pki: Pki, delegated: Issued) -> None:
    der = build_ocsp(
        leaf=pki.leaf.cert,
        issuer=pki.issuer.cert,
        signer_cert=delegated.cert,
        signer_key=delegated.key,
        status=ocsp.OCSPCertStatus.REVOKED,
        revocation_time=NOW - timedelta(hours=5),
        reason=x509.ReasonFlags.superseded,
        certificates=[delegated.cert],
    )
    status = judge(der, pki)
    assert (status.status, status.reason) == ("revoked", "superseded")


def test_delegated_responder_without_ocsp_signing_is_rejected(pki: Pki) -> None:
    signer = make_ocsp_signer("No EKU responder", pki.issuer, now=NOW, ocsp_signing=False)
    der = build_ocsp(
        leaf=pki.leaf.cert,
        issuer=pki.issuer.cert,
        signer_cert=signer.cert,
        signer_key=signer.key,
        certificates=[signer.cert],
    )
    status = judge(der, pki)
    assert status.status == "unknown"
    assert "lacks id-kp-OCSPSigning" in status.detail


def test_delegated_responder_of_another_ca_is_rejected(pki: Pki) -> None:
    foreign = make_ocsp_signer("Foreign responder", pki.other, now=NOW)
    der = build_ocsp(
        leaf=pki.leaf.cert,
        issuer=pki.issuer.cert,
        signer_cert=foreign.cert,
        signer_key=foreign.key,
        certificates=[foreign.cert],
    )
    status = judge(der, pki)
    assert status.status == "unknown"
    assert "not issued by the issuer" in status.detail


def test_expired_delegated_responder_is_rejected(pki: Pki, delegated: Issued) -> None:
    der = build_ocsp(
        leaf=pki.leaf.cert,
        issuer=pki.issuer.cert,
        signer_cert=delegated.cert,
        signer_key=delegated.key,
        this_update=NOW + timedelta(days=9),
        next_update=NOW + timedelta(days=10),
        certificates=[delegated.cert],
    )
    # Judged ten days later: the response is fresh, its signer's certificate (5 days) is not.
    status = judge(der, pki, now=NOW + timedelta(days=9, hours=1))
    assert status.status == "unknown"
    assert "not valid now" in status.detail


def test_response_about_another_certificate(pki: Pki) -> None:
    der = build_ocsp(
        leaf=pki.other_leaf.cert,
        issuer=pki.issuer.cert,
        signer_cert=pki.issuer.cert,
        signer_key=pki.issuer.key,
    )
    status = judge(der, pki)
    assert status.status == "unknown"
    assert "not about this certificate" in status.detail


def test_response_judged_against_the_wrong_issuer(pki: Pki) -> None:
    status = judge(direct(pki), pki, issuer=pki.other.cert)
    assert status.status == "unknown"
    assert "not about this certificate" in status.detail


@pytest.mark.parametrize(
    ("code", "word"),
    [
        (ocsp.OCSPResponseStatus.TRY_LATER, "tryLater"),
        (ocsp.OCSPResponseStatus.UNAUTHORIZED, "unauthorized"),
        (ocsp.OCSPResponseStatus.MALFORMED_REQUEST, "malformedRequest"),
    ],
)
def test_unsuccessful_response_status(pki: Pki, code: ocsp.OCSPResponseStatus, word: str) -> None:
    der = ocsp.OCSPResponseBuilder.build_unsuccessful(code).public_bytes(serialization.Encoding.DER)
    status = judge(der, pki)
    assert status.status == "unknown"
    assert word in status.detail


@pytest.mark.parametrize("body", [b"", b"<html>proxy login</html>", b"\x30\x03\x02\x01"])
def test_garbage_is_unknown_never_an_exception(pki: Pki, body: bytes) -> None:
    status = judge(body, pki)
    assert status.status == "unknown"
    assert status.detail


def test_sha256_cert_id(pki: Pki) -> None:
    assert judge(direct(pki, algorithm=hashes.SHA256()), pki).status == "good"


def test_request_names_the_leaf(pki: Pki) -> None:
    request = ocsp.load_der_ocsp_request(ocsp_request_der(pki.leaf.cert, pki.issuer.cert))
    assert request.serial_number == pki.leaf.cert.serial_number
    assert isinstance(request.hash_algorithm, hashes.SHA1)


def test_to_dict(pki: Pki) -> None:
    assert judge(direct(pki), pki).to_dict() == {
        "status": "good",
        "source": SRC,
        "reason": "",
        "revoked_at": "",
        "detail": "",
    }


def test_rsa_issuer_and_crl(pki: Pki) -> None:
    rsa_ca = make_ca("Unit RSA CA", now=NOW, issuer=pki.root, key=new_key("rsa"))
    leaf = make_leaf(rsa_ca, now=NOW, names=["rsa.example.test"])
    der = build_ocsp(
        leaf=leaf.cert,
        issuer=rsa_ca.cert,
        signer_cert=rsa_ca.cert,
        signer_key=rsa_ca.key,
        status=ocsp.OCSPCertStatus.REVOKED,
        revocation_time=NOW - timedelta(days=1),
        reason=x509.ReasonFlags.ca_compromise,
    )
    status = evaluate_ocsp_response(der, leaf=leaf.cert, issuer=rsa_ca.cert, now=NOW, source=SRC)
    assert (status.status, status.reason) == ("revoked", "cACompromise")
    crl = build_crl(issuer_name=rsa_ca.cert.subject, signer_key=rsa_ca.key)
    assert (
        evaluate_crl(crl, leaf=leaf.cert, issuer=rsa_ca.cert, now=NOW, source="CRL x").status
        == "good"
    )
