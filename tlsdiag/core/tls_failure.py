"""What an OpenSSL handshake failure means: one lookup in ``data/tls_failures.toml``.

The probe and both sides of the proxy describe a failure by what OpenSSL gave them (the X.509
verify code, the reason string, the alert) and get one finding code back; the original words are
kept as evidence. Pure: no sockets, no ``ssl`` objects.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from tlsdiag.kb.tls_failures import tls_failures

if TYPE_CHECKING:
    from collections.abc import Sequence

    from tlsdiag.kb.tls_failures import FailureRule, Peer


@dataclass(frozen=True, slots=True)
class TlsFailureClass:
    """The finding code for a failure, the rule that gave it and the original text."""

    code: str
    rule: str  # the id in tls_failures.toml, "" when nothing matched (the default code)
    alert_sent: str = ""  # for verify failures: the alert OpenSSL sends for the problem
    evidence: str = ""  # the failure in OpenSSL's words, as given
    refine: bool = False  # OpenSSL's code is ambiguous: a chain analysis should pick the code


def alert_from_reason(reason: str | None) -> str:
    """The alert in an OpenSSL reason: ``TLSV1_ALERT_UNKNOWN_CA`` -> ``unknown ca``.

    Args:
        reason: ``ssl.SSLError.reason`` (may be None).

    Returns:
        The alert description in OpenSSL words, or "" when the reason is not an alert.
    """
    if not reason or "ALERT_" not in reason:
        return ""
    return reason.split("ALERT_", 1)[1].lower().replace("_", " ")


def _matches(
    rule: FailureRule,
    *,
    peer: Peer,
    alert: str,
    reason: str,
    verify_code: int | None,
    cert_requested: bool,
) -> bool:
    if rule.peer != "any" and rule.peer != peer:
        return False
    if rule.verify_code is not None and rule.verify_code != verify_code:
        return False
    if rule.reasons and not any(r in reason for r in rule.reasons):
        return False
    if rule.alerts and alert not in rule.alerts:
        return False
    return rule.cert_requested is None or rule.cert_requested == cert_requested


def classify(
    *,
    peer: Peer,
    alert: str = "",
    reason: str = "",
    verify_code: int | None = None,
    cert_requested: bool = False,
    text: str = "",
    default: str,
    rules: Sequence[FailureRule] | None = None,
) -> TlsFailureClass:
    """Map one handshake failure to a finding code; the most specific rule wins.

    Args:
        peer: who we talked to: "server" (we were the client) or "client" (we were the server).
        alert: the TLS alert description in OpenSSL words ("unknown ca"); "" when none was seen.
        reason: ``ssl.SSLError.reason`` ("TLSV1_ALERT_UNKNOWN_CA"), "" when there is none.
        verify_code: ``ssl.SSLCertVerificationError.verify_code`` for verification failures.
        cert_requested: the server sent a CertificateRequest during the handshake.
        text: the error text as the caller saw it, kept as evidence.
        default: the code when no rule matches (what an unrecognised failure means here).
        rules: the table (tests pass their own); default ``data/tls_failures.toml``.

    Returns:
        The code, the id of the rule that matched and the evidence.
    """
    alert = alert.lower().replace("_", " ").strip()
    reason = reason.upper()
    best: FailureRule | None = None
    for rule in tls_failures() if rules is None else rules:
        if (best is None or rule.specificity > best.specificity) and _matches(
            rule,
            peer=peer,
            alert=alert,
            reason=reason,
            verify_code=verify_code,
            cert_requested=cert_requested,
        ):
            best = rule
    evidence = text or reason or alert
    if best is None:
        return TlsFailureClass(default, "", "", evidence)
    return TlsFailureClass(best.code, best.id, best.alert_sent, evidence, best.refine)
