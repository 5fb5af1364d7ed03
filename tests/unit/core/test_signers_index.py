"""``certs.signers_in`` (the subject-name index of a root set) gives the linear scan's answers."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes

from tlsdiag.core import certs as C
from tlsdiag.core.certbuild import Issued, new_key
from tlsdiag.lab.pki import make_ca, make_leaf
from tlsdiag.stores.bundles import os_roots, public_roots


def _scan(cert: x509.Certificate, certs: tuple[x509.Certificate, ...]) -> list[x509.Certificate]:
    return [c for c in certs if C.signed_by(cert, c)]


def _printable_twin(ca: Issued) -> x509.Certificate:
    """A self-signed certificate with ``ca``'s key whose subject spells the same name as
    PrintableString: names compare equal across string types, so it signs what ``ca`` signs."""
    subject = x509.Name(
        [
            x509.NameAttribute(a.oid, str(a.value), x509.name._ASN1Type.PrintableString)
            for a in ca.cert.subject
        ]
    )
    assert subject.public_bytes() != ca.cert.subject.public_bytes()
    assert subject == ca.cert.subject
    now = datetime.now(UTC)
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(ca.key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(ca.key, hashes.SHA256())
    )


@pytest.fixture(scope="module")
def pki() -> dict[str, x509.Certificate]:
    now = datetime.now(UTC)
    root = make_ca("Index Root", now=now)
    namesake = make_ca("Index Root", now=now, key=new_key("rsa"))  # same name, other key
    other = make_ca("Index Other Root", now=now, org="Another PKI")
    inter = make_ca("Index Intermediate", now=now, issuer=root)
    leaf = make_leaf(inter, now=now, names=["index.test"])
    return {
        "root": root.cert,
        "namesake": namesake.cert,
        "other": other.cert,
        "inter": inter.cert,
        "leaf": leaf.cert,
        "twin": _printable_twin(root),
    }


def test_same_answers_as_the_scan_on_generated_and_real_root_sets(
    pki: dict[str, x509.Certificate],
) -> None:
    generated = tuple(pki.values())
    sets = [
        generated,
        (*public_roots().certs, *generated),
        (*os_roots().certs, pki["namesake"], pki["root"]),
        (),
    ]
    askers = [*generated, *public_roots().certs[:20]]
    for certs in sets:
        for cert in askers:
            assert C.signers_in(cert, certs) == _scan(cert, certs)


def test_finds_the_signer_not_its_namesake_and_across_string_types(
    pki: dict[str, x509.Certificate],
) -> None:
    certs = (pki["other"], pki["namesake"], pki["twin"], pki["root"])
    assert C.signers_in(pki["inter"], certs) == [pki["twin"], pki["root"]]
    assert C.signers_in(pki["leaf"], certs) == []  # its issuer is the intermediate, not here
    assert C.signers_in(pki["leaf"], (pki["inter"],)) == [pki["inter"]]


def test_a_new_tuple_gets_its_own_index(pki: dict[str, x509.Certificate]) -> None:
    with_root = (pki["root"],)
    assert C.signers_in(pki["inter"], with_root) == [pki["root"]]
    for _ in range(40):  # more sets than the index keeps: it starts over, answers stay right
        without = (pki["other"],)
        assert C.signers_in(pki["inter"], without) == []
    assert C.signers_in(pki["inter"], with_root) == [pki["root"]]


def test_name_keys_are_equal_exactly_when_names_are(pki: dict[str, x509.Certificate]) -> None:
    names = [c.subject for c in pki.values()] + [c.issuer for c in pki.values()]
    for a in names:
        for b in names:
            assert (C.name_key(a) == C.name_key(b)) == (a == b)
    assert C.name_key(pki["twin"].subject) == C.name_key(pki["root"].subject)


def test_cached_subject_keys_give_the_same_answers(pki: dict[str, x509.Certificate]) -> None:
    certs = (*public_roots().certs[:30], *pki.values())
    keys = tuple(C.name_key(c.subject) for c in certs)
    for cert in [*pki.values(), *public_roots().certs[:30]]:
        assert C.signers_in(cert, certs, keys) == _scan(cert, certs) == C.signers_in(cert, certs)
