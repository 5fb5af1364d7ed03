"""Console rendering of ``probe --scan``: versions, suites per version, clients, policy."""

from __future__ import annotations

from tlsdiag.facts.scan import ClientRowFacts, ScanResultFacts, scan_facts
from tlsdiag.kb.scan import VERSION_NAMES, suites
from tlsdiag.model import Report
from tlsdiag.render.check import verdict_line
from tlsdiag.render.console import render_findings
from tlsdiag.render.term import Console, escape
from tlsdiag.render.term_table import Table

_LABELS = {
    "SSLv3": "SSL 3.0",
    "TLSv1.0": "TLS 1.0",
    "TLSv1.1": "TLS 1.1",
    "TLSv1.2": "TLS 1.2",
    "TLSv1.3": "TLS 1.3",
}


def _suite_notes(name: str) -> tuple[str, str]:
    """(style, note) for one suite: what a person should notice about it."""
    s = suites().get(name)
    if s is None:
        return "", ""
    if s.enc in ("None", "RC4", "DES", "3DES") or s.auth == "None" or s.bits < 112:
        return "red", "broken or unauthenticated"
    if not s.forward_secrecy:
        return "yellow", "no forward secrecy"
    if not s.aead:
        return "", "CBC"
    return "green", ""


def _versions_table(scan: ScanResultFacts) -> Table:
    table = Table(title="Protocol versions", show_edge=False)
    for col in ("version", "accepted", "suites", "order", "groups", "server answer"):
        table.add_column(col)
    accepted = set(scan["versions"])
    for v in VERSION_NAMES:
        ok = v in accepted
        order = scan["server_order"].get(v)
        groups = scan["groups"].get(v)
        table.add_row(
            _LABELS[v],
            "[green]yes[/]" if ok else "[dim]no[/]",
            str(len(scan["ciphers"].get(v, []))) if ok else "",
            "" if order is None else ("server" if order else "client"),
            escape(", ".join(groups)) if groups else "",
            escape(scan["answers"].get(v, "")),
        )
    return table


def _suites_table(version: str, names: list[str], usable: set[str] | None, *, wide: bool) -> Table:
    table = Table(
        title=f"{_LABELS[version]} cipher suites, server preference order",
        show_edge=False,
    )
    table.add_column("#")
    table.add_column("IANA name", no_wrap=True)
    if wide:
        table.add_column("OpenSSL name", no_wrap=True)
    for col in ("bits", "policy", "note"):
        table.add_column(col)
    for i, name in enumerate(names, 1):
        style, note = _suite_notes(name)
        s = suites().get(name)
        cells = [str(i), f"[{style}]{escape(name)}[/]" if style else escape(name)]
        if wide:
            cells.append(escape(s.openssl) if s else "")
        table.add_row(
            *cells,
            str(s.bits) if s else "",
            "[dim]-[/]" if usable is None else ("[green]ok[/]" if name in usable else "[red]no[/]"),
            note,
        )
    return table


def _clients_table(rows: list[ClientRowFacts]) -> Table:
    table = Table(title="Common clients", show_edge=False)
    table.add_column("client")
    table.add_column("connects")
    table.add_column("with")
    for r in rows:
        version, suite = r.get("version", ""), r.get("suite", "")
        if r["connects"]:
            how = f"{_LABELS.get(version, version)}, {suite}"
            table.add_row(escape(r["name"]), "[green]yes[/]", escape(how))
        else:
            table.add_row(escape(r["name"]), "[red]no[/]", escape(r["reason"]))
    return table


def render_scan(report: Report, console: Console) -> None:
    """The scan as tables, then the policy verdict and the findings."""
    facts = scan_facts(report)
    style, line = verdict_line(report)
    console.print(f"[{style}]{escape(line)}[/]")
    ep = facts["endpoint"]
    scan = facts.get("scan")
    addrs = ", ".join(ep["addresses"]) or "-"
    console.print(
        f"[bold]{escape(ep['host'])}[/] port {ep['port']}  "
        f"[dim]address {escape(scan['address'] if scan else addrs)}, "
        f"SNI {escape(ep['sni'] or '(none)')}[/]"
    )
    if not scan:
        render_findings(report, console)
        return
    console.print(f"  [dim]{scan['probes']} ClientHellos in {scan['seconds']:.2f} s[/]")
    console.print()
    console.print(_versions_table(scan))
    pol = facts.get("policy")
    for v in VERSION_NAMES:
        names = scan["ciphers"].get(v)
        if names:
            console.print()
            usable = set(pol["usable"].get(v, [])) if pol and v in pol["versions"] else None
            console.print(_suites_table(v, names, usable, wide=console.width >= 120))
    clients = facts.get("clients")
    if clients:
        console.print()
        console.print(_clients_table(clients))
    if pol:
        console.print()
        level = pol["cipher_level"] or "any"
        verdict = "[green]can connect[/]" if pol["connects"] else "[red]cannot connect[/]"
        console.print(
            f"Policy: {escape(pol['label'])} ({_LABELS.get(pol['min_version'], '')} to "
            f"{_LABELS.get(pol['max_version'], '')}, cipher level {escape(level)}): {verdict}"
        )
    if report.findings:
        console.print()
        render_findings(report, console)
