"""Quality bar of ``tlsdiag explain`` on the labelled corpus (fixtures/explain/corpus.toml).

Each ``[[message]]`` is a message as a client prints it, with the finding codes accepted as the
best answer. The best cause must be accepted for at least 95% of the messages and an accepted
code must be in the top 3 for at least 99%. ``[[non_tls]]`` texts must get no cause at all.

Two optional keys are held without tolerance: ``strict = true`` (the best cause must be accepted:
the plainest messages rank the plainest cause first) and ``top3 = [codes]`` (each code among the
first three causes: the inspection explanation where an inspecting path typically causes the
error, with ``tlsdiag issuer`` as its confirming command).
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

import pytest

from tlsdiag.core.explain.engine import explain

CORPUS = Path(__file__).resolve().parents[3] / "fixtures" / "explain" / "corpus.toml"
MIN_MESSAGES = 300
TOP1_BAR = 0.95
TOP3_BAR = 0.99


@pytest.fixture(scope="module")
def corpus() -> dict[str, Any]:
    if not CORPUS.is_file():
        pytest.fail(f"the labelled corpus {CORPUS} is missing: the quality bar cannot be checked")
    with CORPUS.open("rb") as fh:
        return tomllib.load(fh)


@pytest.fixture(scope="module")
def messages(corpus: dict[str, Any]) -> list[dict[str, Any]]:
    found = list(corpus.get("message", []))
    if len(found) < MIN_MESSAGES:
        pytest.fail(
            f"{CORPUS} holds {len(found)} labelled messages; the quality bar needs at least "
            f"{MIN_MESSAGES}"
        )
    return found


def _ranked(entry: dict[str, Any]) -> list[str]:
    return [c.code for c in explain(entry["text"]).causes]


def _report(failures: list[tuple[str, list[str], list[str]]]) -> str:
    return "\n".join(f"  {mid}: got {got[:3]}, accepted {acc}" for mid, got, acc in failures)


def test_best_cause_is_accepted_for_95_percent(messages: list[dict[str, Any]]) -> None:
    failures = []
    for entry in messages:
        ranked = _ranked(entry)
        if not ranked or ranked[0] not in entry["accept"]:
            failures.append((entry["id"], ranked, entry["accept"]))
    share = 1 - len(failures) / len(messages)
    assert share >= TOP1_BAR, f"top-1 {share:.3f} < {TOP1_BAR}\n{_report(failures)}"


def test_an_accepted_cause_is_in_the_top_3_for_99_percent(
    messages: list[dict[str, Any]],
) -> None:
    failures = []
    for entry in messages:
        ranked = _ranked(entry)
        if not set(ranked[:3]) & set(entry["accept"]):
            failures.append((entry["id"], ranked, entry["accept"]))
    share = 1 - len(failures) / len(messages)
    assert share >= TOP3_BAR, f"top-3 {share:.3f} < {TOP3_BAR}\n{_report(failures)}"


def test_every_corpus_message_is_recognised(messages: list[dict[str, Any]]) -> None:
    unrecognised = [e["id"] for e in messages if not explain(e["text"]).recognised]
    # A few misses are allowed by the bars above; a silent engine is not.
    assert len(unrecognised) <= len(messages) * (1 - TOP3_BAR), unrecognised


def test_non_tls_texts_get_no_cause(corpus: dict[str, Any]) -> None:
    wrong = []
    for entry in corpus.get("non_tls", []):
        result = explain(entry["text"])
        if result.causes or result.recognised:
            wrong.append((entry["id"], [m.pattern for m in result.matches]))
    assert wrong == []


def test_strict_messages_rank_an_accepted_cause_first(messages: list[dict[str, Any]]) -> None:
    strict = [e for e in messages if e.get("strict")]
    assert len(strict) >= 10
    failures = []
    for entry in strict:
        ranked = _ranked(entry)
        if not ranked or ranked[0] not in entry["accept"]:
            failures.append((entry["id"], ranked, entry["accept"]))
    assert failures == [], _report(failures)


def test_top3_codes_are_among_the_first_three_causes(messages: list[dict[str, Any]]) -> None:
    marked = [e for e in messages if "top3" in e]
    assert len(marked) >= 20
    failures = []
    for entry in marked:
        causes = explain(entry["text"]).causes[:3]
        codes = [c.code for c in causes]
        if not set(entry["top3"]) <= set(codes):
            failures.append((entry["id"], codes, entry["top3"]))
            continue
        failures.extend(
            (entry["id"], [cause.check], ["tlsdiag issuer HOST"])
            for cause in causes
            if cause.code == "interception.detected"
            and not cause.check.startswith("tlsdiag issuer ")
        )
    assert failures == [], _report(failures)
