"""Policy rules: first match wins; host patterns, ports, client networks; settings; errors."""

from __future__ import annotations

import itertools
import ssl
from pathlib import Path

import pytest

from tlsdiag.errors import InputError
from tlsdiag.proxy.policy import (
    Action,
    InvalidCert,
    MutualTls,
    default_bypass_rules,
    default_policy,
    host_keys,
    host_matches,
    load_policy,
    parse_policy,
)

EXAMPLE = """
[policy]
default_action = "inspect"
server_min_tls = "1.3"
client_min_tls = "1.2"
invalid_certificate = "mimic"
mutual_tls = "block"
min_cipher_bits = 256

[[rule]]
id = "lab-office"
host = "*.bank.test"
client = "10.1.0.0/16"
action = "bypass"

[[rule]]
id = "block-ads"
host = [".ads.test", "tracker.test"]
action = "block"

[[rule]]
id = "odd-port"
port = [8443]
action = "bypass"
"""


@pytest.mark.parametrize(
    ("pattern", "host", "expected"),
    [
        ("www.example.com", "www.example.com", True),
        ("www.example.com", "WWW.example.com.", True),
        ("www.example.com", "example.com", False),
        ("*.example.com", "a.example.com", True),
        ("*.example.com", "a.b.example.com", False),
        ("*.example.com", "example.com", False),
        (".example.com", "example.com", True),
        (".example.com", "a.b.example.com", True),
        (".example.com", "badexample.com", False),
        ("*", "anything.test", True),
    ],
)
def test_host_patterns(pattern: str, host: str, expected: bool) -> None:
    assert host_matches(pattern, host) is expected


def test_first_match_wins_and_settings() -> None:
    pol = parse_policy(EXAMPLE)
    assert pol.server_min is ssl.TLSVersion.TLSv1_3
    assert pol.invalid_certificate is InvalidCert.MIMIC
    assert pol.mutual_tls is MutualTls.BLOCK
    assert pol.min_cipher_bits == 256
    d = pol.decide("www.bank.test", 443, "10.1.2.3")
    assert (d.action, d.rule) == (Action.BYPASS, "lab-office")
    # Same host from another network: the rule does not apply.
    d = pol.decide("www.bank.test", 443, "192.168.1.1")
    assert (d.action, d.rule) == (Action.INSPECT, "default")
    assert pol.decide("x.ads.test", 443).action is Action.BLOCK
    assert pol.decide("ads.test", 443).rule == "block-ads"
    assert pol.decide("tracker.test", 8443).rule == "block-ads"  # earlier rule wins
    assert pol.decide("other.test", 8443).rule == "odd-port"


def test_default_bypass_list_ships_and_can_be_turned_off() -> None:
    rules = default_bypass_rules()
    assert len(rules) >= 10 and all(r.action is Action.BYPASS for r in rules)
    pol = default_policy()
    d = pol.decide("api.push.apple.com", 443)
    assert d.action is Action.BYPASS and d.source == "default-bypass"
    off = parse_policy("[policy]\ndefault_bypass = false\n")
    assert off.decide("api.push.apple.com", 443).action is Action.INSPECT
    # The user's rules come before the default list.
    mine = parse_policy('[[rule]]\nid="x"\nhost=".apple.com"\naction="inspect"\n')
    assert mine.decide("api.push.apple.com", 443).rule == "x"


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("[policy]\nbogus = 1\n", "unknown [policy] keys"),
        ("[[rule]]\nhost='a.test'\n", "missing action"),
        ("[[rule]]\naction='explode'\n", "not one of"),
        ("[[rule]]\naction='block'\nport=70000\n", "not a port"),
        ("[[rule]]\naction='block'\nclient='10.0.0.300'\n", "not an address"),
        ("[[rule]]\naction='block'\nhost='a/b'\n", "is not a host"),
        ("[[rule]]\naction='block'\nhost='a.*.test'\n", "is not a host"),
        ("[[rule]]\naction='block'\ncolour='red'\n", "unknown keys"),
        ("[policy]\nserver_min_tls='1.4'\n", "not one of"),
        ("[policy]\nserver_min_tls='1.3'\nserver_max_tls='1.2'\n", "above the maximum"),
        ("[policy]\ninvalid_certificate='ignore'\n", "block, allow, mimic"),
        ("[[rule]]\nid='a'\naction='block'\n[[rule]]\nid='a'\naction='bypass'\n", "duplicate"),
        ("not toml = = =", "not valid TOML"),
        ("[extra]\n", "unknown tables"),
    ],
)
def test_bad_policies_name_the_problem(text: str, needle: str) -> None:
    with pytest.raises(ValueError) as info:
        parse_policy(text)
    assert needle in str(info.value)


def test_load_policy_errors_name_the_file(tmp_path: Path) -> None:
    bad = tmp_path / "p.toml"
    bad.write_text("[[rule]]\naction='nope'\n")
    with pytest.raises(InputError) as info:
        load_policy(str(bad))
    assert str(bad) in info.value.message
    with pytest.raises(InputError):
        load_policy(str(tmp_path / "missing.toml"))
    good = tmp_path / "ok.toml"
    good.write_text(EXAMPLE)
    assert load_policy(str(good)).rules[0].id == "lab-office"


def test_docs_example_policy_parses() -> None:
    docs = Path(__file__).resolve().parents[3] / "docs" / "proxy.md"
    if not docs.exists():
        pytest.skip("docs/proxy.md not present")
    text = docs.read_text()
    start = text.index("```toml\n") + len("```toml\n")
    example = text[start : text.index("```", start)]
    pol = parse_policy(example)
    assert pol.rules


def test_host_keys_agree_with_host_matches_for_every_pattern_shape() -> None:
    labels = ["a", "b", "example", "com", "x-y", ""]
    hosts = {".".join(t) for n in range(1, 4) for t in itertools.product(labels, repeat=n)}
    patterns = {"*"} | {p for h in hosts for p in (h, "*." + h, "." + h)}
    for host in hosts:
        keys = host_keys(host.lower().rstrip("."))
        for pattern in patterns:
            assert (pattern in keys) == host_matches(pattern, host), (pattern, host)
