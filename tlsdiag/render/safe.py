"""Strings that came from the network (SNI, host names, certificate subjects and issuers, error
texts) are escaped before they reach a terminal or a log line: a control character shows as
``\\x1b``, a newline as ``\\n``, so no name can move the cursor, recolour the screen or forge a
line. JSON escapes them itself and HTML uses ``html.escape``; this is for console output.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping
from functools import cache
from typing import Any

from tlsdiag.model import Finding, Report

_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


@cache
def _unsafe(keep_newlines: bool) -> re.Pattern[str]:
    """The characters ``printable`` escapes: C0 and C1 controls, DEL, line and paragraph
    separators (compiled on first need: most text takes the fast path, and both cost ~0.6 ms)."""
    if keep_newlines:
        return re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f\u2028\u2029]")
    return re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def _escape(match: re.Match[str]) -> str:
    ch = match.group()
    if ch in _NAMED:
        return _NAMED[ch]
    code = ord(ch)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def printable(text: str, *, keep_newlines: bool = False) -> str:
    """``text`` with control characters escaped (``\\x1b``, ``\\n``); newlines kept if asked."""
    if text.isascii() and text.isprintable():  # the common case, without a regex
        return text
    return _unsafe(keep_newlines).sub(_escape, text)


RULE_SNIPPET = "[[rule]]"


def snippet_lines(text: str) -> list[str] | None:
    """The lines of a policy snippet tlsdiag built (``[[rule]]`` ...), as printed after
    ``printable`` escaped its newlines; None for any other text.

    Only snippets are split: tlsdiag builds them from host names that the target parser or the
    HAR reader validated (no backslash, no control character), so every escaped newline in one
    is a newline tlsdiag wrote, and pasting the lines into a policy file works.
    """
    if not text.startswith(RULE_SNIPPET):
        return None
    return text.replace("\\n", "\n").split("\n")


def _value(value: Any) -> Any:
    if isinstance(value, str):
        return value if value.isascii() and value.isprintable() else printable(value)
    if isinstance(value, dict | Mapping):  # dict first: the common case, without the ABC check
        return {printable(str(k)): _value(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(_value(v) for v in value)
    return value


def printable_finding(f: Finding) -> Finding:
    """A finding with every field escaped (a newline in a name inside the detail would otherwise
    start a forged line)."""
    return dataclasses.replace(
        f,
        title=printable(f.title),
        detail=printable(f.detail),
        remediation=printable(f.remediation),
        evidence={printable(k): printable(v) for k, v in f.evidence.items()},
    )


def printable_report(report: Report) -> Report:
    """A report safe to print on a terminal: every string in it escaped."""
    return dataclasses.replace(
        report,
        target=printable(report.target),
        facts=_value(report.facts),
        findings=tuple(printable_finding(f) for f in report.findings),
    )
