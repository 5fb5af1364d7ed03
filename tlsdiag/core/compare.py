"""``compare``: the same check bypassed and inspected, side by side, and where the problem is.

Pure: takes the two ``check`` reports as JSON-ready dicts (``Report.to_dict()`` or a saved
``check --json`` file) plus what is known about the inspecting path, returns the table rows and
the verdict: ``server``, ``inspection``, ``client`` or ``none``, a summary and a recommendation
naming the fix (a targeted bypass rule for the exact FQDN in the policy format, or what the
server must fix). The ``--run`` A/B of an application is judged in ``core/compare_run.py``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from tlsdiag import codes
from tlsdiag.facts.compare import CompareVerdictFacts

ORIGINS = ("server", "inspection", "client", "none")
CLIENT_CODES = frozenset(
    {codes.CLIENT_ROOT_NOT_TRUSTED, codes.CLIENT_STORE_MISMATCH, codes.SERVER_UNTRUSTED_ROOT}
)
CERT_CODES = frozenset(
    {
        codes.SERVER_CERT_EXPIRED,
        codes.SERVER_CERT_NOT_YET_VALID,
        codes.SERVER_HOSTNAME_MISMATCH,
        codes.SERVER_CHAIN_INCOMPLETE,
        codes.SERVER_SELF_SIGNED,
        codes.SERVER_UNTRUSTED_ROOT,
        codes.SERVER_WEAK_SIGNATURE,
        codes.SERVER_WEAK_KEY,
        codes.SERVER_REVOKED,
    }
)


@dataclass(frozen=True, slots=True)
class PathContext:
    """What is known about the inspecting path besides its report."""

    kind: str  # "embedded", "proxy" (an explicit proxy), "reports" (two saved reports)
    proxy: str = ""  # "via proxy http://127.0.0.1:PORT (embedded)"
    action: str = ""  # the embedded proxy's event: inspect / bypass / block ("" unknown)
    finding: str = ""  # the finding code of that event
    detail: str = ""  # its detail
    rule: str = ""  # the rule that decided
    policy: Mapping[str, Any] = field(default_factory=dict)  # policy_summary() of the proxy


@dataclass(frozen=True, slots=True)
class Row:
    """One line of the table."""

    label: str
    bypassed: str
    inspected: str

    @property
    def differs(self) -> bool:
        """True when the two columns say different things."""
        return self.bypassed != self.inspected


@dataclass(frozen=True, slots=True)
class Verdict:
    """Where the problem is and what to do."""

    origin: str  # server / inspection / client / none
    summary: str
    recommendation: str
    code: str = ""  # the finding code the verdict rests on ("" for none)
    rule_snippet: str = ""  # a targeted bypass rule (policy TOML), when that is the fix

    def to_dict(self) -> CompareVerdictFacts:
        """The ``verdict`` object of the JSON output."""
        return {
            "origin": self.origin,
            "summary": self.summary,
            "recommendation": self.recommendation,
            "code": self.code,
            "bypass_rule": self.rule_snippet,
        }


def errors(report: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """The error-level findings of a report dict."""
    return [f for f in report.get("findings", ()) if f.get("severity") == "error"]


def error_codes(report: Mapping[str, Any]) -> list[str]:
    """The codes of the error-level findings, in order, without repeats."""
    return list(dict.fromkeys(str(f.get("code", "")) for f in errors(report)))


def tls_inspection(report: Mapping[str, Any]) -> int:
    """``interception.tls_inspection`` of a check report (0 when unknown)."""
    inter = report.get("interception") or {}
    return 1 if inter.get("tls_inspection") in (1, True, "1") else 0


def leaf_sha256(report: Mapping[str, Any]) -> str:
    """The fingerprint of the certificate the server presented ("" when none)."""
    chain = report.get("chain") or []
    return str(chain[0].get("sha256", "")) if chain else ""


def _handshake(report: Mapping[str, Any]) -> str:
    hs = report.get("handshake") or {}
    if hs.get("version"):
        legacy = " (only with old versions allowed)" if hs.get("settings") == "legacy" else ""
        return f"completed{legacy}"
    for f in errors(report):
        ev = f.get("evidence") or {}
        if ev.get("stage"):
            return f"failed ({ev['stage']}): {f.get('title', '')}"
    return "failed" if errors(report) else "not attempted"


def _http(report: Mapping[str, Any]) -> str:
    http = report.get("http") or {}
    if not http:
        return "-"
    if http.get("status"):
        text = f"{http['status']} {http.get('reason', '')}".strip()
        for f in errors(report):
            title = (f.get("evidence") or {}).get("block_page_title")
            if f.get("code") == codes.POLICY_BLOCKED and title:
                text += f" (block page: {title})"
        return text
    return str(http.get("error") or "-")


def _issuer_root(report: Mapping[str, Any]) -> tuple[str, str]:
    inter = report.get("interception") or {}
    issuer, root = str(inter.get("issuer") or ""), str(inter.get("root") or "")
    chain = report.get("chain") or []
    path = report.get("path") or []
    if not issuer and chain:
        issuer = str(chain[0].get("issuer", ""))
    if not root and path:
        root = str(path[-1].get("subject", ""))
    return issuer or "-", root or "-"


def _trusted_by(report: Mapping[str, Any]) -> str:
    trust = report.get("trust") or {}
    names = [name for name, v in trust.items() if isinstance(v, Mapping) and v.get("trusted")]
    if not trust:
        return "-"
    return ", ".join(names) or "none"


def _findings(report: Mapping[str, Any]) -> str:
    # errors only: the forged leaf's short validity warns on every inspected path
    shown = [str(f.get("code")) for f in errors(report)]
    return ", ".join(dict.fromkeys(shown)) or "none"


def comparison_rows(bypassed: Mapping[str, Any], inspected: Mapping[str, Any]) -> list[Row]:
    """The table: one row per aspect, bypassed and inspected.

    Args:
        bypassed: the direct path's check report (dict).
        inspected: the inspected path's check report (dict).

    Returns:
        The rows, in display order.
    """

    def hs(r: Mapping[str, Any], key: str) -> str:
        return str((r.get("handshake") or {}).get(key) or "-")

    def cert_req(r: Mapping[str, Any]) -> str:
        h = r.get("handshake") or {}
        if not h.get("client_certificate_requested"):
            return "no"
        names = h.get("client_ca_names") or []
        return "yes" + (f" ({'; '.join(names)})" if names else "")

    def via(r: Mapping[str, Any]) -> str:
        return str((r.get("endpoint") or {}).get("proxy") or "direct")

    b_issuer, b_root = _issuer_root(bypassed)
    i_issuer, i_root = _issuer_root(inspected)
    return [
        Row("path", via(bypassed), via(inspected)),
        Row("handshake", _handshake(bypassed), _handshake(inspected)),
        Row("HTTP", _http(bypassed), _http(inspected)),
        Row("TLS version", hs(bypassed, "version"), hs(inspected, "version")),
        Row("cipher", hs(bypassed, "cipher"), hs(inspected, "cipher")),
        Row("ALPN", hs(bypassed, "alpn"), hs(inspected, "alpn")),
        Row("issuer", b_issuer, i_issuer),
        Row("root", b_root, i_root),
        Row("trusted by", _trusted_by(bypassed), _trusted_by(inspected)),
        Row("client certificate requested", cert_req(bypassed), cert_req(inspected)),
        Row(
            "tls_inspection",
            str(tls_inspection(bypassed)),
            str(tls_inspection(inspected)),
        ),
        Row("error findings", _findings(bypassed), _findings(inspected)),
    ]


def bypass_rule(host: str, port: int, reason: str) -> str:
    """A bypass rule for exactly ``host`` (never a wildcard or suffix), in the policy format.

    Args:
        host: the FQDN (or IP) as checked.
        port: the port (written only when it is not 443).
        reason: the note kept with the rule.

    Returns:
        A ``[[rule]]`` TOML snippet.
    """
    rid = "bypass-" + re.sub(r"[^a-z0-9]+", "-", host.lower()).strip("-")
    lines = ["[[rule]]", f'id = "{rid}"', 'action = "bypass"', f'host = "{host.lower()}"']
    if port != 443:
        lines.append(f"port = {port}")
    lines.append(f'note = "{reason.replace(chr(34), chr(39))}"')
    return "\n".join(lines)


def _titles(report: Mapping[str, Any], keep: Sequence[str] | None = None) -> str:
    out = [
        f"{f.get('title', '')} ({f.get('code')})"
        for f in errors(report)
        if keep is None or f.get("code") in keep
    ]
    return "; ".join(dict.fromkeys(out))


def _remedy(report: Mapping[str, Any], code: str) -> str:
    for f in errors(report):
        if f.get("code") == code and f.get("remediation"):
            return str(f["remediation"])
    return ""


def _policy_word(ctx: PathContext, key: str, fallback: str) -> str:
    value = ctx.policy.get(key)
    return f"{key} = {value}" if value is not None else fallback


def decide(
    bypassed: Mapping[str, Any],
    inspected: Mapping[str, Any],
    ctx: PathContext,
    *,
    host: str,
    port: int,
) -> Verdict:
    """The verdict of a comparison (see the module docstring).

    Args:
        bypassed: the direct path's report dict.
        inspected: the inspected path's report dict.
        ctx: what is known about the inspecting path (the embedded proxy's event, its policy).
        host: the FQDN checked (for the bypass rule).
        port: its port.

    Returns:
        The verdict.
    """
    b_codes = [c for c in error_codes(bypassed) if c != codes.POLICY_BLOCKED]
    i_codes = error_codes(inspected)
    blocked = codes.POLICY_BLOCKED in i_codes or ctx.action == "block"
    reason = ctx.finding or next((c for c in i_codes if c != codes.POLICY_BLOCKED), "")
    if codes.APP_MUTUAL_TLS in b_codes or ctx.finding == codes.APP_MUTUAL_TLS:
        return _mutual_tls(ctx, host, port, blocked)
    if b_codes:
        return _server(bypassed, inspected, ctx, b_codes, i_codes, blocked, host, port)
    if blocked:
        return _blocked(inspected, ctx, reason, host, port)
    client = [c for c in i_codes if c in CLIENT_CODES]
    if client and (tls_inspection(inspected) or leaf_sha256(inspected) != leaf_sha256(bypassed)):
        root = _issuer_root(inspected)[1]
        return Verdict(
            "client",
            "Works bypassed; the inspected path fails only because this client does not trust "
            f"the inspection root ({root}).",
            "Install the inspection root in the store this client uses (`tlsdiag trust` names "
            "each store on this machine and the command that adds a root); no bypass rule is "
            "needed.",
            codes.CLIENT_ROOT_NOT_TRUSTED,
        )
    if i_codes:
        snippet = bypass_rule(host, port, f"tlsdiag compare: fails only inspected ({i_codes[0]})")
        return Verdict(
            "inspection",
            f"Works bypassed, fails inspected: {_titles(inspected)}.",
            "Add a targeted bypass rule for this exact host (never a broad one):\n" + snippet,
            i_codes[0],
            snippet,
        )
    return Verdict(
        "none",
        "Both paths work and agree"
        + (
            " (the inspected path sees the proxy's certificate, as expected)."
            if leaf_sha256(inspected) != leaf_sha256(bypassed)
            else "."
        ),
        "Nothing to fix on this path.",
    )


def _mutual_tls(ctx: PathContext, host: str, port: int, blocked: bool) -> Verdict:
    if blocked:
        how = f"the proxy blocks it by policy ({_policy_word(ctx, 'mutual_tls', 'mutual TLS')})"
    elif ctx.action == "bypass":
        how = "the proxy noticed and bypassed it (mutual_tls = bypass), for this connection only"
    else:
        how = "an inspecting proxy has no client certificate to present"
    snippet = bypass_rule(host, port, "mutual TLS: cannot be inspected")
    return Verdict(
        "inspection",
        "The server requires a client certificate (mutual TLS); inspection cannot apply to it: "
        f"{how}.",
        "Add a permanent targeted bypass rule for this exact host so the client authenticates "
        "end to end:\n" + snippet,
        codes.APP_MUTUAL_TLS,
        snippet,
    )


def _server(
    bypassed: Mapping[str, Any],
    inspected: Mapping[str, Any],
    ctx: PathContext,
    b_codes: Sequence[str],
    i_codes: Sequence[str],
    blocked: bool,
    host: str,
    port: int,
) -> Verdict:
    main = b_codes[0]
    words = _titles(bypassed)
    if blocked:
        setting = (
            _policy_word(ctx, "invalid_certificate", "its certificate policy")
            if main in CERT_CODES
            else "its policy"
        )
        inspected_says = (
            f" Inspected, the proxy blocks it by policy ({setting}): users see the proxy's "
            f"block page naming {ctx.finding or main} instead of the server's own error."
        )
    elif not [c for c in i_codes if c != codes.POLICY_BLOCKED] and main not in CERT_CODES:
        inspected_says = (
            " Inspected, it works: the proxy makes its own connection to the server (its own "
            "ClientHello, versions and suites), which gets through; only the bypassed path shows "
            "the problem."
        )
    elif not [c for c in i_codes if c != codes.POLICY_BLOCKED]:
        inspected_says = (
            " Inspection masks it: the proxy re-signs the connection with its own certificate, "
            "so clients behind it see a valid certificate and no error; only the bypassed path "
            "shows the problem. The proxy will block or allow it by policy "
            f"({_policy_word(ctx, 'invalid_certificate', 'invalid_certificate')})."
        )
        if main == codes.SERVER_REVOKED:
            inspected_says += " (It does not check revocation here.)"
    else:
        inspected_says = " It shows on the inspected path too."
    fix = _remedy(bypassed, main) or "Fix it on the server."
    snippet = bypass_rule(host, port, f"temporary: {main} until the server is fixed")
    return Verdict(
        "server",
        f"The server has a problem that shows bypassed: {words}.{inspected_says}",
        f"The server must fix it: {fix} Until then, decide per host by policy (block keeps "
        "users safe); at most a temporary rule for this exact host, never a broad one:\n" + snippet,
        main,
        snippet,
    )


def _blocked(
    inspected: Mapping[str, Any], ctx: PathContext, reason: str, host: str, port: int
) -> Verdict:
    detail = f" ({ctx.detail})" if ctx.detail else ""
    title = ""
    for f in errors(inspected):
        t = (f.get("evidence") or {}).get("block_page_title")
        if f.get("code") == codes.POLICY_BLOCKED and t:
            title = f" Block page: {t!r}."
    if reason == codes.LEGACY_PROTOCOL_VERSION:
        why = (
            "the server's TLS version is below the proxy's minimum "
            f"({_policy_word(ctx, 'server_min_tls', 'server minimum')})"
        )
        fix = "Upgrade the server to TLS 1.2 or later; meanwhile a targeted bypass rule"
    elif reason.startswith("server."):
        why = f"the proxy enforces a server certificate problem ({reason}) on this path"
        fix = "Fix the server's certificate; meanwhile a targeted bypass rule"
    elif ctx.rule and ctx.rule != "default":
        why = f"rule {ctx.rule!r} blocks it"
        fix = "If the host is legitimate, a targeted bypass rule"
    else:
        why = f"the proxy refuses it by policy{f' ({reason})' if reason else ''}"
        fix = "If the host is legitimate, a targeted bypass rule"
    snippet = bypass_rule(host, port, f"tlsdiag compare: blocked inspected ({reason or 'policy'})")
    return Verdict(
        "inspection",
        f"Works bypassed, blocked inspected: {why}{detail}.{title}",
        f"{fix} for this exact host (never a broad one):\n{snippet}",
        codes.POLICY_BLOCKED,
        snippet,
    )
