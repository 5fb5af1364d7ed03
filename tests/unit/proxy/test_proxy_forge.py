"""Forged leaves: names, validity, shared key, signer, mimic copies, LRU cache, contexts."""

from __future__ import annotations

import contextlib
import ssl
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import trustme
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from tlsdiag.core.certbuild import Issued, KeyType, build_leaf
from tlsdiag.proxy.ca import create_ca
from tlsdiag.proxy.forge import Forger, ForgeSpec, Signer, leaf_names, spec_for

NOW = datetime.now(UTC)


@pytest.fixture(scope="module")
def ca() -> tuple[x509.Certificate, object]:
    return create_ca(now=NOW, machine="test")


@pytest.fixture
def forger(ca: tuple[x509.Certificate, object]) -> Iterator[Forger]:
    f = Forger(ca[0], ca[1], cache_size=4)  # type: ignore[arg-type]
    yield f
    f.close()


def _upstream(names: list[str], cn: str = "upstream.test") -> x509.Certificate:
    up = trustme.CA()
    leaf = up.issue_cert(*names, common_name=cn)
    return x509.load_pem_x509_certificate(leaf.cert_chain_pems[0].bytes())


def _spki(cert: x509.Certificate) -> bytes:
    return cert.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def test_names_copied_from_upstream_plus_sni() -> None:
    up = _upstream(["a.test", "b.test", "10.0.0.1"], cn="a.test")
    spec = spec_for("Sni.Test", up)
    assert spec.dns_names == ("a.test", "b.test", "sni.test")
    assert spec.ip_addresses == ("10.0.0.1",)
    assert spec.common_name == "a.test"
    assert spec.not_before is None and spec.signer is Signer.TRUSTED


def test_ip_host_without_upstream() -> None:
    spec = spec_for("127.0.0.1")
    assert spec.ip_addresses == ("127.0.0.1",) and spec.dns_names == ()


def test_forged_leaf_fields(forger: Forger, ca: tuple[x509.Certificate, object]) -> None:
    up = _upstream(["www.site.test"], cn="www.site.test")
    cert = forger.certificate(spec_for("www.site.test", up))
    assert cert.issuer == ca[0].subject
    san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert san.get_values_for_type(x509.DNSName) == ["www.site.test"]
    assert not cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    eku = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert ExtendedKeyUsageOID.SERVER_AUTH in eku
    aki = cert.extensions.get_extension_for_class(x509.AuthorityKeyIdentifier).value
    ski = ca[0].extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    assert aki.key_identifier == ski.digest
    now = datetime.now(UTC)
    # Backdated a little, short validity (never the upstream's dates for a trusted forgery).
    assert timedelta(hours=1) < now - cert.not_valid_before_utc < timedelta(days=2)
    assert cert.not_valid_after_utc - now < timedelta(days=31)
    ca[0].public_key().verify(  # type: ignore[union-attr]  # an EC key, per _ec_args
        cert.signature, cert.tbs_certificate_bytes, *_ec_args(cert)
    )


def _ec_args(cert: x509.Certificate) -> tuple[Any, ...]:
    from cryptography.hazmat.primitives.asymmetric import ec

    hash_alg = cert.signature_hash_algorithm
    assert hash_alg is not None
    return (ec.ECDSA(hash_alg),)


def test_one_shared_leaf_key_and_lru(forger: Forger) -> None:
    certs = [forger.certificate(spec_for(f"h{i}.test")) for i in range(6)]
    assert len({_spki(c) for c in certs}) == 1  # one key for all
    assert forger.misses == 6
    again = forger.certificate(spec_for("h5.test"))
    assert again is certs[5] and forger.hits == 1
    # Capacity 4: h0 and h1 were evicted and are minted anew (another serial).
    fresh = forger.certificate(spec_for("h0.test"))
    assert fresh.serial_number != certs[0].serial_number


def test_mimic_copies_dates_and_only_the_real_names(forger: Forger) -> None:
    up = _upstream(["other.test"], cn="other.test")
    spec = spec_for("asked.test", up, mimic=True, signer=Signer.UNTRUSTED)
    assert spec.dns_names == ("other.test",)  # the mismatch survives
    assert spec.not_before == up.not_valid_before_utc
    assert spec.not_after == up.not_valid_after_utc
    cert = forger.certificate(spec)
    assert cert.not_valid_after_utc == up.not_valid_after_utc
    cn = cert.issuer.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value
    assert str(cn).startswith("Not trusted by")


def test_self_signed_mimic(forger: Forger) -> None:
    cert = forger.certificate(spec_for("self.test", None, signer=Signer.SELF))
    assert cert.issuer == cert.subject


def test_context_serves_the_forged_cert_and_alpn(
    forger: Forger, ca: tuple[x509.Certificate, object]
) -> None:
    spec = spec_for("ctx.test")
    server_ctx = forger.context(spec, "h2")
    assert forger.context(spec, "h2") is server_ctx
    assert forger.context(spec, None) is not server_ctx
    client_ctx = ssl.create_default_context(
        cadata=ca[0].public_bytes(serialization.Encoding.PEM).decode()
    )
    client_ctx.set_alpn_protocols(["h2", "http/1.1"])
    c_in, c_out, s_in, s_out = (ssl.MemoryBIO() for _ in range(4))
    client = client_ctx.wrap_bio(c_in, c_out, server_hostname="ctx.test")
    server = server_ctx.wrap_bio(s_in, s_out, server_side=True)
    for _ in range(10):
        for obj, out, other_in in ((client, c_out, s_in), (server, s_out, c_in)):
            with contextlib.suppress(ssl.SSLWantReadError):
                obj.do_handshake()
            other_in.write(out.read())
    assert client.selected_alpn_protocol() == "h2"
    assert client.version() == "TLSv1.3"


@pytest.mark.parametrize("signer", list(Signer))
@pytest.mark.parametrize("leaf_key", [KeyType.EC256, KeyType.RSA2048])
def test_template_mints_what_build_leaf_makes(
    ca: tuple[x509.Certificate, Any], signer: Signer, leaf_key: KeyType
) -> None:
    f = Forger(ca[0], ca[1], leaf_key_type=leaf_key, native=False)
    try:
        spec = ForgeSpec("a.test", ("a.test", "b.test"), ("10.0.0.1", "::1"), "Org", signer)
        got = f.certificate(spec)
        issuer = f._issuer(signer)
        subject = x509.Name(
            [
                x509.NameAttribute(NameOID.COMMON_NAME, "a.test"),
                x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Org"),
            ]
        )
        want = build_leaf(
            subject,
            issuer=None if signer is Signer.SELF else Issued(*issuer),
            not_before=got.not_valid_before_utc,
            not_after=got.not_valid_after_utc,
            key=f.leaf_key,
            names=spec.dns_names + spec.ip_addresses,
            key_usage=True,
            ski=False,
            serial=got.serial_number,
        ).cert
        assert got.tbs_certificate_bytes == want.tbs_certificate_bytes
        signer_cert = got if signer is Signer.SELF else issuer[0]
        got.verify_directly_issued_by(signer_cert)
    finally:
        f.close()


def test_spec_from_leaf_names_equals_spec_from_certificate() -> None:
    up = _upstream(["a.test", "B.test", "10.0.0.1"], cn="cn.test")
    names = leaf_names(up)
    for host in ("a.test", "new.test", "10.0.0.2", "CN.test."):
        for mimic in (False, True):
            assert spec_for(host, names, mimic=mimic) == spec_for(host, up, mimic=mimic)
