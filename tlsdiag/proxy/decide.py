"""The proxy's decisions, without sockets: policy and facts in, a plan out.

The relay (``relay.py``, ``intercept.py``) asks here what to do and writes what it did into the
event: inspect, bypass or block a tunnel; what an invalid server certificate leads to and who signs
the forged one; whether a cipher is too weak; what mutual TLS means; what a failed client
handshake says. Handshake failures map to codes through ``data/tls_failures.toml``.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from tlsdiag import codes
from tlsdiag.core.tls_failure import alert_from_reason, classify
from tlsdiag.proxy.forge import Signer
from tlsdiag.proxy.policy import Action, Decision, InvalidCert, MutualTls, Policy
from tlsdiag.proxy.upstream import TlsFailure


class Step(StrEnum):
    """What happens to a tunnel next."""

    INSPECT = "inspect"
    BYPASS = "bypass"
    BLOCK = "block"  # finish the client's handshake and serve the block page
    NOT_TLS = "not-tls"  # no ClientHello came: close, nothing to show a page in


@dataclass(frozen=True, slots=True)
class Plan:
    """A step plus what the event and the block page say about it."""

    step: Step
    rule: str = ""  # "" keeps the rule already recorded
    finding: str = ""  # "" keeps the finding already recorded
    detail: str = ""
    title: str = ""  # the block page's title (BLOCK only)

    @property
    def action(self) -> str:
        """The event's ``action`` value."""
        return "block" if self.step is Step.NOT_TLS else self.step.value


def policy_decision(
    policy: Policy, name: str, fallback: str, port: int, client_ip: str | None
) -> Decision:
    """The policy's decision for ``name`` (the SNI), falling back to the CONNECT host.

    A rule that names the CONNECT host still applies when the SNI matches only the default.
    """
    d = policy.decide(name, port, client_ip)
    if d.rule == "default" and fallback != name:
        d2 = policy.decide(fallback, port, client_ip)
        if d2.rule != "default":
            return d2
    return d


def default_bypass_note(decision: Decision) -> tuple[str, str]:
    """(finding, detail) when the shipped default bypass list decided, else ("", "")."""
    if decision.source == "default-bypass":
        return codes.PLATFORM_DEFAULT_BYPASS, f"in the default bypass list ({decision.note})"
    return "", ""


def mutual_tls_plan(mode: MutualTls, *, earlier: bool) -> Plan:
    """What to do with a server that asks for a client certificate (the proxy has none)."""
    why = "seen on an earlier connection" if earlier else "the server asks for a client certificate"
    step = Step.BYPASS if mode is MutualTls.BYPASS else Step.BLOCK
    return Plan(
        step,
        "mutual-tls",
        codes.APP_MUTUAL_TLS,
        f"mutual TLS: cannot inspect ({why})",
        "mutual TLS: cannot inspect",
    )


def connect_plan(
    decision: Decision,
    *,
    name: str,
    hello_seen: bool,
    not_tls: str,
    name_permitted: bool,
    known_mutual_tls: bool,
    mutual_tls: MutualTls,
) -> Plan:
    """Route a CONNECT tunnel once the ClientHello (or something else) came.

    Args:
        decision: the policy's decision for the name.
        name: the SNI, or the CONNECT host without one.
        hello_seen: a ClientHello was parsed.
        not_tls: why the first bytes are not a ClientHello (when ``hello_seen`` is false).
        name_permitted: the CA's name constraints allow forging for ``name``.
        known_mutual_tls: an earlier connection found that this server asks for a client cert.
        mutual_tls: the policy's setting for such servers.

    Returns:
        The plan; its rule and finding are "" when the policy's decision stands as recorded.
    """
    action = decision.action
    if not hello_seen and action is not Action.BYPASS:
        return Plan(
            Step.NOT_TLS,
            finding=codes.NETWORK_NOT_TLS,
            detail=f"the client sent no TLS ClientHello after CONNECT ({not_tls})",
        )
    if not hello_seen:
        return Plan(Step.BYPASS)
    if action is Action.INSPECT and not name_permitted:
        return Plan(Step.BYPASS, "ca-name-constraints")
    if action is Action.INSPECT and known_mutual_tls:
        return mutual_tls_plan(mutual_tls, earlier=True)
    if action is Action.BYPASS:
        return Plan(Step.BYPASS)
    if action is Action.BLOCK:
        return Plan(
            Step.BLOCK,
            finding=codes.POLICY_BLOCKED,
            detail=f"rule {decision.rule!r} blocks {name}",
            title="Blocked by policy",
        )
    return Plan(Step.INSPECT)


def failure_detail(failure: TlsFailure, name: str) -> str:
    """One sentence for the event and the block page about a failed server handshake."""
    if failure.certificate_error:
        return f"the certificate of {name} failed verification: {failure.certificate_error}"
    words = {
        codes.LEGACY_PROTOCOL_VERSION: "no TLS version in common with the server (the policy "
        "minimum toward the server is above what it offers)",
        codes.LEGACY_CIPHER_SUITE: "no acceptable cipher suite in common with the server",
        codes.NETWORK_RESET: "the server closed or reset the connection during the handshake",
        codes.NETWORK_NOT_TLS: "the server did not answer with TLS",
    }
    base = words.get(failure.code, "the TLS handshake with the server failed")
    return f"{base} (alert or error: {failure.description})"


def signer_for(code: str) -> Signer:
    """Who signs the forged certificate that mimics a server's certificate problem."""
    if code == codes.SERVER_SELF_SIGNED:
        return Signer.SELF
    if code in (codes.SERVER_UNTRUSTED_ROOT, codes.SERVER_CHAIN_INCOMPLETE):
        return Signer.UNTRUSTED
    return Signer.TRUSTED


@dataclass(frozen=True, slots=True)
class CertPlan:
    """What an invalid server certificate leads to."""

    step: Step  # INSPECT (forge from the server's leaf) or BLOCK
    detail: str
    mimic: bool = False  # reproduce the problem in the forged certificate
    signer: Signer = Signer.TRUSTED
    completed_via_aia: bool = False  # the chain verifies once completed: the error is gone
    title: str = ""


def invalid_cert_plan(
    failure: TlsFailure, *, name: str, mode: InvalidCert, have_leaf: bool, aia_ok: bool
) -> CertPlan:
    """Apply ``invalid_certificate`` (block, allow, mimic) to a failed verification.

    Args:
        failure: the classified verification failure (refined by the chain analysis).
        name: the name the client asked for.
        mode: the policy's ``invalid_certificate`` setting.
        have_leaf: the unverified second handshake showed the server's leaf.
        aia_ok: the chain verifies once completed from AIA URLs (``aia_fetch = true``).

    Returns:
        Block with the page's words, or inspect with how to forge.
    """
    if not have_leaf or (mode is InvalidCert.BLOCK and not aia_ok):
        return CertPlan(
            Step.BLOCK, failure_detail(failure, name), title="Invalid server certificate"
        )
    if aia_ok:
        return CertPlan(Step.INSPECT, "", completed_via_aia=True)
    if mode is InvalidCert.ALLOW:
        return CertPlan(
            Step.INSPECT,
            f"server certificate invalid ({failure.certificate_error}); re-signed as valid by "
            "policy (invalid_certificate = allow): the client sees no error",
        )
    return CertPlan(
        Step.INSPECT,
        f"server certificate invalid ({failure.certificate_error}); the problem is "
        "reproduced in the forged certificate (invalid_certificate = mimic)",
        mimic=True,
        signer=signer_for(failure.code),
    )


def weak_cipher_plan(cipher: str, bits: int, min_bits: int) -> Plan | None:
    """A block plan when the cipher negotiated with the server is below the policy minimum."""
    if not bits or bits >= min_bits:
        return None
    return Plan(
        Step.BLOCK,
        finding=codes.LEGACY_CIPHER_SUITE,
        detail=f"{cipher} has {bits}-bit strength, the policy needs {min_bits}",
        title="Weak cipher",
    )


@dataclass(frozen=True, slots=True)
class TlsErrorFacts:
    """The TLS error fields of an event: the alert, who sent it, the finding and its words."""

    description: str = ""
    side: str = ""
    error_type: str = ""
    finding: str = ""
    detail: str = ""


def tls_error_on_relay(role: str, reason: str | None) -> tuple[str, bool]:
    """A TLS error after the tunnel is up: (the alert in words, the server wants mutual TLS)."""
    alert = alert_from_reason(reason)
    if not alert or role != "server":
        return alert, False
    return alert, classify(peer="server", alert=alert, default="").code == codes.APP_MUTUAL_TLS


def client_failure(
    *, reason: str, text: str, seen: TlsErrorFacts, forged: str, accepted_ca_before: bool
) -> TlsErrorFacts:
    """What a failed handshake with the client (on the forged certificate) means.

    Args:
        reason: ``ssl.SSLError.reason`` ("" when none).
        text: the error text.
        seen: the event's TLS error fields so far (a server problem already recorded stays the
            main finding).
        forged: who signed the forged certificate ("trusted", "untrusted", "self").
        accepted_ca_before: this client (not a loopback address) completed a handshake on a
            forged certificate before: a refusal now points at pinning.

    Returns:
        The event's TLS error fields after the failure.
    """
    alert = alert_from_reason(reason)
    found = classify(peer="client", alert=alert, reason=reason, text=text, default="")
    description, side, error_type = seen.description, seen.side, seen.error_type
    finding, detail = seen.finding, seen.detail
    if found.code == codes.CLIENT_ROOT_NOT_TRUSTED:
        # The client refused the forged certificate; its alert is the one seen.
        description, side, error_type = alert or reason.lower(), "client", "fatal"
        if finding in ("", codes.PLATFORM_DEFAULT_BYPASS):
            finding = (
                codes.APP_CERTIFICATE_PINNING
                if accepted_ca_before
                else codes.CLIENT_ROOT_NOT_TRUSTED
            )
            detail = f"the client rejected the forged certificate (alert: {description}): " + (
                "this device accepted the tlsdiag CA for other connections, so this "
                "application probably pins its server's certificate or reads its own "
                "trust store"
                if accepted_ca_before
                else "the tlsdiag CA is not trusted by this client, or the application "
                "pins its server's certificate or reads its own trust store"
            )
        elif forged in ("untrusted", "self") or finding.startswith("server."):
            detail = (detail + "; " if detail else "") + (
                f"the client refused it as it would without the proxy (alert: {description})"
            )
        return TlsErrorFacts(description, side, error_type, finding, detail)
    if not description:
        description = alert or reason.lower().replace("_", " ") or text
        side, error_type = "client", "fatal"
    if not finding or finding == codes.PLATFORM_DEFAULT_BYPASS:
        finding = found.code or codes.NETWORK_RESET
        words = {
            codes.NETWORK_NOT_TLS: "the client sent bytes that are not TLS during the handshake",
            codes.LEGACY_PROTOCOL_VERSION: "no TLS version in common with the client "
            "(client-side settings)",
            codes.LEGACY_CIPHER_SUITE: "no cipher suite in common with the client",
        }
        detail = words.get(finding, detail) or f"the client's handshake failed: {description}"
    return TlsErrorFacts(description, side, error_type, finding, detail)
