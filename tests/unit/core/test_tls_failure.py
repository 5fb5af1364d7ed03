"""The one table from OpenSSL failures to finding codes (data/tls_failures.toml) and its lookup."""

from __future__ import annotations

import tomllib
from importlib.resources import files

import pytest

from tlsdiag import codes
from tlsdiag.core.tls_failure import alert_from_reason, classify
from tlsdiag.kb.tls_failures import FailureRule, parse_rules, tls_failures


def _doc() -> dict[str, object]:
    text = files("tlsdiag.data").joinpath("tls_failures.toml").read_text(encoding="utf-8")
    return tomllib.loads(text)


def test_table_loads_with_unique_ids_and_known_codes() -> None:
    rules = tls_failures()
    ids = [r.id for r in rules]
    assert len(ids) == len(set(ids)) and len(ids) >= 20
    assert {r.code for r in rules} <= codes.ALL_CODES
    assert all(r.specificity >= 1 for r in rules)
    raw = _doc()["failure"]
    assert isinstance(raw, list) and len(raw) == len(rules)


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ({"id": "x", "code": "network.reset", "reason": "EOF", "colour": "red"}, "unknown keys"),
        ({"id": "x", "code": "network.nope", "reason": "EOF"}, "unknown finding code"),
        ({"id": "x", "code": "network.reset"}, "matches nothing"),
        ({"id": "x", "code": "network.reset", "reason": "EOF", "peer": "both"}, "peer"),
        ({"id": "x", "code": "network.reset", "verify_code": "18"}, "verify_code"),
        ({"code": "network.reset", "reason": "EOF"}, "no id"),
        ({"id": "x", "code": "network.reset", "reason": [1]}, "list of strings"),
    ],
)
def test_malformed_entries_are_rejected(entry: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_rules({"failure": [entry]})


def test_duplicate_ids_are_rejected() -> None:
    entry = {"id": "x", "code": "network.reset", "reason": "EOF"}
    with pytest.raises(ValueError, match="duplicate id x"):
        parse_rules({"failure": [entry, dict(entry)]})


def test_alert_from_reason() -> None:
    assert alert_from_reason("TLSV1_ALERT_UNKNOWN_CA") == "unknown ca"
    assert alert_from_reason("SSLV3_ALERT_HANDSHAKE_FAILURE") == "handshake failure"
    assert alert_from_reason("WRONG_VERSION_NUMBER") == ""
    assert alert_from_reason(None) == ""


@pytest.mark.parametrize(
    ("verify_code", "code", "sent"),
    [
        (2, codes.SERVER_CHAIN_INCOMPLETE, "unknown ca"),
        (9, codes.SERVER_CERT_NOT_YET_VALID, "bad certificate"),
        (10, codes.SERVER_CERT_EXPIRED, "certificate expired"),
        (18, codes.SERVER_SELF_SIGNED, "unknown ca"),
        (19, codes.SERVER_UNTRUSTED_ROOT, "unknown ca"),
        (20, codes.SERVER_UNTRUSTED_ROOT, "unknown ca"),
        (23, codes.SERVER_REVOKED, "certificate revoked"),
        (62, codes.SERVER_HOSTNAME_MISMATCH, "bad certificate"),
        (64, codes.SERVER_HOSTNAME_MISMATCH, "bad certificate"),
        (99, codes.SERVER_UNTRUSTED_ROOT, "certificate unknown"),  # unknown: the reason's rule
    ],
)
def test_verify_codes(verify_code: int, code: str, sent: str) -> None:
    got = classify(
        peer="server",
        verify_code=verify_code,
        reason="CERTIFICATE_VERIFY_FAILED",
        text="certificate verify failed",
        default=codes.NETWORK_RESET,
    )
    assert (got.code, got.alert_sent) == (code, sent)
    assert got.evidence == "certificate verify failed"  # the original words are kept


def test_self_signed_is_never_a_hostname_mismatch() -> None:
    got = classify(peer="server", verify_code=18, reason="CERTIFICATE_VERIFY_FAILED", default="")
    assert got.code == codes.SERVER_SELF_SIGNED and not got.refine
    ambiguous = classify(peer="server", verify_code=20, default="")
    assert ambiguous.refine  # incomplete chain or unknown root: the chain analysis decides


def test_most_specific_rule_wins() -> None:
    # A handshake_failure alert alone means no cipher in common ...
    plain = classify(
        peer="server",
        alert="handshake failure",
        reason="SSLV3_ALERT_HANDSHAKE_FAILURE",
        default="",
    )
    assert plain.code == codes.LEGACY_CIPHER_SUITE
    # ... but after a CertificateRequest it is the server refusing a missing client certificate.
    mtls = classify(
        peer="server",
        alert="handshake failure",
        reason="SSLV3_ALERT_HANDSHAKE_FAILURE",
        cert_requested=True,
        default="",
    )
    assert (mtls.code, mtls.rule) == (codes.APP_MUTUAL_TLS, "mtls-requested-then-refused")
    silent = classify(peer="server", reason="UNEXPECTED_EOF_WHILE_READING", default="")
    assert silent.code == codes.NETWORK_RESET
    silent_mtls = classify(
        peer="server", reason="UNEXPECTED_EOF_WHILE_READING", cert_requested=True, default=""
    )
    assert silent_mtls.code == codes.APP_MUTUAL_TLS


@pytest.mark.parametrize(
    ("peer", "reason", "alert", "code"),
    [
        ("server", "TLSV1_ALERT_PROTOCOL_VERSION", "protocol version", "legacy.protocol_version"),
        ("server", "UNSUPPORTED_PROTOCOL", "", "legacy.protocol_version"),
        ("client", "UNSUPPORTED_PROTOCOL", "", "legacy.protocol_version"),
        ("server", "", "insufficient_security", "legacy.cipher_suite"),
        ("client", "NO_SHARED_CIPHER", "", "legacy.cipher_suite"),
        ("server", "WRONG_VERSION_NUMBER", "", "network.not_tls"),
        ("client", "HTTP_REQUEST", "", "network.not_tls"),
        ("server", "TLSV13_ALERT_CERTIFICATE_REQUIRED", "certificate required", "app.mutual_tls"),
        ("client", "TLSV1_ALERT_UNKNOWN_CA", "unknown ca", "client.root_not_trusted"),
        ("client", "SSLV3_ALERT_BAD_CERTIFICATE", "bad certificate", "client.root_not_trusted"),
    ],
)
def test_reasons_and_alerts(peer: str, reason: str, alert: str, code: str) -> None:
    assert peer in ("server", "client")
    got = classify(
        peer="server" if peer == "server" else "client", reason=reason, alert=alert, default=""
    )
    assert got.code == code, got


def test_peer_limits_a_rule_and_default_applies_when_nothing_matches() -> None:
    # A client refusing our certificate is not what the same alert from a server means.
    from_server = classify(
        peer="server", reason="TLSV1_ALERT_UNKNOWN_CA", default=codes.LEGACY_CIPHER_SUITE
    )
    assert (from_server.code, from_server.rule) == (codes.LEGACY_CIPHER_SUITE, "")
    assert from_server.evidence == "TLSV1_ALERT_UNKNOWN_CA"
    # EOF toward the client is not in the table: the caller's default.
    assert classify(peer="client", reason="EOF", default="x").code == "x"


def test_a_table_can_be_passed_in() -> None:
    rules = (
        FailureRule("a", codes.NETWORK_RESET, reasons=("EOF",)),
        FailureRule("b", codes.APP_MUTUAL_TLS, reasons=("EOF",), cert_requested=True),
    )
    assert classify(peer="server", reason="EOF", default="", rules=rules).rule == "a"
    got = classify(peer="server", reason="EOF", cert_requested=True, default="", rules=rules)
    assert got.rule == "b"
