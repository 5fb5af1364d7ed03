"""Revocation checking against the lab's OCSP responder and CRLs on 127.0.0.1."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from cryptography import x509

from tlsdiag import codes
from tlsdiag.core.certbuild import Issued
from tlsdiag.core.revocation import ocsp_request_der, revocation_findings
from tlsdiag.lab.aia_pki import AiaLab, make_ocsp_signer, publish_incomplete_chain
from tlsdiag.lab.pki import make_ca, make_leaf
from tlsdiag.lab.pki_http import PkiHttpServer
from tlsdiag.model import Severity
from tlsdiag.net.pkifetch import fetch_url
from tlsdiag.net.revocation import check_revocation, ocsp_get_url

pytestmark = pytest.mark.integration

NOW = datetime.now(UTC)
T = 2.0
KEY_COMPROMISE = x509.ReasonFlags.key_compromise


@pytest.fixture()
def server() -> Iterator[PkiHttpServer]:
    with PkiHttpServer() as srv:
        yield srv


@pytest.fixture(scope="module")
def ca() -> Issued:
    root = make_ca("Revocation Test Root", now=NOW)
    return make_ca("Revocation Test CA", now=NOW, issuer=root, path_length=0)


@pytest.fixture()
def closed_port() -> int:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port: int = s.getsockname()[1]
    s.close()
    return port


@pytest.fixture()
def black_hole() -> Iterator[int]:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    s.listen(8)
    yield s.getsockname()[1]
    s.close()


def _leaf(ca: Issued, *, ocsp: str | None = None, crl: str | None = None) -> Issued:
    return make_leaf(ca, now=NOW, names=["rev.lab.test"], aia_ocsp=ocsp, crl_url=crl)


def test_ocsp_post_good(server: PkiHttpServer) -> None:
    lab = publish_incomplete_chain(server, now=NOW)
    statuses = check_revocation(lab.leaf.cert, lab.intermediate.cert, timeout=T, now=NOW)
    assert [(s.status, s.source) for s in statuses] == [("good", f"OCSP {lab.ocsp_url}")]
    assert server.requests == [("POST", "/ocsp")]
    assert revocation_findings(statuses, subject="localhost") == []


def test_ocsp_post_revoked_gives_an_error_finding(server: PkiHttpServer) -> None:
    lab: AiaLab = publish_incomplete_chain(server, now=NOW, revoked=True)
    statuses = check_revocation(lab.leaf.cert, lab.intermediate.cert, timeout=T, now=NOW)
    (status,) = statuses
    assert (status.status, status.reason) == ("revoked", "keyCompromise")
    assert status.revoked_at == (NOW - timedelta(minutes=30)).strftime("%Y-%m-%dT%H:%M:%SZ")
    (finding,) = revocation_findings(statuses, subject="localhost")
    assert finding.code == codes.SERVER_REVOKED and finding.severity is Severity.ERROR
    assert "keyCompromise" in finding.detail and status.revoked_at in finding.detail


def test_get_fallback_when_post_is_refused(server: PkiHttpServer, ca: Issued) -> None:
    url = server.url_for("/get-only")
    leaf = _leaf(ca, ocsp=url)
    server.add_ocsp_responder(
        "/get-only",
        ca.cert,
        ca.key,
        revoked={leaf.cert.serial_number: (NOW - timedelta(hours=1), KEY_COMPROMISE)},
        methods=["GET"],
    )
    (status,) = check_revocation(leaf.cert, ca.cert, timeout=T, now=NOW)
    assert status.status == "revoked"
    methods = [m for m, p in server.requests if p.startswith("/get-only")]
    assert methods == ["POST", "GET"]


def test_get_form_of_the_request(server: PkiHttpServer, ca: Issued) -> None:
    leaf = _leaf(ca)
    url = server.add_ocsp_responder("/ocsp", ca.cert, ca.key)
    got = fetch_url(
        ocsp_get_url(url, ocsp_request_der(leaf.cert, ca.cert)), timeout=T, max_bytes=65536
    )
    assert got.ok and got.content_type == "application/ocsp-response"


def test_delegated_responder_over_http(server: PkiHttpServer, ca: Issued) -> None:
    signer = make_ocsp_signer("Lab OCSP Signer", ca, now=NOW)
    url = server.url_for("/delegated")
    leaf = _leaf(ca, ocsp=url)
    server.add_ocsp_responder(
        "/delegated", ca.cert, ca.key, responder_cert=signer.cert, responder_key=signer.key
    )
    (status,) = check_revocation(leaf.cert, ca.cert, timeout=T, now=NOW)
    assert status.status == "good"


def test_unknown_serial_when_the_responder_knows_what_it_issued(
    server: PkiHttpServer, ca: Issued
) -> None:
    url = server.url_for("/strict")
    leaf = _leaf(ca, ocsp=url)
    server.add_ocsp_responder("/strict", ca.cert, ca.key, issued=[12345])
    (status,) = check_revocation(leaf.cert, ca.cert, timeout=T, now=NOW)
    assert status.status == "unknown"
    assert "does not know this certificate" in status.detail


def test_responder_for_another_issuer_is_unauthorized(server: PkiHttpServer, ca: Issued) -> None:
    other = make_ca("Some Other CA", now=NOW)
    url = server.url_for("/other")
    leaf = _leaf(ca, ocsp=url)
    server.add_ocsp_responder("/other", other.cert, other.key)
    (status,) = check_revocation(leaf.cert, ca.cert, timeout=T, now=NOW, use_crl=False)
    assert status.status == "unknown"
    assert "unauthorized" in status.detail


def test_crl_when_there_is_no_ocsp(server: PkiHttpServer, ca: Issued) -> None:
    url = server.url_for("/ca.crl")
    revoked = _leaf(ca, crl=url)
    fine = _leaf(ca, crl=url)
    server.add_crl(
        "/ca.crl",
        ca.cert,
        ca.key,
        revoked={revoked.cert.serial_number: (NOW - timedelta(days=2), None)},
    )
    (bad,) = check_revocation(revoked.cert, ca.cert, timeout=T, now=NOW)
    assert (bad.status, bad.source, bad.reason) == ("revoked", f"CRL {url}", "unspecified")
    (good,) = check_revocation(fine.cert, ca.cert, timeout=T, now=NOW)
    assert good.status == "good"


def test_stapled_response_is_used_first(server: PkiHttpServer) -> None:
    lab = publish_incomplete_chain(server, now=NOW, revoked=True)
    stapled = fetch_url(
        ocsp_get_url(lab.ocsp_url, ocsp_request_der(lab.leaf.cert, lab.intermediate.cert)),
        timeout=T,
        max_bytes=65536,
    ).body
    before = len(server.requests)
    (status,) = check_revocation(
        lab.leaf.cert, lab.intermediate.cert, stapled=stapled, timeout=T, now=NOW
    )
    assert (status.status, status.source) == ("revoked", "stapled OCSP")
    assert len(server.requests) == before  # nothing else was asked


def test_stale_staple_falls_back_to_the_responder() -> None:
    clock = [NOW]
    with PkiHttpServer(clock=lambda: clock[0]) as server:
        lab = publish_incomplete_chain(server, now=NOW)
        stapled = fetch_url(
            ocsp_get_url(lab.ocsp_url, ocsp_request_der(lab.leaf.cert, lab.intermediate.cert)),
            timeout=T,
            max_bytes=65536,
        ).body
        clock[0] = later = NOW + timedelta(hours=3)  # past the staple's nextUpdate (1 hour)
        statuses = check_revocation(
            lab.leaf.cert, lab.intermediate.cert, stapled=stapled, timeout=T, now=later
        )
    assert [s.source for s in statuses] == ["stapled OCSP", f"OCSP {lab.ocsp_url}"]
    assert statuses[0].status == "unknown" and "stale" in statuses[0].detail
    assert statuses[1].status == "good"


def test_unreachable_responder_and_crl_are_unknown_quickly(closed_port: int, ca: Issued) -> None:
    base = f"http://127.0.0.1:{closed_port}"
    leaf = _leaf(ca, ocsp=f"{base}/ocsp", crl=f"{base}/ca.crl")
    start = time.monotonic()
    statuses = check_revocation(leaf.cert, ca.cert, timeout=T, now=NOW)
    assert time.monotonic() - start < 1.0
    assert [s.status for s in statuses] == ["unknown", "unknown"]
    assert "responder unreachable" in statuses[0].detail
    assert "CRL unreachable" in statuses[1].detail
    (finding,) = revocation_findings(statuses, subject="rev.lab.test")
    assert finding.code == codes.SERVER_REVOCATION_UNKNOWN
    assert finding.severity is Severity.WARNING


def test_silent_responder_times_out_within_the_timeout(black_hole: int, ca: Issued) -> None:
    leaf = _leaf(ca, ocsp=f"http://127.0.0.1:{black_hole}/ocsp")
    start = time.monotonic()
    (status,) = check_revocation(leaf.cert, ca.cert, timeout=0.3, now=NOW)
    assert time.monotonic() - start < 1.5
    assert status.status == "unknown" and "timed out" in status.detail


def test_404_and_garbage_are_unknown_never_exceptions(server: PkiHttpServer, ca: Issued) -> None:
    server.add_file("/junk.crl", b"<html>blocked</html>", "text/html")
    leaf = _leaf(ca, ocsp=server.url_for("/missing-ocsp"), crl=server.url_for("/junk.crl"))
    statuses = check_revocation(leaf.cert, ca.cert, timeout=T, now=NOW)
    assert [s.status for s in statuses] == ["unknown", "unknown"]
    assert "HTTP 404" in statuses[0].detail
    assert "not a CRL" in statuses[1].detail


def test_nothing_to_ask(ca: Issued) -> None:
    assert check_revocation(_leaf(ca).cert, ca.cert, timeout=T, now=NOW) == []
