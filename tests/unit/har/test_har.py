"""har on fixture HAR files (several real-world shapes, one malformed, one large generated at
test time), the streaming parser, redaction and the dependent-domains finding."""

from __future__ import annotations

import json
import tracemalloc
from pathlib import Path

import pytest

from tlsdiag import codes
from tlsdiag.commands.har import HarOptions, run_har, scan_har
from tlsdiag.core.har import dependent_domain_findings, registrable_domain
from tlsdiag.core.har_stream import HarFormatError, har_events
from tlsdiag.core.redact import redact_entry, redact_url
from tlsdiag.errors import InputError

HAR = Path(__file__).resolve().parents[3] / "fixtures" / "har"
SECRETS = (
    "SECRET-COOKIE-1234",
    "SECRET-BEARER",
    "SECRET-TOKEN-9876",
    "SECRET-SESSION-5555",
    "U0VDUkVULVBST1hZ",
    "SECRET-PASSWORD-1",
    "SECRET-APIKEY-3333",
    "SECRET-SIG-1111",
    "SECRET-PAGE-7777",
    "SECRET-BODY-4242",
    "SECRET-INIT",
)


def _domains(facts: dict[str, object]) -> dict[str, list[str]]:
    return {d["domain"]: [h["host"] for h in d["hosts"]] for d in facts["domains"]}  # type: ignore[attr-defined]


def test_chrome_export_grouped_by_registrable_domain() -> None:
    report = run_har(HAR / "chrome-login.har", HarOptions())
    facts = report.to_dict()
    assert facts["entries"] == 8 and facts["creator"] == "WebInspector 537.36"
    assert _domains(facts)["example.com"] == ["portal.example.com", "static.example.com"]
    assert "example.co.uk" in _domains(facts)  # public suffix list: co.uk is a suffix
    failed = {f["url"]: f["problem"] for f in facts["failed_requests"]}
    assert failed["https://api.examplecdn.net/v1/config?sig=REDACTED"].startswith("error: net::")
    [finding] = report.findings
    assert finding.code == codes.SITE_DEPENDENT_DOMAINS
    assert finding.evidence["fqdns"] == "api.examplecdn.net"
    text = json.dumps(facts)
    assert not [s for s in SECRETS if s in text]


def test_firefox_shape_entries_first_and_blocked_responses() -> None:
    facts = run_har(HAR / "firefox-blocked.har", HarOptions()).to_dict()
    problems = {f["host"]: f["problem"] for f in facts["failed_requests"]}
    assert problems["intranet.corp.example"] == "blocked? HTTP 403 with a 512-byte body"
    assert problems["files.corp.example"].startswith("unusually small response")
    assert "plain.corp.example" not in problems and "push.corp.example" not in problems


def test_bom_and_idn_hosts_merge() -> None:
    facts = run_har(HAR / "safari-bom.har", HarOptions()).to_dict()
    assert _domains(facts) == {"xn--bcher-kva.example": ["xn--bcher-kva.example"]}


def test_malformed_is_a_clear_input_error() -> None:
    with pytest.raises(InputError, match=r"malformed JSON at character \d+"):
        run_har(HAR / "malformed.har", HarOptions())


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "empty"),
        ("[1, 2]", "not a HAR file"),
        ('{"log": {"version": "1.2"}}', "no 'entries'"),
        ('{"foo": 1}', "no 'log'"),
        ('{"log": {"entries": [{"request": {"url": "https://a.example/"}}, {"req', "truncated"),
        ('{"log": {"entries": [{"a": 1}]', "truncated"),
        ('{"log": {"entries": [1]}}', "non-object"),
        ('{"log": {"entries": []}} trailing', "unexpected text"),
    ],
)
def test_broken_files(text: str, message: str) -> None:
    with pytest.raises(HarFormatError, match=message):
        list(har_events([text]))


def test_stream_with_tiny_chunks_gives_the_same_entries() -> None:
    text = (HAR / "chrome-login.har").read_text()
    whole = [i.value for i in har_events([text]) if i.key == "entries"]
    pieces = [i.value for i in har_events(text[i : i + 7] for i in range(0, len(text), 7))]
    assert [p for p in pieces if "request" in p] == whole


def test_value_larger_than_the_limit_is_refused() -> None:
    big = '{"log": {"entries": [{"request": {"url": "' + "a" * 5000 + '"}}]}}'
    with pytest.raises(HarFormatError, match="larger than"):
        list(har_events((big[i : i + 100] for i in range(0, len(big), 100)), max_value=1000))


def test_large_har_is_streamed_in_bounded_memory(tmp_path: Path) -> None:
    path = tmp_path / "large.har"
    body = "x" * 200_000
    n = 350  # about 70 MB
    with path.open("w") as fh:
        fh.write(
            '{"log": {"version": "1.2", "creator": {"name": "gen", "version": "1"}, "entries": ['
        )
        for i in range(n):
            entry = {
                "request": {
                    "method": "GET",
                    "url": f"https://h{i % 50}.example.com/p?i={i}",
                    "headers": [{"name": "Cookie", "value": "sid=SECRET-COOKIE-1234"}],
                },
                "response": {"status": 200, "content": {"size": len(body), "text": body}},
            }
            fh.write(("," if i else "") + json.dumps(entry))
        fh.write("]}}")
    assert path.stat().st_size > 60_000_000
    tracemalloc.start()
    summary = scan_har(path)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert summary.entries == n and summary.failed_total == 0 and len(summary.hosts) == 50
    assert peak < 40_000_000, peak  # a few chunks, never the whole file


def test_redaction() -> None:
    entry = json.loads((HAR / "chrome-login.har").read_text())["log"]["entries"][0]
    out = json.dumps(redact_entry(entry))
    assert not [s for s in SECRETS if s in out]
    assert "Cookie" not in out and "Authorization" not in out
    assert redact_url("https://u:p@a.example/x?q=1&token=abc#access_token=z") == (
        "https://REDACTED@a.example/x?q=1&token=REDACTED#access_token=REDACTED"
    )


def test_registrable_domain() -> None:
    assert registrable_domain("a.b.example.co.uk") == "example.co.uk"
    assert registrable_domain("10.0.0.1") == "10.0.0.1"
    assert registrable_domain("WWW.Example.COM.") == "example.com"


def test_dependent_domains_from_check_and_policy() -> None:
    [f] = dependent_domain_findings(
        {
            "app.example.com": "bypassed",
            "api.example.com": "inspected",
            "cdn.example.net": "failing",
        },
        source="--check",
    )
    assert f.evidence["fqdns"] == "api.example.com, cdn.example.net"
    assert 'host = ["api.example.com", "app.example.com", "cdn.example.net"]' in f.evidence["rule"]
    assert (
        dependent_domain_findings({"a.example": "inspected", "b.example": "inspected"}, source="x")
        == []
    )
    assert (
        dependent_domain_findings({"a.example": "bypass", "b.example": "bypass"}, source="x") == []
    )


def test_policy_shows_hosts_no_bypass_rule_covers(tmp_path: Path) -> None:
    policy = tmp_path / "policy.toml"
    policy.write_text(
        '[policy]\ndefault_bypass = false\n[[rule]]\nid = "portal"\naction = "bypass"\n'
        'host = ["portal.example.com", ".example.co.uk"]\n'
    )
    report = run_har(HAR / "chrome-login.har", HarOptions(policy=policy))
    facts = report.to_dict()
    assert facts["policy"]["bypassed"] == ["images.example.co.uk", "portal.example.com"]
    assert "static.example.com" in facts["policy"]["not_covered"]
    f = next(f for f in report.findings if f.evidence["source"].startswith("--policy"))
    assert "api.examplecdn.net" in f.evidence["fqdns"]


def test_hosts_no_browser_could_ask_for_are_left_out(tmp_path: Path) -> None:
    """A host with a quote or a control character cannot reach a policy snippet or a terminal."""
    urls = [
        "https://good.example/",
        'https://ev"il.example/',
        "https://esc\x1bape.example/",
        "https://sp ace.example/",
    ]
    entries = [
        {
            "request": {"method": "GET", "url": u},
            "response": {"status": 200, "content": {"size": 9000}},
        }
        for u in urls
    ]
    har = tmp_path / "odd.har"
    har.write_text(json.dumps({"log": {"version": "1.2", "entries": entries}}), encoding="utf-8")
    facts = run_har(har, HarOptions()).to_dict()
    assert _domains(facts) == {"good.example": ["good.example"]}
