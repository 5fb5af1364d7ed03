"""``explain`` end to end: a pasted error text (or one finding code) to the documented causes,
ranked best first (the matching and ranking are pure, in ``tlsdiag.core.explain``)."""

from __future__ import annotations

from tlsdiag import __version__
from tlsdiag.codes import ALL_CODES
from tlsdiag.core.explain import explain, explanation_for_code
from tlsdiag.core.findings import make_finding
from tlsdiag.errors import UsageError
from tlsdiag.model import Report


def _now() -> str:
    from datetime import UTC, datetime

    return datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def explain_code(code: str, host: str) -> Report:
    """``explain --code``: the shared explanation of one finding code.

    Raises:
        UsageError: ``code`` is not a finding code.
    """
    if code not in ALL_CODES:
        raise UsageError(
            f"--code {code}: not a finding code",
            hint="codes look like server.chain_incomplete or client.root_not_trusted",
        )
    ex = explanation_for_code(code, host)
    return Report(
        command="explain",
        target=code,
        generated_at=_now(),
        facts={"explanation": ex.to_dict()},
        tool_version=__version__,
    )


def explain_text(
    body: str, *, source: str, truncated: bool, inspected: bool | None, host: str | None
) -> Report:
    """``explain``: the messages recognised in ``body`` and the causes, best first."""
    result = explain(body, inspected=inspected, host=host)
    facts = {
        "input": {"source": source, "characters": len(body), "truncated": truncated},
        **result.to_facts(),
    }
    findings = tuple(
        make_finding(
            c.code,
            detail=c.why,
            evidence={"score": f"{c.score:.2f}", "confirm with": c.check},
        )
        for c in result.causes
    )
    return Report(
        command="explain",
        target=result.target or source,
        generated_at=_now(),
        facts=facts,
        findings=findings,
        tool_version=__version__,
    )
