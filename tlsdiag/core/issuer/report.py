"""The ``tlsdiag issuer`` report: the verdict at the top level, then the chain. Pure."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from cryptography import x509

from tlsdiag.core.certs import summarize
from tlsdiag.core.issuer.verdict import Interception
from tlsdiag.facts.ids import RootSetId
from tlsdiag.facts.issuer import (
    ConnectionFacts,
    IssuerCertFacts,
    IssuerChainFacts,
    IssuerFacts,
)
from tlsdiag.model import Finding, Report


def path_facts(
    presented: Sequence[x509.Certificate], path: Sequence[x509.Certificate]
) -> IssuerChainFacts:
    """JSON-ready description of the presented chain and the built path (for the report): a
    few fields of each certificate's summary."""

    def one(cert: x509.Certificate, position: int) -> IssuerCertFacts:
        s = summarize(cert, position).to_dict()
        return {
            "subject": s["subject"],
            "issuer": s["issuer"],
            "sha256": s["sha256"],
            "not_before": s["not_before"],
            "not_after": s["not_after"],
            "sct_count": s["sct_count"],
        }

    return {
        "presented_chain": [one(c, i) for i, c in enumerate(presented)],
        "path": [one(c, i) for i, c in enumerate(path)],
    }


def issuer_report(
    *,
    target: str,
    generated_at: str,
    tool_version: str,
    verdict: Interception | None,
    findings: Sequence[Finding],
    presented: Sequence[x509.Certificate],
    path: Sequence[x509.Certificate],
    trusted_by: Mapping[RootSetId, bool],
    platform: str,
    app: str | None,
    configured: Sequence[tuple[str, str]],
    connection: ConnectionFacts,
) -> Report:
    """The ``tlsdiag issuer`` report: the verdict at the top level, then the chain.

    Args:
        target: ``host:port`` as shown to the user.
        generated_at: ISO 8601 UTC.
        tool_version: ``tlsdiag.__version__``.
        verdict: the interception verdict (None when no certificate was seen).
        findings: the findings to report.
        presented: the chain as sent by the server.
        path: the built path.
        trusted_by: which stores accept the chain.
        platform: the platform judged (``--platform`` or this OS).
        app: ``--app``.
        configured: ``(vendor id, root name)`` of inspection roots this machine trusts.
        connection: host, port, sni, address of the probe.

    Returns:
        The report.
    """
    chain = path_facts(presented, path)
    facts: IssuerFacts = {
        "connection": connection,
        "verdict": "unknown" if verdict is None else "inspected" if verdict.inspected else "direct",
        "tls_inspection": None if verdict is None else 1 if verdict.inspected else 0,
        "interception": None if verdict is None else verdict.to_dict(),
        "platform": platform,
        "app": app,
        "trusted_by": dict(trusted_by),
        "inspection_roots_trusted_here": [
            {"vendor_id": vid, "root": name} for vid, name in configured
        ],
        "presented_chain": chain["presented_chain"],
        "path": chain["path"],
    }
    return Report(
        command="issuer",
        target=target,
        generated_at=generated_at,
        facts=facts,
        findings=tuple(findings),
        tool_version=tool_version,
    )
