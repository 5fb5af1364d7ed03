"""The one DER reader (and writer): just enough to walk names and rebuild a certificate.

The standard library and cryptography have no public parser for a bare ``Name``; the
CertificateRequest message carries a list of them (the CAs whose client certificates the
server accepts), OpenSSL's subject hash re-encodes one, and the lab re-signs a TBS.
"""

from __future__ import annotations

_OID_NAMES = {
    "2.5.4.3": "CN",
    "2.5.4.6": "C",
    "2.5.4.7": "L",
    "2.5.4.8": "ST",
    "2.5.4.10": "O",
    "2.5.4.11": "OU",
    "0.9.2342.19200300.100.1.25": "DC",
    "1.2.840.113549.1.9.1": "emailAddress",
}


def read_tlv(data: bytes, pos: int = 0) -> tuple[int, bytes, int]:
    """One TLV of ``data`` at ``pos``: (tag, value, position after it).

    Raises:
        ValueError: the bytes are truncated or the length is malformed.
    """
    if pos + 2 > len(data):
        raise ValueError("truncated DER")
    tag = data[pos]
    length = data[pos + 1]
    pos += 2
    if length & 0x80:
        n = length & 0x7F
        if n == 0 or n > 4 or pos + n > len(data):
            raise ValueError("bad DER length")
        length = int.from_bytes(data[pos : pos + n], "big")
        pos += n
    end = pos + length
    if end > len(data):
        raise ValueError("truncated DER value")
    return tag, data[pos:end], end


def encode_tlv(tag: int, value: bytes) -> bytes:
    """One DER TLV (definite length, short or long form)."""
    n = len(value)
    if n < 0x80:
        return bytes([tag, n]) + value
    size = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([tag, 0x80 | len(size)]) + size + value


def _oid(value: bytes) -> str:
    if not value:
        raise ValueError("empty OID")
    first = value[0]
    parts = [str(min(first // 40, 2)), str(first - 40 * min(first // 40, 2))]
    acc = 0
    for byte in value[1:]:
        acc = (acc << 7) | (byte & 0x7F)
        if not byte & 0x80:
            parts.append(str(acc))
            acc = 0
    return ".".join(parts)


def name_to_string(der: bytes) -> str:
    """A DER ``Name`` as ``CN=..., O=..., C=...`` (most specific first, like openssl -nameopt).

    Raises:
        ValueError: the bytes are not a DER Name.
    """
    tag, body, _ = read_tlv(der, 0)
    if tag != 0x30:
        raise ValueError("not a DER SEQUENCE")
    rdns: list[str] = []
    pos = 0
    while pos < len(body):
        set_tag, set_body, pos = read_tlv(body, pos)
        if set_tag != 0x31:
            raise ValueError("expected a SET in Name")
        inner = 0
        while inner < len(set_body):
            _, atv, inner = read_tlv(set_body, inner)
            oid_tag, oid_value, vpos = read_tlv(atv, 0)
            if oid_tag != 0x06:
                raise ValueError("expected an OID")
            _, value, _ = read_tlv(atv, vpos)
            oid = _oid(oid_value)
            text = value.decode("utf-16-be" if atv[vpos] == 0x1E else "utf-8", "replace")
            rdns.append(f"{_OID_NAMES.get(oid, oid)}={text}")
    return ", ".join(reversed(rdns))


def split_name_list(data: bytes) -> list[bytes]:
    """Split a TLS ``DistinguishedName<1..2^16-1>`` vector body into DER names."""
    out: list[bytes] = []
    pos = 0
    while pos + 2 <= len(data):
        n = int.from_bytes(data[pos : pos + 2], "big")
        pos += 2
        if pos + n > len(data):
            break
        out.append(data[pos : pos + n])
        pos += n
    return out
