"""Checks of the labelled explain corpus file itself (fixtures/explain/corpus.toml).

These tests validate the data only: they never import the explain engine, so a broken engine
cannot hide a broken corpus (and the other way round).
"""

from __future__ import annotations

import re
import tomllib
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from tlsdiag.codes import ALL_CODES

CORPUS = Path(__file__).resolve().parents[3] / "fixtures" / "explain" / "corpus.toml"

ALLOWED_CLIENTS = frozenset(
    {
        "chrome",
        "edge",
        "firefox",
        "safari",
        "macos",
        "windows-schannel",
        "dotnet",
        "powershell",
        "curl",
        "openssl",
        "python",
        "requests",
        "urllib3",
        "httpx",
        "pip",
        "java",
        "go",
        "node",
        "npm",
        "yarn",
        "git",
        "docker",
        "nginx",
        "generic",
    }
)
KEBAB = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
MIN_MESSAGES = 300
MIN_NON_TLS = 15


@pytest.fixture(scope="module")
def corpus() -> dict[str, Any]:
    with CORPUS.open("rb") as handle:
        return tomllib.load(handle)


@pytest.fixture(scope="module")
def messages(corpus: dict[str, Any]) -> list[dict[str, Any]]:
    return list(corpus.get("message", []))


@pytest.fixture(scope="module")
def non_tls(corpus: dict[str, Any]) -> list[dict[str, Any]]:
    return list(corpus.get("non_tls", []))


def test_corpus_has_only_the_two_known_tables(corpus: dict[str, Any]) -> None:
    assert set(corpus) <= {"message", "non_tls"}


def test_corpus_has_enough_messages(messages: list[dict[str, Any]]) -> None:
    assert len(messages) >= MIN_MESSAGES


def test_corpus_has_enough_non_tls_texts(non_tls: list[dict[str, Any]]) -> None:
    assert len(non_tls) >= MIN_NON_TLS


def test_ids_are_unique_kebab_case_across_both_tables(
    messages: list[dict[str, Any]], non_tls: list[dict[str, Any]]
) -> None:
    ids = [entry["id"] for entry in [*messages, *non_tls]]
    duplicates = sorted(name for name, count in Counter(ids).items() if count > 1)
    assert duplicates == []
    bad = [name for name in ids if not KEBAB.fullmatch(name)]
    assert bad == []


def test_every_message_has_exactly_the_expected_keys(messages: list[dict[str, Any]]) -> None:
    expected = {"id", "client", "text", "accept", "source"}
    optional = {"top3", "strict"}
    wrong = [
        entry.get("id", "?")
        for entry in messages
        if not expected <= set(entry) or set(entry) - expected - optional
    ]
    assert wrong == []


def test_optional_rank_keys_are_well_formed(messages: list[dict[str, Any]]) -> None:
    wrong = [
        entry["id"]
        for entry in messages
        if ("strict" in entry and entry["strict"] is not True)
        or (
            "top3" in entry
            and (
                not 1 <= len(entry["top3"]) <= 3
                or not set(entry["top3"]) <= ALL_CODES
                or len(set(entry["top3"])) != len(entry["top3"])
            )
        )
    ]
    assert wrong == []


def test_every_non_tls_entry_has_exactly_the_expected_keys(
    non_tls: list[dict[str, Any]],
) -> None:
    wrong = [entry.get("id", "?") for entry in non_tls if set(entry) != {"id", "text", "source"}]
    assert wrong == []


def test_every_client_is_allowed(messages: list[dict[str, Any]]) -> None:
    unknown = sorted({entry["client"] for entry in messages} - ALLOWED_CLIENTS)
    assert unknown == []


def test_every_accept_code_exists(messages: list[dict[str, Any]]) -> None:
    unknown = sorted(
        {code for entry in messages for code in entry["accept"]} - ALL_CODES,
    )
    assert unknown == []


def test_accept_lists_are_short_and_without_repeats(messages: list[dict[str, Any]]) -> None:
    wrong = [
        entry["id"]
        for entry in messages
        if not 1 <= len(entry["accept"]) <= 3 or len(set(entry["accept"])) != len(entry["accept"])
    ]
    assert wrong == []


def test_no_text_or_source_is_empty(
    messages: list[dict[str, Any]], non_tls: list[dict[str, Any]]
) -> None:
    empty = [
        entry["id"]
        for entry in [*messages, *non_tls]
        if not isinstance(entry["text"], str)
        or not entry["text"].strip()
        or not isinstance(entry["source"], str)
        or not entry["source"].strip()
    ]
    assert empty == []


def test_texts_are_not_duplicated(
    messages: list[dict[str, Any]], non_tls: list[dict[str, Any]]
) -> None:
    texts = Counter(entry["text"].strip() for entry in [*messages, *non_tls])
    assert [text[:60] for text, count in texts.items() if count > 1] == []


def test_corpus_covers_many_clients_and_codes(messages: list[dict[str, Any]]) -> None:
    clients = {entry["client"] for entry in messages}
    codes = {code for entry in messages for code in entry["accept"]}
    # A corpus of one client (or one cause) would not test the ranking at all.
    assert len(clients) >= 20
    assert len(codes) >= 20
