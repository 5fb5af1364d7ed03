"""Clock skew and handshake rules, on recorded facts (no network)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

from tlsdiag import codes
from tlsdiag.core.diagnose import clock_findings, failure_findings, handshake_findings
from tlsdiag.model import (
    CertRequest,
    DnsAnswer,
    Handshake,
    HttpInfo,
    ProbeFailure,
    ProbeResult,
    Severity,
    Target,
)


def _probe(**kw: object) -> ProbeResult:
    return ProbeResult(
        target=Target("x.test", "x.test"),
        sni="x.test",
        dns=DnsAnswer("x.test", ("127.0.0.1",)),
        **kw,  # type: ignore[arg-type]
    )


def test_clock_skew_thresholds() -> None:
    local = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)
    same = format_datetime(local + timedelta(minutes=2), usegmt=True)
    assert clock_findings(same, local, source="x") == []
    ahead = format_datetime(local - timedelta(hours=3), usegmt=True)
    [f] = clock_findings(ahead, local, source="x")
    assert f.code == codes.CLIENT_CLOCK_SKEW and f.severity is Severity.WARNING
    assert "3 h 0 min ahead" in f.title
    behind = format_datetime(local + timedelta(days=2), usegmt=True)
    [g] = clock_findings(behind, local, source="x")
    assert g.severity is Severity.ERROR and "2 days behind" in g.title
    assert clock_findings("not a date", local, source="x") == []


def test_legacy_retry_names_the_old_version() -> None:
    p = _probe(
        failure=ProbeFailure(codes.LEGACY_PROTOCOL_VERSION, "handshake", "no TLS version"),
        legacy=Handshake(version="TLSv1.1", cipher="ECDHE-RSA-AES128-SHA"),
    )
    [f] = failure_findings(p)
    assert f.code == codes.LEGACY_PROTOCOL_VERSION and "TLSv1.1" in f.title


def test_legacy_retry_with_only_weak_ciphers() -> None:
    p = _probe(
        failure=ProbeFailure(codes.LEGACY_CIPHER_SUITE, "handshake", "handshake failure"),
        legacy=Handshake(version="TLSv1.2", cipher="AES128-SHA"),
    )
    [f] = failure_findings(p)
    assert f.code == codes.LEGACY_CIPHER_SUITE and "AES128-SHA" in f.title


def test_mutual_tls_from_http_400_body() -> None:
    hs = Handshake(version="TLSv1.2", cipher="ECDHE-RSA-AES128-GCM-SHA256")
    http = HttpInfo(
        status=400,
        reason="Bad Request",
        body_excerpt="<html>400 No required SSL certificate was sent</html>",
    )
    [f] = handshake_findings(_probe(handshake=hs, http=http))
    assert f.code == codes.APP_MUTUAL_TLS and f.severity is Severity.ERROR
    ok = HttpInfo(status=200, reason="OK", body_excerpt="hello")
    assert handshake_findings(_probe(handshake=hs, http=ok)) == []


def test_optional_client_certificate_is_a_warning() -> None:
    hs = Handshake(
        version="TLSv1.3",
        cipher="TLS_AES_128_GCM_SHA256",
        cert_request=CertRequest(("CN=Some CA",)),
    )
    [f] = handshake_findings(_probe(handshake=hs, http=HttpInfo(status=200)))
    assert f.code == codes.APP_MUTUAL_TLS and f.severity is Severity.WARNING
    assert f.evidence["acceptable_ca_names"] == "CN=Some CA"


def test_small_dh_group_is_a_weak_key() -> None:
    hs = Handshake(version="TLSv1.2", cipher="DHE-RSA-AES128-GCM-SHA256", dh_bits=1024)
    [f] = handshake_findings(_probe(handshake=hs, http=HttpInfo(status=200)))
    assert f.code == codes.SERVER_WEAK_KEY and "1024-bit" in f.title
