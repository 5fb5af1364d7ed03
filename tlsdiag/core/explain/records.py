"""What ``explain`` returns: the recognised errors, the ranked causes, near misses, the
inspection context, and the shared words of one finding code. Plain immutable records
(named tuples: building a slotted dataclass at import costs about a millisecond each)."""

from __future__ import annotations

from typing import TYPE_CHECKING, NamedTuple

from tlsdiag.core.explain.hosts import _target

if TYPE_CHECKING:
    from tlsdiag.facts.explain import (
        CauseFacts,
        ExplainTextFacts,
        ExplanationFacts,
        InspectionFacts,
        MatchFacts,
        SuggestionFacts,
    )


class MatchedError(NamedTuple):
    """One recognised error message in the text."""

    pattern: str  # the pattern id in error_patterns.toml
    client: str  # the client family id
    client_name: str
    meaning: str
    excerpt: str  # the line that holds the match (shortened)
    line: int  # 1-based line number in the text

    def to_dict(self) -> MatchFacts:
        """JSON-ready form."""
        return {
            "pattern": self.pattern,
            "client": self.client,
            "client_name": self.client_name,
            "meaning": self.meaning,
            "excerpt": self.excerpt,
            "line": self.line,
        }


class RankedCause(NamedTuple):
    """One finding code as an explanation of the text, with its score and next steps."""

    code: str
    score: float
    title: str
    why: str
    meaning: str
    inspection: str
    next: str
    check: str
    patterns: tuple[str, ...] = ()

    def to_dict(self) -> CauseFacts:
        """JSON-ready form."""
        return {
            "code": self.code,
            "score": self.score,
            "title": self.title,
            "why": self.why,
            "meaning": self.meaning,
            "inspection": self.inspection,
            "next": self.next,
            "check": self.check,
            "patterns": list(self.patterns),
        }


class Suggestion(NamedTuple):
    """A known error message that resembles the text although no pattern matched."""

    pattern: str
    client: str
    example: str
    similarity: float

    def to_dict(self) -> SuggestionFacts:
        """JSON-ready form."""
        return {
            "pattern": self.pattern,
            "client": self.client,
            "example": self.example,
            "similarity": self.similarity,
        }


class InspectionContext(NamedTuple):
    """What is known about TLS inspection on the path that produced the text."""

    inspected: bool | None  # None: nothing says either way
    source: str  # "option" (the user said so), "text", "none"
    vendors: tuple[str, ...] = ()
    evidence: tuple[str, ...] = ()  # the words in the text that showed it
    proxy_seen: bool = False

    def to_dict(self) -> InspectionFacts:
        """JSON-ready form."""
        return {
            "inspected": self.inspected,
            "source": self.source,
            "vendors": list(self.vendors),
            "evidence": list(self.evidence),
            "proxy_seen": self.proxy_seen,
        }


class Explanation(NamedTuple):
    """The answer for one text."""

    recognised: bool
    matches: tuple[MatchedError, ...]
    causes: tuple[RankedCause, ...]
    suggestions: tuple[Suggestion, ...]
    context: InspectionContext
    host: str = ""
    port: int | None = None
    clients: tuple[str, ...] = ()  # display names of the clients the text shows
    public_host: bool = False  # the host is a large public service with a sound chain
    notes: tuple[str, ...] = ()

    @property
    def target(self) -> str:
        """``host`` or ``host:port`` (port shown when not 443), or "" when no host is known."""
        return _target(self.host, self.port)

    def to_facts(self) -> ExplainTextFacts:
        """The JSON-ready facts of the explain report."""
        return {
            "recognised": self.recognised,
            "host": self.host or None,
            "port": self.port,
            "public_host": self.public_host,
            "clients": list(self.clients),
            "inspection": self.context.to_dict(),
            "matches": [m.to_dict() for m in self.matches],
            "causes": [c.to_dict() for c in self.causes],
            "suggestions": [s.to_dict() for s in self.suggestions],
            "notes": list(self.notes),
        }


class CodeExplanation(NamedTuple):
    """The shared words for one finding code, as ``explain`` and ``check`` show them."""

    code: str
    severity: str
    where: str
    title: str
    meaning: str
    inspection: str
    next_step: str
    check: str

    def as_text(self) -> str:
        """Plain-text paragraphs: meaning, under inspection, next step, confirm with."""
        return (
            f"{self.title} ({self.code})\n"
            f"What it means: {self.meaning}\n"
            f"Under TLS inspection: {self.inspection}\n"
            f"What to do: {self.next_step}\n"
            f"Confirm with: {self.check}"
        )

    def to_dict(self) -> ExplanationFacts:
        """JSON-ready form."""
        return {
            "code": self.code,
            "severity": self.severity,
            "where": self.where,
            "title": self.title,
            "meaning": self.meaning,
            "inspection": self.inspection,
            "next": self.next_step,
            "check": self.check,
        }
