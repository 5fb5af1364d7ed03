"""Prefilter needles for the explain patterns: the lower-case literals a regex cannot match
without, so that a regex is compiled and run only on texts that contain one of them."""

from __future__ import annotations

_META = set(".^$*+?{}[]\\|()")


def _top_level_branches(regex: str) -> list[str]:
    branches: list[str] = []
    depth = 0
    start = 0
    i = 0
    in_class = False
    while i < len(regex):
        ch = regex[i]
        if ch == "\\":
            i += 2
            continue
        if in_class:
            in_class = ch != "]"
        elif ch == "[":
            in_class = True
        elif ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        elif ch == "|" and depth == 0:
            branches.append(regex[start:i])
            start = i + 1
        i += 1
    branches.append(regex[start:])
    return branches


def derive_needles(regex: str) -> tuple[str, ...]:
    """One required literal per top-level alternative, or () when some branch has none.

    The regex can only match a text that contains at least one of the returned literals
    (compared in lower case), so the regex need not be compiled or run otherwise.
    """
    out: list[str] = []
    for branch in _top_level_branches(regex):
        needle = derive_needle(branch)
        if not needle:
            return ()
        if needle not in out:
            out.append(needle)
    return tuple(out)


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


def _needles(given: str | list[str] | None, regex: str) -> tuple[str, ...]:
    if given is None:
        return derive_needles(regex)
    if isinstance(given, list):
        return tuple(str(g).lower() for g in given) if all(given) else ()
    return (given.lower(),) if given else ()
