"""The explain knowledge base: every entry loads, compiles, matches its own examples, and the
loader rejects malformed entries; the prefilter never hides a match; the parsed-KB cache."""

from __future__ import annotations

import json
import re
import zlib
from pathlib import Path
from typing import Any

import pytest

from tlsdiag import codes
from tlsdiag.kb._cache import cache_dir
from tlsdiag.kb._explain_cache import CACHE_FORMAT, Tables, load_tables
from tlsdiag.kb._needles import derive_needle, derive_needles
from tlsdiag.kb.explain import (
    build_causes,
    build_contexts,
    build_patterns,
    cause_texts,
    context_rules,
    error_patterns,
    explain_kb,
)
from tlsdiag.kb.findings import findings

REQUIRED_FAMILIES = {
    "chrome",
    "firefox",
    "safari",
    "windows",
    "dotnet",
    "curl",
    "openssl",
    "python",
    "java",
    "go",
    "node",
    "git",
    "npm",
    "docker",
    "powershell",
    "nginx",
    "network",
    "proxy",
}


def test_patterns_load_with_unique_ids_and_known_codes() -> None:
    patterns = error_patterns()
    assert len(patterns) >= 250
    ids = [p.id for p in patterns]
    assert len(ids) == len(set(ids))
    used = {cw.code for p in patterns for cw in p.causes}
    assert used <= codes.ALL_CODES
    for p in patterns:
        assert p.causes, p.id
        assert p.meaning.strip(), p.id
        assert len({cw.code for cw in p.causes}) == len(p.causes), f"{p.id}: a code twice"


def test_every_regex_compiles() -> None:
    for p in error_patterns():
        assert isinstance(p.compiled(), re.Pattern), p.id
    for c in context_rules():
        assert isinstance(c.compiled(), re.Pattern), c.id


def test_every_pattern_has_examples_that_it_matches_and_the_prefilter_lets_through() -> None:
    missing = [p.id for p in error_patterns() if not p.examples]
    failing = [
        (p.id, example)
        for p in error_patterns()
        for example in p.examples
        if not (p.may_match(example.lower()) and p.compiled().search(example))
    ]
    assert missing == []
    assert failing == []


def test_client_families_are_declared_and_cover_the_issue() -> None:
    kb = explain_kb()
    names = kb.client_names
    unknown = {p.client for p in kb.patterns} - set(names)
    assert unknown == set()
    assert {p.client for p in kb.patterns} >= REQUIRED_FAMILIES


def test_every_code_has_explain_words_and_a_confirming_command() -> None:
    texts = cause_texts()
    missing = sorted(set(codes.ALL_CODES) - set(texts))
    assert missing == [], f"add these codes to tlsdiag/data/explain_causes.toml: {missing}"
    assert set(texts) <= set(codes.ALL_CODES)
    for code, t in texts.items():
        assert t.check.startswith("tlsdiag "), code
        assert "{target}" in t.check, code
        assert t.why and t.inspection, code


def test_explain_words_do_not_repeat_findings_toml() -> None:
    # The title, meaning and next step live in findings.toml only; explain adds other words.
    words = findings()
    for code, t in cause_texts().items():
        info = words[code]
        assert t.why not in (info.meaning, info.next_step, info.title), code
        assert t.inspection not in (info.meaning, info.next_step), code


def test_context_rules_kinds_and_vendors() -> None:
    rules = context_rules()
    kinds = {r.kind for r in rules}
    assert kinds == {"client", "inspection", "proxy", "host", "ignore_host", "public_host"}
    vendors = {r.name for r in rules if r.kind == "inspection"}
    for vendor in ("Zscaler", "Netskope", "Cato Networks", "Palo Alto Networks", "Fortinet"):
        assert vendor in vendors
    for r in rules:
        if r.kind == "host":
            assert "host" in r.compiled().groupindex, r.id


@pytest.mark.parametrize(
    ("regex", "needle"),
    [
        ("unable to get local issuer certificate", "unable to get local issuer certificate"),
        (r"curl: \(60\)", "curl: (60)"),
        (r"x509: certificate is valid for .*, not ", "x509: certificate is valid for "),
        (r"Peer(?:'|\u2019)s Certificate issuer", "s certificate issuer"),
        (r"\bECONNRESET\b", "econnreset"),
        (r"abc?def", "def"),
        (r"(?:optional)? required part", " required part"),
        (r"[a-z]+abc", "abc"),
        (r"[a-z]+ab", ""),
        (r"a|b", ""),
    ],
)
def test_derive_needle(regex: str, needle: str) -> None:
    assert derive_needle(regex) == needle


def test_derive_needles_gives_one_literal_per_alternative_or_none() -> None:
    assert derive_needles(r"foo bar|baz qux") == ("foo bar", "baz qux")
    assert derive_needles(r"(?:a|b)cdef|ghij") == ("cdef", "ghij")
    # One branch without a literal: no prefilter at all (the regex always runs).
    assert derive_needles(r"foo bar|\d+") == ()


def test_prefilter_never_hides_a_match_on_a_corpus_of_examples() -> None:
    # Every example of every pattern against every other pattern: a regex match must always
    # pass the prefilter, otherwise the needle logic lost a match.
    kb = explain_kb()
    examples = [e for p in kb.patterns for e in p.examples]
    for p in kb.patterns:
        for e in examples:
            if p.compiled().search(e):
                assert p.may_match(e.lower()), (p.id, e)


CORPUS = Path(__file__).resolve().parents[3] / "fixtures" / "explain" / "corpus.toml"


def test_context_prefilter_never_hides_a_match() -> None:
    # Context rules have hand-written needles for regexes that start with a group: check them
    # against every example and every corpus text (when the corpus is there).
    import tomllib

    texts = [e for p in error_patterns() for e in p.examples]
    if CORPUS.is_file():
        doc = tomllib.loads(CORPUS.read_text(encoding="utf-8"))
        texts += [m["text"] for m in doc.get("message", []) + doc.get("non_tls", [])]
    texts += [
        "* Establish HTTP proxy tunnel to pypi.org:443\n> CONNECT pypi.org:443 HTTP/1.1",
        "PS C:\\Users\\me> Invoke-WebRequest https://x.example",
        "--2026-11-21 10:00:00--  https://x.example/\nwget: unable to resolve host address",
        "\tat java.base/sun.security.ssl.Alert.createSSLException(Alert.java:131)",
        "behind a proxy; HTTPS_PROXY=http://p:8080; corporate proxy re-signs with SSL inspection",
    ]
    for rule in context_rules():
        if rule.kind == "ignore_host":
            continue
        for text in texts:
            if rule.compiled().search(text):
                assert rule.may_match(text.lower()), (rule.id, text[:80])


def _pattern(**over: Any) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "id": "x-one",
        "client": "curl",
        "regex": "boom",
        "meaning": "m",
        "causes": [{"code": "network.reset", "weight": 0.5}],
        "examples": ["boom"],
    }
    entry.update(over)
    return entry


def test_loader_accepts_a_good_entry() -> None:
    (p,) = build_patterns([_pattern()])
    assert p.id == "x-one" and p.needles == ("boom",) and p.causes[0].weight == 0.5


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        ({"colour": "red"}, "unknown keys"),
        ({"causes": [{"code": "network.nope", "weight": 0.5}]}, "unknown code"),
        ({"causes": [{"code": "network.reset", "weight": 1.5}]}, "0..1"),
        ({"causes": [{"code": "network.reset", "weight": 0.5, "wieght": 1}]}, "unknown keys"),
    ],
)
def test_loader_rejects_bad_pattern_entries(bad: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        build_patterns([_pattern(**bad)])


def test_loader_rejects_missing_keys_and_duplicates() -> None:
    entry = _pattern()
    del entry["meaning"]
    with pytest.raises(ValueError, match="missing"):
        build_patterns([entry])
    with pytest.raises(ValueError, match="duplicate"):
        build_patterns([_pattern(), _pattern()])
    with pytest.raises(ValueError, match="unknown kind"):
        build_contexts([{"id": "c", "kind": "weather", "regex": "x"}])
    with pytest.raises(ValueError, match="unknown code"):
        build_causes([{"id": "no.such", "why": "w", "inspection": "i", "check": "c"}])


def test_cache_dir_follows_the_environment(tmp_path: Path) -> None:
    assert cache_dir({"TLSDIAG_NO_CACHE": "1", "HOME": str(tmp_path)}) is None
    assert cache_dir({"TLSDIAG_CACHE_DIR": str(tmp_path)}) == tmp_path
    assert cache_dir({"XDG_CACHE_HOME": str(tmp_path)}) == tmp_path / "tlsdiag"
    assert cache_dir({"HOME": str(tmp_path)}) == tmp_path / ".cache" / "tlsdiag"
    assert cache_dir({}) is None


def _plain(tables: Tables) -> dict[str, Any]:
    patterns = list(tables.patterns)
    plain: dict[str, Any] = json.loads(
        json.dumps({"p": patterns, "c": tables.contexts, "k": tables.causes})
    )
    return plain


def test_cache_is_written_reused_and_ignored_when_broken(tmp_path: Path) -> None:
    (tmp_path / "explain-kb-0000beef.json").write_text("{}")  # a format-1 cache: removed
    fresh = load_tables(tmp_path)
    (cached,) = tmp_path.glob("explain-kb-*")
    assert cached.name != "explain-kb-0000beef.json"
    reread = load_tables(tmp_path)
    assert reread is not fresh and _plain(reread) == _plain(fresh)
    valid = cached.read_bytes()
    lines = valid.split(b"\n")
    head = json.loads(lines[0])
    assert head["format"] == CACHE_FORMAT and head["patterns"] == len(fresh.patterns)

    def rewrite(head: dict[str, Any], body: list[bytes]) -> None:
        joined = b"\n".join(body)
        head = {**head, "crc": zlib.crc32(joined)} if "crc" in head else head
        cached.write_bytes(json.dumps(head).encode() + b"\n" + joined)

    # A current cache is used as is: change a word in it and the loader returns the change;
    # a pattern's line is parsed only when that pattern is asked for.
    first = json.loads(lines[4])
    first["meaning"] = "from the cache"
    rewrite(head, [*lines[1:4], json.dumps(first).encode(), *lines[5:]])
    tables = load_tables(tmp_path)
    assert isinstance(tables.patterns._rows[0], bytes)
    assert tables.patterns[0]["meaning"] == "from the cache"
    assert tables.patterns[0]["_needles"] == fresh.patterns[0]["_needles"]
    # Broken, stale, foreign or damaged caches fall back to the TOML and are rewritten.
    meaning = fresh.patterns[0]["meaning"]
    for bad in (
        b"{not json",
        b"",
        json.dumps({"key": "stale", "tables": {}}).encode(),  # format 1 under the new name
        lines[0] + b"\n" + b"\n".join(lines[1:-1]),  # a pattern line lost
        valid[:-9] + (b"x" if valid[-9:-8] != b"x" else b"y") + valid[-8:],  # CRC mismatch
    ):
        cached.write_bytes(bad)
        assert load_tables(tmp_path).patterns[0]["meaning"] == meaning
        assert cached.read_bytes() == valid
    rewrite({**head, "key": "stale"}, lines[1:])
    assert load_tables(tmp_path).patterns[0]["meaning"] == meaning
    rewrite({**head, "format": 1}, lines[1:])
    assert load_tables(tmp_path).patterns[0]["meaning"] == meaning
    rewrite({**head, "patterns": 3}, lines[1:])
    assert load_tables(tmp_path).patterns[0]["meaning"] == meaning
    rewrite(head, [b"{}", *lines[2:]])  # contexts not a list
    assert load_tables(tmp_path).contexts == fresh.contexts
    assert cached.read_bytes() == valid
    assert list(tmp_path.iterdir()) == [cached]


def test_a_change_to_how_needles_are_derived_invalidates_the_caches(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The caches keep needles derived by ``kb/_needles.py``: another derivation (an edited
    editable install, same version number) must not reuse them."""
    from tlsdiag.kb import _cache, _explain_cache
    from tlsdiag.kb._load import data_key

    fresh = load_tables(tmp_path)
    (cached,) = tmp_path.glob("explain-kb-*")
    lines = cached.read_bytes().split(b"\n")
    first = json.loads(lines[4])
    first["meaning"] = "from the cache"
    body = b"\n".join([*lines[1:4], json.dumps(first).encode(), *lines[5:]])
    head = {**json.loads(lines[0]), "crc": zlib.crc32(body)}
    cached.write_bytes(json.dumps(head).encode() + b"\n" + body)
    assert load_tables(tmp_path).patterns[0]["meaning"] == "from the cache"
    before = data_key("vendors.toml")
    for module in (_cache, _explain_cache):
        monkeypatch.setattr(module, "derivation_key", lambda: "another derivation")
    assert load_tables(tmp_path).patterns[0]["meaning"] == fresh.patterns[0]["meaning"]
    assert data_key("vendors.toml") != before


def test_a_directory_in_the_cache_files_place_is_left_alone(tmp_path: Path) -> None:
    load_tables(tmp_path)
    (cached,) = tmp_path.glob("explain-kb-*")
    cached.unlink()
    cached.mkdir()
    assert len(load_tables(tmp_path).patterns) == len(error_patterns())
    assert cached.is_dir() and list(tmp_path.iterdir()) == [cached]


def test_no_cache_env_leaves_no_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TLSDIAG_CACHE_DIR", str(tmp_path))
    monkeypatch.setenv("TLSDIAG_NO_CACHE", "1")
    assert cache_dir() is None
    assert len(load_tables(cache_dir()).patterns) == len(error_patterns())
    assert list(tmp_path.iterdir()) == []


def test_unwritable_cache_directory_still_loads(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    tables = load_tables(blocker / "sub")
    assert len(tables.patterns) == len(error_patterns())


def test_no_cache_gives_the_same_tables(tmp_path: Path) -> None:
    load_tables(tmp_path)  # written
    assert _plain(load_tables(None)) == _plain(load_tables(tmp_path))
