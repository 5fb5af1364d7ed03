"""The verdict rules of issue 11 on recorded facts (no network): the side of a missing issuer,
the lenient-retry FAIL, relative expiry, and messages that keep the user's names."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from tlsdiag import codes
from tlsdiag.core.diagnose import failure_findings, legacy_only_verdict, sentence
from tlsdiag.core.findings import make_finding
from tlsdiag.core.verdict import MissingIssuer, place_missing_issuer, relative_expiry
from tlsdiag.model import DnsAnswer, Finding, Handshake, ProbeFailure, ProbeResult, Severity, Target

NOW = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)


def _incomplete() -> list[Finding]:
    return [
        make_finding(
            codes.SERVER_CHAIN_INCOMPLETE,
            detail="The issuer X was not sent.",
            evidence={"missing_issuer": "CN=X"},
        )
    ]


def _ranked(findings) -> list[tuple[str, Severity]]:
    return [(f.code, f.severity) for f in findings]


def test_public_issuer_stays_the_servers() -> None:
    missing = MissingIssuer("CN=R10,O=Let's Encrypt", ("its organisation is a public CA's",))
    out = place_missing_issuer(_incomplete(), missing, inspected=False, vendor=None)
    assert _ranked(out) == [(codes.SERVER_CHAIN_INCOMPLETE, Severity.ERROR)]


def test_intermediate_of_a_trusted_private_pki_stays_the_servers() -> None:
    missing = MissingIssuer("CN=Acme Issuing CA,O=Acme", (), own_pki="Acme")
    out = place_missing_issuer(_incomplete(), missing, inspected=False, vendor=None)
    assert _ranked(out) == [(codes.SERVER_CHAIN_INCOMPLETE, Severity.ERROR)]


def test_vendor_root_is_the_clients_alone() -> None:
    missing = MissingIssuer("CN=Zscaler Root CA", ())
    out = place_missing_issuer(
        _incomplete(), missing, inspected=True, vendor="Zscaler", fix=("sudo step",)
    )
    assert _ranked(out) == [(codes.CLIENT_ROOT_NOT_TRUSTED, Severity.ERROR)]
    assert "sudo step" in out[0].remediation and "Zscaler" in out[0].title


def test_private_root_is_the_clients_first_with_the_server_reading_ranked_second() -> None:
    missing = MissingIssuer("CN=Acme Root", ())
    out = place_missing_issuer(_incomplete(), missing, inspected=False, vendor=None)
    assert _ranked(out) == [
        (codes.CLIENT_ROOT_NOT_TRUSTED, Severity.ERROR),
        (codes.SERVER_CHAIN_INCOMPLETE, Severity.WARNING),
    ]
    assert all("tlsdiag trust --ca" in f.detail for f in out)


def test_vendor_match_with_public_evidence_says_both() -> None:
    missing = MissingIssuer("CN=Zscaler ICA", ("its AIA URL is on a public host",))
    out = place_missing_issuer(_incomplete(), missing, inspected=True, vendor="Zscaler")
    assert _ranked(out) == [
        (codes.CLIENT_ROOT_NOT_TRUSTED, Severity.ERROR),
        (codes.SERVER_CHAIN_INCOMPLETE, Severity.ERROR),
    ]


def test_inspected_chain_with_only_a_public_aia_host_ranks_the_server_first() -> None:
    missing = MissingIssuer(
        "CN=Acme ICA", ("its AIA URL http://pki.acme.com/i.crt is on a public host",)
    )
    out = place_missing_issuer(_incomplete(), missing, inspected=True, vendor=None)
    assert _ranked(out) == [
        (codes.SERVER_CHAIN_INCOMPLETE, Severity.ERROR),
        (codes.CLIENT_ROOT_NOT_TRUSTED, Severity.WARNING),
    ]
    assert out[1].title.startswith("Less likely")
    assert all("tlsdiag trust --ca" in f.detail for f in out)
    # the same evidence on a chain nobody calls inspected: the server's alone
    out = place_missing_issuer(_incomplete(), missing, inspected=False, vendor=None)
    assert _ranked(out) == [(codes.SERVER_CHAIN_INCOMPLETE, Severity.ERROR)]


def _probe(**kw: Any) -> ProbeResult:
    return ProbeResult(
        target=Target("x.test", "x.test"),
        sni="x.test",
        dns=DnsAnswer("x.test", ("127.0.0.1",)),
        **kw,
    )


def test_only_the_lenient_retry_working_is_never_ok() -> None:
    p = _probe(
        failure=ProbeFailure(codes.NETWORK_RESET, "handshake", "TLS handshake failed: X"),
        legacy=Handshake(version="TLSv1.2", cipher="ECDHE-RSA-AES128-GCM-SHA256"),
    )
    found = legacy_only_verdict(p, failure_findings(p))
    assert _ranked(found) == [(codes.LEGACY_CIPHER_SUITE, Severity.ERROR)]
    assert "Java 17" in found[0].evidence["clients_that_fail"]


def test_dh_group_size_is_named_from_the_retry() -> None:
    p = _probe(
        failure=ProbeFailure(codes.NETWORK_RESET, "handshake", "TLS handshake failed: DH"),
        legacy=Handshake(version="TLSv1.2", cipher="DHE-RSA-AES128-GCM-SHA256", dh_bits=1024),
    )
    [f] = failure_findings(p)
    assert f.code == codes.SERVER_WEAK_KEY and f.severity is Severity.ERROR
    assert f.evidence["dh_bits"] == "1024"


def test_weak_chain_errors_get_the_failing_clients_when_only_the_retry_worked() -> None:
    p = _probe(
        failure=ProbeFailure(codes.NETWORK_RESET, "handshake", "TLS handshake failed: X"),
        legacy=Handshake(version="TLSv1.2", cipher="ECDHE-RSA-AES128-GCM-SHA256"),
    )
    weak = make_finding(codes.SERVER_WEAK_KEY, detail="RSA 1024")
    [f] = legacy_only_verdict(p, [weak])
    assert f.code == codes.SERVER_WEAK_KEY and "OpenSSL 3" in f.evidence["clients_that_fail"]


def _expiring(days_left: int, lifetime: int, role: str = "leaf"):
    na = NOW + timedelta(days=days_left)
    nb = na - timedelta(days=lifetime)
    return make_finding(
        codes.SERVER_CERT_EXPIRED,
        severity=Severity.WARNING,
        title=f"The {role} certificate expires in {days_left} days",
        detail=f"CN=x is valid until {na:%Y-%m-%dT%H:%M:%SZ}; renew it before then.",
        evidence={
            "certificate": f"{role}: CN=x",
            "not_before": f"{nb:%Y-%m-%dT%H:%M:%SZ}",
            "not_after": f"{na:%Y-%m-%dT%H:%M:%SZ}",
        },
    )


def test_expiry_threshold_follows_the_lifetime() -> None:
    assert relative_expiry([_expiring(29, 47)], now=NOW, inspected=False) == []
    assert len(relative_expiry([_expiring(10, 47)], now=NOW, inspected=False)) == 1
    assert len(relative_expiry([_expiring(29, 398)], now=NOW, inspected=False)) == 1
    assert relative_expiry([_expiring(29, 30)], now=NOW, inspected=True) == []
    [forged] = relative_expiry([_expiring(3, 30)], now=NOW, inspected=True)
    assert "forged" in forged.title and "renew it before then" not in forged.detail


def test_sentence_keeps_the_users_names() -> None:
    assert sentence("example.com does not resolve") == "example.com does not resolve."
    assert sentence("the server closed it") == "The server closed it."
    assert sentence("Example.org does not resolve").startswith("Example.org")
