"""The shipped default bypass list loads, and malformed entries are refused."""

from __future__ import annotations

import pytest

from tlsdiag.kb.proxy_bypass import default_bypass, parse_bypass


def test_shipped_list_loads_with_unique_ids() -> None:
    entries = default_bypass()
    assert entries
    assert len({e.id for e in entries}) == len(entries)
    assert {e.reason for e in entries} <= {"pinned", "mutual_tls"}


@pytest.mark.parametrize(
    ("doc", "message"),
    [
        ({"bypass": [{"id": "a", "host": "x.test", "reason": "pinned", "colour": 1}]}, "unknown"),
        (
            {
                "bypass": [
                    {"id": "a", "host": "x.test", "reason": "pinned"},
                    {"id": "a", "host": "y.test", "reason": "pinned"},
                ]
            },
            "duplicate",
        ),
        ({"bypass": [{"id": "a", "host": "x.test", "reason": "fun"}]}, "reason"),
        ({"bypass": [{"id": "a", "host": [], "reason": "pinned"}]}, "host"),
    ],
)
def test_malformed_entries_are_refused(doc: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_bypass(doc)
