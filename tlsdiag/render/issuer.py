"""Console output of ``tlsdiag issuer``: the verdict first, then issuer, root, reasons, chain."""

from __future__ import annotations

from tlsdiag.facts.issuer import issuer_facts
from tlsdiag.model import Report
from tlsdiag.render.console import render_findings, root_set_label
from tlsdiag.render.term import Console, escape

_CONFIDENCE_STYLE = {"high": "bold", "medium": "", "low": "dim"}


def render_issuer(report: Report, console: Console) -> None:
    """Verdict line (inspected / direct, vendor, confidence), issuer and root, reasons, chain,
    then the findings."""
    facts = issuer_facts(report)
    console.print(f"[bold]issuer[/] {escape(report.target)}")
    verdict = facts["interception"]
    if verdict is None:
        console.print("[bold red]No certificate was seen[/]: the connection failed (see below).")
        render_findings(report, console)
        return
    confidence = verdict["confidence"]
    style = _CONFIDENCE_STYLE.get(confidence, "")
    conf = f"[{style}]{escape(confidence)}[/]" if style else escape(confidence)
    if verdict["inspected"]:
        who = verdict["vendor"] or "a private / enterprise CA"
        console.print(
            f"[bold yellow]INSPECTED[/] by {escape(str(who))}  "
            f"(TLS Inspection = 1, confidence {conf})"
        )
    else:
        how = "public CA" if verdict["public_root"] else "not an inspecting proxy"
        console.print(
            f"[bold green]DIRECT[/] ({escape(how)})  (TLS Inspection = 0, confidence {conf})"
        )
    console.print(f"  [dim]issuer:[/] {escape(verdict['issuer'])}")
    console.print(f"  [dim]root:  [/] {escape(verdict['root'])}")
    if verdict["root_sha256"]:
        console.print(f"  [dim]root sha256:[/] {escape(verdict['root_sha256'])}")
    trusted = facts["trusted_by"]
    if trusted:
        yes = [root_set_label(k) for k, v in trusted.items() if v]
        console.print(
            f"  [dim]trusted by:[/] {escape(', '.join(yes)) if yes else 'no trust store here'}"
        )
    roots_here = facts["inspection_roots_trusted_here"]
    if roots_here:
        names = ", ".join(f"{r['vendor_id']} ({r['root']})" for r in roots_here)
        console.print(f"  [dim]inspection roots trusted here:[/] {escape(names)}")
    console.print("  [dim]reasons:[/]")
    for reason in verdict["reasons"]:
        console.print(f"   - {escape(reason)}")
    chain = facts["presented_chain"]
    if chain:
        console.print("  [dim]presented chain:[/]")
        for i, cert in enumerate(chain):
            scts = f", {cert['sct_count']} SCTs" if cert["sct_count"] else ""
            console.print(
                f"   {i} {escape(cert['subject'])}  [dim]<- {escape(cert['issuer'])}"
                f" (until {escape(cert['not_after'])}{scts})[/]"
            )
    console.print()
    render_findings(report, console)
