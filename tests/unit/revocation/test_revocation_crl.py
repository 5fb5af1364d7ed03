"""CRL evaluation on CRLs signed at test time (no network)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from tlsdiag.core.revocation import evaluate_crl

from helpers.revocation import NOW, Pki, build_crl

SRC = "CRL http://crl.example.test/issuing.crl"


def judge(data: bytes, pki: Pki, *, now=NOW):
    return evaluate_crl(data, leaf=pki.leaf.cert, issuer=pki.issuer.cert, now=now, source=SRC)


def issuer_crl(pki: Pki, **kw) -> bytes:
    return build_crl(issuer_name=pki.issuer.cert.subject, signer_key=pki.issuer.key, **kw)


def test_not_listed_is_good(pki: Pki) -> None:
    other = (pki.other_leaf.cert.serial_number, NOW - timedelta(days=1), None)
    status = judge(issuer_crl(pki, revoked=[other]), pki)
    assert (status.status, status.source, status.detail) == ("good", SRC, "")


def test_listed_with_reason_and_date(pki: Pki) -> None:
    entry = (
        pki.leaf.cert.serial_number,
        NOW - timedelta(days=4, minutes=30),
        x509.ReasonFlags.cessation_of_operation,
    )
    status = judge(issuer_crl(pki, revoked=[entry]), pki)
    assert status.status == "revoked"
    assert status.reason == "cessationOfOperation"
    assert status.revoked_at == "2026-11-17T11:30:00Z"


def test_listed_without_reason(pki: Pki) -> None:
    entry = (pki.leaf.cert.serial_number, NOW - timedelta(days=1), None)
    status = judge(issuer_crl(pki, revoked=[entry]), pki)
    assert (status.status, status.reason) == ("revoked", "unspecified")


def test_pem_crl(pki: Pki) -> None:
    entry = (pki.leaf.cert.serial_number, NOW - timedelta(days=1), x509.ReasonFlags.key_compromise)
    pem = issuer_crl(pki, revoked=[entry], encoding=serialization.Encoding.PEM)
    assert pem.startswith(b"-----BEGIN X509 CRL-----")
    assert judge(pem, pki).status == "revoked"


def test_signed_by_another_key(pki: Pki) -> None:
    entry = (pki.leaf.cert.serial_number, NOW - timedelta(days=1), None)
    forged = build_crl(
        issuer_name=pki.issuer.cert.subject, signer_key=pki.other.key, revoked=[entry]
    )
    status = judge(forged, pki)
    assert status.status == "unknown"
    assert "bad signature" in status.detail


def test_crl_of_another_issuer(pki: Pki) -> None:
    status = judge(build_crl(issuer_name=pki.other.cert.subject, signer_key=pki.other.key), pki)
    assert status.status == "unknown"
    assert "Unit Other CA" in status.detail


def test_stale_crl_says_so_and_mentions_a_listing(pki: Pki) -> None:
    entry = (pki.leaf.cert.serial_number, NOW - timedelta(days=9), None)
    stale = issuer_crl(
        pki,
        revoked=[entry],
        last_update=NOW - timedelta(days=8),
        next_update=NOW - timedelta(days=1),
    )
    status = judge(stale, pki)
    assert status.status == "unknown"
    assert "stale CRL" in status.detail
    assert "lists this certificate as revoked" in status.detail


def test_crl_from_the_future(pki: Pki) -> None:
    future = issuer_crl(
        pki, last_update=NOW + timedelta(hours=2), next_update=NOW + timedelta(days=2)
    )
    status = judge(future, pki)
    assert status.status == "unknown"
    assert "not yet valid" in status.detail


def test_remove_from_crl_means_good(pki: Pki) -> None:
    entry = (pki.leaf.cert.serial_number, NOW - timedelta(days=1), x509.ReasonFlags.remove_from_crl)
    assert judge(issuer_crl(pki, revoked=[entry]), pki).status == "good"


@pytest.mark.parametrize(
    "body", [b"", b"<html>blocked by policy</html>", b"-----BEGIN X509 CRL-----\nxx"]
)
def test_garbage_is_unknown(pki: Pki, body: bytes) -> None:
    status = judge(body, pki)
    assert status.status == "unknown"
    assert "not a CRL" in status.detail
