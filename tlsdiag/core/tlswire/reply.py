"""Parse what a server answers to a ClientHello: ServerHello, HelloRetryRequest or alert."""

from __future__ import annotations

import hashlib
import struct
from dataclasses import dataclass

#: RFC 8446 4.1.3: a ServerHello with this random is a HelloRetryRequest.
HRR_RANDOM = hashlib.sha256(b"HelloRetryRequest").digest()
MAX_RECORD = 16384 + 2048
_EXT_SUPPORTED_VERSIONS = 43
_EXT_KEY_SHARE = 51

ALERTS = {
    0: "close_notify", 10: "unexpected_message", 20: "bad_record_mac", 21: "decryption_failed",
    22: "record_overflow", 30: "decompression_failure", 40: "handshake_failure",
    41: "no_certificate", 42: "bad_certificate", 43: "unsupported_certificate",
    44: "certificate_revoked", 45: "certificate_expired", 46: "certificate_unknown",
    47: "illegal_parameter", 48: "unknown_ca", 49: "access_denied", 50: "decode_error",
    51: "decrypt_error", 60: "export_restriction", 70: "protocol_version",
    71: "insufficient_security", 80: "internal_error", 86: "inappropriate_fallback",
    90: "user_canceled", 100: "no_renegotiation", 109: "missing_extension",
    110: "unsupported_extension", 112: "unrecognized_name", 116: "certificate_required",
    120: "no_application_protocol",
}  # fmt: skip


@dataclass(frozen=True, slots=True)
class ServerHello:
    """The server's choice: version (wire code, after supported_versions), suite, group."""

    version: int
    suite: int
    group: int = 0  # TLS 1.3 key_share group (ServerHello) or the one asked for (HRR)
    retry: bool = False  # a HelloRetryRequest


@dataclass(frozen=True, slots=True)
class Alert:
    """A TLS alert instead of a ServerHello."""

    level: int
    description: int

    @property
    def name(self) -> str:
        """``handshake_failure``, ``protocol_version`` ... or the number."""
        return ALERTS.get(self.description, str(self.description))


@dataclass(frozen=True, slots=True)
class NotTls:
    """Bytes that are not a TLS answer to a ClientHello."""

    first_bytes: bytes
    reason: str


Reply = ServerHello | Alert | NotTls


def _record_header_ok(data: bytes) -> bool:
    return data[0] in (20, 21, 22, 23) and data[1] == 3 and data[2] <= 4


def _records(data: bytes) -> tuple[list[tuple[int, bytes]], bool, NotTls | None]:
    """Complete records in ``data``; whether a partial record follows; or why it is not TLS."""
    out: list[tuple[int, bytes]] = []
    pos = 0
    while len(data) - pos >= 5:
        head = data[pos : pos + 5]
        if not _record_header_ok(head):
            return out, False, NotTls(data[:40], "the answer is not a TLS record")
        (length,) = struct.unpack("!H", head[3:5])
        if length > MAX_RECORD:
            return out, False, NotTls(data[:40], f"a TLS record of {length} bytes is too long")
        if len(data) - pos - 5 < length:
            return out, True, None
        out.append((head[0], data[pos + 5 : pos + 5 + length]))
        pos += 5 + length
    return out, pos < len(data), None


def _parse_server_hello(body: bytes) -> ServerHello | NotTls:
    try:
        (version,) = struct.unpack("!H", body[0:2])
        random = body[2:34]
        sid_len = body[34]
        pos = 35 + sid_len
        (suite,) = struct.unpack("!H", body[pos : pos + 2])
        pos += 3  # suite + compression method
        group = 0
        if len(body) >= pos + 2:
            (ext_len,) = struct.unpack("!H", body[pos : pos + 2])
            end = pos + 2 + ext_len
            pos += 2
            while pos + 4 <= end:
                kind, size = struct.unpack("!HH", body[pos : pos + 4])
                value = body[pos + 4 : pos + 4 + size]
                if kind == _EXT_SUPPORTED_VERSIONS and size == 2:
                    (version,) = struct.unpack("!H", value)
                elif kind == _EXT_KEY_SHARE and size >= 2:
                    (group,) = struct.unpack("!H", value[:2])
                pos += 4 + size
    except (struct.error, IndexError):
        return NotTls(body[:40], "a malformed ServerHello")
    return ServerHello(version, suite, group, retry=random == HRR_RANDOM)


def parse_reply(data: bytes) -> Reply | None:
    """The server's answer in ``data`` (everything received so far), or None to read more.

    Args:
        data: the bytes received since the ClientHello was sent.

    Returns:
        A ServerHello (or HelloRetryRequest), an Alert, NotTls, or None when incomplete.
    """
    if not data:
        return None
    if len(data) >= 3 and not _record_header_ok(data[:3] + b"\x00\x00"):
        return NotTls(data[:40], "the answer is not a TLS record")
    records, _partial, bad = _records(data)
    if bad is not None:
        return bad
    handshake = b""
    for content_type, payload in records:
        if content_type == 21 and not handshake:
            if len(payload) < 2:
                return NotTls(data[:40], "a truncated TLS alert")
            return Alert(payload[0], payload[1])
        if content_type != 22:
            return NotTls(data[:40], f"a TLS record of type {content_type} before ServerHello")
        handshake += payload
        if len(handshake) >= 4:
            if handshake[0] != 2:
                return NotTls(data[:40], f"handshake message {handshake[0]} instead of ServerHello")
            (length,) = struct.unpack("!I", b"\x00" + handshake[1:4])
            if len(handshake) >= 4 + length:
                return _parse_server_hello(handshake[4 : 4 + length])
    return None
