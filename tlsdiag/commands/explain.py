"""``explain`` end to end: read a pasted error text, a log or stdin (or take one finding code)
and map it to the documented causes, ranked best first (the matching and ranking are pure, in
``tlsdiag.core.explain``)."""

from __future__ import annotations

from typing import TYPE_CHECKING, BinaryIO

from tlsdiag import __version__
from tlsdiag.codes import ALL_CODES
from tlsdiag.core.explain.engine import explain, explanation_for_code
from tlsdiag.core.findings import make_finding
from tlsdiag.errors import UsageError
from tlsdiag.model import Report

if TYPE_CHECKING:
    from pathlib import Path

    from tlsdiag.facts.explain import ExplainCodeFacts, ExplainFacts


def _decode(data: bytes) -> str:
    """Text from bytes: UTF-8, or UTF-16 as PowerShell's ``>`` writes it."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16", errors="replace")
    if len(data) >= 4 and data[1:4:2] == b"\x00\x00" and data[0:4:2] != b"\x00\x00":
        return data.decode("utf-16-le", errors="replace")
    return data.decode("utf-8-sig", errors="replace")


def read_text_stream(stream: BinaryIO | None = None) -> tuple[str, bool]:
    """The text of ``stream`` (default: stdin; its last 2 MiB) and whether it was cut.

    Raises:
        InputError: stdin is closed, or the stream is far too large to be an error text.
    """
    from tlsdiag.stores.userfile import Kind, read_stream, stdin_stream

    data, truncated = read_stream(stream or stdin_stream(), Kind.ERROR_TEXT, tail=True)
    return _decode(data), truncated


def read_text_file(path: Path, stdin: BinaryIO | None = None) -> tuple[str, bool]:
    """The text of ``--file`` (``-`` for ``stdin``; its last 2 MiB) and whether it was cut.

    Raises:
        InputError: the file cannot be read or is not a regular file.
    """
    from tlsdiag.stores.userfile import Kind, read_file

    if str(path) == "-":
        return read_text_stream(stdin)
    data, truncated = read_file(path, Kind.ERROR_TEXT, what=f"--file {path}", tail=True)
    return _decode(data), truncated


def _now() -> str:
    import time  # datetime's import costs about a millisecond; the format is the same

    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


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
    facts: ExplainCodeFacts = {"explanation": ex.to_dict()}
    return Report(
        command="explain",
        target=code,
        generated_at=_now(),
        facts=facts,
        tool_version=__version__,
    )


def explain_text(
    body: str, *, source: str, truncated: bool, inspected: bool | None, host: str | None
) -> Report:
    """``explain``: the messages recognised in ``body`` and the causes, best first."""
    result = explain(body, inspected=inspected, host=host)
    facts: ExplainFacts = {
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
