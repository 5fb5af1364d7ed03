"""A pasted text prepared for the explain rules: needle checks and regex searches that give the
same answers as on the whole text, with less work on a long log (pure).

A rule (error pattern or context rule) carries lower-case *needles*: literals that any match of
its regex contains (``tlsdiag.kb._needles``). On a long text (:data:`LONG` characters or more):

* the needles are looked up in the distinct lines of the lower-cased text with every digit
  made ``0``, not in all of it (a log repeats the same lines thousands of times, apart from
  its numbers). A needle without a line break occurs in the text exactly when it occurs in
  one of its lines; one without digits occurs exactly when it occurs in the digit-folded
  lines (a folded character that is not ``0`` was not a digit); one with digits is looked
  up in the whole text, and only when its folded form is in the folded lines;
* a regex that can never match a line break (:func:`single_line`) is searched from the start
  of the first line that holds one of its needles: every match lies within one line and
  contains a needle, so no match can start earlier. ``Pattern.search(text, pos)`` keeps the
  whole text as context (``^``, ``\\b`` and look-behinds see what lies before ``pos``), so the
  first match found is the first match of the whole text. This is done only for ASCII texts
  and needles, where lower-casing keeps every character at its place.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from functools import cache
from typing import TYPE_CHECKING, Protocol

LONG = 64 * 1024
"""Texts from this many characters on get the distinct-line and start-of-search shortcuts."""

_SAFE_ESCAPES = frozenset("dwSbBAZ")  # escapes (with a letter) that never match a line break
_FLAGS = re.compile(r"\(\?([aiLmsux-]+)[:)]")
_FOLD = str.maketrans("123456789", "000000000")


@cache
def _folded(needle: str) -> tuple[str, bool]:
    """The needle with its digits made ``0``, and whether it has any digit."""
    return needle.translate(_FOLD), any(c in "0123456789" for c in needle)


if TYPE_CHECKING:

    class Rule(Protocol):
        """What the text needs from a rule: its regex source, needles and compiled pattern."""

        @property
        def regex(self) -> str: ...

        @property
        def needles(self) -> tuple[str, ...]: ...

        def compiled(self) -> re.Pattern[str]: ...


@cache
def single_line(regex: str) -> bool:
    """True when no match of ``regex`` (compiled without DOTALL) can contain a line break.

    Conservative: any construct that might match one (``\\s``, ``\\n`` and every other escape
    with a letter or digit except ``\\d \\w \\S \\b \\B \\A \\Z``, a negated class, a
    back-reference, a conditional group, an inline ``s`` flag, a literal line break) gives False.
    """
    if "\n" in regex:
        return False
    i = 0
    n = len(regex)
    while i < n:
        ch = regex[i]
        if ch == "\\":
            nxt = regex[i + 1 : i + 2]
            if not nxt or (nxt.isalnum() and nxt not in _SAFE_ESCAPES):
                return False
            i += 2
            continue
        if ch == "[" and regex[i + 1 : i + 2] == "^":
            return False
        if ch == "(" and regex[i + 1 : i + 2] == "?":
            rest = regex[i + 2 : i + 4]
            if rest.startswith(("P=", "(")):
                return False
            flags = _FLAGS.match(regex, i)
            if flags and "s" in flags.group(1).split("-")[0]:
                return False
        i += 1
    return True


class Haystack:
    """One text, lower-cased once, with the shortcuts above for long texts."""

    __slots__ = ("_ascii", "_probe", "lower", "text")

    def __init__(self, text: str) -> None:
        self.text = text
        self.lower = text.lower()
        long = len(text) >= LONG
        if long:
            folded = self.lower.translate(_FOLD)
            self._probe = "\n".join(dict.fromkeys(folded.split("\n")))
        else:
            self._probe = self.lower
        self._ascii = long and text.isascii()

    def has_any(self, needles: Sequence[str]) -> bool:
        """False when none of ``needles`` is in the text (no needles: True, always try)."""
        if not needles:
            return True
        probe = self._probe
        lower = self.lower
        if probe is lower:
            return any(n in lower for n in needles)
        return any(self._holds(n) for n in needles)

    def _holds(self, needle: str) -> bool:
        if "\n" in needle:
            return needle in self.lower
        folded, digits = _folded(needle)
        if folded not in self._probe:
            return False
        return not digits or needle in self.lower

    def _start(self, rule: Rule) -> int:
        needles = rule.needles
        if not self._ascii or not needles or not all(n.isascii() for n in needles):
            return 0
        if not single_line(rule.regex):
            return 0
        lower = self.lower
        hits = [i for n in needles if (i := lower.find(n)) >= 0]
        if not hits:
            return 0
        return lower.rfind("\n", 0, min(hits)) + 1

    def search(self, rule: Rule) -> re.Match[str] | None:
        """The first match of the rule's regex in the text (None when its needles rule it out)."""
        if not self.has_any(rule.needles):
            return None
        return rule.compiled().search(self.text, self._start(rule))

    def finditer(self, rule: Rule) -> Iterator[re.Match[str]]:
        """Every match of the rule's regex in the text, in order (none when ruled out)."""
        if not self.has_any(rule.needles):
            return iter(())
        return rule.compiled().finditer(self.text, self._start(rule))
