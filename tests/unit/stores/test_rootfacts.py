"""The on-disk cache of per-root answers (``stores.rootfacts``): same answers as deriving them,
rebuilt when the bundle changes, a broken file ignored, ``TLSDIAG_NO_CACHE`` honoured."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import cryptography
import pytest
from cryptography import x509

from tlsdiag.core import certs as C
from tlsdiag.core.certbuild import cert_pem
from tlsdiag.core.issuer.vendor_match import first_per_vendor, installed_vendors
from tlsdiag.facts.ids import RootSetId
from tlsdiag.lab.pki import make_ca
from tlsdiag.stores import rootfacts
from tlsdiag.stores.bundles import load_bundle, os_roots, public_roots
from tlsdiag.stores.rootfacts import RootFacts, derive_facts, root_facts


@pytest.fixture(scope="module")
def roots() -> list[x509.Certificate]:
    now = datetime.now(UTC)
    return [
        make_ca("Facts Root", now=now).cert,
        make_ca("Zscaler Root CA", now=now, org="Zscaler Inc.").cert,  # an inspection root
        make_ca("Facts Other Root", now=now, org="Other PKI").cert,
    ]


def _bundle(path: Path, certs: list[x509.Certificate]) -> Path:
    path.write_bytes(b"".join(cert_pem(c) for c in certs))
    return path


def _files(directory: Path) -> list[Path]:
    return sorted(directory.glob("roots-*.json")) if directory.is_dir() else []


def _no_derive(monkeypatch: pytest.MonkeyPatch) -> None:
    def fail(certs: object) -> RootFacts:
        raise AssertionError("derived although the cache holds the answers")

    monkeypatch.setattr(rootfacts, "derive_facts", fail)


def test_derived_facts_answer_what_check_asked_the_certificates(
    roots: list[x509.Certificate],
) -> None:
    facts = derive_facts(roots)
    assert facts.fingerprints == tuple(C.fingerprint(c) for c in roots)
    assert facts.subject_keys == tuple(C.name_key(c.subject) for c in roots)
    assert facts.orgs == (("Example Lab PKI",), ("Zscaler Inc.",), ("Other PKI",))
    assert first_per_vendor(facts.vendors) == installed_vendors(roots) != []
    assert facts.vendors[0] is None and facts.vendors[1] is not None


def test_written_once_then_read_with_the_same_answers(
    cache: Path, tmp_path: Path, roots: list[x509.Certificate], monkeypatch: pytest.MonkeyPatch
) -> None:
    rs = load_bundle(RootSetId.OS, str(_bundle(tmp_path / "os.pem", roots)))
    first = root_facts(rs)
    assert first == derive_facts(roots)
    assert len(_files(cache)) == 1
    _no_derive(monkeypatch)
    assert root_facts(rs) == first


def test_a_changed_bundle_is_derived_again_and_the_old_file_removed(
    cache: Path, tmp_path: Path, roots: list[x509.Certificate]
) -> None:
    path = _bundle(tmp_path / "os.pem", roots[:2])
    assert root_facts(load_bundle(RootSetId.OS, str(path))) == derive_facts(roots[:2])
    old = _files(cache)
    _bundle(path, roots)
    assert root_facts(load_bundle(RootSetId.OS, str(path))) == derive_facts(roots)
    new = _files(cache)
    assert len(new) == 1 and new != old


def test_the_same_bundle_at_two_paths_shares_one_file(
    cache: Path, tmp_path: Path, roots: list[x509.Certificate], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two installations (two venvs with the same certifi) must not replace each other's file."""
    first = load_bundle(RootSetId.PUBLIC, str(_bundle(tmp_path / "a.pem", roots)))
    second = load_bundle(RootSetId.PUBLIC, str(_bundle(tmp_path / "b.pem", roots)))
    expected = root_facts(first)
    written = _files(cache)
    _no_derive(monkeypatch)
    assert root_facts(second) == expected
    assert _files(cache) == written and len(written) == 1


def test_another_cryptography_derives_again(
    cache: Path, tmp_path: Path, roots: list[x509.Certificate], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Subjects keys and fingerprints come from cryptography: another version may word them
    differently, so its answers are not reused."""
    rs = load_bundle(RootSetId.OS, str(_bundle(tmp_path / "os.pem", roots)))
    root_facts(rs)
    old = _files(cache)
    monkeypatch.setattr(cryptography, "__version__", "0.0-test")
    assert root_facts(rs) == derive_facts(roots)
    assert _files(cache) != old and len(_files(cache)) == 1


@pytest.mark.parametrize(
    "content",
    [
        b"not json {",
        b"[1, 2]",
        b'{"key": "someone else\'s"}',
        None,  # the right key, lists of the wrong length
        "types",  # the right key, values of the wrong type
    ],
)
def test_a_corrupt_or_foreign_file_is_ignored_and_rewritten(
    cache: Path, tmp_path: Path, roots: list[x509.Certificate], content: bytes | str | None
) -> None:
    rs = load_bundle(RootSetId.OS, str(_bundle(tmp_path / "os.pem", roots)))
    root_facts(rs)
    (file,) = _files(cache)
    if isinstance(content, bytes):
        file.write_bytes(content)
    else:
        doc = json.loads(file.read_bytes())
        if content is None:
            doc["fingerprints"] = doc["fingerprints"][:-1]
        else:
            doc["vendors"] = [[1, 2]] * len(roots)
        file.write_text(json.dumps(doc))
    assert root_facts(rs) == derive_facts(roots)
    assert root_facts(rs) == derive_facts(roots)  # read back from the rewritten file
    assert json.loads(file.read_bytes())["fingerprints"] == list(derive_facts(roots).fingerprints)


def test_no_cache_writes_nothing(
    cache: Path, tmp_path: Path, roots: list[x509.Certificate], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TLSDIAG_NO_CACHE", "1")
    rs = load_bundle(RootSetId.OS, str(_bundle(tmp_path / "os.pem", roots)))
    assert root_facts(rs) == derive_facts(roots)
    assert _files(cache) == []


def test_the_real_bundles_round_trip(cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for rs in (public_roots(), os_roots()):
        if not rs.certs:
            continue
        derived = derive_facts(rs.certs)
        assert root_facts(rs) == derived
        with monkeypatch.context() as m:
            _no_derive(m)
            assert root_facts(rs) == derived  # from the file
