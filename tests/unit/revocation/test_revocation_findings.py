"""Findings from revocation statuses: revoked is an error, no answer is a warning."""

from __future__ import annotations

from tlsdiag import codes
from tlsdiag.core.revocation import RevocationStatus, revocation_findings
from tlsdiag.model import Severity

OCSP = "OCSP http://ocsp.example.test"
CRL = "CRL http://crl.example.test/a.crl"


def test_revoked_is_an_error_with_reason_and_date() -> None:
    statuses = [
        RevocationStatus("unknown", "stapled OCSP", detail="stale response"),
        RevocationStatus(
            "revoked", OCSP, reason="keyCompromise", revoked_at="2026-11-01T08:00:00Z"
        ),
    ]
    (finding,) = revocation_findings(statuses, subject="www.example.test")
    assert finding.code == codes.SERVER_REVOKED
    assert finding.severity is Severity.ERROR
    assert "www.example.test" in finding.detail
    assert "2026-11-01T08:00:00Z" in finding.detail and "keyCompromise" in finding.detail
    assert "http://ocsp.example.test" in finding.detail
    assert finding.evidence == {
        "source": OCSP,
        "reason": "keyCompromise",
        "revoked_at": "2026-11-01T08:00:00Z",
    }
    assert finding.remediation


def test_no_answer_is_a_warning_never_an_error() -> None:
    statuses = [
        RevocationStatus("unknown", OCSP, detail="responder unreachable: cannot connect"),
        RevocationStatus("unknown", CRL, detail="CRL unreachable: timed out after 2 s"),
    ]
    (finding,) = revocation_findings(statuses, subject="www.example.test")
    assert finding.code == codes.SERVER_REVOCATION_UNKNOWN
    assert finding.severity is Severity.WARNING
    assert finding.evidence[OCSP] == "responder unreachable: cannot connect"
    assert finding.evidence[CRL] == "CRL unreachable: timed out after 2 s"
    assert "not an error" in finding.detail


def test_good_gives_nothing() -> None:
    statuses = [
        RevocationStatus("unknown", "stapled OCSP", detail="stale"),
        RevocationStatus("good", OCSP),
    ]
    assert revocation_findings(statuses, subject="x") == []


def test_nothing_asked_gives_nothing() -> None:
    # A leaf without OCSP or CRL pointers (typical for inspection CAs) is not a warning.
    assert revocation_findings([], subject="x") == []


def test_crl_source_is_named() -> None:
    (finding,) = revocation_findings(
        [RevocationStatus("revoked", CRL, reason="superseded")], subject="host"
    )
    assert "The CRL at http://crl.example.test/a.crl" in finding.detail
    assert "an unknown date" in finding.detail
    assert "revoked_at" not in finding.evidence
