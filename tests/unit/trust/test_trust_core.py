"""The pure matrix builder and findings of ``tlsdiag.core.trust`` on hand-built store readings."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from tlsdiag import codes
from tlsdiag.core.certbuild import new_key
from tlsdiag.core.trust.clock import clock_check
from tlsdiag.core.trust.findings import duplicate_findings, matrix_findings
from tlsdiag.core.trust.fixes import DEFAULT_BUNDLE
from tlsdiag.core.trust.health import root_health_findings, strict_x509_problems
from tlsdiag.core.trust.matrix import build_matrix
from tlsdiag.core.trust.records import FixText, SourceReading, StoreCert, StoreReading
from tlsdiag.core.trust.roots import (
    RootInfo,
    certs_by_subject,
    issuer_candidates,
    match_fingerprint,
    private_os_roots,
    public_roots_from,
    root_info,
)
from tlsdiag.core.trust.store_gap import (
    store_gap_summary,
    store_mismatch_finding,
    tools_failing_for,
)
from tlsdiag.lab.pki import make_leaf
from tlsdiag.model import Severity
from tlsdiag.stores.readers import store_cert

from helpers.trust_machine import (
    NOW,
    ca,
    clean_trust_env,  # noqa: F401 - autouse: clears trust env vars
    der,
    public_roots,
)


def sc(issued, **kw) -> StoreCert:
    cert = store_cert(der(issued))
    assert cert is not None
    return replace(cert, **kw) if kw else cert


def reading(store_id: str, *sources: SourceReading, **kw) -> StoreReading:
    kw.setdefault("name", store_id)
    kw.setdefault("kind", "tool")
    kw.setdefault("default_source", "own")
    kw.setdefault("present", True)
    return StoreReading(id=store_id, sources=tuple(sources), **kw)


def file_source(*certs: StoreCert, **kw) -> SourceReading:
    kw.setdefault("kind", "path")
    kw.setdefault("label", "/etc/bundle.pem")
    kw.setdefault("path", "/etc/bundle.pem")
    return SourceReading(certs=certs, **kw)


@pytest.fixture(scope="module")
def root():
    return ca("Acme Inspection Root")


@pytest.fixture(scope="module")
def public():
    return public_roots_from(sc(p) for p in public_roots())


def os_reading(*certs: StoreCert, **kw) -> StoreReading:
    return reading(
        "os-debian",
        file_source(*certs, label="/etc/ssl/certs/ca-certificates.crt",
                    path="/etc/ssl/certs/ca-certificates.crt"),
        provides_os=True,
        kind="os",
        fix=FixText(steps=("sudo cp ${ROOT_PEM} /usr/local/share/ca-certificates/${ROOT_ALIAS}.crt",
                           "sudo update-ca-certificates"), scope="system"),
        **kw,
    )  # fmt: skip


def pubs() -> list[StoreCert]:
    return [sc(p) for p in public_roots()]


def test_trusted_missing_and_fix_rendering(root, public):
    info = root_info(root.cert, pem_path="/tmp/acme.pem")
    readings = [
        os_reading(*pubs(), sc(root)),
        reading(
            "python-requests",
            file_source(*pubs(), label="$REQUESTS_CA_BUNDLE=/x/b.pem", path="/x/b.pem",
                        kind="env", replaces_default=True),
            fix=FixText(steps=('cat ${ROOT_PEM} >> "${STORE_PATH}"',), note="keep ${BUNDLE_PEM}"),
            variables={"STORE_PATH": "/x/b.pem"},
        ),
    ]  # fmt: skip
    rows = {r.id: r for r in build_matrix(info, readings, public, NOW)}
    assert rows["os-debian"].trusts_root is True
    assert rows["os-debian"].fix is None  # no fix for a store that works
    req = rows["python-requests"]
    assert (req.trusts_root, req.status) == (False, "missing")
    assert req.overridden_by == ("$REQUESTS_CA_BUNDLE",)
    assert req.fix is not None
    assert req.fix["steps"] == ['cat /tmp/acme.pem >> "/x/b.pem"']
    assert req.fix["note"] == f"keep {DEFAULT_BUNDLE}"
    findings = matrix_findings(info, list(rows.values()))
    assert [f.code for f in findings] == [codes.CLIENT_STORE_MISMATCH]
    assert findings[0].severity is Severity.ERROR
    assert findings[0].evidence["store"] == "python-requests"
    assert "cat /tmp/acme.pem" in findings[0].remediation


def test_no_store_trusts_gives_one_root_not_trusted(root, public):
    info = root_info(root.cert)
    readings = [os_reading(*pubs()), reading("certifi", file_source(*pubs()))]
    rows = build_matrix(info, readings, public, NOW)
    findings = matrix_findings(info, rows)
    assert [f.code for f in findings] == [codes.CLIENT_ROOT_NOT_TRUSTED]
    assert "os-debian, certifi" in findings[0].evidence["stores"]
    assert "acme-inspection-root.crt" in findings[0].remediation  # the OS fix, alias from CN


def test_absent_store_is_not_a_failure(root, public):
    info = root_info(root.cert)
    readings = [os_reading(*pubs(), sc(root)), reading("java", present=False)]
    rows = {r.id: r for r in build_matrix(info, readings, public, NOW)}
    assert rows["java"].present is False
    assert rows["java"].trusts_root is None
    assert rows["java"].status == "absent"
    assert matrix_findings(info, list(rows.values())) == []


def test_present_untrusted_unknown_and_disabled(root, public):
    info = root_info(root.cert)
    untrusted = sc(root, trusted=False, why_untrusted="no trust flags")
    readings = [
        os_reading(*pubs(), sc(root)),
        reading("firefox", file_source(untrusted)),
        reading("java", file_source(error="cacerts: permission denied")),
        reading("conda", SourceReading(kind="config", label="ssl_verify=false", disabled=True)),
    ]
    rows = {r.id: r for r in build_matrix(info, readings, public, NOW)}
    assert (rows["firefox"].trusts_root, rows["firefox"].status) == (False, "present-untrusted")
    assert rows["firefox"].detail == "no trust flags"
    assert (rows["java"].trusts_root, rows["java"].status) == (None, "unreadable")
    assert (rows["conda"].trusts_root, rows["conda"].status) == (None, "verification-disabled")
    codes_seen = [f.evidence.get("store") for f in matrix_findings(info, list(rows.values()))]
    assert codes_seen == ["firefox"]  # unknown stores are not failures


def test_delegation_to_os_and_union(root, public):
    info = root_info(root.cert)
    readings = [
        os_reading(*pubs(), sc(root)),
        reading("docker", SourceReading(kind="delegate", label="uses os", delegate_to=("os",))),
        reading(
            "node",
            SourceReading(kind="builtin", label="built-in", public_only=True),
            file_source(sc(root), kind="env", label="$NODE_EXTRA_CA_CERTS=/r.pem", extends=True),
        ),
        reading("node2", SourceReading(kind="builtin", label="built-in", public_only=True)),
    ]
    rows = {r.id: r for r in build_matrix(info, readings, public, NOW)}
    assert rows["docker"].trusts_root is True
    assert "os-debian" in rows["docker"].location
    assert rows["node"].trusts_root is True  # union: the extra file holds it
    assert rows["node"].overridden_by == ("$NODE_EXTRA_CA_CERTS",)
    assert rows["node2"].trusts_root is False  # a public-only list never holds a private root


def test_delegation_follows_a_missing_os_root(root, public):
    info = root_info(root.cert)
    readings = [
        os_reading(*pubs()),
        reading("docker", SourceReading(kind="delegate", label="uses os", delegate_to=("os",)),
                fix=FixText(steps=("@os-fix", "sudo systemctl restart docker"))),
        reading("certifi", file_source(sc(root))),
    ]  # fmt: skip
    rows = {r.id: r for r in build_matrix(info, readings, public, NOW)}
    assert rows["docker"].trusts_root is False
    docker_fix = rows["docker"].fix
    assert docker_fix is not None
    assert docker_fix["steps"] == [
        "sudo cp acme-inspection-root.pem "
        "/usr/local/share/ca-certificates/acme-inspection-root.crt",
        "sudo update-ca-certificates",
        "sudo systemctl restart docker",
    ]


def test_override_pointing_at_os_bundle_gets_the_os_fix(root, public):
    info = root_info(root.cert)
    readings = [
        os_reading(*pubs()),
        reading(
            "curl",
            file_source(*pubs(), kind="env", path="/etc/ssl/certs/ca-certificates.crt",
                        label="$CURL_CA_BUNDLE=/etc/ssl/certs/ca-certificates.crt",
                        replaces_default=True),
            fix=FixText(steps=('cat ${ROOT_PEM} >> "${STORE_PATH}"',)),
        ),
        reading("certifi", file_source(sc(root))),
    ]  # fmt: skip
    row = {r.id: r for r in build_matrix(info, readings, public, NOW)}["curl"]
    assert row.fix is not None
    assert row.fix["steps"][-1] == "sudo update-ca-certificates"
    assert row.fix["note"] == "$CURL_CA_BUNDLE points at the OS bundle"


def test_override_without_public_roots_is_incomplete(root, public):
    info = root_info(root.cert)
    readings = [
        os_reading(*pubs(), sc(root)),
        reading(
            "git",
            file_source(sc(root), kind="env", label="$GIT_SSL_CAINFO=/r.pem", path="/r.pem",
                        replaces_default=True),
            fix=FixText(steps=("x",)),
        ),
    ]  # fmt: skip
    rows = {r.id: r for r in build_matrix(info, readings, public, NOW)}
    git = rows["git"]
    assert git.trusts_root is True
    assert git.status == "override-incomplete"
    assert "bypassed" in git.detail
    assert git.fix is not None
    assert git.fix["steps"] == [
        'cat "/etc/ssl/certs/ca-certificates.crt" >> "/r.pem"   # add the public roots'
    ]
    assert "$GIT_SSL_CAINFO" in git.fix["note"]
    findings = matrix_findings(info, list(rows.values()))
    assert [(f.code, f.severity) for f in findings] == [
        (codes.CLIENT_STORE_MISMATCH, Severity.WARNING)
    ]


def test_rotated_root_same_name_other_key(root, public):
    info = root_info(root.cert)
    old = ca("Acme Inspection Root")  # same name and org, another key
    readings = [os_reading(*pubs(), sc(root)), reading("java", file_source(sc(old)))]
    rows = {r.id: r for r in build_matrix(info, readings, public, NOW)}
    assert (rows["java"].trusts_root, rows["java"].status) == (False, "rotated")
    findings = matrix_findings(info, list(rows.values()))
    assert findings[0].code == codes.CLIENT_ROOT_NOT_TRUSTED
    assert "rotated" in findings[0].title
    dups = duplicate_findings(info, readings)
    assert len(dups) == 1 and dups[0].severity is Severity.WARNING
    assert "java" in next(iter(dups[0].evidence.values()))


def test_same_key_reissued_root_counts_and_expired_copy_does_not(root, public):
    info = root_info(root.cert)
    reissued = ca("Acme Inspection Root", key=root.key)
    expired = ca(
        "Acme Inspection Root", key=root.key,
        not_before=NOW - timedelta(days=400), not_after=NOW - timedelta(days=30),
    )  # fmt: skip
    readings = [
        os_reading(*pubs(), sc(reissued)),
        reading("java", file_source(sc(expired))),
    ]
    rows = {r.id: r for r in build_matrix(info, readings, public, NOW)}
    assert rows["os-debian"].trusts_root is True
    assert "same key" in rows["os-debian"].detail
    assert (rows["java"].trusts_root, rows["java"].status) == (False, "present-expired")


def test_anchor_dropped_but_update_not_run(root, public):
    info = root_info(root.cert)
    anchor = sc(root, where="/usr/local/share/ca-certificates/acme.crt")
    readings = [
        os_reading(*pubs(), anchors=(anchor,), anchor_update="sudo update-ca-certificates"),
        reading("certifi", file_source(sc(root))),
    ]
    row = {r.id: r for r in build_matrix(info, readings, public, NOW)}["os-debian"]
    assert (row.trusts_root, row.status) == (False, "anchor-not-applied")
    assert row.fix == {"steps": ["sudo update-ca-certificates"], "scope": "system", "note": ""}
    assert "acme.crt" in row.detail


def test_root_selection_helpers(root, public):
    other = ca("Zscaler Root CA")
    readings = [
        os_reading(*pubs(), sc(root), sc(other)),
        reading("java", file_source(sc(public_roots()[0])), present=True),
    ]
    private = private_os_roots(readings, public)
    assert {c.subject for c in private} == {
        root.cert.subject.rfc4514_string(),
        other.cert.subject.rfc4514_string(),
    }
    assert [c.sha256 for c in match_fingerprint(readings, sc(other).sha256.upper())] == [
        sc(other).sha256
    ]
    assert match_fingerprint(readings, sc(other).spki_sha256)  # the key's fingerprint works too
    assert [c.subject for c in certs_by_subject(readings, "zscaler*ca", public)] == [
        other.cert.subject.rfc4514_string()
    ]
    assert certs_by_subject(readings, "no such root", public) == []


def test_issuer_candidates_finds_signer_and_namesakes(root):
    inter = ca("Acme Issuing CA", issuer=root)
    old = ca("Acme Inspection Root")
    readings = [os_reading(sc(old), sc(root))]
    signers, namesakes = issuer_candidates(inter.cert, readings)
    assert [c.sha256 for c in signers] == [sc(root).sha256]
    assert [c.sha256 for c in namesakes] == [sc(old).sha256]


# ------------------------------------------------------------------------------ root health


def _codes(findings):
    return [(f.code, f.severity) for f in findings]


def test_root_health_clean_root_has_no_findings(root):
    assert root_health_findings(root_info(root.cert), NOW) == []


def test_root_expiry_warned_ahead_and_expired():
    soon = ca("Soon Root", not_after=NOW + timedelta(days=40))
    gone = ca("Gone Root", not_before=NOW - timedelta(days=90), not_after=NOW - timedelta(days=1))
    far = ca("Far Root", not_after=NOW + timedelta(days=400))
    assert _codes(root_health_findings(root_info(soon.cert), NOW)) == [
        (codes.SERVER_CERT_EXPIRED, Severity.WARNING)
    ]
    assert _codes(root_health_findings(root_info(gone.cert), NOW)) == [
        (codes.SERVER_CERT_EXPIRED, Severity.ERROR)
    ]
    assert root_health_findings(root_info(far.cert), NOW) == []


def test_weak_key_and_strict_x509_problems():
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    from cryptography.x509.oid import NameOID

    key = new_key("rsa", 1024)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Lax Root")])
    lax = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(NOW - timedelta(days=1))
        .not_valid_after(NOW + timedelta(days=3650))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=False)
        .sign(key, hashes.SHA256())
    )
    problems = strict_x509_problems(lax)
    assert "basicConstraints is not marked critical" in problems
    assert "no keyUsage extension" in problems
    assert "no subjectKeyIdentifier" in problems
    found = _codes(root_health_findings(root_info(lax), NOW))
    assert (codes.SERVER_WEAK_KEY, Severity.ERROR) in found
    assert (codes.CLIENT_STORE_MISMATCH, Severity.WARNING) in found


def test_root_that_did_not_sign_the_presented_chain(root):
    other = ca("Acme Inspection Root")  # the rotated one
    inter = ca("Acme Issuing CA", issuer=other)
    leaf = make_leaf(inter, now=NOW, names=["example.test"])
    found = root_health_findings(root_info(root.cert), NOW, presented=[leaf.cert, inter.cert])
    assert [f.code for f in found] == [codes.CLIENT_ROOT_NOT_TRUSTED]
    assert "did not sign" in found[0].title
    # the right root: no finding
    assert root_health_findings(root_info(other.cert), NOW, presented=[leaf.cert, inter.cert]) == []


def test_unknown_root_with_namesakes_is_reported_as_rotation(root):
    info = RootInfo(subject=root.cert.subject.rfc4514_string())
    inter = ca("Acme Issuing CA", issuer=ca("Acme Inspection Root"))
    found = root_health_findings(info, NOW, presented=[inter.cert], namesakes=[sc(root)])
    assert [f.code for f in found] == [codes.CLIENT_ROOT_NOT_TRUSTED]
    assert "another key" in found[0].detail


# ------------------------------------------------------------------------ check integration


def test_store_gap_summary_os_only():
    gap = store_gap_summary(root_in_os=True, root_in_certifi=False)
    assert "requests" in gap.failing
    assert "node" in gap.failing
    assert "AWS CLI" not in gap.working
    assert "curl" in gap.working and "git" in gap.working
    assert "curl" not in gap.failing
    assert {"certifi", "python-requests", "node", "aws-cli"} <= set(gap.store_ids)
    assert "java" in gap.unknown
    assert "OS store but not against certifi" in gap.detail
    assert tools_failing_for(True, False) == list(gap.failing)


def test_store_gap_summary_per_platform():
    linux = store_gap_summary(root_in_os=True, root_in_certifi=False, platform="linux")
    windows = store_gap_summary(root_in_os=True, root_in_certifi=False, platform="windows")
    assert "Firefox" in linux.failing  # its own NSS database on Linux
    assert "Firefox" in windows.working  # enterprise roots from the Windows store
    assert "chrome-nss" in linux.store_ids and "chrome-nss" not in windows.store_ids


def test_store_gap_summary_both_or_neither():
    assert store_gap_summary(root_in_os=True, root_in_certifi=True).failing == ()
    both_missing = store_gap_summary(root_in_os=False, root_in_certifi=False)
    assert "curl" in both_missing.failing and "requests" in both_missing.failing
    assert store_mismatch_finding(root_in_os=True, root_in_certifi=True) is None
    f = store_mismatch_finding(root_in_os=True, root_in_certifi=False, root_subject="CN=X")
    assert f is not None and f.code == codes.CLIENT_STORE_MISMATCH
    assert "requests" in f.evidence["failing_tools"]


# ---------------------------------------------------------------------------------- clock


@pytest.mark.parametrize(
    ("offset", "expected"),
    [
        (0, []),
        (240, []),
        (-600, [(codes.CLIENT_CLOCK_SKEW, Severity.WARNING)]),
        (7200, [(codes.CLIENT_CLOCK_SKEW, Severity.ERROR)]),
    ],
)
def test_clock_thresholds(offset, expected):
    from email.utils import format_datetime

    local = NOW.replace(microsecond=0)
    server = format_datetime(local - timedelta(seconds=offset), usegmt=True)
    facts, findings = clock_check(
        local_utc=local, server_date=server, host="h:443", tz_name="CET", utc_offset_seconds=3600
    )
    assert facts["skew_seconds"] == pytest.approx(offset)
    assert facts["utc_offset"] == "+01:00" and facts["time_zone"] == "CET"
    assert _codes(findings) == expected
    if findings:
        assert ("ahead of" if offset > 0 else "behind") in findings[0].detail


def test_clock_without_or_with_bad_date():
    facts, findings = clock_check(
        local_utc=NOW, server_date="", host="h", tz_name="UTC", utc_offset_seconds=-16200
    )
    assert findings == [] and facts["error"] and facts["utc_offset"] == "-04:30"
    facts, findings = clock_check(
        local_utc=NOW, server_date="yesterday", host="h", tz_name="UTC", utc_offset_seconds=0
    )
    assert findings == [] and "unparseable" in facts["error"]


def test_strict_x509_problems_of_the_presented_chain(root):
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes

    leaf_key = new_key()
    name = x509.Name.from_rfc4514_string("CN=minted.example")
    minted = (  # what a careless proxy mints: no AKI
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(root.cert.subject)
        .public_key(leaf_key.public_key())
        .serial_number(7)
        .not_valid_before(NOW - timedelta(days=1))
        .not_valid_after(NOW + timedelta(days=30))
        .sign(root.key, hashes.SHA256())
    )
    found = root_health_findings(root_info(root.cert), NOW, presented=[minted])
    assert [(f.code, f.severity) for f in found] == [
        (codes.CLIENT_STORE_MISMATCH, Severity.WARNING)
    ]
    assert "CN=minted.example: no authorityKeyIdentifier" in found[0].evidence["problems"]
    good = make_leaf(root, now=NOW, names=["ok.example"])
    assert root_health_findings(root_info(root.cert), NOW, presented=[good.cert]) == []
