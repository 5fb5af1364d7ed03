"""Build certificate chains named like inspection products, at test time (no committed PEMs)."""

from __future__ import annotations

import re
import struct
import warnings
from datetime import UTC, datetime, timedelta
from functools import cache

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtensionOID, NameOID

from tlsdiag.core.certbuild import Issued, build_ca, build_leaf

NOW = datetime.now(UTC).replace(microsecond=0)  # chains are built relative to the real clock

_ATTRS = {
    "CN": NameOID.COMMON_NAME,
    "O": NameOID.ORGANIZATION_NAME,
    "OU": NameOID.ORGANIZATIONAL_UNIT_NAME,
    "L": NameOID.LOCALITY_NAME,
    "ST": NameOID.STATE_OR_PROVINCE_NAME,
    "S": NameOID.STATE_OR_PROVINCE_NAME,
    "C": NameOID.COUNTRY_NAME,
    "EMAILADDRESS": NameOID.EMAIL_ADDRESS,
    "DC": NameOID.DOMAIN_COMPONENT,
}


def name_from_dn(text: str) -> x509.Name:
    """An x509.Name from an RFC 4514 string (most specific first), accepting the odd real-world
    values that strict parsing refuses (Burp's ``C=PortSwigger``)."""
    parts = [p.replace("\\,", ",") for p in re.split(r"(?<!\\),", text) if p]
    attrs = []
    for part in parts:
        key, _, value = part.partition("=")
        oid = _ATTRS[key.strip().upper()]
        with warnings.catch_warnings():  # real CAs break the 2-letter country rule
            warnings.simplefilter("ignore", UserWarning)
            attrs.append(x509.NameAttribute(oid, value, _validate=False))
    return x509.Name(list(reversed(attrs)))


@cache
def _key(label: str) -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def sct_extension(count: int = 1) -> x509.UnrecognizedExtension:
    """An embedded-SCT extension with ``count`` syntactically valid (unverifiable) SCTs."""
    scts = b""
    for i in range(count):
        sig = b"\x30\x06\x02\x01\x01\x02\x01\x01"
        body = (
            b"\x00"
            + bytes([i + 1]) * 32
            + struct.pack(">Q", 1_700_000_000_000)
            + b"\x00\x00"
            + b"\x04\x03"
            + struct.pack(">H", len(sig))
            + sig
        )
        scts += struct.pack(">H", len(body)) + body
    tls = struct.pack(">H", len(scts)) + scts
    n = len(tls)
    if n < 128:
        length = bytes([n])
    elif n < 256:
        length = bytes([0x81, n])
    else:
        length = bytes([0x82]) + struct.pack(">H", n)
    der = b"\x04" + length + tls
    return x509.UnrecognizedExtension(ExtensionOID.PRECERT_SIGNED_CERTIFICATE_TIMESTAMPS, der)


def make_ca(
    subject: str,
    *,
    issuer: Issued | None = None,
    label: str | None = None,
    not_before: datetime = NOW - timedelta(days=365),
    days: int = 3650,
) -> Issued:
    """A CA certificate (self-signed when ``issuer`` is None)."""
    return build_ca(
        name_from_dn(subject),
        not_before=not_before,
        not_after=not_before + timedelta(days=days),
        key=_key(label or subject),
        issuer=issuer,
    )


def make_leaf(
    host: str,
    issuer: Issued,
    *,
    not_before: datetime = NOW - timedelta(days=30),
    days: int = 90,
    scts: int = 0,
) -> x509.Certificate:
    """A server certificate for ``host`` (a DNS name or an IP literal)."""
    return build_leaf(
        x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, host)]),
        issuer=issuer,
        not_before=not_before,
        not_after=not_before + timedelta(days=days),
        key=_key("leaf:" + host),
        names=[host],
        ski=False,
        extensions=[sct_extension(scts)] if scts else (),
    ).cert


def leaf_key(host: str) -> ec.EllipticCurvePrivateKey:
    """The private key of ``make_leaf(host, ...)``."""
    return _key("leaf:" + host)


def fp(cert: x509.Certificate) -> str:
    return cert.fingerprint(hashes.SHA256()).hex()
