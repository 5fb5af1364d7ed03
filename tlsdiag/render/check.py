"""Console rendering of ``check`` and ``probe`` reports: verdict, handshake, chain, findings."""

from __future__ import annotations

from typing import TypedDict, cast

from tlsdiag.facts.check import (
    CertFacts,
    HandshakeFacts,
    InterceptionFacts,
    PathEntry,
    TrustVerdict,
    check_facts,
)
from tlsdiag.facts.ids import RootSetId
from tlsdiag.kb.findings import where_of
from tlsdiag.model import Report, Severity
from tlsdiag.render.console import render_findings, root_set_label
from tlsdiag.render.term import Console, escape
from tlsdiag.render.term_table import Tree

_WHERE = {
    "server": "at the server",
    "client": "on this client",
    "inspection": "in the inspection path",
    "network": "in the network (not TLS)",
    "path": "between this client and the server (a middlebox, or the server's TLS stack)",
    "forced": "the options you forced, not the server",
}


def verdict_line(report: Report) -> tuple[str, str]:
    """(style, text): one line saying whether TLS works and where the problem is.

    For ``chain`` (no connection) it says what was analysed instead of "TLS works".
    """
    errors = [f for f in report.sorted_findings() if f.severity is Severity.ERROR]
    target = report.target
    inter = report.facts.get("interception") or {}
    inspected = bool(inter.get("inspected"))
    if not errors:
        warn = sum(1 for f in report.findings if f.severity is Severity.WARNING)
        extra = f" ({warn} warning{'s' if warn != 1 else ''})" if warn else ""
        if report.command == "chain":
            n = len(report.facts.get("chain") or [])
            host = report.facts.get("host")
            name = f" for {host}" if host else " (no --host: the name was not checked)"
            what = f"{n} certificate{'s' if n != 1 else ''} from {target}"
            return "bold green", f"OK  the chain of {what} verifies{name}{extra}"
        return "bold green", f"OK  TLS to {target} works from here{extra}"
    wheres = []
    for f in errors:
        where = where_of(f.code, f.evidence, inspected)
        if where in _WHERE and _WHERE[where] not in wheres:
            wheres.append(_WHERE[where])
    place = " and ".join(wheres) or "see below"
    first = errors[0]
    subject = f"the chain in {target}" if report.command == "chain" else target
    return "bold red", f"FAIL  {subject}: {first.title} - the problem is {place}"


class _ChainView(TypedDict, total=False):
    """The chain part of a ``check``, ``probe`` or ``chain`` report."""

    chain: list[CertFacts]
    path: list[PathEntry]
    trust: dict[RootSetId, TrustVerdict]
    interception: InterceptionFacts | None
    name_check: str  # ``chain`` only, like the two below
    at_time: str
    roots: str


def _handshake_line(hs: HandshakeFacts | None) -> str:
    if not hs:
        return "no TLS handshake"
    if not hs["version"]:
        alerts = ", ".join(hs["alerts_received"]) or "none"
        return f"handshake failed (alerts received: {alerts})"
    parts = [f"{hs['version']}, {hs['cipher']} ({hs['cipher_bits']} bits)"]
    parts.append(f"ALPN {hs['alpn'] or '-'}")
    parts.append(f"SNI {hs['sni'] or '(none)'}")
    parts.append(f"{hs['certificates_sent']} certificate(s) sent")
    if hs["settings"] == "legacy":
        parts.append("only with old versions/ciphers allowed")
    if hs["client_certificate_requested"]:
        parts.append("client certificate requested")
    if hs["ocsp_stapled"]:
        parts.append("OCSP stapled")
    return ", ".join(parts)


def render_target_header(report: Report, console: Console) -> None:
    """Target, addresses and the handshake summary line (like s_client's)."""
    facts = check_facts(report)
    t = facts["endpoint"]
    name = t["host"]
    if t["unicode_host"] and t["unicode_host"] != t["host"]:
        name = f"{t['unicode_host']} ({t['host']})"
    dns = facts["dns"]
    addrs = ", ".join(dns["addresses"]) or "-"
    source = dns["source"]
    console.print(
        f"[bold]{escape(name)}[/] port {t['port']}  "
        f"[dim]addresses {escape(addrs)} ({escape(source)})[/]"
    )
    if t.get("proxy"):
        console.print(f"  [dim]{escape(t['proxy'])}[/]")
    if dns["cname_chain"]:
        console.print(f"  [dim]CNAME chain:[/] {escape(' -> '.join(dns['cname_chain']))}")
    hs = facts["handshake"]
    timings = facts.get("timings_ms", {"dns": 0.0, "connect": 0.0, "handshake": 0.0})
    console.print(
        f"  [dim]handshake:[/] {escape(_handshake_line(hs))}  "
        f"[dim]({timings['dns']:.0f} ms DNS, {timings['connect']:.0f} ms connect, "
        f"{timings['handshake']:.0f} ms handshake)[/]"
    )
    if hs and hs["client_ca_names"]:
        console.print(
            f"  [dim]acceptable client CA names:[/] {escape('; '.join(hs['client_ca_names']))}"
        )
    bh = facts.get("browser_hello")
    if bh:
        console.print(
            f"  [dim]browser-sized hello ({bh['bytes']} bytes, post-quantum key share):[/] "
            f"{escape(bh['answer'])}"
        )
    http = facts.get("http")
    if http:
        if http["status"]:
            console.print(
                f"  [dim]HTTP:[/] {http['status']} {escape(http['reason'])}"
                f"  [dim]Date:[/] {escape(http['date'] or '-')}"
            )
        elif http["error"]:
            console.print(f"  [dim]HTTP:[/] {escape(http['error'])}")


def render_chain(report: Report, console: Console) -> None:
    """The chain as sent, as a tree (subject, issuer, validity, key, signature), and trust."""
    view = cast("_ChainView", report.facts)
    chain = view.get("chain") or []
    if not chain:
        return
    tree = Tree("[bold]chain as sent by the server[/]")
    node = tree
    for cert in chain:
        label = (
            f"[{cert['position']}] [bold]{escape(cert['subject'])}[/]\n"
            f"issuer {escape(cert['issuer'])}\n"
            f"valid {cert['not_before']} -> {cert['not_after']}, {escape(cert['key'])}, "
            f"{escape(cert['signature'])}"
        )
        names = cert["san_dns"] + cert["san_ip"]
        if names:
            shown = ", ".join(names[:6]) + (f" (+{len(names) - 6})" if len(names) > 6 else "")
            label += f"\nnames {escape(shown)}"
        node = node.add(label)
    console.print(tree)
    path = view.get("path") or []
    if (path and len(path) > len(chain)) or any(p["source"] != "sent" for p in path):
        for p in path:
            if p["source"] != "sent":
                console.print(
                    f"  [dim]path continues with[/] {escape(p['subject'])} "
                    f"[dim]({escape(p['source'])})[/]"
                )
    trust = view.get("trust") or {}
    if trust:
        cells = [
            f"{escape(root_set_label(name))} {'[green]yes[/]' if v['trusted'] else '[red]no[/]'}"
            for name, v in trust.items()
        ]
        console.print("  [dim]trusted by:[/] " + " · ".join(cells))
    for key, value in (  # set by ``chain``
        ("name_check", view.get("name_check")),
        ("at_time", view.get("at_time")),
        ("roots", view.get("roots")),
    ):
        if value:
            console.print(f"  [dim]{key.replace('_', ' ')}:[/] {escape(value)}")
    inter = view.get("interception")
    if inter:
        if inter["inspected"]:
            who = inter["vendor"] or "an inspecting proxy or private CA"
            console.print(
                f"  [dim]interception:[/] [bold yellow]inspected[/] by {escape(who)} "
                f"(confidence {escape(inter['confidence'])})"
            )
        else:
            console.print("  [dim]interception:[/] direct (not inspected)")


def render_check(report: Report, console: Console) -> None:
    """The full ``check`` screen: verdict, target, handshake, chain, findings."""
    style, text = verdict_line(report)
    console.print(f"[{style}]{escape(text)}[/]")
    if "dns" in report.facts:
        render_target_header(report, console)
    render_chain(report, console)
    console.print()
    render_findings(report, console)
    if report.findings:
        code = report.sorted_findings()[0].code
        console.print(f"[dim]More on any finding code: tlsdiag explain --code {code}[/]")


def render_probe(report: Report, console: Console) -> None:
    """The s_client-like part alone (no findings unless the handshake failed)."""
    render_target_header(report, console)
    render_chain(report, console)
    facts = check_facts(report)
    for pem in facts.get("pem") or []:
        console.print(pem, end="", markup=False)
    errors = [f for f in report.findings if f.severity is Severity.ERROR]
    if errors:
        console.print()
        render_findings(report, console)
