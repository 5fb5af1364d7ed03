"""Certificates for chain tests: ordinary ones from ``tlsdiag.core.certbuild``, odd ones by
editing their DER.

cryptography's builder refuses what real servers still send (duplicate extensions, v1); these
helpers edit the DER of a built certificate and sign it again with the issuer's key, so every
certificate is generated at test time.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtensionOID

from tlsdiag.core import certbuild

Key = certbuild.PrivateKey
Made = certbuild.Issued


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
    outer = parse(certbuild.cert_der(cert))
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


# ---- ordinary certificates, from the project's builder ---------------------------------------


def key(kind: str = "ec", bits: int = 2048) -> Key:
    return certbuild.new_key(kind, bits if kind == "rsa" else None)


def cert(
    cn: str,
    *,
    now: datetime,
    issuer: Made | None = None,
    ca: bool = True,
    path_length: int | None = None,
    permitted_dns: Sequence[str] = (),
    names: Sequence[str] = (),
    eku: Sequence[x509.ObjectIdentifier] | None = None,
    aki: bool = True,
    extra: Sequence[x509.ExtensionType] = (),
    signing_key: Key | None = None,
    not_before: datetime | None = None,
    not_after: datetime | None = None,
) -> Made:
    """A CA (``ca=True``) or a leaf named ``cn`` (O=Chain Kit), valid from 10 days before ``now``
    for 300 days unless told; ``names`` with ``uri:`` are URI SANs; ``extra`` (non-critical)
    are added last; a leaf's ``eku`` defaults to serverAuth, ``eku=[]`` is an empty (malformed)
    extendedKeyUsage."""
    if eku is not None and not eku:
        # as raw DER (an empty SEQUENCE): newer cryptography refuses ExtendedKeyUsage([])
        empty = x509.UnrecognizedExtension(ExtensionOID.EXTENDED_KEY_USAGE, b"\x30\x00")
        extra = [empty, *extra]
    subject = certbuild.name(cn, "Chain Kit")
    start = not_before or now - timedelta(days=10)
    end = not_after or now + timedelta(days=300)
    uris = [n.removeprefix("uri:") for n in names if n.startswith("uri:")]
    san = certbuild.general_names([n for n in names if not n.startswith("uri:")])
    san += [x509.UniformResourceIdentifier(u) for u in uris]
    if not ca:
        return certbuild.build_leaf(
            subject,
            issuer=issuer,
            not_before=start,
            not_after=end,
            key=signing_key,
            eku=(certbuild.SERVER_AUTH,) if eku is None else eku,  # [] goes in extra
            aki=aki,
            extensions=[x509.SubjectAlternativeName(san), *extra] if san else extra,
        )
    more: list[x509.ExtensionType] = [x509.ExtendedKeyUsage(list(eku))] if eku else []
    more += [x509.SubjectAlternativeName(san)] if san else []  # a CA as a leaf
    return certbuild.build_ca(
        subject,
        not_before=start,
        not_after=end,
        key=signing_key,
        issuer=issuer,
        path_length=path_length,
        permitted_dns=permitted_dns,
        extensions=[*more, *extra],
    )


def pem(*certs: x509.Certificate) -> bytes:
    return b"".join(certbuild.cert_pem(c) for c in certs)


def write(path: Path, *certs: x509.Certificate) -> Path:
    path.write_bytes(pem(*certs))
    return path
