"""Build findings with the words from ``data/findings.toml`` (the wording lives in one place)."""

from __future__ import annotations

from collections.abc import Mapping

from tlsdiag.kb.findings import finding_info
from tlsdiag.model import Finding, Severity


def make_finding(
    code: str,
    *,
    detail: str,
    evidence: Mapping[str, str] | None = None,
    title: str | None = None,
    severity: Severity | None = None,
    remediation: str | None = None,
) -> Finding:
    """A finding for ``code`` with the default title, severity and next step of that code.

    Args:
        code: a ``tlsdiag.codes`` constant.
        detail: what was seen, in plain words.
        evidence: the facts (names, dates, versions, fingerprints, alerts).
        title: overrides the default one-line title.
        severity: overrides the code's default severity (e.g. a warning for "expires soon").
        remediation: overrides the default next step.

    Returns:
        The finding.
    """
    info = finding_info(code)
    return Finding(
        code=code,
        severity=severity or info.severity,
        title=title or info.title,
        detail=detail,
        evidence=dict(evidence or {}),
        remediation=remediation or info.next_step,
    )
