"""The ``tlsdiag issuer`` report: the verdict at the top level, then the chain. Pure."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from cryptography import x509

from tlsdiag.core.certs import summarize
from tlsdiag.core.issuer.verdict import Interception
from tlsdiag.model import Finding, Report

_CHAIN_KEYS = ("subject", "issuer", "sha256", "not_before", "not_after", "sct_count")


def path_facts(
    presented: Sequence[x509.Certificate], path: Sequence[x509.Certificate]
) -> dict[str, Any]:
    """JSON-ready description of the presented chain and the built path (for the report): a
    few fields of each certificate's summary."""

    def one(cert: x509.Certificate, position: int) -> dict[str, Any]:
        summary = summarize(cert, position).to_dict()
        return {key: summary[key] for key in _CHAIN_KEYS}

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
    trusted_by: Mapping[str, bool],
    platform: str,
    app: str | None,
    configured: Sequence[tuple[str, str]],
    connection: Mapping[str, Any],
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
    facts: dict[str, Any] = {"connection": dict(connection)}
    if verdict is not None:
        facts["verdict"] = "inspected" if verdict.inspected else "direct"
        facts["tls_inspection"] = 1 if verdict.inspected else 0
        facts["interception"] = verdict.to_dict()
    else:
        facts["verdict"] = "unknown"
        facts["tls_inspection"] = None
        facts["interception"] = None
    facts["platform"] = platform
    facts["app"] = app
    facts["trusted_by"] = dict(trusted_by)
    facts["inspection_roots_trusted_here"] = [
        {"vendor_id": vid, "root": name} for vid, name in configured
    ]
    facts.update(path_facts(presented, path))
    return Report(
        command="issuer",
        target=target,
        generated_at=generated_at,
        facts=facts,
        findings=tuple(findings),
        tool_version=tool_version,
    )
