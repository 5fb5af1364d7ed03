"""Facts of ``explain``: the messages recognised in a text and the causes, or one code."""

from __future__ import annotations

from typing import TYPE_CHECKING, TypedDict, cast

if TYPE_CHECKING:
    from tlsdiag.model import Report


class InputFacts(TypedDict):
    """Where the text came from."""

    source: str
    characters: int
    truncated: bool


class MatchFacts(TypedDict):
    """One recognised error message."""

    pattern: str
    client: str
    client_name: str
    meaning: str
    excerpt: str
    line: int


class CauseFacts(TypedDict):
    """One finding code as an explanation of the text."""

    code: str
    score: float
    title: str
    why: str
    meaning: str
    inspection: str
    next: str
    check: str
    patterns: list[str]


class SuggestionFacts(TypedDict):
    """A known message that resembles the text."""

    pattern: str
    client: str
    example: str
    similarity: float


class InspectionFacts(TypedDict):
    """What is known about TLS inspection on the path that produced the text."""

    inspected: bool | None
    source: str
    vendors: list[str]
    evidence: list[str]
    proxy_seen: bool


class ExplanationFacts(TypedDict):
    """The shared words for one finding code (``explain --code``)."""

    code: str
    severity: str
    where: str
    title: str
    meaning: str
    inspection: str
    next: str
    check: str


class ExplainTextFacts(TypedDict):
    """What ``core.explain`` found in a text (``Explanation.to_facts``)."""

    recognised: bool
    host: str | None
    port: int | None
    public_host: bool
    clients: list[str]
    inspection: InspectionFacts
    matches: list[MatchFacts]
    causes: list[CauseFacts]
    suggestions: list[SuggestionFacts]
    notes: list[str]


class ExplainFacts(ExplainTextFacts):
    """``explain`` of a text: the input, then what was found."""

    input: InputFacts


class ExplainCodeFacts(TypedDict):
    """``explain --code``."""

    explanation: ExplanationFacts


def explains_code(report: Report) -> bool:
    """True for an ``explain --code`` report (its facts are ``ExplainCodeFacts``)."""
    return "explanation" in report.facts


def explain_facts(report: Report) -> ExplainFacts:
    """The typed facts of an ``explain`` report of a text (not ``--code``)."""
    return cast("ExplainFacts", report.facts)


def explain_code_facts(report: Report) -> ExplainCodeFacts:
    """The typed facts of an ``explain --code`` report."""
    return cast("ExplainCodeFacts", report.facts)
