"""The ``tlsdiag issuer`` report: the verdict at the top level, then the chain. Pure."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from cryptography import x509

from tlsdiag.core.issuer.signals import _sha256, dn, sct_count
from tlsdiag.core.issuer.verdict import Interception
from tlsdiag.facts.ids import RootSetId
from tlsdiag.facts.issuer import (
    ConnectionFacts,
    IssuerCertFacts,
    IssuerChainFacts,
    IssuerFacts,
)
from tlsdiag.model import Finding, Report


def chain_facts(
    presented: Sequence[x509.Certificate], path: Sequence[x509.Certificate]
) -> IssuerChainFacts:
    """JSON-ready description of the presented chain and the built path (for the report)."""

    def one(cert: x509.Certificate) -> IssuerCertFacts:
        return {
            "subject": dn(cert.subject),
            "issuer": dn(cert.issuer),
            "sha256": _sha256(cert),
            "not_before": cert.not_valid_before_utc.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "not_after": cert.not_valid_after_utc.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "sct_count": sct_count(cert),
        }

    return {
        "presented_chain": [one(c) for c in presented],
        "path": [one(c) for c in path],
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
    chain = chain_facts(presented, path)
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
