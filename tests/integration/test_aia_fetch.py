"""AIA issuer fetching against a PkiHttpServer on 127.0.0.1 (DER, PEM, PKCS#7, errors)."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tlsdiag.core.certbuild import Issued, build_ca, cert_der, name
from tlsdiag.core.verify import verify_chain
from tlsdiag.lab.aia_pki import AiaLab, pkcs7_der, pkcs7_pem, publish_incomplete_chain
from tlsdiag.lab.pki import make_ca, make_leaf
from tlsdiag.lab.pki_http import PkiHttpServer
from tlsdiag.net.aia import fetch_issuers, fetch_many, fetch_missing_issuers

pytestmark = pytest.mark.integration

NOW = datetime.now(UTC)
T = 2.0


@pytest.fixture(scope="module")
def server() -> Iterator[PkiHttpServer]:
    with PkiHttpServer() as srv:
        yield srv


@pytest.fixture(scope="module")
def lab(server: PkiHttpServer) -> AiaLab:
    return publish_incomplete_chain(server, now=NOW, hosts=["aia.lab.test"])


@pytest.fixture()
def closed_port() -> int:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port: int = s.getsockname()[1]
    s.close()
    return port


@pytest.fixture()
def black_hole() -> Iterator[int]:
    """A port that accepts TCP connections (kernel backlog) and never answers."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    s.listen(8)
    yield s.getsockname()[1]
    s.close()


@pytest.mark.parametrize("suffix", ["der", "pem", "p7c"])
def test_issuer_in_each_format(server: PkiHttpServer, lab: AiaLab, suffix: str) -> None:
    result = fetch_issuers(server.url_for(f"/aia/intermediate.{suffix}"), timeout=T)
    assert result.ok, result.error
    assert result.status == 200
    assert result.certs == (lab.intermediate.cert,)
    assert result.content_type
    assert 0 <= result.seconds < T


def test_pkcs7_pem_bundle_with_two_certificates(server: PkiHttpServer, lab: AiaLab) -> None:
    url = server.add_file(
        "/aia/bundle.p7b",
        pkcs7_pem([lab.intermediate.cert, lab.root.cert]),
        "application/x-pkcs7-certificates",
    )
    result = fetch_issuers(url, timeout=T)
    assert result.ok
    assert set(result.certs) == {lab.intermediate.cert, lab.root.cert}


def test_missing_intermediate_is_fetched_and_the_path_then_verifies(lab: AiaLab) -> None:
    leaf, root = lab.leaf.cert, lab.root.cert
    # Negative control: the leaf alone does not verify.
    assert not verify_chain(leaf, [], [root], name="aia.lab.test", now=NOW).ok
    completion = fetch_missing_issuers([leaf], roots=[root], timeout=T)
    assert [f.cert for f in completion.fetched] == [lab.intermediate.cert]
    assert completion.fetched[0].url == lab.ca_issuers_url
    assert completion.errors == {}
    outcome = verify_chain(
        leaf, [f.cert for f in completion.fetched], [root], name="aia.lab.test", now=NOW
    )
    assert outcome.ok, outcome.message
    fetched: Any = completion.to_dict()["fetched"]  # JSON-ready, typed as object
    assert fetched[0]["url"] == lab.ca_issuers_url


def test_complete_chain_fetches_nothing(server: PkiHttpServer, lab: AiaLab) -> None:
    before = len(server.requests)
    completion = fetch_missing_issuers(
        [lab.leaf.cert, lab.intermediate.cert], roots=[lab.root.cert], timeout=T
    )
    assert completion.fetched == () and completion.results == ()
    assert len(server.requests) == before


def _ca_with_aia(cn: str, parent: Issued, aia_url: str) -> Issued:
    return build_ca(
        name(cn),
        issuer=parent,
        not_before=NOW - timedelta(days=1),
        not_after=NOW + timedelta(days=30),
        aia_ca_issuers=aia_url,
    )


def test_two_missing_levels_are_fetched_in_two_rounds(server: PkiHttpServer) -> None:
    root = make_ca("Deep Root", now=NOW)
    upper = make_ca("Deep Upper CA", now=NOW, issuer=root)
    lower = _ca_with_aia("Deep Lower CA", upper, server.url_for("/deep/upper.cer"))
    leaf = make_leaf(
        lower, now=NOW, names=["deep.lab.test"], aia_ca_issuers=server.url_for("/deep/lower.cer")
    )
    server.add_file("/deep/upper.cer", cert_der(upper.cert), "application/pkix-cert")
    server.add_file("/deep/lower.cer", pkcs7_der([lower.cert]), "application/pkcs7-mime")
    completion = fetch_missing_issuers([leaf.cert], roots=[root.cert], timeout=T)
    assert [f.cert for f in completion.fetched] == [lower.cert, upper.cert]
    outcome = verify_chain(
        leaf.cert, [f.cert for f in completion.fetched], [root.cert], name="deep.lab.test", now=NOW
    )
    assert outcome.ok, outcome.message


def test_wrong_certificate_at_the_aia_url(server: PkiHttpServer, lab: AiaLab) -> None:
    stranger = make_ca("Stranger CA", now=NOW)
    url = server.add_file("/wrong/issuer.der", cert_der(stranger.cert), "application/pkix-cert")
    leaf = make_leaf(lab.intermediate, now=NOW, names=["w.lab.test"], aia_ca_issuers=url)
    completion = fetch_missing_issuers([leaf.cert], roots=[lab.root.cert], timeout=T)
    assert completion.fetched == ()
    assert "did not sign" in completion.errors[url]


def test_404_is_an_error(server: PkiHttpServer) -> None:
    result = fetch_issuers(server.url_for("/no/such.der"), timeout=T)
    assert not result.ok and result.certs == ()
    assert result.error == "HTTP 404 Not Found"
    assert result.status == 404


@pytest.mark.parametrize(
    ("body", "ctype", "message"),
    [
        (b"<html>Access denied by policy</html>", "text/html", "not a certificate"),
        (b"\x30\x82\x01\x00garbage", "application/pkix-cert", "not a certificate"),
        (b"", "application/pkix-cert", "empty body"),
    ],
)
def test_garbage_bodies_are_errors(
    server: PkiHttpServer, body: bytes, ctype: str, message: str
) -> None:
    url = server.add_file(f"/garbage/{len(body)}-{ctype.replace('/', '_')}", body, ctype)
    result = fetch_issuers(url, timeout=T)
    assert not result.ok
    assert message in result.error


def test_body_over_the_size_limit(server: PkiHttpServer) -> None:
    url = server.add_file("/big.der", b"\x00" * (1024 * 1024 + 1), "application/pkix-cert")
    result = fetch_issuers(url, timeout=T)
    assert "too large" in result.error


def test_redirects_followed_up_to_three(server: PkiHttpServer, lab: AiaLab) -> None:
    target = server.url_for("/aia/intermediate.der")
    server.add_redirect("/r/1", target)
    server.add_redirect("/r/2", server.url_for("/r/1"))
    server.add_redirect("/r/3", server.url_for("/r/2"))
    server.add_redirect("/r/4", server.url_for("/r/3"))
    assert fetch_issuers(server.url_for("/r/3"), timeout=T).certs == (lab.intermediate.cert,)
    too_many = fetch_issuers(server.url_for("/r/4"), timeout=T)
    assert too_many.error == "more than 3 redirects"


@pytest.mark.parametrize(
    "url", ["ldap://ldap.example.test/cn=CA?cACertificate", "file:///etc/passwd", "ftp://x/y.der"]
)
def test_only_http_and_https(url: str) -> None:
    result = fetch_issuers(url, timeout=T)
    assert "unsupported URL scheme" in result.error


def test_closed_port_fails_fast(closed_port: int) -> None:
    start = time.monotonic()
    result = fetch_issuers(f"http://127.0.0.1:{closed_port}/ca.der", timeout=T)
    assert "cannot connect" in result.error
    assert time.monotonic() - start < 1.0


def test_silent_server_times_out_within_the_timeout(black_hole: int) -> None:
    start = time.monotonic()
    result = fetch_issuers(f"http://127.0.0.1:{black_hole}/ca.der", timeout=0.3)
    elapsed = time.monotonic() - start
    assert "timed out" in result.error
    assert elapsed < 1.5


def test_fetch_many_keeps_order_and_runs_concurrently(
    server: PkiHttpServer, lab: AiaLab, black_hole: int
) -> None:
    urls = [
        f"http://127.0.0.1:{black_hole}/a.der",
        f"http://127.0.0.1:{black_hole}/b.der",
        server.url_for("/aia/intermediate.der"),
        server.url_for("/no/such.der"),
    ]
    start = time.monotonic()
    results = fetch_many(urls, timeout=0.4)
    elapsed = time.monotonic() - start
    assert [r.url for r in results] == urls
    assert [r.ok for r in results] == [False, False, True, False]
    assert elapsed < 0.4 * 2 + 0.5  # two silent servers waited for in parallel, not in series
