"""Pure decisions that commands take on top of the chain analysis and the probe record.

``check`` turns an untrusted inspection root into the client's problem, warns when the OS store
and the public bundle disagree, and drops repeated findings; ``probe`` keeps only the findings
that say the handshake failed; ``demo`` compares the codes found with the ones a lab case
expects. No I/O here: every input is data.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from tlsdiag import codes
from tlsdiag.core import certs as C
from tlsdiag.core.chain import ChainAnalysis
from tlsdiag.core.findings import make_finding
from tlsdiag.core.trust.store_gap import store_mismatch_finding
from tlsdiag.facts.ids import RootSetId
from tlsdiag.model import Finding, ProbeResult, Severity


def reclassify_untrusted(findings: Sequence[Finding], inspected: bool) -> list[Finding]:
    """An untrusted root that is an inspection root is the client's problem, not the server's.

    Args:
        findings: the chain findings.
        inspected: the interception verdict says the chain is inspected.

    Returns:
        The findings, with ``server.untrusted_root`` turned into ``client.root_not_trusted``
        when ``inspected``.
    """
    if not inspected:
        return list(findings)
    out = []
    for f in findings:
        if f.code == codes.SERVER_UNTRUSTED_ROOT:
            out.append(
                make_finding(
                    codes.CLIENT_ROOT_NOT_TRUSTED,
                    detail=f.detail + " It is an inspection root: this client does not trust it.",
                    evidence=f.evidence,
                )
            )
        else:
            out.append(f)
    return out


def store_mismatch_findings(analysis: ChainAnalysis, *, platform: str) -> list[Finding]:
    """The chain verifies against the OS store but not against the public (certifi) bundle:
    browsers work, tools with their own bundle fail (the list comes from the trust-store data).

    Args:
        analysis: the chain analysis (``trusted_by`` keyed by root-set name).
        platform: linux, macos, windows ... (names the failing tools).

    Returns:
        One ``client.store_mismatch`` warning, or nothing.
    """
    trusted = analysis.trusted_by
    if not trusted.get(RootSetId.OS) or trusted.get(RootSetId.PUBLIC, True):
        return []
    root = analysis.path[-1]
    finding = store_mismatch_finding(
        root_in_os=True,
        root_in_certifi=False,
        root_subject=C.name_string(root.subject),
        platform=platform,
        severity=Severity.WARNING,
    )
    return [finding] if finding else []


def dedupe_findings(findings: Iterable[Finding]) -> list[Finding]:
    """The findings in order, each (code, title) once.

    Args:
        findings: findings from several checks, possibly repeated.

    Returns:
        The first of each (code, title).
    """
    seen: set[tuple[str, str]] = set()
    out = []
    for f in findings:
        key = (f.code, f.title)
        if key not in seen:
            seen.add(key)
            out.append(f)
    return out


def probe_findings(probe: ProbeResult, findings: Iterable[Finding]) -> tuple[Finding, ...]:
    """What ``probe`` reports: only whether the handshake worked (chain problems are check's).

    Args:
        probe: the probe record.
        findings: the findings of the check run on it.

    Returns:
        The error findings when no handshake completed, else nothing.
    """
    failed = probe.handshake is None and probe.legacy is None
    return tuple(f for f in findings if failed and f.severity is Severity.ERROR)


def error_codes(findings: Iterable[Finding]) -> tuple[str, ...]:
    """The distinct error-level codes, in order of first appearance.

    Args:
        findings: a report's findings.

    Returns:
        Each error code once.
    """
    return tuple(dict.fromkeys(f.code for f in findings if f.severity is Severity.ERROR))
