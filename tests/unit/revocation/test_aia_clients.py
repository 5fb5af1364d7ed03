"""The AIA clients knowledge base: every claim has a source, the summary splits as documented."""

from __future__ import annotations

import pytest

from tlsdiag.kb.aia_clients import (
    BEHAVIOURS,
    aia_client_summary,
    aia_clients,
    parse_aia_clients,
)


def test_every_entry_has_https_sources_and_a_known_behaviour() -> None:
    entries = aia_clients()
    assert len({c.id for c in entries}) == len(entries) >= 9
    for c in entries:
        assert c.behaviour in BEHAVIOURS
        assert c.sources and all(s.startswith("https://") for s in c.sources), c.id
        assert c.label and c.note


def test_unverified_claims_say_so() -> None:
    for c in aia_clients():
        if not c.verified:
            assert "not verified" in c.note, c.id


def test_summary_public_ca() -> None:
    fetch, fail = aia_client_summary()
    assert "Chrome and Edge" in fetch
    assert any("Safari" in x for x in fetch)
    assert any(x.startswith("Windows") for x in fetch)
    assert any(x.startswith("Firefox") for x in fetch)
    assert "curl/OpenSSL" in fail and "Node.js" in fail and "Go" in fail
    assert any(x.startswith("Python") for x in fail)
    assert any("enableAIAcaIssuers" in x for x in fail)
    assert any("inspecting prox" in x for x in fail)
    assert not set(fetch) & set(fail)


def test_summary_private_ca_moves_firefox_to_fail() -> None:
    fetch, fail = aia_client_summary(public_ca=False)
    assert not any(x.startswith("Firefox") for x in fetch)
    assert any(x.startswith("Firefox") for x in fail)


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ({"extra": 1}, "unknown keys"),
        ({"behaviour": "sometimes"}, "bad behaviour"),
        ({"sources": []}, "at least one source"),
    ],
)
def test_parser_rejects_bad_entries(entry: dict[str, object], message: str) -> None:
    base: dict[str, object] = {
        "id": "x",
        "client": "X",
        "platforms": "all",
        "behaviour": "fail",
        "label": "X",
        "sources": ["https://example.test"],
        "verified": True,
    }
    with pytest.raises(ValueError, match=message):
        parse_aia_clients({"client": [{**base, **entry}]})


def test_parser_rejects_duplicates() -> None:
    one = {
        "id": "x",
        "client": "X",
        "platforms": "all",
        "behaviour": "fail",
        "label": "X",
        "sources": ["https://example.test"],
        "verified": True,
    }
    with pytest.raises(ValueError, match="duplicate"):
        parse_aia_clients({"client": [one, dict(one)]})
