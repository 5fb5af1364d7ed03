"""Encode a ClientHello record (RFC 5246 7.4.1.2, RFC 8446 4.1.2) from plain values."""

from __future__ import annotations

import struct
from collections.abc import Sequence
from dataclasses import dataclass

TLS_EMPTY_RENEGOTIATION_INFO_SCSV = 0x00FF
X25519 = 0x001D
X25519MLKEM768 = 0x11EC  # hybrid post-quantum group (draft-ietf-tls-ecdhe-mlkem)
# ECDSA, RSA-PSS, EdDSA, RSA PKCS#1 and the SHA-1 / SHA-224 forms old servers still sign with
SIGNATURE_ALGORITHMS = (
    0x0403, 0x0503, 0x0603, 0x0804, 0x0805, 0x0806, 0x0807, 0x0808, 0x0809, 0x080A, 0x080B,
    0x0401, 0x0501, 0x0601, 0x0303, 0x0301, 0x0302, 0x0203, 0x0201, 0x0202, 0x0402, 0x0502,
)  # fmt: skip

_EXT_SERVER_NAME = 0
_EXT_SUPPORTED_GROUPS = 10
_EXT_EC_POINT_FORMATS = 11
_EXT_SIGNATURE_ALGORITHMS = 13
_EXT_ALPN = 16
_EXT_PADDING = 21
_EXT_EXTENDED_MASTER_SECRET = 23
_EXT_SUPPORTED_VERSIONS = 43
_EXT_PSK_MODES = 45
_EXT_KEY_SHARE = 51


@dataclass(frozen=True, slots=True)
class HelloSpec:
    """What to offer in one ClientHello.

    ``version`` is the wire code (0x0300 SSL 3.0 ... 0x0304 TLS 1.3). For TLS 1.3 the legacy
    version is TLS 1.2 and ``supported_versions`` names 1.3 alone. ``random`` and
    ``session_id`` are taken as given (the caller draws them), so the encoding is reproducible.
    """

    version: int
    suites: tuple[int, ...]
    random: bytes
    server_name: str = ""
    groups: tuple[int, ...] = ()
    x25519_share: bytes = b""  # 32 bytes: sent as the TLS 1.3 key share when x25519 is offered
    session_id: bytes = b""
    shares: tuple[tuple[int, bytes], ...] = ()  # more TLS 1.3 key shares, before x25519's
    alpn: tuple[str, ...] = ()
    pad_to: int = 0  # a padding extension (RFC 7685) makes the record this long, when shorter


def _u8(data: bytes) -> bytes:
    return struct.pack("!B", len(data)) + data


def _u16(data: bytes) -> bytes:
    return struct.pack("!H", len(data)) + data


def _u16s(values: Sequence[int]) -> bytes:
    return b"".join(struct.pack("!H", v) for v in values)


def _ext(kind: int, body: bytes) -> bytes:
    return struct.pack("!H", kind) + _u16(body)


def _extensions(spec: HelloSpec) -> bytes:
    exts: list[bytes] = []
    if spec.server_name:
        name = spec.server_name.encode("ascii")
        exts.append(_ext(_EXT_SERVER_NAME, _u16(b"\x00" + _u16(name))))
    if spec.groups:
        exts.append(_ext(_EXT_SUPPORTED_GROUPS, _u16(_u16s(spec.groups))))
        exts.append(_ext(_EXT_EC_POINT_FORMATS, _u8(b"\x00")))
    exts.append(_ext(_EXT_SIGNATURE_ALGORITHMS, _u16(_u16s(SIGNATURE_ALGORITHMS))))
    if spec.version >= 0x0304:
        exts.append(_ext(_EXT_SUPPORTED_VERSIONS, _u8(_u16s([spec.version]))))
        exts.append(_ext(_EXT_PSK_MODES, _u8(b"\x01")))
        share = b"".join(struct.pack("!H", g) + _u16(k) for g, k in spec.shares)
        if X25519 in spec.groups and len(spec.x25519_share) == 32:
            share += struct.pack("!H", X25519) + _u16(spec.x25519_share)
        # no share for the group asked about: the server answers with a HelloRetryRequest
        exts.append(_ext(_EXT_KEY_SHARE, _u16(share)))
    else:
        exts.append(_ext(_EXT_EXTENDED_MASTER_SECRET, b""))
    if spec.alpn:
        names = b"".join(_u8(a.encode("ascii")) for a in spec.alpn)
        exts.append(_ext(_EXT_ALPN, _u16(names)))
    return b"".join(exts)


def _padded(spec: HelloSpec, record: bytes) -> bytes:
    """The same hello with a padding extension making it ``spec.pad_to`` bytes long."""
    missing = spec.pad_to - len(record) - 4  # the extension's own header is 4 bytes
    if missing < 0:
        return record
    exts = _extensions(spec) + _ext(_EXT_PADDING, bytes(missing))
    return _record(spec, exts)


MLKEM768_NOISE = 1152 + 32  # random bytes ``mlkem768_share`` turns into a key
# Clears the top bit of each 12-bit coefficient (two per three bytes): every one is then below
# 2048, so below q = 3329, in one integer operation.
_BELOW_Q = int.from_bytes(b"\xff\xf7\x7f" * 384, "big")


def mlkem768_share(noise: bytes, x25519_share: bytes) -> bytes:
    """A client key share for X25519MLKEM768: an ML-KEM-768 encapsulation key, then the X25519
    share (1216 bytes).

    The encapsulation key (FIPS 203: three polynomials of 256 coefficients below q = 3329,
    12 bits each, then a 32-byte seed) is random but well formed, so a server that speaks the
    group encapsulates to it (FIPS 203's input check refuses a coefficient of q or more); the
    client never needs the matching secret, since it reads no further than the server's reply.
    ``noise`` (``MLKEM768_NOISE`` random bytes, drawn by the caller) gives the coefficients and
    the seed.

    Raises:
        ValueError: ``noise`` or ``x25519_share`` has the wrong length.
    """
    if len(noise) != MLKEM768_NOISE or len(x25519_share) != 32:
        raise ValueError("ML-KEM-768 share: wrong noise or X25519 share length")
    packed = (int.from_bytes(noise[:1152], "big") & _BELOW_Q).to_bytes(1152, "big")
    return packed + noise[1152:] + x25519_share


def client_hello(spec: HelloSpec) -> bytes:
    """One TLS record holding a ClientHello built from ``spec``.

    SSL 3.0 hellos carry no extensions (SSL 3.0 servers may reject them); every hello ends its
    suite list with the renegotiation SCSV (RFC 5746), as browsers do.

    Args:
        spec: what to offer.

    Returns:
        The record bytes, ready to send.

    Raises:
        ValueError: ``random`` is not 32 bytes, or no suite is offered.
    """
    if len(spec.random) != 32:
        raise ValueError("random must be 32 bytes")
    if not spec.suites:
        raise ValueError("a ClientHello needs at least one cipher suite")
    record = _record(spec, _extensions(spec) if spec.version > 0x0300 else None)
    return _padded(spec, record) if spec.pad_to and spec.version > 0x0300 else record


def _record(spec: HelloSpec, extensions: bytes | None) -> bytes:
    legacy_version = min(spec.version, 0x0303)
    suites = (*spec.suites, TLS_EMPTY_RENEGOTIATION_INFO_SCSV)
    body = (
        struct.pack("!H", legacy_version)
        + spec.random
        + _u8(spec.session_id)
        + _u16(_u16s(suites))
        + _u8(b"\x00")  # compression: null only
    )
    if extensions is not None:
        body += _u16(extensions)
    handshake = b"\x01" + struct.pack("!I", len(body))[1:] + body
    record_version = 0x0300 if spec.version == 0x0300 else 0x0301
    return struct.pack("!BHH", 22, record_version, len(handshake)) + handshake
