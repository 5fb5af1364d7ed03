"""Near misses: known error messages that resemble a text no pattern recognised. Pure."""

from __future__ import annotations

import re
from functools import cache

from tlsdiag.core.explain.records import Suggestion
from tlsdiag.kb.explain import ErrorPattern, ExplainKB, explain_kb

_WORD = re.compile(r"[a-z][a-z0-9_]{2,}")
_STOP = frozenset(
    [
        "the",
        "and",
        "for",
        "not",
        "was",
        "with",
        "this",
        "that",
        "from",
        "are",
        "has",
        "have",
        "can",
        "could",
        "cannot",
        "will",
        "would",
        "your",
        "you",
        "but",
        "its",
        "into",
        "been",
        "were",
        "when",
        "which",
        "what",
        "there",
        "their",
        "then",
        "than",
        "all",
        "any",
        "may",
        "did",
        "does",
        "error",
        "errors",
        "failed",
        "failure",
        "fail",
        "while",
        "unable",
    ]
)
_TLS_WORDS = frozenset(
    [
        "ssl",
        "tls",
        "certificate",
        "cert",
        "certificates",
        "handshake",
        "x509",
        "https",
        "verify",
        "verification",
        "trust",
        "trusted",
        "issuer",
        "pkix",
        "schannel",
        "secure",
        "cipher",
        "openssl",
        "self_signed",
        "selfsigned",
    ]
)
SUGGEST_MIN = 0.5


def _tokens(text: str) -> set[str]:
    return {w[:5] for w in _WORD.findall(text.lower()) if w not in _STOP}


@cache
def _example_tokens(kb: ExplainKB) -> tuple[tuple[ErrorPattern, str, frozenset[str]], ...]:
    out: list[tuple[ErrorPattern, str, frozenset[str]]] = []
    for p in kb.patterns:
        for example in p.examples:
            toks = frozenset(_tokens(example))
            if len(toks) >= 2:
                out.append((p, example, toks))
    return tuple(out)


def suggest(text: str, kb: ExplainKB | None = None, limit: int = 3) -> tuple[Suggestion, ...]:
    """Known messages that resemble ``text`` (for a text no pattern recognised).

    Only texts that use TLS or certificate vocabulary get suggestions. Candidates share at
    least half of an example's words (typo-tolerant: first five letters); they are ranked by
    character-level similarity of the text and the example.
    """
    from difflib import SequenceMatcher

    kb = kb or explain_kb()
    words = _tokens(text[:20000])
    if not words & {w[:5] for w in _TLS_WORDS}:
        return ()
    scored: list[tuple[float, ErrorPattern, str]] = []
    for p, example, toks in _example_tokens(kb):
        shared = words & toks
        if len(shared) < 2:
            continue
        if len(shared) / len(toks) >= SUGGEST_MIN:
            ratio = SequenceMatcher(None, text[:400].lower(), example[:400].lower()).ratio()
            scored.append((ratio, p, example))
    scored.sort(key=lambda t: -t[0])
    out: list[Suggestion] = []
    for sim, p, example in scored:
        if any(s.pattern == p.id for s in out):
            continue
        out.append(Suggestion(p.id, p.client, example, round(sim, 2)))
        if len(out) >= limit:
            break
    return tuple(out)
