"""Build odd certificates for chain tests: any extension set, raw DER edits, re-signing.

cryptography's builder refuses what real servers still send (duplicate extensions, v1,
fractional GeneralizedTime, malformed extension values); these helpers build the DER by hand
and sign it with the issuer's key, so every certificate is generated at test time.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

Key = ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey


@dataclass(frozen=True)
class Made:
    cert: x509.Certificate
    key: Key


# ---- a tiny DER tree -------------------------------------------------------------------------


@dataclass
class Node:
    tag: int
    value: bytes = b""
    children: list[Node] | None = None

    def encode(self) -> bytes:
        body = (
            b"".join(c.encode() for c in self.children) if self.children is not None else self.value
        )
        return bytes([self.tag]) + _len(len(body)) + body


def _len(n: int) -> bytes:
    if n < 0x80:
        return bytes([n])
    raw = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([0x80 | len(raw)]) + raw


def _read(data: bytes, pos: int) -> tuple[int, bytes, int]:
    tag, length = data[pos], data[pos + 1]
    pos += 2
    if length & 0x80:
        n = length & 0x7F
        length = int.from_bytes(data[pos : pos + n], "big")
        pos += n
    return tag, data[pos : pos + length], pos + length


def parse(data: bytes) -> Node:
    tag, value, _ = _read(data, 0)
    if tag & 0x20:  # constructed
        kids, pos = [], 0
        while pos < len(value):
            _, _, end = _read(value, pos)
            kids.append(parse(value[pos:end]))
            pos = end
        return Node(tag, children=kids)
    return Node(tag, value)


def resign(cert: x509.Certificate, signer: Key, edit: Callable[[Node], None]) -> x509.Certificate:
    """Edit the TBS tree of ``cert`` in place with ``edit`` and sign it again with ``signer``."""
    outer = parse(cert.public_bytes(serialization.Encoding.DER))
    assert outer.children is not None
    tbs, alg = outer.children[0], outer.children[1]
    edit(tbs)
    tbs_der = tbs.encode()
    if isinstance(signer, rsa.RSAPrivateKey):
        from cryptography.hazmat.primitives.asymmetric import padding

        sig = signer.sign(tbs_der, padding.PKCS1v15(), hashes.SHA256())
    else:
        sig = signer.sign(tbs_der, ec.ECDSA(hashes.SHA256()))
    new = Node(0x30, children=[tbs, alg, Node(0x03, b"\x00" + sig)])
    return x509.load_der_x509_certificate(new.encode())


def extensions_node(tbs: Node) -> Node:
    """The SEQUENCE of extensions inside [3]."""
    assert tbs.children is not None
    box = next(c for c in tbs.children if c.tag == 0xA3)
    assert box.children is not None
    return box.children[0]


def duplicate_extension(oid_dotted: str) -> Callable[[Node], None]:
    def edit(tbs: Node) -> None:
        exts = extensions_node(tbs)
        assert exts.children is not None
        for ext in list(exts.children):
            assert ext.children is not None
            if x509.ObjectIdentifier(_oid(ext.children[0].value)).dotted_string == oid_dotted:
                exts.children.append(parse(ext.encode()))
                return
        raise AssertionError(f"no extension {oid_dotted}")

    return edit


def _oid(raw: bytes) -> str:
    first, rest = divmod(raw[0], 40)
    parts = [min(first, 2), raw[0] - 40 * min(first, 2)]
    val = 0
    for b in raw[1:]:
        val = (val << 7) | (b & 0x7F)
        if not b & 0x80:
            parts.append(val)
            val = 0
    del rest
    return ".".join(str(p) for p in parts)


def make_v1(tbs: Node) -> None:
    """Drop the [0] version and the [3] extensions: an X.509 v1 certificate."""
    assert tbs.children is not None
    tbs.children = [c for c in tbs.children if c.tag not in (0xA0, 0xA3)]


def fractional_not_after(fraction: str) -> Callable[[Node], None]:
    """Rewrite notAfter (a GeneralizedTime, so after 2049) with fractional seconds."""

    def edit(tbs: Node) -> None:
        assert tbs.children is not None
        validity = tbs.children[4]
        assert validity.children is not None
        na = validity.children[1]
        assert na.tag == 0x18, "notAfter must be a GeneralizedTime"
        na.value = na.value[:-1] + fraction.encode() + b"Z"

    return edit


# ---- builders --------------------------------------------------------------------------------


def key(kind: str = "ec", bits: int = 2048) -> Key:
    if kind == "rsa":
        return rsa.generate_private_key(public_exponent=65537, key_size=bits)
    return ec.generate_private_key(ec.SECP256R1())


def name(cn: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.COMMON_NAME, cn),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Chain Kit"),
        ]
    )


def cert(
    cn: str,
    *,
    now: datetime,
    issuer: Made | None = None,
    ca: bool | None = True,
    path_length: int | None = None,
    names: Sequence[str] = (),
    eku: Sequence[x509.ObjectIdentifier] | None = None,
    key_cert_sign: bool = True,
    aki: bool = True,
    ski: bool = True,
    extra: Sequence[tuple[x509.ExtensionType, bool]] = (),
    signing_key: Key | None = None,
    not_before: datetime | None = None,
    not_after: datetime | None = None,
) -> Made:
    """A certificate with exactly the extensions asked for (``ca=None``: no basicConstraints)."""
    k = signing_key or key()
    subject = name(cn)
    signer = issuer.key if issuer else k
    b = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer.cert.subject if issuer else subject)
        .public_key(k.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before or now - timedelta(days=10))
        .not_valid_after(not_after or now + timedelta(days=300))
    )
    if ca is not None:
        b = b.add_extension(x509.BasicConstraints(ca=ca, path_length=path_length), critical=True)
    if ca:
        b = b.add_extension(
            x509.KeyUsage(True, False, False, False, False, key_cert_sign, True, False, False),
            critical=True,
        )
    if ski:
        b = b.add_extension(
            x509.SubjectKeyIdentifier.from_public_key(k.public_key()), critical=False
        )
    if aki and issuer is not None:
        b = b.add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer.key.public_key()),
            critical=False,
        )
    if eku is None and ca is False:
        eku = [ExtendedKeyUsageOID.SERVER_AUTH]
    if eku is not None:
        b = b.add_extension(x509.ExtendedKeyUsage(list(eku)), critical=False)
    if names:
        general: list[x509.GeneralName] = []
        for n in names:
            if n.startswith("uri:"):
                general.append(x509.UniformResourceIdentifier(n[4:]))
                continue
            try:
                general.append(x509.IPAddress(ipaddress.ip_address(n)))
            except ValueError:
                general.append(x509.DNSName(n))
        b = b.add_extension(x509.SubjectAlternativeName(general), critical=False)
    for ext, critical in extra:
        b = b.add_extension(ext, critical=critical)
    return Made(b.sign(signer, hashes.SHA256()), k)


def pem(*certs: x509.Certificate) -> bytes:
    return b"".join(c.public_bytes(serialization.Encoding.PEM) for c in certs)


def write(path: Path, *certs: x509.Certificate) -> Path:
    path.write_bytes(pem(*certs))
    return path
