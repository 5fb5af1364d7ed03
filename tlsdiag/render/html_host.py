"""The HTML view of one host (``check``, and the ``issuer`` report of the same host): handshake
summary, the chain as a diagram from leaf to root with validity bars, who trusts it, whether it
is inspected, and the findings."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from tlsdiag.model import Report
from tlsdiag.render.html_parts import (
    esc,
    facts_pre,
    findings_block,
    kv_table,
    validity_bar,
    verdict_text,
    worst,
)


def _handshake(facts: Mapping[str, Any]) -> str:
    hs = facts.get("handshake") or {}
    ep = facts.get("endpoint") or {}
    http = facts.get("http") or {}
    timings = facts.get("timings_ms") or {}
    if not hs.get("version"):
        alerts = ", ".join(hs.get("alerts_received") or []) or "none"
        state = f"no TLS session (alerts received: {alerts})"
    else:
        state = f"{hs.get('version')}, {hs.get('cipher')} ({hs.get('cipher_bits')} bits)"
        if hs.get("settings") == "legacy":
            state += ", only with old versions or ciphers allowed"
    rows = [
        ("Handshake", state),
        ("Address", ep.get("address")),
        ("SNI sent", hs.get("sni") or ep.get("sni") or "(none)"),
        ("ALPN", hs.get("alpn")),
        ("Certificates sent", hs.get("certificates_sent")),
        ("Client certificate requested", "yes" if hs.get("client_certificate_requested") else ""),
        ("OCSP stapled", "yes" if hs.get("ocsp_stapled") else ""),
        ("HTTP", f"{http.get('status')} {http.get('reason', '')}".strip() if http else ""),
        ("Server Date", http.get("date") if http else ""),
        (
            "Timings (ms)",
            ", ".join(f"{k} {v}" for k, v in timings.items()) if timings else "",
        ),
    ]
    return "<h3>Handshake</h3>" + kv_table(rows)


def _cert_box(cert: Mapping[str, Any], now: str, *, extra: str = "") -> str:
    subject = str(cert.get("subject", ""))
    cn = subject.split("CN=")[-1].split(",")[0] if "CN=" in subject else subject
    bits = [esc(cert.get("key")), esc(cert.get("signature"))]
    sans = cert.get("san_dns") or []
    sub = " · ".join(b for b in bits if b)
    return (
        f'<div class="cert{" extra" if extra else ""}">'
        f'<div class="name">{esc(cn)}</div>'
        f'<div class="sub">subject: {esc(subject)}</div>'
        f'<div class="sub">issuer: {esc(cert.get("issuer"))}</div>'
        + (f'<div class="sub">{esc(extra)}</div>' if extra else "")
        + (f'<div class="sub">{sub}</div>' if sub else "")
        + (f'<div class="sub">names: {esc(", ".join(sans[:6]))}</div>' if sans else "")
        + (
            validity_bar(str(cert["not_before"]), str(cert["not_after"]), now)
            if cert.get("not_after")
            else ""
        )
        + f'<div class="sub">sha256 {esc(str(cert.get("sha256", ""))[:32])}…</div></div>'
    )


def chain_diagram(
    chain: Sequence[Mapping[str, Any]], path: Sequence[Mapping[str, Any]], now: str
) -> str:
    """The presented chain leaf to root, then the certificates the path added (dashed)."""
    if not chain:
        return "<h3>Chain</h3><p>No certificate was presented.</p>"
    parts = []
    for i, cert in enumerate(chain):
        if i:
            parts.append('<div class="arrow">↓ issued by</div>')
        parts.append(_cert_box(cert, now))
    sent = {str(c.get("sha256")) for c in chain}
    for p in path:
        if str(p.get("sha256")) not in sent:
            parts.append('<div class="arrow">↓ issued by</div>')
            parts.append(_cert_box(p, now, extra=str(p.get("source", ""))))
    return f'<h3>Chain (leaf to root)</h3><div class="chain">{"".join(parts)}</div>'


def _trust(facts: Mapping[str, Any]) -> str:
    trust = facts.get("trust") or facts.get("trusted_by") or {}
    if not trust:
        return ""
    rows = []
    for name, value in trust.items():
        ok = value.get("trusted") if isinstance(value, Mapping) else bool(value)
        msg = value.get("message", "") if isinstance(value, Mapping) else ""
        mark = '<span class="ok">trusted</span>' if ok else '<span class="err">not trusted</span>'
        rows.append(f"<tr><th>{esc(name)}</th><td>{mark}</td><td>{esc(msg)}</td></tr>")
    return f'<h3>Who trusts this chain</h3><table class="kv">{"".join(rows)}</table>'


def _interception(facts: Mapping[str, Any]) -> str:
    i = facts.get("interception")
    if not isinstance(i, Mapping):
        return ""
    state = "INSPECTED (TLS Inspection = 1)" if i.get("inspected") else "direct (not inspected)"
    return "<h3>Inspection</h3>" + kv_table(
        [
            ("Verdict", state),
            ("Product", i.get("vendor")),
            ("Issuer", i.get("issuer")),
            ("Root", i.get("root")),
            ("Confidence", i.get("confidence")),
            ("Reasons", "; ".join(i.get("reasons") or [])),
        ]
    )


def host_section(report: Report) -> str:
    """A ``check`` (or ``probe``) report as the host view."""
    facts = report.facts
    cls = worst(report.findings)
    return (
        f'<section class="host"><h2>{esc(report.target)}</h2>'
        f'<p class="{ {"error": "err", "warning": "warn"}.get(cls, "ok") }"><b>'
        f"{esc(verdict_text(report))}</b></p>"
        f'<p class="meta">{esc(report.command)} at {esc(report.generated_at)}</p>'
        + _handshake(facts)
        + chain_diagram(facts.get("chain") or [], facts.get("path") or [], report.generated_at)
        + _trust(facts)
        + _interception(facts)
        + "<h3>Findings</h3>"
        + findings_block(report.findings)
        + facts_pre(facts)
        + "</section>"
    )


def issuer_section(report: Report) -> str:
    """An ``issuer`` report: the verdict, the presented chain and the findings."""
    facts = report.facts
    return (
        f'<section class="issuer"><h3>Who issued the certificate of {esc(report.target)}</h3>'
        + kv_table(
            [
                ("Verdict", facts.get("verdict")),
                ("TLS Inspection", facts.get("tls_inspection")),
                ("Platform", facts.get("platform")),
            ]
        )
        + _interception(facts)
        + findings_block(report.findings)
        + "</section>"
    )
