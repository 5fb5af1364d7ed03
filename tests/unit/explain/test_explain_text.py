"""The long-text shortcuts of ``tlsdiag.kb.explain_text`` give exactly the answers of a plain
search: every corpus text, buried in a log, explains the same with and without them."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest

from tlsdiag.core.explain.engine import explain
from tlsdiag.kb import explain_text
from tlsdiag.kb.explain import error_patterns
from tlsdiag.kb.explain_text import Haystack, single_line

CORPUS = Path(__file__).resolve().parents[3] / "fixtures" / "explain" / "corpus.toml"
NOISE = (
    "2026-11-21T10:00:00Z INFO request served in 12 ms path=/api/v1/items status=200\n"
    "2026-11-21T10:00:01Z DEBUG GET https://api.example.org/v1/items -> 200 (proxy: none)\n"
    "2026-11-21T10:00:02Z WARN retrying curl: (7) in 2 s; ssl ok; error 20 at depth 0\n"
)


def _texts() -> list[str]:
    texts = [e for p in error_patterns() for e in p.examples]
    if CORPUS.is_file():
        doc = tomllib.loads(CORPUS.read_text(encoding="utf-8"))
        texts += [m["text"] for m in doc.get("message", []) + doc.get("non_tls", [])]
    return texts


@pytest.mark.parametrize(
    ("regex", "one_line"),
    [
        (r"curl: \(60\) SSL certificate problem", True),
        (r"\bx509: certificate signed by unknown authority\b", True),
        (r"^\* (?:Trying|Connected to) \d+", True),
        (r"verify error:num=\d+.*", True),
        (r"unable\s+to get", False),
        (r"target host name '(?P<host>[^']+)'", False),
        (r"a\nb", False),
        (r"(?s)a.b", False),
        (r"(?i:x)(?s:a.b)", False),
        (r"(?P<q>x)(?P=q)", False),
        (r"(a)\1", False),
        (r"a\x0ab", False),
        (r"(?(1)a|b)", False),
    ],
)
def test_single_line_is_conservative(regex: str, one_line: bool) -> None:
    assert single_line(regex) is one_line
    if not one_line:
        return
    # A single-line regex finds nothing that spans a line break.
    for m in re.finditer(regex, "curl: (60) SSL certificate problem\n* Trying 1\nx", re.M):
        assert "\n" not in m.group(0)


def test_needles_in_distinct_lines_and_search_start(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(explain_text, "LONG", 0)
    hay = Haystack("a b\nfoo bar\na b\nfoo baz\nerror 17 at 0x5f\n")
    assert hay.has_any(("baz",)) and hay.has_any(("bar\na b",)) and not hay.has_any(("qux",))
    assert hay.has_any(())
    # digits are folded in the lines checked first, never in the answer
    assert hay.has_any(("error 17",)) and not hay.has_any(("error 10",))
    assert hay.has_any(("0x5f",)) and not hay.has_any(("0x0f",)) and not hay.has_any(("r 0",))
    (p,) = [p for p in error_patterns() if p.id == "openssl-verify-20-local-issuer"]
    text = "x\n" * 50 + "verify error:num=20:unable to get local issuer certificate\n"
    m = Haystack(text).search(p)
    assert m is not None and m.start() == text.index("verify")


def test_long_texts_explain_exactly_as_a_plain_search(monkeypatch: pytest.MonkeyPatch) -> None:
    texts = _texts()
    assert len(texts) > 300
    buried = [NOISE * 3 + t + "\n" + NOISE * 2 + t.upper() + "\n" + NOISE for t in texts]
    monkeypatch.setattr(explain_text, "LONG", 10**12)
    plain = [explain(t) for t in buried]
    monkeypatch.setattr(explain_text, "LONG", 0)
    fast = [explain(t) for t in buried]
    for text, a, b in zip(texts, plain, fast, strict=True):
        assert a == b, text[:120]
