"""The proxy's decisions without sockets: policy and facts in, a plan out (proxy/decide.py)."""

from __future__ import annotations

from dataclasses import replace

import pytest

from tlsdiag import codes
from tlsdiag.proxy import decide
from tlsdiag.proxy.decide import Step, TlsErrorFacts
from tlsdiag.proxy.forge import Signer
from tlsdiag.proxy.policy import (
    Action,
    Decision,
    InvalidCert,
    MutualTls,
    default_policy,
    parse_policy,
)
from tlsdiag.proxy.upstream import TlsFailure

INSPECT = Decision(Action.INSPECT, "default")
EXPIRED = TlsFailure(codes.SERVER_CERT_EXPIRED, "certificate expired", "fatal", "expired", 10)


def _connect(decision: Decision = INSPECT, **kw: object) -> decide.Plan:
    args: dict[str, object] = {
        "name": "a.test",
        "hello_seen": True,
        "not_tls": "",
        "name_permitted": True,
        "known_mutual_tls": False,
        "mutual_tls": MutualTls.BYPASS,
    }
    args.update(kw)
    return decide.connect_plan(decision, **args)  # type: ignore[arg-type]


def test_policy_decision_falls_back_to_the_connect_host() -> None:
    policy = parse_policy('[[rule]]\nid = "no-bank"\nhost = "bank.test"\naction = "block"\n')
    policy = replace(policy, default_bypass=False)
    # The SNI matches no rule: the rule naming the CONNECT host decides.
    d = decide.policy_decision(policy, "cdn.test", "bank.test", 443, None)
    assert (d.action, d.rule) == (Action.BLOCK, "no-bank")
    # The SNI's own decision stands when a rule matched it.
    d = decide.policy_decision(policy, "bank.test", "other.test", 443, None)
    assert d.rule == "no-bank"
    d = decide.policy_decision(policy, "x.test", "y.test", 443, None)
    assert (d.action, d.rule) == (Action.INSPECT, "default")


def test_default_bypass_note() -> None:
    d = Decision(Action.BYPASS, "default-bypass:apple", "Apple services pin", "default-bypass")
    assert decide.default_bypass_note(d) == (
        codes.PLATFORM_DEFAULT_BYPASS,
        "in the default bypass list (Apple services pin)",
    )
    assert decide.default_bypass_note(INSPECT) == ("", "")


def test_connect_plan_inspects_by_default() -> None:
    assert _connect() == decide.Plan(Step.INSPECT)


def test_connect_plan_without_client_hello() -> None:
    plan = _connect(hello_seen=False, not_tls="first byte 0x47")
    assert plan.step is Step.NOT_TLS and plan.action == "block"
    assert plan.finding == codes.NETWORK_NOT_TLS and "first byte 0x47" in plan.detail
    # A bypassed tunnel carries whatever the client sends.
    assert _connect(Decision(Action.BYPASS, "r"), hello_seen=False).step is Step.BYPASS


def test_connect_plan_blocks_by_policy() -> None:
    plan = _connect(Decision(Action.BLOCK, "no-bank"), name="bank.test")
    assert plan.step is Step.BLOCK and plan.finding == codes.POLICY_BLOCKED
    assert plan.detail == "rule 'no-bank' blocks bank.test" and plan.title == "Blocked by policy"
    assert plan.rule == ""  # the policy's rule stays recorded


def test_connect_plan_bypasses_names_the_ca_may_not_sign() -> None:
    plan = _connect(name_permitted=False)
    assert (plan.step, plan.rule, plan.action) == (Step.BYPASS, "ca-name-constraints", "bypass")
    # Only inspection needs a forged certificate: a block stays a block.
    assert _connect(Decision(Action.BLOCK, "r"), name_permitted=False).step is Step.BLOCK


@pytest.mark.parametrize(
    ("mode", "step"), [(MutualTls.BYPASS, Step.BYPASS), (MutualTls.BLOCK, Step.BLOCK)]
)
def test_connect_plan_remembers_mutual_tls(mode: MutualTls, step: Step) -> None:
    plan = _connect(known_mutual_tls=True, mutual_tls=mode)
    assert (plan.step, plan.rule, plan.finding) == (step, "mutual-tls", codes.APP_MUTUAL_TLS)
    assert plan.detail == "mutual TLS: cannot inspect (seen on an earlier connection)"
    # A tunnel the policy bypasses anyway is not about mutual TLS.
    bypassed = _connect(Decision(Action.BYPASS, "r"), known_mutual_tls=True, mutual_tls=mode)
    assert bypassed == decide.Plan(Step.BYPASS)


def test_mutual_tls_plan_first_time() -> None:
    plan = decide.mutual_tls_plan(MutualTls.BLOCK, earlier=False)
    assert plan.step is Step.BLOCK and plan.title == "mutual TLS: cannot inspect"
    assert plan.detail == "mutual TLS: cannot inspect (the server asks for a client certificate)"


def test_failure_detail() -> None:
    assert decide.failure_detail(EXPIRED, "a.test") == (
        "the certificate of a.test failed verification: expired"
    )
    version = TlsFailure(codes.LEGACY_PROTOCOL_VERSION, "protocol version")
    assert decide.failure_detail(version, "a.test").startswith("no TLS version in common")
    assert decide.failure_detail(version, "a.test").endswith("(alert or error: protocol version)")
    other = TlsFailure(codes.APP_MUTUAL_TLS, "x")
    assert decide.failure_detail(other, "a.test").startswith("the TLS handshake with the server")


@pytest.mark.parametrize(
    ("code", "signer"),
    [
        (codes.SERVER_SELF_SIGNED, Signer.SELF),
        (codes.SERVER_UNTRUSTED_ROOT, Signer.UNTRUSTED),
        (codes.SERVER_CHAIN_INCOMPLETE, Signer.UNTRUSTED),
        (codes.SERVER_CERT_EXPIRED, Signer.TRUSTED),
        (codes.SERVER_HOSTNAME_MISMATCH, Signer.TRUSTED),
    ],
)
def test_signer_for_mimic(code: str, signer: Signer) -> None:
    assert decide.signer_for(code) is signer


def test_invalid_cert_plan_block() -> None:
    plan = decide.invalid_cert_plan(
        EXPIRED, name="a.test", mode=InvalidCert.BLOCK, have_leaf=True, aia_ok=False
    )
    assert plan.step is Step.BLOCK and plan.title == "Invalid server certificate"
    assert plan.detail == "the certificate of a.test failed verification: expired"
    # Without the server's leaf there is nothing to forge from, whatever the policy says.
    for mode in InvalidCert:
        no_leaf = decide.invalid_cert_plan(
            EXPIRED, name="a.test", mode=mode, have_leaf=False, aia_ok=True
        )
        assert no_leaf.step is Step.BLOCK


def test_invalid_cert_plan_allow_and_mimic() -> None:
    allow = decide.invalid_cert_plan(
        EXPIRED, name="a.test", mode=InvalidCert.ALLOW, have_leaf=True, aia_ok=False
    )
    assert allow.step is Step.INSPECT and not allow.mimic and allow.signer is Signer.TRUSTED
    assert "re-signed as valid by policy" in allow.detail
    self_signed = replace(EXPIRED, code=codes.SERVER_SELF_SIGNED, certificate_error="self")
    mimic = decide.invalid_cert_plan(
        self_signed, name="a.test", mode=InvalidCert.MIMIC, have_leaf=True, aia_ok=False
    )
    assert mimic.step is Step.INSPECT and mimic.mimic and mimic.signer is Signer.SELF
    assert "reproduced in the forged certificate" in mimic.detail


def test_invalid_cert_plan_chain_completed_from_aia() -> None:
    incomplete = TlsFailure(codes.SERVER_CHAIN_INCOMPLETE, "unknown ca", "fatal", "x", 20)
    plan = decide.invalid_cert_plan(
        incomplete, name="a.test", mode=InvalidCert.BLOCK, have_leaf=True, aia_ok=True
    )
    assert plan.step is Step.INSPECT and plan.completed_via_aia and not plan.mimic


def test_weak_cipher_plan() -> None:
    plan = decide.weak_cipher_plan("DES-CBC3-SHA", 112, 128)
    assert plan is not None and plan.step is Step.BLOCK
    assert plan.finding == codes.LEGACY_CIPHER_SUITE and plan.title == "Weak cipher"
    assert plan.detail == "DES-CBC3-SHA has 112-bit strength, the policy needs 128"
    assert decide.weak_cipher_plan("TLS_AES_128_GCM_SHA256", 128, 128) is None
    assert decide.weak_cipher_plan("", 0, 128) is None  # unknown strength is not weak


def test_tls_error_on_relay() -> None:
    assert decide.tls_error_on_relay("server", "TLSV13_ALERT_CERTIFICATE_REQUIRED") == (
        "certificate required",
        True,
    )
    assert decide.tls_error_on_relay("client", "TLSV13_ALERT_CERTIFICATE_REQUIRED") == (
        "certificate required",
        False,
    )
    assert decide.tls_error_on_relay("server", "SSLV3_ALERT_BAD_RECORD_MAC") == (
        "bad record mac",
        False,
    )
    assert decide.tls_error_on_relay("server", None) == ("", False)


NOTHING_SEEN = TlsErrorFacts()


def _client(reason: str, seen: TlsErrorFacts = NOTHING_SEEN, **kw: object) -> TlsErrorFacts:
    args: dict[str, object] = {"forged": "trusted", "accepted_ca_before": False}
    args.update(kw)
    return decide.client_failure(reason=reason, text=f"[SSL: {reason}]", seen=seen, **args)  # type: ignore[arg-type]


def test_client_refusing_the_ca_is_untrusted_root_or_pinning() -> None:
    out = _client("TLSV1_ALERT_UNKNOWN_CA")
    assert out.finding == codes.CLIENT_ROOT_NOT_TRUSTED
    assert (out.description, out.side, out.error_type) == ("unknown ca", "client", "fatal")
    assert "the tlsdiag CA is not trusted by this client" in out.detail
    pinned = _client("SSLV3_ALERT_BAD_CERTIFICATE", accepted_ca_before=True)
    assert pinned.finding == codes.APP_CERTIFICATE_PINNING
    assert "probably pins" in pinned.detail and pinned.description == "bad certificate"


def test_client_refusal_keeps_a_server_problem_as_the_finding() -> None:
    seen = TlsErrorFacts(
        "unknown ca", "server", "fatal", codes.SERVER_SELF_SIGNED, "server certificate invalid"
    )
    out = _client("TLSV1_ALERT_UNKNOWN_CA", seen, forged="self")
    assert out.finding == codes.SERVER_SELF_SIGNED
    assert out.side == "client"  # the client's alert is the one seen last
    assert out.detail == (
        "server certificate invalid; the client refused it as it would without the proxy "
        "(alert: unknown ca)"
    )
    bypass = TlsErrorFacts(finding=codes.PLATFORM_DEFAULT_BYPASS, detail="in the list")
    assert _client("TLSV1_ALERT_UNKNOWN_CA", bypass).finding == codes.CLIENT_ROOT_NOT_TRUSTED


@pytest.mark.parametrize(
    ("reason", "finding", "detail"),
    [
        ("HTTP_REQUEST", codes.NETWORK_NOT_TLS, "the client sent bytes that are not TLS"),
        ("WRONG_VERSION_NUMBER", codes.NETWORK_NOT_TLS, "the client sent bytes that are not TLS"),
        ("UNSUPPORTED_PROTOCOL", codes.LEGACY_PROTOCOL_VERSION, "no TLS version in common"),
        ("NO_SHARED_CIPHER", codes.LEGACY_CIPHER_SUITE, "no cipher suite in common"),
        ("SOMETHING_ELSE", codes.NETWORK_RESET, "the client's handshake failed: something else"),
    ],
)
def test_other_client_failures(reason: str, finding: str, detail: str) -> None:
    out = _client(reason)
    assert out.finding == finding and out.detail.startswith(detail)
    assert (out.side, out.error_type) == ("client", "fatal")


def test_client_failure_after_a_server_finding_keeps_it() -> None:
    seen = TlsErrorFacts("", "", "", codes.SERVER_CERT_EXPIRED, "expired")
    out = _client("NO_SHARED_CIPHER", seen)
    assert (out.finding, out.detail) == (codes.SERVER_CERT_EXPIRED, "expired")
    assert out.description == "no shared cipher"


def test_plans_are_frozen() -> None:
    plan = decide.Plan(Step.INSPECT)
    with pytest.raises(AttributeError):
        plan.step = Step.BLOCK  # type: ignore[misc]
    assert default_policy().mutual_tls is MutualTls.BYPASS
