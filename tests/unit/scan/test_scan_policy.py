"""Judging a scan: policy findings, client negotiation, check's short form (no sockets)."""

from __future__ import annotations

from tlsdiag import codes
from tlsdiag.core.findings import make_finding
from tlsdiag.core.scan_policy import ScanPolicy, negotiate, policy_findings, short_form_findings
from tlsdiag.core.scan_result import ScanResult, VersionScan
from tlsdiag.kb.scan import ClientProfile, cipher_levels, client_profiles
from tlsdiag.model import ProbeFailure

GCM = "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"
CBC = "TLS_RSA_WITH_AES_128_CBC_SHA"


def _scan(*versions: VersionScan) -> ScanResult:
    names = {v.version for v in versions}
    rest = [VersionScan(n, False, answer="alert protocol_version") for n in
            ("SSLv3", "TLSv1.0", "TLSv1.1", "TLSv1.2", "TLSv1.3") if n not in names]  # fmt: skip
    order = {"SSLv3": 0, "TLSv1.0": 1, "TLSv1.1": 2, "TLSv1.2": 3, "TLSv1.3": 4}
    allv = sorted([*versions, *rest], key=lambda v: order[v.version])
    return ScanResult("h:443", "10.0.0.1", "h", tuple(allv))


def _profile(pid: str) -> ClientProfile:
    return next(p for p in client_profiles() if p.id == pid)


def test_only_old_versions_names_them_and_what_is_missing() -> None:
    scan = _scan(VersionScan("TLSv1.0", True, (CBC,)), VersionScan("TLSv1.1", True, (CBC,)))
    (f,) = policy_findings(scan, ScanPolicy("the policy"))
    assert f.code == codes.LEGACY_PROTOCOL_VERSION
    assert f.title == "The server speaks only TLS 1.0 and TLS 1.1"
    assert f.evidence["missing_versions"] == "TLSv1.2, TLSv1.3"
    assert "older" in f.detail


def test_policy_max_below_the_server() -> None:
    scan = _scan(VersionScan("TLSv1.3", True, ("TLS_AES_128_GCM_SHA256",)))
    (f,) = policy_findings(
        scan, ScanPolicy("old box", min_version="TLSv1.0", max_version="TLSv1.2")
    )
    assert f.title == "The server speaks only TLS 1.3" and "newer" in f.detail


def test_weak_suites_only_names_them() -> None:
    scan = _scan(VersionScan("TLSv1.2", True, (CBC, "TLS_RSA_WITH_AES_256_CBC_SHA")))
    strong = ScanPolicy("the policy", level=cipher_levels()["strong"])
    (f,) = policy_findings(scan, strong)
    assert f.code == codes.LEGACY_CIPHER_SUITE
    assert CBC in f.title
    assert GCM in f.evidence["missing_suites"]
    assert policy_findings(scan, ScanPolicy("p", level=cipher_levels()["medium"])) == []


def test_null_and_anonymous_suites_never_count() -> None:
    scan = _scan(
        VersionScan(
            "TLSv1.2", True, ("TLS_RSA_WITH_NULL_SHA256", "TLS_DH_anon_WITH_AES_128_GCM_SHA256")
        )
    )
    (f,) = policy_findings(scan, ScanPolicy("p", level=cipher_levels()["weak"]))
    assert f.code == codes.LEGACY_CIPHER_SUITE


def test_failure_becomes_its_finding() -> None:
    failure = ProbeFailure(codes.NETWORK_NOT_TLS, "handshake", "the server answered with junk", "x")
    scan = ScanResult("h:443", "10.0.0.1", "h", (), failure=failure)
    (f,) = policy_findings(scan, ScanPolicy("p"))
    assert f.code == codes.NETWORK_NOT_TLS and f.detail == "The server answered with junk."


def test_negotiate_server_order_and_client_order() -> None:
    v = VersionScan("TLSv1.2", True, (CBC, GCM), server_order=True)
    row = negotiate(_scan(v), _profile("chrome"))
    assert row["connects"] and row["suite"] == CBC
    v = VersionScan("TLSv1.2", True, (CBC, GCM), server_order=False)
    assert negotiate(_scan(v), _profile("chrome"))["suite"] == GCM


def test_windows7_cannot_reach_ecdhe_rsa_gcm_only() -> None:
    v = VersionScan("TLSv1.2", True, (GCM, "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384"))
    row = negotiate(_scan(v), _profile("schannel-win7"))
    assert not row["connects"] and "no cipher suite in common" in row["reason"]
    assert negotiate(_scan(v), _profile("schannel-win10"))["connects"]


def test_group_mismatch_blocks_tls13() -> None:
    v = VersionScan(
        "TLSv1.3", True, ("TLS_AES_128_GCM_SHA256",), groups=("ffdhe2048",), groups_checked=True
    )
    row = negotiate(_scan(v), _profile("chrome"))
    assert not row["connects"] and "group" in row["reason"]
    assert negotiate(_scan(v), _profile("java17"))["connects"]


def test_short_form_replaces_the_generic_finding_and_keeps_evidence() -> None:
    base = [
        make_finding(
            codes.LEGACY_PROTOCOL_VERSION,
            detail="x",
            evidence={"alerts_received": "fatal protocol_version"},
        ),
    ]
    scan = _scan(VersionScan("TLSv1.0", True, (CBC,)))
    (f,) = short_form_findings(scan, base)
    assert f.title == "The server speaks only TLS 1.0"
    assert f.evidence["alerts_received"] == "fatal protocol_version"
    # negative control: a scan that shows nothing missing keeps the base findings
    ok = _scan(VersionScan("TLSv1.2", True, (GCM,)))
    assert short_form_findings(ok, base) == base
