"""Presenting forged leaves: the libssl path and the context-per-leaf path serve the same
certificates, and every check of the libssl path falls back instead of guessing."""

from __future__ import annotations

import contextlib
import ssl
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
import trustme
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from tlsdiag.proxy import native as native_mod
from tlsdiag.proxy.ca import create_ca
from tlsdiag.proxy.forge import Forger, Signer, spec_for
from tlsdiag.proxy.native import NativeCerts

NOW = datetime.now(UTC)


@pytest.fixture(scope="module")
def ca() -> tuple[x509.Certificate, object]:
    return create_ca(now=NOW, machine="test")


def _forger(ca: tuple[x509.Certificate, object], *, native: bool) -> Forger:
    return Forger(ca[0], ca[1], cache_size=4, native=native)  # type: ignore[arg-type]


@pytest.fixture(params=[True, False], ids=["native", "context"])
def forger(ca: tuple[x509.Certificate, object], request: pytest.FixtureRequest) -> Iterator[Forger]:
    f = _forger(ca, native=request.param)
    assert f.mode == ("native" if request.param else "context")
    yield f
    f.close()


def _handshake(
    forger: Forger,
    host: str,
    cadata: str,
    *,
    signer: Signer = Signer.TRUSTED,
    alpn: str = "h2",
    tls12: bool = False,
    client_ctx: ssl.SSLContext | None = None,
    session: ssl.SSLSession | None = None,
) -> tuple[ssl.SSLObject, list[bytes]]:
    """A client trusting ``cadata`` (or using ``client_ctx``, offering ``session``) against
    ``forger.wrap`` over memory BIOs."""
    if client_ctx is None:
        client_ctx = _client_context(cadata, tls12=tls12)
    c_in, c_out, s_in, s_out = (ssl.MemoryBIO() for _ in range(4))
    client = client_ctx.wrap_bio(c_in, c_out, server_hostname=host, session=session)
    server = forger.wrap(s_in, s_out, spec_for(host, signer=signer), alpn)
    for _ in range(10):
        for obj, out, other_in in ((client, c_out, s_in), (server, s_out, c_in)):
            with contextlib.suppress(ssl.SSLWantReadError):
                obj.do_handshake()
            other_in.write(out.read())
    chain = client._sslobj.get_unverified_chain() or []  # type: ignore[attr-defined]
    # A resumed session sends no certificate.
    return client, [c.public_bytes(ssl._ssl.ENCODING_DER) for c in chain]  # type: ignore[attr-defined]


def _client_context(cadata: str, *, tls12: bool = False) -> ssl.SSLContext:
    client_ctx = ssl.create_default_context(cadata=cadata)
    if tls12:
        client_ctx.maximum_version = ssl.TLSVersion.TLSv1_2
    client_ctx.set_alpn_protocols(["h2", "http/1.1"])
    return client_ctx


def _pem(cert: x509.Certificate) -> str:
    return cert.public_bytes(serialization.Encoding.PEM).decode()


def test_the_native_path_loads_on_this_python() -> None:
    assert NativeCerts.load() is not None


def test_both_paths_send_the_leaf_then_the_ca(
    forger: Forger, ca: tuple[x509.Certificate, object]
) -> None:
    for _ in range(2):  # minted, then from the cache
        client, chain = _handshake(forger, "wrap.test", _pem(ca[0]))
        assert client.selected_alpn_protocol() == "h2"
        leaf = forger.certificate(spec_for("wrap.test"))
        assert chain == [
            leaf.public_bytes(serialization.Encoding.DER),
            ca[0].public_bytes(serialization.Encoding.DER),
        ]
    assert forger.misses == 1


def test_a_tls12_client_gets_the_same_leaf(
    forger: Forger, ca: tuple[x509.Certificate, object]
) -> None:
    """TLS 1.2 picks its cipher suite from the certificate set on the connection."""
    client, chain = _handshake(forger, "old.test", _pem(ca[0]), tls12=True)
    cipher = client.cipher()
    assert client.version() == "TLSv1.2" and cipher is not None and "ECDSA" in cipher[0]
    assert chain[0] == forger.certificate(spec_for("old.test")).public_bytes(
        serialization.Encoding.DER
    )


def test_both_paths_send_an_untrusted_leaf_alone(
    forger: Forger, ca: tuple[x509.Certificate, object]
) -> None:
    """The untrusted twin's leaf comes without the CA; a client trusting the CA refuses it."""
    with pytest.raises(ssl.SSLCertVerificationError):
        _handshake(forger, "twin.test", _pem(ca[0]), signer=Signer.UNTRUSTED)
    cert = forger.certificate(spec_for("twin.test", signer=Signer.UNTRUSTED))
    assert cert.issuer != ca[0].subject


def test_a_session_resumes_only_into_the_leaf_it_was_made_with(
    forger: Forger, ca: tuple[x509.Certificate, object]
) -> None:
    """A TLS 1.2 client that resumes skips the certificate: a session made with a trusted
    leaf must never resume where the untrusted twin (or another name's leaf) is due, or the
    client would accept what it has to refuse."""
    client_ctx = _client_context(_pem(ca[0]), tls12=True)
    first, _ = _handshake(forger, "resume.test", "", client_ctx=client_ctx)
    session = first.session
    assert session is not None and first.version() == "TLSv1.2"
    again, _ = _handshake(forger, "resume.test", "", client_ctx=client_ctx, session=session)
    assert again.session_reused  # the same leaf: resumption still works
    with pytest.raises(ssl.SSLCertVerificationError):
        _handshake(
            forger,
            "resume.test",
            "",
            client_ctx=client_ctx,
            session=session,
            signer=Signer.UNTRUSTED,
        )
    other, chain = _handshake(forger, "other-name.test", "", client_ctx=client_ctx, session=session)
    assert not other.session_reused
    got = x509.load_der_x509_certificate(chain[0])
    assert got.subject.rfc4514_string() == "CN=other-name.test"


def test_a_client_trusting_another_root_refuses_both_paths(forger: Forger) -> None:
    with pytest.raises(ssl.SSLCertVerificationError):
        _handshake(forger, "other.test", trustme.CA().cert_pem.bytes().decode())


def test_many_names_through_a_small_cache(
    forger: Forger, ca: tuple[x509.Certificate, object]
) -> None:
    """Evicted leaves are freed and minted again; connections keep their own reference."""
    for i in range(10):
        _client, chain = _handshake(forger, f"n{i % 6}.test", _pem(ca[0]))
        got = x509.load_der_x509_certificate(chain[0])
        assert got.subject.rfc4514_string() == f"CN=n{i % 6}.test"


def test_a_refused_connection_falls_back_to_contexts(
    ca: tuple[x509.Certificate, object], monkeypatch: pytest.MonkeyPatch
) -> None:
    f = _forger(ca, native=True)
    try:
        assert f.native is not None
        monkeypatch.setattr(f.native, "use", lambda *a: False)
        client, chain = _handshake(f, "fallback.test", _pem(ca[0]))
        assert f.mode == "context" and client.version() == "TLSv1.3"
        assert chain[0] == f.certificate(spec_for("fallback.test")).public_bytes(
            serialization.Encoding.DER
        )
    finally:
        f.close()


def test_a_pointer_that_does_not_belong_to_the_context_is_refused(
    ca: tuple[x509.Certificate, object], monkeypatch: pytest.MonkeyPatch
) -> None:
    """``use`` checks SSL_get_SSL_CTX(ssl) against the context's own pointer first."""
    f = _forger(ca, native=True)
    try:
        assert f.native is not None
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        tls = ctx.wrap_bio(ssl.MemoryBIO(), ssl.MemoryBIO(), server_side=True)
        # Read the context pointer from the wrong field (the object's type): no match.
        monkeypatch.setattr(native_mod, "_CTX_OFFSET", native_mod._HEAD // 2)
        assert not f.native.use(tls, 0, 0, None, b"")
    finally:
        f.close()


@pytest.mark.parametrize("what", ["layout", "openssl", "self_test", "free_threaded"])
def test_anything_unexpected_means_no_native_path(
    what: str, ca: tuple[x509.Certificate, object], monkeypatch: pytest.MonkeyPatch
) -> None:
    if what == "layout":
        monkeypatch.setattr(native_mod, "_LAYOUT_VERSIONS", ())
    elif what == "free_threaded":  # PYTHON_GIL=1 on a 3.13t build keeps its object header
        import sysconfig

        real = sysconfig.get_config_var
        monkeypatch.setattr(
            sysconfig,
            "get_config_var",
            lambda name: 1 if name == "Py_GIL_DISABLED" else real(name),
        )
    elif what == "openssl":
        monkeypatch.setattr(ssl, "OPENSSL_VERSION_NUMBER", 0x10101000)
    else:
        monkeypatch.setattr(NativeCerts, "_self_test", lambda self: False)
    assert NativeCerts.load() is None
    f = _forger(ca, native=True)
    try:
        assert f.mode == "context"
        client, _ = _handshake(f, "plain.test", _pem(ca[0]))
        assert client.version() == "TLSv1.3"
    finally:
        f.close()
