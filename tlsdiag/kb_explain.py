"""Typed loaders for the ``explain`` knowledge base (read once, cached; regexes compiled lazily).

Three data files, one array of tables each:

* ``error_patterns.toml`` - ``[[pattern]]``: a client's error string or code, and the finding codes
  it points at, weighted (optionally re-weighted when the text shows TLS inspection or not).
* ``explain_context.toml`` - ``[[context]]``: what else a pasted text tells us: the client that
  printed it, an inspecting product it names, a proxy in the path, the host it was talking to.
* ``explain_causes.toml`` - ``[[cause]]``: per finding code, why it fits a failure in general, what
  it means under TLS inspection and the tlsdiag command that confirms it. The title, meaning and
  next step of a code stay in ``findings.toml`` (``tlsdiag.kb.finding_info``).

Parsing the TOML is cheap compared with compiling hundreds of regexes, so each pattern carries a
lower-case ``needle`` (a literal its regex cannot match without) and is compiled only the first
time a text contains that needle.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from tlsdiag.codes import ALL_CODES
from tlsdiag.kb import load_toml

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
CONTEXT_KEYS = frozenset({"id", "kind", "regex", "name", "needle"})
CONTEXT_KINDS = frozenset({"client", "inspection", "proxy", "host", "ignore_host"})
CAUSE_KEYS = frozenset({"id", "why", "inspection", "check"})


@dataclass(frozen=True, slots=True)
class CauseWeight:
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


@dataclass(frozen=True, slots=True)
class ErrorPattern:
    """One error message or code of one client family."""

    id: str
    client: str
    regex: str
    meaning: str
    causes: tuple[CauseWeight, ...]
    generic: bool = False
    examples: tuple[str, ...] = ()
    needle: str = ""  # lower case; "" = always try the regex
    proxy_means_inspection: bool = False

    def compiled(self) -> re.Pattern[str]:
        """The compiled regex (case-insensitive, multi-line), compiled once per process."""
        return _compile(self.regex)


@dataclass(frozen=True, slots=True)
class ContextRule:
    """A clue in the text: the client, an inspecting product, a proxy, the target host."""

    id: str
    kind: str
    regex: str
    name: str = ""
    needle: str = ""

    def compiled(self) -> re.Pattern[str]:
        """The compiled regex (case-insensitive, multi-line), compiled once per process."""
        return _compile(self.regex)


@dataclass(frozen=True, slots=True)
class CauseText:
    """Explain-specific words for one finding code (the rest comes from findings.toml)."""

    code: str
    why: str
    inspection: str
    check: str  # a command template; ``{target}`` is the host (and port) from the text


@dataclass(frozen=True, slots=True, eq=False)
class ExplainKB:
    """The whole explain knowledge base."""

    patterns: tuple[ErrorPattern, ...]
    contexts: tuple[ContextRule, ...]
    causes: dict[str, CauseText] = field(default_factory=dict)

    @property
    def client_names(self) -> dict[str, str]:
        """Client id -> display name, from the ``client`` context rules."""
        return {c.id.removeprefix("client-"): c.name for c in self.contexts if c.kind == "client"}


@cache
def _compile(regex: str) -> re.Pattern[str]:
    return re.compile(regex, re.IGNORECASE | re.MULTILINE)


_META = set(".^$*+?{}[]\\|()")


def derive_needle(regex: str) -> str:
    """The longest literal run the regex cannot match without (lower case), or "".

    Only runs outside groups count, a character followed by a quantifier is dropped, and a
    top-level alternation gives "" (no single literal is required). Escaped punctuation is
    taken literally; escapes such as ``\\s`` or ``\\d`` end a run.
    """
    runs: list[str] = []
    current: list[str] = []
    depth = 0
    i = 0
    n = len(regex)
    in_class = False

    def close() -> None:
        if current:
            runs.append("".join(current))
            current.clear()

    while i < n:
        ch = regex[i]
        if in_class:
            if ch == "\\":
                i += 2
                continue
            if ch == "]":
                in_class = False
            i += 1
            continue
        if ch == "\\" and i + 1 < n:
            nxt = regex[i + 1]
            if depth == 0 and not nxt.isalnum():
                if i + 2 < n and regex[i + 2] in "?*{":
                    close()
                else:
                    current.append(nxt)
            else:
                close()
            i += 2
            continue
        if ch == "[":
            close()
            in_class = True
            i += 1
            continue
        if ch == "(":
            close()
            depth += 1
            i += 1
            continue
        if ch == ")":
            depth -= 1
            i += 1
            continue
        if ch == "|":
            if depth == 0:
                return ""
            i += 1
            continue
        if ch in "?*{":
            if current:
                current.pop()
            close()
            if ch == "{":
                while i < n and regex[i] != "}":
                    i += 1
            i += 1
            continue
        if ch in _META:
            close()
            i += 1
            continue
        if depth == 0:
            current.append(ch)
        else:
            close()
        i += 1
    close()
    best = max(runs, key=len, default="")
    return best.lower() if len(best.strip()) >= 3 else ""


def _reject_unknown(where: str, entry: dict[str, Any], allowed: frozenset[str]) -> None:
    unknown = set(entry) - allowed
    if unknown:
        raise ValueError(
            f"{where}: {entry.get('id', entry.get('code'))}: unknown keys {sorted(unknown)}"
        )


def _cause_weight(pid: str, raw: dict[str, Any]) -> CauseWeight:
    _reject_unknown(f"error_patterns.toml: {pid}", raw, CAUSE_WEIGHT_KEYS)
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
    out: list[ErrorPattern] = []
    seen: set[str] = set()
    for entry in load_toml("error_patterns.toml")["pattern"]:
        _reject_unknown("error_patterns.toml", entry, PATTERN_KEYS)
        pid = entry["id"]
        if pid in seen:
            raise ValueError(f"error_patterns.toml: duplicate id {pid}")
        seen.add(pid)
        regex = entry["regex"]
        needle = entry.get("needle")
        out.append(
            ErrorPattern(
                id=pid,
                client=entry["client"],
                regex=regex,
                meaning=entry["meaning"],
                causes=tuple(_cause_weight(pid, c) for c in entry["causes"]),
                generic=bool(entry.get("generic", False)),
                examples=tuple(entry.get("examples", ())),
                needle=(needle if needle is not None else derive_needle(regex)).lower(),
                proxy_means_inspection=bool(entry.get("proxy_means_inspection", False)),
            )
        )
    return tuple(out)


@cache
def context_rules() -> tuple[ContextRule, ...]:
    """All context rules, in file order (first host rule that matches wins)."""
    out: list[ContextRule] = []
    seen: set[str] = set()
    for entry in load_toml("explain_context.toml")["context"]:
        _reject_unknown("explain_context.toml", entry, CONTEXT_KEYS)
        cid = entry["id"]
        if cid in seen:
            raise ValueError(f"explain_context.toml: duplicate id {cid}")
        seen.add(cid)
        if entry["kind"] not in CONTEXT_KINDS:
            raise ValueError(f"explain_context.toml: {cid}: unknown kind {entry['kind']!r}")
        regex = entry["regex"]
        needle = entry.get("needle")
        out.append(
            ContextRule(
                id=cid,
                kind=entry["kind"],
                regex=regex,
                name=entry.get("name", ""),
                needle=(needle if needle is not None else derive_needle(regex)).lower(),
            )
        )
    return tuple(out)


@cache
def cause_texts() -> dict[str, CauseText]:
    """Explain-specific words per finding code."""
    out: dict[str, CauseText] = {}
    for entry in load_toml("explain_causes.toml")["cause"]:
        _reject_unknown("explain_causes.toml", entry, CAUSE_KEYS)
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
    """The whole explain knowledge base, loaded on first use."""
    return ExplainKB(patterns=error_patterns(), contexts=context_rules(), causes=cause_texts())
