"""The path rules of ``analyze_chain`` (issue 11 §3): every variant on certificates generated
here, with a good chain as the negative control. No network."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from cryptography import x509
from cryptography.x509.oid import ExtendedKeyUsageOID as EKU
from cryptography.x509.oid import ExtensionOID

from tlsdiag import codes
from tlsdiag.core.chain import ChainAnalysis, Roots, analyze_chain
from tlsdiag.facts.ids import RootSetId
from tlsdiag.model import Severity

from helpers import certkit as K

NOW = datetime(2031, 5, 6, 7, 8, 9, tzinfo=UTC)


@pytest.fixture(scope="module")
def root() -> K.Made:
    return K.cert("Rules Root", now=NOW)


@pytest.fixture(scope="module")
def inter(root: K.Made) -> K.Made:
    return K.cert("Rules Inter", now=NOW, issuer=root)


def _run(chain: list[x509.Certificate], root: K.Made, host: str | None = None) -> ChainAnalysis:
    return analyze_chain(
        chain, host=host, now=NOW, root_sets=[Roots(RootSetId.CAFILE, (root.cert,))]
    )


def _by(a: ChainAnalysis, severity: Severity = Severity.ERROR) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for f in a.findings:
        if f.severity is severity:
            out.setdefault(f.code, []).append(f.title)
    return out


def test_good_chain_has_no_findings_with_or_without_host(root: K.Made, inter: K.Made) -> None:
    leaf = K.cert("a.test", now=NOW, issuer=inter, ca=False, names=["a.test"])
    for host in (None, "a.test"):
        a = _run([leaf.cert, inter.cert], root, host)
        assert a.trusted and a.findings == (), a.findings
    assert not _run([leaf.cert, inter.cert], root).name_checked


@pytest.mark.parametrize(
    "names", [["uri:https://a.test/"], [], ["f*.a.test"]], ids=["uri-san", "no-san", "partial"]
)
def test_issuer_that_is_not_a_ca_fails_without_host(root: K.Made, names: list[str]) -> None:
    notca = K.cert("Not A CA", now=NOW, issuer=root, ca=False)
    leaf = K.cert("a.test", now=NOW, issuer=notca, ca=False, names=names)
    a = _run([leaf.cert, notca.cert], root)
    assert not a.trusted
    errors = _by(a)
    assert any("not a CA" in t for t in errors[codes.SERVER_CHAIN_INVALID]), errors
    assert codes.SERVER_UNTRUSTED_ROOT not in errors
    # and the leaf names no host a client accepts
    assert codes.SERVER_HOSTNAME_MISMATCH in errors


def test_name_constraints(root: K.Made) -> None:
    ca = K.cert("Constrained", now=NOW, issuer=root, permitted_dns=["good.test"])
    bad = K.cert("a.test", now=NOW, issuer=ca, ca=False, names=["a.test"])
    a = _run([bad.cert, ca.cert], root)
    assert not a.trusted
    assert any("name constraints" in t for t in _by(a)[codes.SERVER_CHAIN_INVALID])
    ok = K.cert("www.good.test", now=NOW, issuer=ca, ca=False, names=["www.good.test"])
    assert _run([ok.cert, ca.cert], root).findings == ()


def _raw_ext(oid: x509.ObjectIdentifier, der: bytes) -> x509.ExtensionType:
    return x509.UnrecognizedExtension(oid, der)


@pytest.mark.parametrize(
    ("label", "kw"),
    [
        ("extendedKeyUsage", {"eku": []}),
        (
            "subjectAltName",
            {"extra": [_raw_ext(ExtensionOID.SUBJECT_ALTERNATIVE_NAME, b"\x02\x01\x01")]},
        ),
        (
            "authorityInfoAccess",
            {
                "names": ["a.test"],
                "extra": [
                    _raw_ext(ExtensionOID.AUTHORITY_INFORMATION_ACCESS, b"\x30\x03\x02\x01\x01")
                ],
            },
        ),
    ],
)
def test_malformed_extension_is_named(
    root: K.Made, inter: K.Made, label: str, kw: dict[str, object]
) -> None:
    leaf = K.cert("a.test", now=NOW, issuer=inter, ca=False, **kw)  # type: ignore[arg-type]
    for host in (None, "a.test"):
        a = _run([leaf.cert, inter.cert], root, host)
        errors = _by(a)
        assert any(label in t for t in errors[codes.SERVER_CERT_MALFORMED]), errors
        assert not any("CN only" in f.title for f in a.findings)


def test_duplicated_extension_is_a_finding_not_a_crash(root: K.Made, inter: K.Made) -> None:
    good = K.cert("a.test", now=NOW, issuer=inter, ca=False, names=["a.test"])
    for oid in ("2.5.29.17", "2.5.29.19"):
        dup = K.resign(good.cert, inter.key, K.duplicate_extension(oid))
        a = _run([dup, inter.cert], root)
        titles = _by(a)[codes.SERVER_CERT_MALFORMED]
        assert any("duplicated" in t for t in titles), titles
        assert not a.trusted


def test_v1_intermediate_and_v1_leaf(root: K.Made, inter: K.Made) -> None:
    v1_inter = K.resign(inter.cert, root.key, K.make_v1)
    leaf = K.cert("a.test", now=NOW, issuer=inter, ca=False, names=["a.test"])
    a = _run([leaf.cert, v1_inter], root)
    assert any("version 1" in t for t in _by(a)[codes.SERVER_CHAIN_INVALID])
    assert not a.trusted
    v1_leaf = K.resign(leaf.cert, inter.key, K.make_v1)
    b = _run([v1_leaf, inter.cert], root)
    assert any("version 1" in t for t in _by(b)[codes.SERVER_CHAIN_INVALID])


def test_path_length_is_named_not_untrusted_root(root: K.Made) -> None:
    top = K.cert("Top", now=NOW, issuer=root, path_length=0)
    low = K.cert("Low", now=NOW, issuer=top)
    leaf = K.cert("a.test", now=NOW, issuer=low, ca=False, names=["a.test"])
    a = _run([leaf.cert, low.cert, top.cert], root, "a.test")
    errors = _by(a)
    assert codes.SERVER_UNTRUSTED_ROOT not in errors
    assert any("allows 0 intermediate" in t for t in errors[codes.SERVER_CHAIN_INVALID]), errors


def test_ca_as_leaf_is_named_not_untrusted_root(root: K.Made, inter: K.Made) -> None:
    leaf = K.cert("a.test", now=NOW, issuer=inter, ca=True, names=["a.test"], eku=[EKU.SERVER_AUTH])
    a = _run([leaf.cert, inter.cert], root, "a.test")
    errors = _by(a)
    assert codes.SERVER_UNTRUSTED_ROOT not in errors
    assert any("is a CA certificate" in t for t in errors[codes.SERVER_CHAIN_INVALID])


def test_leaf_not_for_servers_is_an_error(root: K.Made, inter: K.Made) -> None:
    leaf = K.cert(
        "a.test", now=NOW, issuer=inter, ca=False, names=["a.test"], eku=[EKU.CLIENT_AUTH]
    )
    a = _run([leaf.cert, inter.cert], root)
    assert any("serverAuth" in t for t in _by(a)[codes.SERVER_CHAIN_INVALID])


@pytest.mark.parametrize(
    ("kw", "words"),
    [
        ({"aki": False}, "authorityKeyIdentifier"),
        ({"signing_key": "rsa2052"}, "multiple of 8"),
        ({"eku": [EKU.SERVER_AUTH, EKU.CODE_SIGNING]}, "more purposes"),
    ],
)
def test_web_pki_rules_are_warnings(
    root: K.Made, inter: K.Made, kw: dict[str, object], words: str
) -> None:
    if kw.get("signing_key") == "rsa2052":
        kw = {"signing_key": K.key("rsa", 2052)}
    leaf = K.cert("a.test", now=NOW, issuer=inter, ca=False, names=["a.test"], **kw)  # type: ignore[arg-type]
    a = _run([leaf.cert, inter.cert], root, "a.test")
    assert a.trusted, a.verify_messages
    assert _by(a) == {}
    warnings = _by(a, Severity.WARNING)[codes.SERVER_CERT_PROFILE]
    assert any(words in t for t in warnings), warnings
    assert any("CA/B Forum" in f.evidence.get("rule", "") for f in a.findings)


def test_not_after_is_compared_at_the_certificates_precision(root: K.Made, inter: K.Made) -> None:
    end = NOW.replace(microsecond=0)
    leaf = K.cert("a.test", now=NOW, issuer=inter, ca=False, names=["a.test"], not_after=end)
    during = end + timedelta(microseconds=400_000)  # still inside the last second
    a = analyze_chain(
        [leaf.cert, inter.cert],
        host=None,
        now=during,
        root_sets=[Roots(RootSetId.CAFILE, (root.cert,))],
    )
    assert codes.SERVER_CERT_EXPIRED not in _by(a)
    later = analyze_chain(
        [leaf.cert, inter.cert],
        host=None,
        now=end + timedelta(seconds=30),
        root_sets=[Roots(RootSetId.CAFILE, (root.cert,))],
    )
    assert any("30 seconds ago" in t for t in _by(later)[codes.SERVER_CERT_EXPIRED])


def test_untrusted_intermediates_complete_the_path(root: K.Made, inter: K.Made) -> None:
    leaf = K.cert("a.test", now=NOW, issuer=inter, ca=False, names=["a.test"])
    roots = [Roots(RootSetId.CAFILE, (root.cert,))]
    assert not analyze_chain([leaf.cert], host=None, now=NOW, root_sets=roots).trusted
    a = analyze_chain([leaf.cert], host=None, now=NOW, root_sets=roots, untrusted=[inter.cert])
    assert a.trusted and a.findings == ()


def test_interception_signals_read_a_leaf_with_a_duplicated_extension(
    root: K.Made, inter: K.Made
) -> None:
    from tlsdiag.core.certs import sct_count

    good = K.cert("a.test", now=NOW, issuer=inter, ca=False, names=["a.test"])
    dup = K.resign(good.cert, inter.key, K.duplicate_extension("2.5.29.17"))
    assert sct_count(dup) == 0  # `check` and `issuer` judge such a leaf instead of crashing
