"""Target, --resolve and --connect-to parsing, as curl and openssl users type them."""

from __future__ import annotations

import pytest

from tlsdiag.core.target import parse_connect_to, parse_resolve, parse_target


@pytest.mark.parametrize(
    ("raw", "host", "port", "path", "is_ip"),
    [
        ("example.com", "example.com", 443, "/", False),
        ("Example.COM.", "example.com", 443, "/", False),
        ("example.com:8443", "example.com", 8443, "/", False),
        ("https://example.com/a/b?c=1", "example.com", 443, "/a/b?c=1", False),
        ("https://example.com:9443", "example.com", 9443, "/", False),
        ("http://example.com", "example.com", 80, "/", False),
        ("https://user@example.com/", "example.com", 443, "/", False),
        ("192.0.2.1", "192.0.2.1", 443, "/", True),
        ("192.0.2.1:8443", "192.0.2.1", 8443, "/", True),
        ("[2001:db8::1]:8443", "2001:db8::1", 8443, "/", True),
        ("[::1]", "::1", 443, "/", True),
        ("::1", "::1", 443, "/", True),
        ("https://[2001:db8::1]/x", "2001:db8::1", 443, "/x", True),
        ("example.com/path", "example.com", 443, "/path", False),
    ],
)
def test_parse_target(raw: str, host: str, port: int, path: str, is_ip: bool) -> None:
    t = parse_target(raw)
    assert (t.host, t.port, t.path, t.is_ip) == (host, port, path, is_ip)


def test_idn_is_converted_to_a_labels_and_both_forms_kept() -> None:
    t = parse_target("https://Bücher.example:8443/")
    assert t.host == "xn--bcher-kva.example"
    assert t.unicode_host == "bücher.example"
    assert t.port == 8443
    back = parse_target("xn--bcher-kva.example")
    assert back.unicode_host == "bücher.example"


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("", "empty target"),
        ("   ", "empty target"),
        ("example.com:0", "out of range"),
        ("example.com:70000", "out of range"),
        ("example.com:abc", "not a number"),
        ("ftp://example.com", "unsupported scheme"),
        ("https://", "no host"),
        ("https://:443/", "no host"),
        ("[::1", "missing ']'"),
        ("[::1]x", "unexpected text"),
        ("exa mple.com", "not a valid host name"),
        ("a..b", "not a valid host name"),
        ("xn--", "not a valid"),
    ],
)
def test_bad_targets_raise_clear_value_errors(raw: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_target(raw)


def test_resolve_like_curl() -> None:
    rule = parse_resolve("a.test:443:127.0.0.1,[::1]")
    assert rule.addresses == ("127.0.0.1", "::1")
    assert rule.matches("a.test", 443)
    assert not rule.matches("a.test", 8443)
    assert not rule.matches("b.test", 443)
    assert parse_resolve("*:443:10.0.0.1").matches("anything.test", 443)


@pytest.mark.parametrize(
    "spec",
    [
        "a.test",
        "a.test:443",
        "a.test:443:",
        "a.test:x:1.2.3.4",
        "a.test:443:not-an-ip",
        ":443:1.2.3.4",
        "a.test:0:1.2.3.4",
    ],
)
def test_bad_resolve(spec: str) -> None:
    with pytest.raises(ValueError, match="--resolve"):
        parse_resolve(spec)


def test_connect_to() -> None:
    rule = parse_connect_to("a.test:443:127.0.0.1:8443")
    assert rule.apply("a.test", 443) == ("127.0.0.1", 8443)
    assert rule.apply("b.test", 443) is None
    anyhost = parse_connect_to("::[::1]:9443")
    assert anyhost.apply("x.test", 443) == ("::1", 9443)
    with pytest.raises(ValueError, match="HOST1:PORT1:HOST2:PORT2"):
        parse_connect_to("a.test:443")
