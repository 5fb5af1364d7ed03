"""Map a pasted TLS or connection error text to the finding codes that explain it (pure).

The knowledge lives in ``tlsdiag/data`` (``error_patterns.toml``, ``explain_context.toml``,
``explain_causes.toml``) and is loaded and compiled on first use. :func:`explain` takes the text
and what the user said about inspection and returns an :class:`Explanation`: the errors it
recognised (with the client that prints them), the finding codes ranked best first, near misses
when nothing matched, the inspection context and the host the text talks about.

Scoring: every matched pattern gives each of its codes a weight in 0..1 (the pattern's
``inspected`` / ``direct`` weight when the context says so). Weights of different patterns for
the same code combine as independent evidence, ``1 - prod(1 - w)``. A *generic* pattern (such as
curl's exit status 60, which only says "verification failed") counts for less when a more
specific message was recognised too.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

from tlsdiag.core.explain.hosts import (
    _PLACEHOLDER,
    _public_host_rule,
    _target,
    find_host,
    split_host,
)
from tlsdiag.core.explain.records import (
    CodeExplanation,
    Explanation,
    InspectionContext,
    MatchedError,
    RankedCause,
    Suggestion,
)
from tlsdiag.kb.explain import CauseWeight, ContextRule, ErrorPattern, ExplainKB, explain_kb
from tlsdiag.kb.explain_text import Haystack
from tlsdiag.kb.findings import finding_info

GENERIC_DAMPING = 0.4
"""Factor applied to a generic pattern's weights when a specific pattern matched too."""

MAX_MATCHES_SHOWN = 20
_EXCERPT = 240


def explanation_for_code(
    code: str, target: str = "", kb: ExplainKB | None = None
) -> CodeExplanation:
    """The shared explanation of one finding code (the words ``check`` and ``explain`` both use).

    Args:
        code: a ``tlsdiag.codes`` constant.
        target: host (or host:port) to fill into the confirming command; "" gives ``<host>``.
        kb: the knowledge base (default: the shipped one).

    Returns:
        Title, meaning and next step from ``findings.toml``; what the code means under
        inspection and the confirming command from ``explain_causes.toml``.

    Raises:
        KeyError: ``code`` is not a known finding code.
    """
    kb = kb or explain_kb()
    info = finding_info(code)
    extra = kb.causes.get(code)
    return CodeExplanation(
        code=code,
        severity=info.severity.value,
        where=info.where,
        title=info.title,
        meaning=info.meaning,
        inspection=extra.inspection if extra else "",
        next_step=info.next_step,
        check=extra.check.format(target=target or _PLACEHOLDER) if extra else "",
    )


def explanation_text(code: str, target: str = "") -> str:
    """:func:`explanation_for_code` as plain text (for findings of other commands)."""
    return explanation_for_code(code, target).as_text()


def explain(
    text: str,
    *,
    inspected: bool | None = None,
    host: str | None = None,
    kb: ExplainKB | None = None,
) -> Explanation:
    """Recognise the error messages in ``text`` and rank the finding codes that explain them.

    Args:
        text: what the user pasted: one message, a ``curl -v`` transcript, an ``openssl
            s_client`` session, a stack trace or a log excerpt.
        inspected: True when the user says the connection is inspected, False when they say
            it is not, None to read it from the text.
        host: the host (``name`` or ``name:port``) to put in the confirming commands; None
            to take it from the text.
        kb: the knowledge base (default: the shipped one, loaded once).

    Returns:
        The explanation. ``recognised`` is False, and ``causes`` empty, when no known TLS or
        connection error is in the text; ``suggestions`` then lists near misses.
    """
    kb = kb or explain_kb()
    hay = Haystack(text)
    names = kb.client_names
    matched = _match_patterns(kb.candidates(hay), hay)
    ctx = _inspection_context(kb.contexts, hay, inspected, [p for p, _ in matched])
    if host:
        host, port = split_host(host)
    else:
        host, port = find_host(hay, kb.contexts)
    public = _public_host_rule(kb.contexts, host)
    target = _target(host, port)
    causes = _rank(matched, ctx, kb, target, public, host)
    matches = tuple(
        MatchedError(
            pattern=p.id,
            client=p.client,
            client_name=names.get(p.client, p.client),
            meaning=p.meaning,
            excerpt=_excerpt(text, m),
            line=text.count("\n", 0, m.start()) + 1,
        )
        for p, m in matched[:MAX_MATCHES_SHOWN]
    )
    clients = _clients_seen(kb.contexts, hay, [p.client for p, _ in matched], names)
    suggestions = () if matched else _suggest(text, kb)
    notes: list[str] = []
    if len(matched) > MAX_MATCHES_SHOWN:
        notes.append(
            f"{len(matched)} known messages matched; the first {MAX_MATCHES_SHOWN} are shown"
        )
    return Explanation(
        recognised=bool(causes),
        matches=matches,
        causes=causes,
        suggestions=suggestions,
        context=ctx,
        host=host,
        port=port,
        clients=clients,
        public_host=public is not None,
        notes=tuple(notes),
    )


def _suggest(text: str, kb: ExplainKB) -> tuple[Suggestion, ...]:
    from tlsdiag.core.explain.suggest import suggest  # only for a text nothing matched

    return suggest(text, kb)


def _match_patterns(
    patterns: Iterable[ErrorPattern], hay: Haystack
) -> list[tuple[ErrorPattern, re.Match[str]]]:
    found: list[tuple[ErrorPattern, re.Match[str]]] = []
    for p in patterns:
        m = hay.search(p)
        if m is not None:
            found.append((p, m))
    found.sort(key=lambda pm: pm[1].start())
    return found


def _inspection_context(
    rules: Iterable[ContextRule],
    hay: Haystack,
    option: bool | None,
    matched: list[ErrorPattern],
) -> InspectionContext:
    vendors: list[str] = []
    evidence: list[str] = []
    proxy = False
    for rule in rules:
        if rule.kind not in ("inspection", "proxy"):
            continue
        m = hay.search(rule)
        if m is None:
            continue
        if rule.kind == "proxy":
            proxy = True
            continue
        evidence.append(m.group(0).strip())
        if rule.name and rule.name not in vendors:
            vendors.append(rule.name)
    if proxy and not evidence and any(p.proxy_means_inspection for p in matched):
        evidence.append("a proxy in the path and an untrusted root at the top of the chain")
    if option is not None:
        return InspectionContext(option, "option", tuple(vendors), tuple(evidence), proxy)
    if evidence:
        return InspectionContext(True, "text", tuple(vendors), tuple(evidence), proxy)
    return InspectionContext(None, "none", (), (), proxy)


def _rank(
    matched: list[tuple[ErrorPattern, re.Match[str]]],
    ctx: InspectionContext,
    kb: ExplainKB,
    target: str,
    public: ContextRule | None = None,
    host: str = "",
) -> tuple[RankedCause, ...]:
    if not matched:
        return ()
    any_specific = any(not p.generic for p, _ in matched)
    remaining: dict[str, float] = {}
    best: dict[str, tuple[float, CauseWeight]] = {}
    sources: dict[str, list[str]] = {}
    order: dict[str, int] = {}
    seen: set[str] = set()
    for p, _ in matched:
        if p.id in seen:
            continue
        seen.add(p.id)
        damping = GENERIC_DAMPING if p.generic and any_specific else 1.0
        for cw in p.causes:
            w = cw.weight_for(ctx.inspected) * damping
            if public is not None and cw.code in public.codes:
                w *= public.factor
            order.setdefault(cw.code, len(order))
            remaining[cw.code] = remaining.get(cw.code, 1.0) * (1.0 - w)
            sources.setdefault(cw.code, []).append(p.id)
            if cw.code not in best or w > best[cw.code][0]:
                best[cw.code] = (w, cw)
    ranked: list[RankedCause] = []
    for code, rest in remaining.items():
        score = round(1.0 - rest, 3)
        if score <= 0:
            continue
        cw = best[code][1]
        ex = explanation_for_code(code, target, kb)
        extra = kb.causes.get(code)
        why = cw.why or (extra.why if extra else ex.meaning)
        note = _context_note(cw, ctx)
        if public is not None and code in public.codes:
            note = (
                f"{note} Ranked lower because {host} is {public.name or 'a large public service'}"
                " that sends a complete, publicly trusted chain."
            ).strip()
        ranked.append(
            RankedCause(
                code=code,
                score=score,
                title=ex.title,
                why=f"{why} {note}".strip(),
                meaning=ex.meaning,
                inspection=ex.inspection,
                next=ex.next_step,
                check=ex.check,
                patterns=tuple(dict.fromkeys(sources[code])),
            )
        )
    ranked.sort(key=lambda c: (-c.score, order[c.code]))
    return tuple(ranked)


def _context_note(cw: CauseWeight, ctx: InspectionContext) -> str:
    if cw.inspected is None or cw.inspected == cw.weight:
        return ""
    up = cw.inspected > cw.weight
    if ctx.inspected is True:
        if ctx.source == "option":
            how = "you said the connection is inspected"
        elif ctx.vendors:
            how = f"the text shows TLS inspection ({', '.join(ctx.vendors)})"
        else:
            how = "the text shows TLS inspection"
        return f"Ranked {'higher' if up else 'lower'} because {how}."
    if ctx.inspected is False:
        return "Ranked for a connection without TLS inspection, as you said."
    more = "More" if up else "Less"
    return f"{more} likely when the connection is inspected (re-run with --inspected if it is)."


def _excerpt(text: str, m: re.Match[str]) -> str:
    start = text.rfind("\n", 0, m.start()) + 1
    end = text.find("\n", m.end())
    line = text[start : len(text) if end < 0 else end].strip()
    if len(line) <= _EXCERPT:
        return line
    offset = max(0, m.start() - start - 40)
    cut = line[offset : offset + _EXCERPT]
    return ("..." if offset else "") + cut + "..."


def _clients_seen(
    rules: Iterable[ContextRule],
    hay: Haystack,
    from_matches: list[str],
    names: Mapping[str, str],
) -> tuple[str, ...]:
    seen: list[str] = []
    for family in from_matches:
        name = names.get(family, family)
        if name not in seen:
            seen.append(name)
    for rule in rules:
        if rule.kind == "client" and rule.name not in seen and hay.search(rule):
            seen.append(rule.name)
    return tuple(seen)
