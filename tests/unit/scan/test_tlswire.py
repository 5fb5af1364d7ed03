"""The sans-IO ClientHello encoder and ServerHello / alert parser, without sockets."""

from __future__ import annotations

import struct
from dataclasses import replace

import pytest

from tlsdiag.core.tlswire.hello import (
    MLKEM768_NOISE,
    TLS_EMPTY_RENEGOTIATION_INFO_SCSV,
    X25519,
    X25519MLKEM768,
    HelloSpec,
    client_hello,
    mlkem768_share,
)
from tlsdiag.core.tlswire.reply import HRR_RANDOM, Alert, NotTls, ServerHello, parse_reply

RANDOM = bytes(range(32))


def _extensions(record: bytes) -> dict[int, bytes]:
    body = record[9:]
    pos = 35 + body[34]
    (n,) = struct.unpack("!H", body[pos : pos + 2])
    pos += 2 + n
    pos += 1 + body[pos]
    if pos >= len(body):
        return {}
    end = pos + 2 + struct.unpack("!H", body[pos : pos + 2])[0]
    pos += 2
    out = {}
    while pos < end:
        kind, size = struct.unpack("!HH", body[pos : pos + 4])
        out[kind] = body[pos + 4 : pos + 4 + size]
        pos += 4 + size
    return out


def _server_hello(
    version: int, suite: int, *, random: bytes = b"\x22" * 32, ext: bytes = b""
) -> bytes:
    body = struct.pack("!H", version) + random + b"\x00" + struct.pack("!HB", suite, 0)
    if ext:
        body += struct.pack("!H", len(ext)) + ext
    msg = b"\x02" + struct.pack("!I", len(body))[1:] + body
    return struct.pack("!BHH", 22, 0x0303, len(msg)) + msg


def test_tls12_hello_layout() -> None:
    rec = client_hello(HelloSpec(0x0303, (0xC02F, 0x002F), RANDOM, "example.com", (0x001D,)))
    assert rec[:3] == b"\x16\x03\x01"
    assert struct.unpack("!H", rec[3:5])[0] == len(rec) - 5
    assert rec[5] == 1 and struct.unpack("!I", b"\x00" + rec[6:9])[0] == len(rec) - 9
    assert rec[9:11] == b"\x03\x03" and rec[11:43] == RANDOM
    suites = rec[46 : 46 + struct.unpack("!H", rec[44:46])[0]]
    assert suites == struct.pack("!HHH", 0xC02F, 0x002F, TLS_EMPTY_RENEGOTIATION_INFO_SCSV)
    exts = _extensions(rec)
    assert b"example.com" in exts[0]
    assert exts[10] == b"\x00\x02\x00\x1d"
    assert 43 not in exts and 51 not in exts


def test_tls13_hello_has_supported_versions_and_key_share() -> None:
    share = b"\x01" * 32
    rec = client_hello(
        HelloSpec(
            0x0304, (0x1301,), RANDOM, groups=(0x001D,), x25519_share=share, session_id=b"s" * 32
        )
    )
    assert rec[9:11] == b"\x03\x03"  # legacy_version
    exts = _extensions(rec)
    assert exts[43] == b"\x02\x03\x04"
    assert exts[51] == b"\x00\x24\x00\x1d\x00\x20" + share
    # asked about one group without a share: an empty key_share (the server sends an HRR)
    exts = _extensions(client_hello(HelloSpec(0x0304, (0x1301,), RANDOM, groups=(0x0018,))))
    assert exts[51] == b"\x00\x00"


def test_ssl3_hello_has_no_extensions() -> None:
    rec = client_hello(HelloSpec(0x0300, (0x0005,), RANDOM, "example.com", (0x0017,)))
    assert rec[1:3] == b"\x03\x00" and rec[9:11] == b"\x03\x00"
    assert _extensions(rec) == {}


def test_hello_rejects_bad_input() -> None:
    with pytest.raises(ValueError):
        client_hello(HelloSpec(0x0303, (0x002F,), b"short"))
    with pytest.raises(ValueError):
        client_hello(HelloSpec(0x0303, (), RANDOM))


def test_parse_server_hello_tls12() -> None:
    assert parse_reply(_server_hello(0x0303, 0xC02F)) == ServerHello(0x0303, 0xC02F)


def test_parse_server_hello_tls13_and_hrr() -> None:
    sv = struct.pack("!HHH", 43, 2, 0x0304)
    ks = struct.pack("!HHH", 51, 2, 0x0018)
    assert parse_reply(_server_hello(0x0303, 0x1301, ext=sv + ks)) == ServerHello(
        0x0304, 0x1301, 0x0018
    )
    hrr = parse_reply(_server_hello(0x0303, 0x1302, random=HRR_RANDOM, ext=sv + ks))
    assert hrr == ServerHello(0x0304, 0x1302, 0x0018, retry=True)


def test_parse_in_pieces_waits_for_the_whole_message() -> None:
    data = _server_hello(0x0301, 0x002F)
    for cut in (1, 4, 5, 20, len(data) - 1):
        assert parse_reply(data[:cut]) is None
    assert parse_reply(data) == ServerHello(0x0301, 0x002F)


def test_parse_message_split_over_records() -> None:
    data = _server_hello(0x0303, 0x009C)
    msg = data[5:]
    a, b = msg[:10], msg[10:]
    split = (
        struct.pack("!BHH", 22, 0x0303, len(a)) + a + struct.pack("!BHH", 22, 0x0303, len(b)) + b
    )
    assert parse_reply(split) == ServerHello(0x0303, 0x009C)


def test_parse_alert() -> None:
    reply = parse_reply(b"\x15\x03\x01\x00\x02\x02\x46")
    assert reply == Alert(2, 70) and isinstance(reply, Alert)
    assert reply.name == "protocol_version"


@pytest.mark.parametrize(
    "data",
    [
        b"HTTP/1.1 400 Bad Request\r\n\r\n",
        b"SSH-2.0-OpenSSH_9.6\r\n",
        b"\x16\x03\x03\xff\xff",  # a record longer than TLS allows
        b"\x16\x03\x03\x00\x04\x0b\x00\x00\x00",  # Certificate before ServerHello
        b"\x15\x03\x01\x00\x01\x02",  # truncated alert
    ],
)
def test_parse_garbage(data: bytes) -> None:
    assert isinstance(parse_reply(data), NotTls)


def test_parse_malformed_server_hello() -> None:
    msg = b"\x02\x00\x00\x03\x03\x03\x00"
    assert isinstance(parse_reply(struct.pack("!BHH", 22, 0x0303, len(msg)) + msg), NotTls)


def _decode12(data: bytes) -> list[int]:
    out = []
    for i in range(0, len(data), 3):
        b0, b1, b2 = data[i : i + 3]
        out += [b0 | (b1 & 0x0F) << 8, b1 >> 4 | b2 << 4]
    return out


def test_mlkem768_share_is_a_well_formed_encapsulation_key() -> None:
    """FIPS 203: 768 coefficients below q = 3329 in 12 bits each, a 32-byte seed, then the
    X25519 share; noise of every byte value (0xff included) stays below q, and noise below
    2048 per coefficient comes through unchanged."""
    x25519 = bytes(range(32))
    for fill in (b"\xff", b"\x00", bytes(range(256))):
        noise = (fill * MLKEM768_NOISE)[:MLKEM768_NOISE]
        share = mlkem768_share(noise, x25519)
        assert len(share) == 1216 and share[-32:] == x25519
        coeffs = _decode12(share[:1152])
        assert len(coeffs) == 768 and max(coeffs) < 3329
        assert share[1152:1184] == noise[1152:]
    assert _decode12(mlkem768_share(bytes(MLKEM768_NOISE), x25519)[:1152]) == [0] * 768
    small = bytes([0x12, 0x34, 0x56]) * 384 + bytes(32)  # coefficients 0x412 and 0x563
    assert _decode12(mlkem768_share(small, x25519)[:1152]) == [0x412, 0x563] * 384
    with pytest.raises(ValueError):
        mlkem768_share(b"short", x25519)


def test_extra_key_share_alpn_and_padding() -> None:
    pq = mlkem768_share(bytes(MLKEM768_NOISE), b"\x09" * 32)
    spec = HelloSpec(
        version=0x0304,
        suites=(0x1301,),
        random=RANDOM,
        server_name="a.test",
        groups=(X25519MLKEM768, X25519),
        x25519_share=b"\x09" * 32,
        shares=((X25519MLKEM768, pq),),
        alpn=("h2", "http/1.1"),
        pad_to=1800,
    )
    record = client_hello(spec)
    assert len(record) == 1800 and struct.unpack("!H", record[3:5])[0] == 1795
    exts = _extensions(record)
    shares = exts[51][2:]
    assert shares[:4] == struct.pack("!HH", X25519MLKEM768, 1216) and shares[4:1220] == pq
    assert shares[1220:1224] == struct.pack("!HH", X25519, 32)
    assert exts[16] == b"\x00\x0c\x02h2\x08http/1.1"
    assert set(exts[21]) == {0}  # the padding extension: zeros
    # a hello already longer than pad_to is left as it is
    assert len(client_hello(replace(spec, pad_to=100))) < 1800
