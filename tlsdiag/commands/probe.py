"""``probe`` end to end: the handshake and chain alone, like ``openssl s_client``.

It runs ``check`` without HTTP and revocation and keeps only whether the handshake worked.
"""

from __future__ import annotations

from dataclasses import replace

from tlsdiag.commands.check import CheckOptions, run_check
from tlsdiag.core.verdict import probe_findings
from tlsdiag.model import Report, Target


def run_probe(target: Target, opts: CheckOptions, *, showcerts: bool = False) -> Report:
    """Probe ``target`` and build the ``probe`` report (with the PEM chain when ``showcerts``)."""
    from cryptography.hazmat.primitives.serialization import Encoding

    outcome = run_check(target, opts)
    report = outcome.report
    facts = dict(report.facts)
    if showcerts:
        facts["pem"] = [c.public_bytes(Encoding.PEM).decode("ascii") for c in outcome.presented]
    return replace(report, facts=facts, findings=probe_findings(outcome.probe, report.findings))
