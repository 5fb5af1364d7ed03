"""Typed loaders for the ``explain`` knowledge base (read once, cached; regexes compiled lazily).

Three data files, one array of tables each:

* ``error_patterns.toml`` - ``[[pattern]]``: a client's error string or code, and the finding codes
  it points at, weighted (optionally re-weighted when the text shows TLS inspection or not).
* ``explain_context.toml`` - ``[[context]]``: what else a pasted text tells us: the client that
  printed it, an inspecting product it names, a proxy in the path, the host it was talking to.
* ``explain_causes.toml`` - ``[[cause]]``: per finding code, why it fits a failure in general, what
  it means under TLS inspection and the tlsdiag command that confirms it. The title, meaning and
  next step of a code stay in ``findings.toml`` (``tlsdiag.kb.findings.finding_info``).

Each regex carries lower-case ``needles`` (literals it cannot match without, one per top-level
alternative, ``tlsdiag.kb._needles``) and is compiled only the first time a text contains one of
them, once per process (``tlsdiag.kb.explain_text`` applies needles and regexes to a text). The
parsed tables come from a small cache when it is current (``tlsdiag.kb._explain_cache``); this
module validates them and builds the typed records.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from functools import cache
from typing import TYPE_CHECKING, Any, NamedTuple

from tlsdiag.codes import ALL_CODES
from tlsdiag.kb._explain_cache import _NEEDLES, _tables
from tlsdiag.kb._needles import _needles

if TYPE_CHECKING:
    from tlsdiag.kb.explain_text import Haystack

PATTERN_KEYS = frozenset(
    {
        "id",
        "client",
        "regex",
        "meaning",
        "causes",
        "generic",
        "examples",
        "needle",
        "proxy_means_inspection",
    }
)
CAUSE_WEIGHT_KEYS = frozenset({"code", "weight", "inspected", "direct", "why"})
CONTEXT_KEYS = frozenset({"id", "kind", "regex", "name", "needle", "codes", "factor"})
CONTEXT_KINDS = frozenset({"client", "inspection", "proxy", "host", "ignore_host", "public_host"})
CAUSE_KEYS = frozenset({"id", "why", "inspection", "check"})


class CauseWeight(NamedTuple):
    """How strongly one pattern points at one finding code.

    ``inspected`` replaces ``weight`` when the text (or the user) shows TLS inspection;
    ``direct`` replaces it when the user says the connection is not inspected.
    """

    code: str
    weight: float
    inspected: float | None = None
    direct: float | None = None
    why: str = ""

    def weight_for(self, inspected: bool | None) -> float:
        """The weight under the given inspection context (None: unknown)."""
        if inspected is True and self.inspected is not None:
            return self.inspected
        if inspected is False and self.direct is not None:
            return self.direct
        return self.weight


class ErrorPattern(NamedTuple):
    """One error message or code of one client family."""

    id: str
    client: str
    regex: str
    meaning: str
    causes: tuple[CauseWeight, ...]
    generic: bool = False
    examples: tuple[str, ...] = ()
    needles: tuple[str, ...] = ()  # lower case; any one present -> try the regex; () = always
    proxy_means_inspection: bool = False

    def may_match(self, lower: str) -> bool:
        """Cheap prefilter on the lower-cased text: False means the regex cannot match."""
        return not self.needles or any(n in lower for n in self.needles)

    def compiled(self) -> re.Pattern[str]:
        """The compiled regex (case-insensitive, multi-line), compiled once per process."""
        return _compile(self.regex)


class ContextRule(NamedTuple):
    """A clue in the text: the client, an inspecting product, a proxy, the target host."""

    id: str
    kind: str
    regex: str
    name: str = ""
    needles: tuple[str, ...] = ()
    codes: tuple[str, ...] = ()  # public_host: the codes whose weights are scaled by factor
    factor: float = 1.0

    def may_match(self, lower: str) -> bool:
        """Cheap prefilter on the lower-cased text: False means the regex cannot match."""
        return not self.needles or any(n in lower for n in self.needles)

    def compiled(self) -> re.Pattern[str]:
        """The compiled regex (case-insensitive, multi-line), compiled once per process."""
        return _compile(self.regex)


class CauseText(NamedTuple):
    """Explain-specific words for one finding code (the rest comes from findings.toml)."""

    code: str
    why: str
    inspection: str
    check: str  # a command template; ``{target}`` is the host (and port) from the text


class ExplainKB:
    """The whole explain knowledge base.

    Patterns are kept as their parsed tables and turned into :class:`ErrorPattern` objects
    only when first needed (a text contains one of their needles, or all of them are asked
    for): building all 300+ costs more than explaining one message. Compared and hashed by
    identity.
    """

    __slots__ = ("_built", "_needles", "causes", "contexts", "raw_patterns")

    def __init__(
        self,
        raw_patterns: Sequence[dict[str, Any]],
        contexts: tuple[ContextRule, ...],
        causes: dict[str, CauseText] | None = None,
        needles: Sequence[Sequence[str]] | None = None,
    ) -> None:
        self.raw_patterns = raw_patterns
        self.contexts = contexts
        self.causes: dict[str, CauseText] = {} if causes is None else causes
        self._needles = needles  # per pattern, in file order (None: from the built patterns)
        self._built: dict[int, ErrorPattern] = {}

    def pattern(self, index: int) -> ErrorPattern:
        """The pattern at ``index`` in file order (built and validated on first use)."""
        built = self._built.get(index)
        if built is None:
            built = _build_pattern(self.raw_patterns[index])
            self._built[index] = built
        return built

    @property
    def patterns(self) -> tuple[ErrorPattern, ...]:
        """All patterns, in file order."""
        return tuple(self.pattern(i) for i in range(len(self.raw_patterns)))

    def candidates(self, text: Haystack) -> list[ErrorPattern]:
        """The patterns whose needles the text holds (the only ones that can match)."""
        if self._needles is None:
            return [p for p in self.patterns if text.has_any(p.needles)]
        has_any = text.has_any
        return [self.pattern(i) for i, needles in enumerate(self._needles) if has_any(needles)]

    @property
    def client_names(self) -> dict[str, str]:
        """Client id -> display name, from the ``client`` context rules."""
        return {c.id.removeprefix("client-"): c.name for c in self.contexts if c.kind == "client"}


@cache
def _compile(regex: str) -> re.Pattern[str]:
    return re.compile(regex, re.IGNORECASE | re.MULTILINE)


def _entry_needles(entry: dict[str, Any]) -> tuple[str, ...]:
    if _NEEDLES in entry:
        return tuple(entry[_NEEDLES])
    return _needles(entry.get("needle"), entry["regex"])


_REQUIRED = {
    "pattern": ("id", "client", "regex", "meaning", "causes"),
    "context": ("id", "kind", "regex"),
    "cause": ("id", "why", "inspection", "check"),
    "weight": ("code", "weight"),
}


def _reject_unknown(where: str, entry: dict[str, Any], allowed: frozenset[str], table: str) -> None:
    missing = [k for k in _REQUIRED[table] if k not in entry]
    if missing:
        raise ValueError(f"{where}: {entry.get('id', entry.get('code', '?'))}: missing {missing}")
    unknown = set(entry) - allowed - {_NEEDLES}
    if unknown:
        raise ValueError(
            f"{where}: {entry.get('id', entry.get('code'))}: unknown keys {sorted(unknown)}"
        )


def _cause_weight(pid: str, raw: dict[str, Any]) -> CauseWeight:
    _reject_unknown(f"error_patterns.toml: {pid}", raw, CAUSE_WEIGHT_KEYS, "weight")
    code = raw["code"]
    if code not in ALL_CODES:
        raise ValueError(f"error_patterns.toml: {pid}: unknown code {code!r}")
    values = [raw.get("weight"), raw.get("inspected"), raw.get("direct")]
    for v in values:
        if v is not None and not (isinstance(v, int | float) and 0 <= v <= 1):
            raise ValueError(f"error_patterns.toml: {pid}: {code}: weights must be in 0..1")
    return CauseWeight(
        code=code,
        weight=float(raw["weight"]),
        inspected=None if raw.get("inspected") is None else float(raw["inspected"]),
        direct=None if raw.get("direct") is None else float(raw["direct"]),
        why=raw.get("why", ""),
    )


@cache
def error_patterns() -> tuple[ErrorPattern, ...]:
    """All error patterns, in file order (regexes not compiled yet)."""
    return build_patterns(_tables().patterns)


def build_patterns(entries: Iterable[dict[str, Any]]) -> tuple[ErrorPattern, ...]:
    """Validate ``[[pattern]]`` tables and turn them into patterns.

    Raises:
        ValueError: unknown keys, duplicate ids, unknown codes, weights outside 0..1.
    """
    out: list[ErrorPattern] = []
    seen: set[str] = set()
    for entry in entries:
        pattern = _build_pattern(entry)
        if pattern.id in seen:
            raise ValueError(f"error_patterns.toml: duplicate id {pattern.id}")
        seen.add(pattern.id)
        out.append(pattern)
    return tuple(out)


def _build_pattern(entry: dict[str, Any]) -> ErrorPattern:
    _reject_unknown("error_patterns.toml", entry, PATTERN_KEYS, "pattern")
    pid = entry["id"]
    return ErrorPattern(
        id=pid,
        client=entry["client"],
        regex=entry["regex"],
        meaning=entry["meaning"],
        causes=tuple(_cause_weight(pid, c) for c in entry["causes"]),
        generic=bool(entry.get("generic", False)),
        examples=tuple(entry.get("examples", ())),
        needles=_entry_needles(entry),
        proxy_means_inspection=bool(entry.get("proxy_means_inspection", False)),
    )


@cache
def context_rules() -> tuple[ContextRule, ...]:
    """All context rules, in file order (first host rule that matches wins)."""
    return build_contexts(_tables().contexts)


def build_contexts(entries: Iterable[dict[str, Any]]) -> tuple[ContextRule, ...]:
    """Validate ``[[context]]`` tables and turn them into rules (ValueError when invalid)."""
    out: list[ContextRule] = []
    seen: set[str] = set()
    for entry in entries:
        _reject_unknown("explain_context.toml", entry, CONTEXT_KEYS, "context")
        cid = entry["id"]
        if cid in seen:
            raise ValueError(f"explain_context.toml: duplicate id {cid}")
        seen.add(cid)
        if entry["kind"] not in CONTEXT_KINDS:
            raise ValueError(f"explain_context.toml: {cid}: unknown kind {entry['kind']!r}")
        regex = entry["regex"]
        damped = tuple(entry.get("codes", ()))
        unknown = [c for c in damped if c not in ALL_CODES]
        if unknown:
            raise ValueError(f"explain_context.toml: {cid}: unknown codes {unknown}")
        factor = entry.get("factor", 1.0)
        if not (isinstance(factor, int | float) and 0 <= factor <= 1):
            raise ValueError(f"explain_context.toml: {cid}: factor must be in 0..1")
        out.append(
            ContextRule(
                id=cid,
                kind=entry["kind"],
                regex=regex,
                name=entry.get("name", ""),
                needles=_entry_needles(entry),
                codes=damped,
                factor=float(factor),
            )
        )
    return tuple(out)


@cache
def cause_texts() -> dict[str, CauseText]:
    """Explain-specific words per finding code."""
    return build_causes(_tables().causes)


def build_causes(entries: Iterable[dict[str, Any]]) -> dict[str, CauseText]:
    """Validate ``[[cause]]`` tables (ValueError when invalid)."""
    out: dict[str, CauseText] = {}
    for entry in entries:
        _reject_unknown("explain_causes.toml", entry, CAUSE_KEYS, "cause")
        code = entry["id"]
        if code not in ALL_CODES:
            raise ValueError(f"explain_causes.toml: unknown code {code!r}")
        if code in out:
            raise ValueError(f"explain_causes.toml: duplicate id {code}")
        out[code] = CauseText(
            code=code, why=entry["why"], inspection=entry["inspection"], check=entry["check"]
        )
    return out


@cache
def explain_kb() -> ExplainKB:
    """The whole explain knowledge base, loaded on first use.

    Each pattern is validated when it is first built; :func:`error_patterns` validates the
    whole file at once (duplicate ids included), as the test suite does.
    """
    tables = _tables()
    return ExplainKB(
        raw_patterns=tables.patterns,
        contexts=context_rules(),
        causes=cause_texts(),
        needles=tables.patterns.needles,
    )
