"""Console output of ``tlsdiag issuer``: the verdict first, then issuer, root, reasons, chain."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from rich.console import Console
from rich.markup import escape

from tlsdiag.model import Report
from tlsdiag.render.console import render_findings

_CONFIDENCE_STYLE = {"high": "bold", "medium": "", "low": "dim"}


def render_issuer(report: Report, console: Console) -> None:
    """Verdict line (inspected / direct, vendor, confidence), issuer and root, reasons, chain,
    then the findings."""
    facts = report.facts
    console.print(f"[bold]issuer[/] {escape(report.target)}")
    verdict: Mapping[str, Any] | None = facts.get("interception")
    if verdict is None:
        console.print("[bold red]No certificate was seen[/]: the connection failed (see below).")
        render_findings(report, console)
        return
    confidence = str(verdict.get("confidence", ""))
    style = _CONFIDENCE_STYLE.get(confidence, "")
    conf = f"[{style}]{escape(confidence)}[/]" if style else escape(confidence)
    if verdict.get("inspected"):
        who = verdict.get("vendor") or "a private / enterprise CA"
        console.print(
            f"[bold yellow]INSPECTED[/] by {escape(str(who))}  "
            f"(TLS Inspection = 1, confidence {conf})"
        )
    else:
        how = "public CA" if verdict.get("public_root") else "not an inspecting proxy"
        console.print(
            f"[bold green]DIRECT[/] ({escape(how)})  (TLS Inspection = 0, confidence {conf})"
        )
    console.print(f"  [dim]issuer:[/] {escape(str(verdict.get('issuer', '')))}")
    console.print(f"  [dim]root:  [/] {escape(str(verdict.get('root', '')))}")
    if verdict.get("root_sha256"):
        console.print(f"  [dim]root sha256:[/] {escape(str(verdict['root_sha256']))}")
    trusted = facts.get("trusted_by") or {}
    if trusted:
        yes = [k for k, v in trusted.items() if v]
        console.print(
            f"  [dim]trusted by:[/] {escape(', '.join(yes)) if yes else 'no trust store here'}"
        )
    roots_here = facts.get("inspection_roots_trusted_here") or []
    if roots_here:
        names = ", ".join(f"{r['vendor_id']} ({r['root']})" for r in roots_here)
        console.print(f"  [dim]inspection roots trusted here:[/] {escape(names)}")
    console.print("  [dim]reasons:[/]")
    for reason in verdict.get("reasons", []):
        console.print(f"   - {escape(str(reason))}")
    chain = facts.get("presented_chain") or []
    if chain:
        console.print("  [dim]presented chain:[/]")
        for i, cert in enumerate(chain):
            scts = f", {cert['sct_count']} SCTs" if cert.get("sct_count") else ""
            console.print(
                f"   {i} {escape(str(cert['subject']))}  [dim]<- {escape(str(cert['issuer']))}"
                f" (until {escape(str(cert['not_after']))}{scts})[/]"
            )
    console.print()
    render_findings(report, console)
