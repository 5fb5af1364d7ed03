"""The proxy's strict request parser and ClientHello reader, including hostile input."""

from __future__ import annotations

import contextlib
import ssl

import pytest

from tlsdiag.proxy.parse import (
    MAX_HEAD,
    NotTls,
    ParseError,
    head_end,
    origin_request,
    parse_client_hello,
    parse_request_head,
)


def test_connect_with_host_and_port() -> None:
    head = parse_request_head(b"CONNECT Example.COM:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n")
    assert (head.method, head.host, head.port) == ("CONNECT", "example.com", 443)
    assert head.header("host") == "example.com:443"


def test_connect_ipv6_literal() -> None:
    head = parse_request_head(b"CONNECT [::1]:8443 HTTP/1.1\r\n\r\n")
    assert (head.host, head.port) == ("::1", 8443)


def test_absolute_uri_request_becomes_origin_form() -> None:
    head = parse_request_head(
        b"GET http://plain.test:8080/a/b?x=1 HTTP/1.1\r\nHost: plain.test:8080\r\n"
        b"Proxy-Connection: keep-alive\r\nProxy-Authorization: Basic eA==\r\nAccept: */*\r\n\r\n"
    )
    assert (head.host, head.port, head.path) == ("plain.test", 8080, "/a/b?x=1")
    out = origin_request(head)
    assert out.startswith(b"GET /a/b?x=1 HTTP/1.1\r\n")
    assert b"Proxy-" not in out and b"Connection: close\r\n" in out and b"Accept: */*" in out


@pytest.mark.parametrize(
    "raw",
    [
        b"CONNECT example.com HTTP/1.1\r\n\r\n",  # no port
        b"CONNECT example.com:0 HTTP/1.1\r\n\r\n",
        b"CONNECT example.com:99999 HTTP/1.1\r\n\r\n",
        b"CONNECT example.com:44x HTTP/1.1\r\n\r\n",
        b"CONNECT [::1:443 HTTP/1.1\r\n\r\n",
        b"CONNECT exa mple.com:443 HTTP/1.1\r\n\r\n",
        b"CONNECT ex..ample.com:443 HTTP/1.1\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: x\r\n\r\n",  # origin-form: not a proxy request
        b"GET https://x.test/ HTTP/1.1\r\n\r\n",  # https without CONNECT
        b"GET ftp://x.test/ HTTP/1.1\r\n\r\n",
        b"GET http://user@x.test/ HTTP/1.1\r\n\r\n",
        b"GET http:/// HTTP/1.1\r\n\r\n",
        b"GET http://x.test/ HTTP/2.0\r\n\r\n",
        b"GET  http://x.test/ HTTP/1.1\r\n\r\n",  # two spaces
        b"G@T http://x.test/ HTTP/1.1\r\n\r\n",
        b"GET http://x.test/\x00 HTTP/1.1\r\n\r\n",
        b"GET http://x.test/ HTTP/1.1\r\nBad Header: x\r\n\r\n",
        b"GET http://x.test/ HTTP/1.1\r\nNoColon\r\n\r\n",
        b"GET http://x.test/ HTTP/1.1\r\nX: a\x01b\r\n\r\n",
        b"POST http://x.test/ HTTP/1.1\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n",
        b"POST http://x.test/ HTTP/1.1\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\n",
        b"POST http://x.test/ HTTP/1.1\r\nContent-Length: -1\r\n\r\n",
        b"POST http://x.test/ HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n",
        b"\r\n\r\n",
        b"\xff\xfe\xfd\r\n\r\n",
    ],
)
def test_malformed_requests_are_rejected(raw: bytes) -> None:
    with pytest.raises(ParseError):
        parse_request_head(raw)


def test_oversized_head_is_431() -> None:
    big = b"GET http://x.test/ HTTP/1.1\r\n" + b"X: " + b"a" * MAX_HEAD + b"\r\n\r\n"
    with pytest.raises(ParseError) as info:
        head_end(big)
    assert info.value.status == 431
    with pytest.raises(ParseError):
        head_end(b"a" * (MAX_HEAD + 1))  # never terminated
    assert head_end(b"CONNECT a:1 HTTP/1.1\r\n") == -1
    assert head_end(b"CONNECT a:1 HTTP/1.1\r\n\r\nrest") == len(b"CONNECT a:1 HTTP/1.1\r\n\r\n")


def test_too_many_headers() -> None:
    raw = b"GET http://x.test/ HTTP/1.1\r\n" + b"X: y\r\n" * 101 + b"\r\n"
    with pytest.raises(ParseError) as info:
        parse_request_head(raw)
    assert info.value.status == 431


def _real_client_hello(sni: str | None, alpn: list[str] | None) -> bytes:
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    if alpn:
        ctx.set_alpn_protocols(alpn)
    incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
    obj = ctx.wrap_bio(incoming, outgoing, server_hostname=sni)
    with pytest.raises(ssl.SSLWantReadError):
        obj.do_handshake()
    return outgoing.read()


def test_client_hello_from_openssl() -> None:
    raw = _real_client_hello("www.Example.test", ["h2", "http/1.1"])
    hello = parse_client_hello(raw)
    assert hello is not None
    assert hello.sni == "www.example.test"
    assert hello.alpn == ("h2", "http/1.1")
    assert "TLSv1.3" in hello.versions
    assert hello.raw_length == len(raw)


def test_client_hello_without_sni() -> None:
    hello = parse_client_hello(_real_client_hello(None, None))
    assert hello is not None and hello.sni is None and hello.alpn == ()


def test_client_hello_needs_more_bytes_then_parses() -> None:
    raw = _real_client_hello("a.test", None)
    for cut in (1, 4, 5, 40, len(raw) - 1):
        assert parse_client_hello(raw[:cut]) is None
    assert parse_client_hello(raw + b"\x17\x03\x03") is not None


def test_client_hello_split_over_two_records() -> None:
    raw = _real_client_hello("split.test", ["http/1.1"])
    body = raw[5:]
    half = len(body) // 2
    rec = lambda b: b"\x16\x03\x01" + len(b).to_bytes(2, "big") + b  # noqa: E731
    hello = parse_client_hello(rec(body[:half]) + rec(body[half:]))
    assert hello is not None and hello.sni == "split.test" and hello.alpn == ("http/1.1",)


@pytest.mark.parametrize(
    "raw",
    [
        b"GET / HTTP/1.1\r\n\r\n",
        b"SSH-2.0-OpenSSH_9.6\r\n",
        b"\x16\x02\x00\x00\x05hello",  # wrong major version
        b"\x16\x03\x01\x00\x00",  # empty record
        b"\x16\x03\x01\xff\xff" + b"x" * 10,  # record too long
        b"\x16\x03\x01\x00\x04\x02\x00\x00\x00",  # ServerHello, not ClientHello
        b"\x16\x03\x01\x00\x08\x01\x00\x00\x04\x03\x03\x00\x00",  # truncated hello body
        b"\x15\x03\x03\x00\x02\x02\x28",  # an alert
    ],
)
def test_not_tls_or_malformed_hello(raw: bytes) -> None:
    with pytest.raises(NotTls):
        parse_client_hello(raw)


def test_garbage_extensions_do_not_crash() -> None:
    raw = bytearray(_real_client_hello("x.test", ["h2"]))
    # Corrupt a length inside the extensions: must be NotTls or a parsed hello, never a crash.
    for pos in range(45, len(raw), 7):
        mutated = bytes(raw[:pos]) + b"\xff" + bytes(raw[pos + 1 :])
        with contextlib.suppress(NotTls):
            parse_client_hello(mutated)
