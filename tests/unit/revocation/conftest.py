"""A throw-away PKI for the revocation unit tests (generated once per session)."""

from __future__ import annotations

from datetime import datetime

import pytest

from tlsdiag.core.certbuild import Issued
from tlsdiag.lab.aia_pki import make_ocsp_signer
from tlsdiag.lab.pki import make_ca, make_leaf

from helpers.revocation import NOW, Pki


@pytest.fixture(scope="session")
def now() -> datetime:
    return NOW


@pytest.fixture(scope="session")
def pki() -> Pki:
    root = make_ca("Unit Root", now=NOW)
    issuer = make_ca("Unit Issuing CA", now=NOW, issuer=root, path_length=0)
    leaf = make_leaf(issuer, now=NOW, names=["www.example.test"])
    other = make_ca("Unit Other CA", now=NOW)
    other_leaf = make_leaf(issuer, now=NOW, names=["other.example.test"])
    return Pki(root, issuer, leaf, other, other_leaf)


@pytest.fixture(scope="session")
def delegated(pki: Pki) -> Issued:
    return make_ocsp_signer("Unit OCSP Responder", pki.issuer, now=NOW)
