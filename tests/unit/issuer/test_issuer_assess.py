"""assess_interception: the verdict, its confidence and reasons, and the findings (pure)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tlsdiag import codes
from tlsdiag.core.certbuild import Issued
from tlsdiag.core.certs import sct_count
from tlsdiag.core.issuer.signals import classify_host
from tlsdiag.core.issuer.vendor_match import installed_vendors
from tlsdiag.core.issuer.verdict import Interception, assess_interception, normalize_fingerprint
from tlsdiag.facts.ids import RootSetId
from tlsdiag.model import Severity

from helpers.issuer_chains import NOW, fp, make_ca, make_leaf

PUBLIC_ROOT = make_ca("CN=Test Public Root R1,O=Test Public Trust,C=US")
PUBLIC_ICA = make_ca("CN=Test Public TLS CA 1,O=Test Public Trust,C=US", issuer=PUBLIC_ROOT)
PUBLIC_FPS = frozenset({fp(PUBLIC_ROOT.cert)})
ACME_ROOT = make_ca("CN=Acme Corp Root CA,O=Acme Corp,C=US")
ZS_ROOT = make_ca("CN=Zscaler Root CA,OU=Zscaler Inc.,O=Zscaler Inc.,C=US")
ZS_ICA = make_ca(
    "CN=Zscaler Intermediate Root CA (zscalerthree.net) (t),OU=Zscaler Inc.,O=Zscaler Inc.,C=US",
    issuer=ZS_ROOT,
)

OS_TRUST = {RootSetId.PUBLIC: False, RootSetId.OS: True, RootSetId.CAFILE: False}
NO_TRUST = {RootSetId.PUBLIC: False, RootSetId.OS: False, RootSetId.CAFILE: False}
PUBLIC_TRUST = {RootSetId.PUBLIC: True, RootSetId.OS: True, RootSetId.CAFILE: False}


def assess(presented, path=None, *, host="www.example.com", trusted_by=OS_TRUST, **kw):
    kw.setdefault("platform", "windows")
    return assess_interception(
        presented,
        presented if path is None else path,
        host=host,
        now=NOW,
        public_root_fingerprints=PUBLIC_FPS,
        trusted_by=trusted_by,
        **kw,
    )


def codes_of(findings):
    return {f.code: f.severity for f in findings}


def test_vendor_chain_is_inspected_with_high_confidence_and_an_info_finding():
    leaf = make_leaf("www.example.com", ZS_ICA)
    verdict, findings = assess([leaf, ZS_ICA.cert], [leaf, ZS_ICA.cert, ZS_ROOT.cert])
    assert verdict.inspected and verdict.vendor_id == "zscaler" and verdict.vendor == "Zscaler"
    assert verdict.confidence == "high" and verdict.kind == "sase"
    assert verdict.issuer.startswith("CN=Zscaler Intermediate Root CA")
    assert verdict.root.startswith("CN=Zscaler Root CA")
    assert verdict.root_sha256 == fp(ZS_ROOT.cert)
    assert any("matches Zscaler" in r for r in verdict.reasons)
    assert any("trusted by this machine's OS store" in r for r in verdict.reasons)
    assert codes_of(findings) == {codes.INTERCEPTION_DETECTED: Severity.INFO}
    assert "Zscaler" in findings[0].title
    assert findings[0].evidence["tls_inspection"] == "1"


def test_vendor_root_found_when_the_root_was_not_sent_and_not_trusted():
    leaf = make_leaf("www.example.com", ZS_ICA)
    verdict, _ = assess([leaf, ZS_ICA.cert], [], trusted_by=NO_TRUST)
    assert verdict.inspected and verdict.vendor_id == "zscaler"
    assert verdict.root.startswith("CN=Zscaler Root CA") and verdict.root_sha256 == ""
    assert any("nor trusted by this machine" in r for r in verdict.reasons)


def test_vendor_name_on_an_internal_host_is_still_inspection():
    root = make_ca("CN=Cato Networks Root CA")
    verdict, _ = assess([make_leaf("gitlab.corp", root)], host="gitlab.corp")
    assert verdict.inspected and verdict.vendor_id == "cato"


@pytest.mark.parametrize(
    ("host", "inspected"),
    [
        ("www.example.com", True),
        ("login.example.co.uk", True),
        ("wiki.corp.internal", False),
        ("printer.local", False),
        ("build.acme.corp", False),
        ("intranet", False),
        ("10.1.2.3", False),
        ("site.test", False),
    ],
)
def test_private_root_public_name_vs_internal_name(host, inspected):
    verdict, findings = assess([make_leaf(host, ACME_ROOT)], host=host)
    assert verdict.inspected is inspected
    assert verdict.vendor is None and verdict.confidence == "medium"
    if inspected:
        assert codes_of(findings) == {codes.INTERCEPTION_DETECTED: Severity.INFO}
        assert any("public name" in r for r in verdict.reasons)
    else:
        assert codes.INTERCEPTION_DETECTED not in codes_of(findings)
        assert any("internal PKI" in r for r in verdict.reasons)


def test_public_chain_is_direct_high_with_scts_medium_without():
    leaf = make_leaf("www.example.com", PUBLIC_ICA, scts=2)
    path = [leaf, PUBLIC_ICA.cert, PUBLIC_ROOT.cert]
    verdict, findings = assess([leaf, PUBLIC_ICA.cert], path, trusted_by=PUBLIC_TRUST)
    assert (verdict.inspected, verdict.confidence, verdict.public_root) == (False, "high", True)
    assert findings == []

    bare = make_leaf("www.example.com", PUBLIC_ICA, scts=0)
    verdict, _ = assess([bare, PUBLIC_ICA.cert], [bare, PUBLIC_ICA.cert, PUBLIC_ROOT.cert])
    assert verdict.inspected is False and verdict.confidence == "medium"
    assert any("no embedded SCTs" in r for r in verdict.reasons)


def test_public_root_known_by_fingerprint_alone_even_when_the_path_was_not_built():
    leaf = make_leaf("www.example.com", PUBLIC_ICA, scts=1)
    verdict, _ = assess(
        [leaf, PUBLIC_ICA.cert], [], trusted_by=NO_TRUST, public_roots=[PUBLIC_ROOT.cert]
    )
    assert verdict.inspected is False and verdict.public_root is True


def test_vendor_names_on_a_public_chain_are_ignored():
    """A public CA whose names look like a product is still a public chain."""
    root = make_ca("CN=Cloudflare Root,O=Cloudflare\\, Inc.,C=US")
    ica = make_ca(
        "OU=Gateway Intermediate ECC Certificate Authority,O=Cloudflare\\, Inc.", issuer=root
    )
    leaf = make_leaf("www.example.com", ica, scts=1)
    verdict, _ = assess_interception(
        [leaf, ica.cert],
        [leaf, ica.cert, root.cert],
        host="www.example.com",
        now=NOW,
        public_root_fingerprints=frozenset({fp(root.cert)}),
        trusted_by=PUBLIC_TRUST,
        platform="linux",
    )
    assert verdict.inspected is False and verdict.vendor is None


def test_public_looking_chain_without_scts_that_is_not_public_is_a_forgery():
    fake_root = make_ca("CN=ISRG Root X1,O=Internet Security Research Group,C=US", label="fake")
    fake_ica = make_ca("CN=R11,O=Let's Encrypt,C=US", issuer=fake_root)
    leaf = make_leaf("api.example.org", fake_ica)
    for host in ("api.example.org", "10.0.0.8"):
        verdict, _ = assess([leaf, fake_ica.cert], host=host)
        assert verdict.inspected, host
        assert any("claims 'Let's Encrypt'" in r for r in verdict.reasons)
    verdict, _ = assess([leaf, fake_ica.cert], host="api.example.org")
    assert verdict.confidence == "high"


def test_public_org_learned_from_the_public_roots():
    mimic = make_ca("CN=Test Public TLS CA 9,O=Test Public Trust,C=US", label="mimic")
    leaf = make_leaf("wiki.corp.internal", mimic)
    verdict, _ = assess([leaf], host="wiki.corp.internal", public_roots=[PUBLIC_ROOT.cert])
    assert verdict.inspected
    verdict, _ = assess([leaf], host="wiki.corp.internal")  # without the hint: internal PKI
    assert not verdict.inspected


def test_leaf_forged_minutes_ago_raises_confidence_and_says_so():
    leaf = make_leaf("news.example.com", ACME_ROOT, not_before=NOW - timedelta(minutes=4), days=7)
    verdict, _ = assess([leaf], host="news.example.com")
    assert verdict.inspected and verdict.confidence == "high"
    reason = next(r for r in verdict.reasons if "forged on the fly" in r)
    assert "4 minutes" in reason and "7 days" in reason


def test_self_signed_leaf_is_a_server_problem_not_a_proxy():
    self_signed = make_ca("CN=www.example.com", label="selfsigned")
    verdict, findings = assess([self_signed.cert], host="www.example.com", trusted_by=NO_TRUST)
    assert verdict.inspected is False and verdict.confidence == "low"
    assert any("self-signed" in r for r in verdict.reasons)
    assert codes.INTERCEPTION_DETECTED not in codes_of(findings)


def test_no_certificate():
    verdict, findings = assess([], [])
    assert verdict == Interception(
        inspected=False,
        vendor=None,
        vendor_id=None,
        confidence="low",
        reasons=("the server presented no certificate",),
        issuer="",
        root="",
    )
    assert findings == []


def test_expect_issuer_pass_and_fail():
    leaf = make_leaf("www.example.com", ZS_ICA)
    chain = [leaf, ZS_ICA.cert]
    verdict, findings = assess(chain, expect_issuer="zscaler")
    assert all(f.severity is not Severity.ERROR for f in findings)
    assert any("--expect-issuer" in r for r in verdict.reasons)

    _, findings = assess(chain, expect_issuer="Netskope|Cato")
    errors = [f for f in findings if f.severity is Severity.ERROR]
    assert len(errors) == 1
    assert errors[0].code == codes.INTERCEPTION_DETECTED
    assert errors[0].title == "issuer is not the expected one"
    assert errors[0].evidence["expected"] == "Netskope|Cato"

    with pytest.raises(ValueError, match="not a valid regular expression"):
        assess(chain, expect_issuer="Zscaler (")


def test_expect_fingerprint_pass_fail_and_format():
    leaf = make_leaf("www.example.com", ZS_ICA)
    chain = [leaf, ZS_ICA.cert]
    path = [*chain, ZS_ROOT.cert]
    for pin in (fp(leaf), fp(ZS_ROOT.cert).upper(), "sha256:" + fp(ZS_ICA.cert)):
        _, findings = assess(chain, path, expect_fingerprint=pin)
        assert all(f.severity is not Severity.ERROR for f in findings), pin
    _, findings = assess(chain, path, expect_fingerprint="00" * 32)
    errors = [f for f in findings if f.severity is Severity.ERROR]
    assert [e.title for e in errors] == [
        "issuer is not the expected one: the pinned certificate is missing"
    ]
    assert errors[0].evidence["leaf_sha256"] == fp(leaf)
    with pytest.raises(ValueError, match="64 hex digits"):
        assess(chain, expect_fingerprint="abcd")


def test_normalize_fingerprint():
    colon = ":".join(["AB"] * 32)
    assert normalize_fingerprint(colon) == "ab" * 32
    assert normalize_fingerprint(" sha256=" + "CD" * 32) == "cd" * 32


def direct_public(days_old: int = 40, lifetime: int = 90):
    leaf = make_leaf(
        "www.example.com",
        PUBLIC_ICA,
        scts=1,
        not_before=NOW - timedelta(days=days_old),
        days=lifetime,
    )
    return [leaf, PUBLIC_ICA.cert], [leaf, PUBLIC_ICA.cert, PUBLIC_ROOT.cert]


@pytest.mark.parametrize(
    ("platform", "vendor", "expected"),
    [
        ("linux", "cato", True),
        ("android", "cato", True),
        ("unknown", "cato", True),
        ("windows", "cato", False),
        ("macos", "cato", False),
        ("linux", "zscaler", False),
    ],
)
def test_default_bypass_platform(platform, vendor, expected):
    presented, path = direct_public()
    _, findings = assess(
        presented, path, trusted_by=PUBLIC_TRUST, platform=platform, configured_vendors=[vendor]
    )
    assert (codes.PLATFORM_DEFAULT_BYPASS in codes_of(findings)) is expected
    if expected:
        finding = findings[0]
        assert finding.severity is Severity.INFO
        assert "Cato Networks does not inspect" in finding.detail
        assert finding.evidence["platform"] == platform


def test_default_bypass_from_expect_issuer_with_the_failed_expectation():
    presented, path = direct_public()
    _, findings = assess(
        presented, path, trusted_by=PUBLIC_TRUST, platform="linux", expect_issuer="Cato"
    )
    found = codes_of(findings)
    # a direct chain that misses the expectation is not a detected interception (issue 11)
    assert found == {
        codes.ISSUER_UNEXPECTED: Severity.ERROR,
        codes.PLATFORM_DEFAULT_BYPASS: Severity.INFO,
    }
    bypass = next(f for f in findings if f.code == codes.PLATFORM_DEFAULT_BYPASS)
    assert "cannot pass" in bypass.detail
    assert "The public issuer" in bypass.detail


def test_default_bypass_with_a_private_issuer_does_not_call_it_public():
    leaf = make_leaf("wiki.corp.internal", make_ca("CN=Acme Corp Root CA,O=Acme", label="acme9"))
    _, findings = assess([leaf], host="wiki.corp.internal", platform="linux", expect_issuer="Cato")
    bypass = next(f for f in findings if f.code == codes.PLATFORM_DEFAULT_BYPASS)
    assert "public issuer" not in bypass.detail
    assert "not a public CA" in bypass.detail
    assert codes_of(findings)[codes.ISSUER_UNEXPECTED] is Severity.ERROR


def test_no_default_bypass_finding_when_inspected():
    leaf = make_leaf("www.example.com", make_ca("CN=Cato Networks Root CA", label="cato2"))
    _, findings = assess([leaf], platform="linux", configured_vendors=["cato"])
    assert codes.PLATFORM_DEFAULT_BYPASS not in codes_of(findings)


@pytest.mark.parametrize(
    ("days_old", "lifetime", "expected"),
    [(2, 90, True), (6, 90, True), (30, 90, False), (1, 6, False)],
)
def test_newly_published_leaf_seen_directly(days_old, lifetime, expected):
    presented, path = direct_public(days_old, lifetime)
    _, findings = assess(presented, path, trusted_by=PUBLIC_TRUST)
    assert (codes.DOMAIN_NEWLY_PUBLISHED in codes_of(findings)) is expected
    if expected:
        finding = next(f for f in findings if f.code == codes.DOMAIN_NEWLY_PUBLISHED)
        assert finding.severity is Severity.WARNING
        assert finding.evidence["age_days"] == str(days_old)


def test_newly_published_is_not_judged_on_a_forged_leaf():
    leaf = make_leaf("www.example.com", ZS_ICA, not_before=NOW - timedelta(days=1))
    _, findings = assess([leaf, ZS_ICA.cert])
    assert codes.DOMAIN_NEWLY_PUBLISHED not in codes_of(findings)


def test_to_dict_carries_the_documented_keys():
    leaf = make_leaf("www.example.com", ZS_ICA)
    verdict, _ = assess([leaf, ZS_ICA.cert])
    data = verdict.to_dict()
    for key in ("inspected", "vendor", "confidence", "reasons", "issuer", "root", "vendor_id"):
        assert key in data
    assert data["tls_inspection"] == 1 and isinstance(data["reasons"], list)


@pytest.mark.parametrize(
    ("host", "kind"),
    [
        ("www.example.com", "public"),
        ("foo.github.io", "public"),
        ("example.co.uk.", "public"),
        ("host.local", "internal"),
        ("svc.cluster.internal", "internal"),
        ("fileserver", "internal"),
        ("app.home.arpa", "internal"),
        ("thing.nosuchtld", "internal"),
        ("192.168.1.1", "ip"),
        ("::1", "ip"),
        ("[2001:db8::1]", "ip"),
    ],
)
def test_classify_host(host, kind):
    assert classify_host(host) == kind


def test_sct_count_reads_embedded_scts():
    assert sct_count(make_leaf("a.example.com", PUBLIC_ICA, scts=3)) == 3
    assert sct_count(make_leaf("a.example.com", PUBLIC_ICA)) == 0


def test_installed_vendors_finds_inspection_roots_among_trusted_roots():
    found = installed_vendors([PUBLIC_ROOT.cert, ZS_ROOT.cert, ACME_ROOT.cert])
    assert [vid for vid, _ in found] == ["zscaler"]


def test_tlsdiags_own_proxy_ca_is_recognised():
    from tlsdiag.proxy.ca import create_ca

    cert, key = create_ca(now=NOW, machine="helpdesk-laptop")
    leaf = make_leaf("www.example.com", Issued(cert, key))
    verdict, _ = assess([leaf], [leaf, cert])
    assert verdict.inspected and verdict.vendor_id == "tlsdiag" and verdict.kind == "tlsdiag"
