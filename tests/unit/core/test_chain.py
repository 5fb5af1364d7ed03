"""Each chain rule on generated chains, with a negative control (no network)."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from tlsdiag import codes
from tlsdiag.core.certbuild import Issued, new_key, resign_sha1
from tlsdiag.core.chain import FetchedIssuer, Roots, analyze_chain
from tlsdiag.facts.ids import RootSetId
from tlsdiag.lab.pki import make_ca, make_leaf
from tlsdiag.model import Severity


@pytest.fixture(scope="module")
def pki() -> dict[str, Issued]:
    from datetime import UTC

    now = datetime.now(UTC)
    root = make_ca("Unit Root", now=now, not_before=now - timedelta(days=400))
    inter = make_ca(
        "Unit Intermediate",
        now=now,
        issuer=root,
        path_length=0,
        not_before=now - timedelta(days=400),
    )
    rsa_inter = make_ca(
        "Unit RSA Intermediate",
        now=now,
        issuer=root,
        key=new_key("rsa"),
        not_before=now - timedelta(days=400),
    )
    return {"root": root, "inter": inter, "rsa_inter": rsa_inter}


def _codes(analysis: object, severity: Severity | None = Severity.ERROR) -> set[str]:
    return {f.code for f in analysis.findings if severity is None or f.severity is severity}  # type: ignore[attr-defined]


def _leaf(pki: dict[str, Issued], now: datetime, **kw: object) -> Issued:
    kw.setdefault("names", ["www.unit.test"])
    kw.setdefault("not_before", now - timedelta(days=30))
    return make_leaf(pki["inter"], now=now, **kw)  # type: ignore[arg-type]


def _roots(pki: dict[str, Issued]) -> list[Roots]:
    return [Roots(RootSetId.CAFILE, (pki["root"].cert,))]


def test_good_chain_is_trusted_with_no_findings(pki: dict[str, Issued], now: datetime) -> None:
    leaf = _leaf(pki, now)
    a = analyze_chain(
        [leaf.cert, pki["inter"].cert], host="www.unit.test", now=now, root_sets=_roots(pki)
    )
    assert a.trusted_by == {"--cafile": True}
    assert a.findings == ()
    assert [c.subject for c in a.path] == [
        leaf.cert.subject,
        pki["inter"].cert.subject,
        pki["root"].cert.subject,
    ]


def test_same_chain_without_the_root_is_untrusted(pki: dict[str, Issued], now: datetime) -> None:
    leaf = _leaf(pki, now)
    other = make_ca("Other Root", now=now)
    a = analyze_chain(
        [leaf.cert, pki["inter"].cert],
        host="www.unit.test",
        now=now,
        root_sets=[Roots(RootSetId.OS, (other.cert,))],
    )
    assert not a.trusted
    assert codes.SERVER_CHAIN_INCOMPLETE in _codes(a)  # the root's issuer cannot be found


def test_untrusted_root_sent_by_server(pki: dict[str, Issued], now: datetime) -> None:
    other = make_ca("Private Root", now=now)
    leaf = make_leaf(other, now=now, names=["www.unit.test"])
    a = analyze_chain([leaf.cert, other.cert], host="www.unit.test", now=now, root_sets=_roots(pki))
    assert _codes(a) == {codes.SERVER_UNTRUSTED_ROOT}
    finding = next(f for f in a.findings if f.code == codes.SERVER_UNTRUSTED_ROOT)
    assert "Private Root" in finding.evidence["root"]
    # negative control: trusting that root removes the finding
    b = analyze_chain(
        [leaf.cert, other.cert],
        host="www.unit.test",
        now=now,
        root_sets=[Roots(RootSetId.CAFILE, (other.cert,))],
    )
    assert _codes(b) == set()


def test_expired_and_not_yet_valid_leaf(pki: dict[str, Issued], now: datetime) -> None:
    expired = _leaf(
        pki, now, not_before=now - timedelta(days=100), not_after=now - timedelta(days=3)
    )
    a = analyze_chain(
        [expired.cert, pki["inter"].cert], host="www.unit.test", now=now, root_sets=_roots(pki)
    )
    assert _codes(a) == {codes.SERVER_CERT_EXPIRED}
    assert a.trusted_by[RootSetId.CAFILE]  # trust is judged apart from the dates
    assert "3 days ago" in next(iter(a.findings)).detail
    future = _leaf(pki, now, not_before=now + timedelta(days=2), not_after=now + timedelta(days=90))
    b = analyze_chain(
        [future.cert, pki["inter"].cert], host="www.unit.test", now=now, root_sets=_roots(pki)
    )
    assert _codes(b) == {codes.SERVER_CERT_NOT_YET_VALID}


def test_expiring_soon_is_a_warning(pki: dict[str, Issued], now: datetime) -> None:
    soon = _leaf(pki, now, not_after=now + timedelta(days=10))
    a = analyze_chain(
        [soon.cert, pki["inter"].cert], host="www.unit.test", now=now, root_sets=_roots(pki)
    )
    assert _codes(a) == set()
    warns = [f for f in a.findings if f.severity is Severity.WARNING]
    assert [f.code for f in warns] == [codes.SERVER_CERT_EXPIRED]
    assert "expires in 9 days" in warns[0].title or "expires in 10 days" in warns[0].title


def test_expired_intermediate_is_reported(pki: dict[str, Issued], now: datetime) -> None:
    old = make_ca(
        "Old Intermediate",
        now=now,
        issuer=pki["root"],
        not_before=now - timedelta(days=400),
        not_after=now - timedelta(days=1),
    )
    leaf = make_leaf(old, now=now, names=["www.unit.test"])
    a = analyze_chain([leaf.cert, old.cert], host="www.unit.test", now=now, root_sets=_roots(pki))
    titles = [f.title for f in a.findings if f.code == codes.SERVER_CERT_EXPIRED]
    assert titles == ["The intermediate certificate expired 1 days ago"]


@pytest.mark.parametrize(
    ("names", "host", "ok"),
    [
        (["www.unit.test"], "www.unit.test", True),
        (["www.unit.test"], "WWW.Unit.Test", True),
        (["*.unit.test"], "a.unit.test", True),
        (["*.unit.test"], "a.b.unit.test", False),
        (["*.unit.test"], "unit.test", False),
        (["f*.unit.test"], "foo.unit.test", False),
        (["*.test"], "unit.test", False),
        (["other.unit.test"], "www.unit.test", False),
        (["127.0.0.1"], "127.0.0.1", True),
        (["www.unit.test"], "127.0.0.1", False),
    ],
)
def test_hostname_rules(
    pki: dict[str, Issued], now: datetime, names: list[str], host: str, ok: bool
) -> None:
    leaf = _leaf(pki, now, names=names)
    is_ip = host[0].isdigit()
    a = analyze_chain(
        [leaf.cert, pki["inter"].cert],
        host=host.lower(),
        is_ip=is_ip,
        now=now,
        root_sets=_roots(pki),
    )
    assert (codes.SERVER_HOSTNAME_MISMATCH not in _codes(a)) is ok
    assert a.trusted_by[RootSetId.CAFILE]


def test_mismatch_lists_the_names_covered(pki: dict[str, Issued], now: datetime) -> None:
    leaf = _leaf(pki, now, names=["a.unit.test", "b.unit.test"])
    a = analyze_chain(
        [leaf.cert, pki["inter"].cert], host="www.unit.test", now=now, root_sets=_roots(pki)
    )
    f = next(f for f in a.findings if f.code == codes.SERVER_HOSTNAME_MISMATCH)
    assert f.evidence["certificate_names"] == "a.unit.test, b.unit.test"


def test_cn_only_certificate_is_called_out(pki: dict[str, Issued], now: datetime) -> None:
    leaf = _leaf(pki, now, san=False, cn="www.unit.test")
    a = analyze_chain(
        [leaf.cert, pki["inter"].cert], host="www.unit.test", now=now, root_sets=_roots(pki)
    )
    f = next(f for f in a.findings if f.code == codes.SERVER_HOSTNAME_MISMATCH)
    assert "no subjectAltName" in f.title
    assert f.evidence["common_name"] == "www.unit.test"
    assert a.trusted_by[RootSetId.CAFILE]


def test_self_signed_leaf(now: datetime) -> None:
    leaf = make_leaf(None, now=now, names=["www.unit.test"])
    a = analyze_chain([leaf.cert], host="www.unit.test", now=now, root_sets=[])
    assert _codes(a) == {codes.SERVER_SELF_SIGNED}
    trusted = analyze_chain(
        [leaf.cert],
        host="www.unit.test",
        now=now,
        root_sets=[Roots(RootSetId.CAFILE, (leaf.cert,))],
    )
    assert _codes(trusted) == set()


def test_missing_intermediate_without_and_with_aia(pki: dict[str, Issued], now: datetime) -> None:
    leaf = _leaf(pki, now, aia_ca_issuers="http://127.0.0.1:9/issuer.der")
    a = analyze_chain(
        [leaf.cert],
        host="www.unit.test",
        now=now,
        root_sets=_roots(pki),
        fetch_errors={"http://127.0.0.1:9/issuer.der": "connection refused"},
    )
    f = next(f for f in a.findings if f.code == codes.SERVER_CHAIN_INCOMPLETE)
    assert "Unit Intermediate" in f.evidence["missing_issuer"]
    assert "connection refused" in f.evidence["aia_fetch"]
    assert not a.trusted
    fetched = analyze_chain(
        [leaf.cert],
        host="www.unit.test",
        now=now,
        root_sets=_roots(pki),
        fetched=[FetchedIssuer("http://127.0.0.1:9/issuer.der", pki["inter"].cert)],
    )
    assert fetched.trusted_by[RootSetId.CAFILE]
    g = next(f for f in fetched.findings if f.code == codes.SERVER_CHAIN_INCOMPLETE)
    assert "fetched" in g.evidence and "path then verifies" in g.detail


def test_wrong_order_and_extra_certificates(pki: dict[str, Issued], now: datetime) -> None:
    leaf = _leaf(pki, now)
    stray = make_ca("Stray CA", now=now)
    a = analyze_chain(
        [leaf.cert, stray.cert, pki["inter"].cert],
        host="www.unit.test",
        now=now,
        root_sets=_roots(pki),
    )
    warn = _codes(a, Severity.WARNING)
    assert codes.SERVER_CHAIN_EXTRA in warn
    assert _codes(a) == set()
    # two intermediates sent in reverse order
    inter2 = make_ca("Unit Sub CA", now=now, issuer=pki["rsa_inter"])
    leaf2 = make_leaf(inter2, now=now, names=["www.unit.test"])
    b = analyze_chain(
        [leaf2.cert, pki["rsa_inter"].cert, inter2.cert],
        host="www.unit.test",
        now=now,
        root_sets=_roots(pki),
    )
    assert codes.SERVER_CHAIN_ORDER in _codes(b, Severity.WARNING)
    good = analyze_chain(
        [leaf2.cert, inter2.cert, pki["rsa_inter"].cert],
        host="www.unit.test",
        now=now,
        root_sets=_roots(pki),
    )
    assert _codes(good, None) == set()
    # a path-length constraint violated by a sub-CA makes the verifier refuse the path
    sub = make_ca("Too Deep CA", now=now, issuer=pki["inter"])
    deep = make_leaf(sub, now=now, names=["www.unit.test"])
    c = analyze_chain(
        [deep.cert, sub.cert, pki["inter"].cert],
        host="www.unit.test",
        now=now,
        root_sets=_roots(pki),
    )
    assert not c.trusted and "--cafile" in c.verify_messages


def test_weak_key_and_weak_signature(pki: dict[str, Issued], now: datetime) -> None:
    weak = _leaf(pki, now, key=new_key("rsa", 1024))
    a = analyze_chain(
        [weak.cert, pki["inter"].cert], host="www.unit.test", now=now, root_sets=_roots(pki)
    )
    assert _codes(a) == {codes.SERVER_WEAK_KEY}
    sha1 = make_leaf(pki["rsa_inter"], now=now, names=["www.unit.test"])
    sha1 = Issued(resign_sha1(sha1.cert, pki["rsa_inter"].key), sha1.key)  # type: ignore[arg-type]
    b = analyze_chain(
        [sha1.cert, pki["rsa_inter"].cert], host="www.unit.test", now=now, root_sets=_roots(pki)
    )
    assert _codes(b) == {codes.SERVER_WEAK_SIGNATURE}
    assert b.trusted_by[RootSetId.CAFILE]  # the issuer is recognised even though SHA-1 is refused


def test_which_root_sets_trust_the_chain(pki: dict[str, Issued], now: datetime) -> None:
    leaf = _leaf(pki, now)
    other = make_ca("Other Root", now=now)
    sets = [Roots(RootSetId.PUBLIC, (other.cert,)), Roots(RootSetId.OS, (pki["root"].cert,))]
    a = analyze_chain([leaf.cert, pki["inter"].cert], host="www.unit.test", now=now, root_sets=sets)
    assert a.trusted_by == {"public (certifi)": False, "os": True}
    assert a.anchored_in == ("os",)
