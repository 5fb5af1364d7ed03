"""Every lab case, checked for real over TLS on 127.0.0.1, reports its finding codes."""

from __future__ import annotations

import pytest

from tlsdiag import codes
from tlsdiag.commands.check import CheckOutcome, run_check, run_checks
from tlsdiag.commands.demo import options_for
from tlsdiag.core.target import parse_target
from tlsdiag.lab.cases import CASES, Lab
from tlsdiag.model import Severity

pytestmark = pytest.mark.integration


def _check(lab: Lab, name: str) -> CheckOutcome:
    case = lab.cases[name]
    return run_check(parse_target(case.target), options_for(lab, [case], timeout=3.0))


def _errors(outcome: CheckOutcome) -> set[str]:
    return {f.code for f in outcome.report.findings if f.severity is Severity.ERROR}


@pytest.mark.parametrize("spec", CASES, ids=[c.name for c in CASES])
def test_lab_case_reports_expected_codes(lab: Lab, spec: object) -> None:
    outcome = _check(lab, spec.name)  # type: ignore[attr-defined]
    assert _errors(outcome) == set(spec.expect), outcome.report.to_dict()["findings"]  # type: ignore[attr-defined]


def test_good_case_records_the_handshake(lab: Lab) -> None:
    out = _check(lab, "good")
    facts = out.report.facts
    assert facts["handshake"]["version"] == "TLSv1.3"
    assert facts["handshake"]["alpn"] == "http/1.1"
    assert facts["handshake"]["sni"] == "good.lab.test"
    assert facts["handshake"]["certificates_sent"] == 2
    assert facts["dns"]["source"] == "--resolve"
    assert facts["http"]["status"] == 200 and facts["http"]["date"]
    assert facts["trust"]["--cafile"]["trusted"] is True
    assert facts["trust"]["public (certifi)"]["trusted"] is False
    assert [c["subject"].split("CN=")[-1] for c in facts["chain"]] == [
        "good.lab.test",
        "Lab Test Intermediate CA",
    ]
    assert facts["interception"]["inspected"] is False
    assert facts["revocation"][0]["status"] == "good"


def test_without_cafile_the_lab_root_is_untrusted(lab: Lab) -> None:
    from dataclasses import replace

    case = lab.cases["good"]
    opts = replace(options_for(lab, [case], timeout=3.0), cafile=None)
    out = run_check(parse_target(case.target), opts)
    assert codes.SERVER_CHAIN_INCOMPLETE in _errors(out) or codes.SERVER_UNTRUSTED_ROOT in _errors(
        out
    )


def test_incomplete_chain_is_completed_from_aia(lab: Lab) -> None:
    out = _check(lab, "incomplete-chain")
    f = next(f for f in out.report.findings if f.code == codes.SERVER_CHAIN_INCOMPLETE)
    assert "/issuer/intermediate.der" in f.evidence["fetched"]
    assert f.evidence["verifies_with_fetched"] == "--cafile"
    assert "curl" in f.evidence["clients_that_fail"] and "Chrome" in f.evidence["clients_that_work"]
    sources = [p["source"] for p in out.report.facts["path"]]
    assert sources[0] == "sent" and sources[1].startswith("fetched (AIA")


def test_tls10_names_the_version(lab: Lab) -> None:
    out = _check(lab, "tls10")
    f = next(f for f in out.report.findings if f.code == codes.LEGACY_PROTOCOL_VERSION)
    # the short form of probe --scan names the versions the server speaks
    assert f.title == "The server speaks only TLS 1.0"
    assert f.evidence["server_versions"] == "TLSv1.0"
    assert f.evidence["missing_versions"] == "TLSv1.2, TLSv1.3"
    assert out.report.facts["handshake"]["settings"] == "legacy"


def test_client_cert_request_is_recorded(lab: Lab) -> None:
    out = _check(lab, "client-cert")
    hs = out.report.facts["handshake"]
    assert hs["client_certificate_requested"] is True
    # Python's ssl servers send no CA names; the names are tested against openssl s_server
    good = _check(lab, "good").report.facts["handshake"]
    assert good["client_certificate_requested"] is False


def test_revoked_has_reason_and_date(lab: Lab) -> None:
    out = _check(lab, "revoked")
    f = next(f for f in out.report.findings if f.code == codes.SERVER_REVOKED)
    text = f.detail + " " + " ".join(f.evidence.values())
    assert "key" in text.lower() and "compromise" in text.lower()


def test_not_tls_shows_first_bytes(lab: Lab) -> None:
    out = _check(lab, "not-tls")
    f = next(f for f in out.report.findings if f.code == codes.NETWORK_NOT_TLS)
    assert "HTTP/1.1 400" in f.evidence["detail"]


def test_dns_failure_and_connect_refused(lab: Lab) -> None:
    from tlsdiag.commands.check import CheckOptions
    from tlsdiag.net.probe import ProbeOptions

    opts = CheckOptions(probe=ProbeOptions(timeout=2.0))
    out = run_check(parse_target("does-not-exist.invalid"), opts)
    assert _errors(out) == {codes.NETWORK_DNS_FAILURE}
    import socket

    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()  # nothing listens there now
    out = run_check(parse_target(f"127.0.0.1:{port}"), opts)
    assert _errors(out) == {codes.NETWORK_CONNECT_FAILED}
    assert out.report.facts["connect"][0]["outcome"] == "refused"


def test_many_targets_concurrently_keep_their_order(lab: Lab) -> None:
    names = [c.name for c in CASES] * 2
    cases = [lab.cases[n] for n in names]
    outs = run_checks(
        [parse_target(c.target) for c in cases], options_for(lab, cases, 3.0), concurrency=8
    )
    assert [o.report.target for o in outs] == [c.target for c in cases]
