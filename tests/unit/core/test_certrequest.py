"""The CertificateRequest parser reads CA names in TLS 1.2 and 1.3 layouts."""

from __future__ import annotations

from cryptography import x509
from cryptography.x509.oid import NameOID

from tlsdiag.core.der import name_to_string
from tlsdiag.net.tls_wire import parse_cert_request as _parse_cert_request


def _name(cn: str) -> bytes:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "DE"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Acme"),
            x509.NameAttribute(NameOID.COMMON_NAME, cn),
        ]
    ).public_bytes()


def _vec(items: list[bytes], width: int = 2) -> bytes:
    body = b"".join(len(i).to_bytes(2, "big") + i for i in items)
    return len(body).to_bytes(width, "big") + body


def _msg(body: bytes) -> bytes:
    return bytes([13]) + len(body).to_bytes(3, "big") + body


def test_name_to_string_most_specific_first() -> None:
    assert name_to_string(_name("Client CA 1")) == "CN=Client CA 1, O=Acme, C=DE"


def test_tls12_certificate_request() -> None:
    names = [_name("Client CA 1"), _name("Client CA 2")]
    body = bytes([1, 1]) + (4).to_bytes(2, "big") + b"\x04\x03\x08\x04" + _vec(names)
    req = _parse_cert_request(0x0303, _msg(body))
    assert req.ca_names == ("CN=Client CA 1, O=Acme, C=DE", "CN=Client CA 2, O=Acme, C=DE")


def test_tls13_certificate_request_with_certificate_authorities() -> None:
    ext_data = _vec([_name("Only CA")])
    sigalgs = (
        (13).to_bytes(2, "big") + (4).to_bytes(2, "big") + (2).to_bytes(2, "big") + b"\x04\x03"
    )
    ca_ext = (47).to_bytes(2, "big") + len(ext_data).to_bytes(2, "big") + ext_data
    exts = sigalgs + ca_ext
    body = b"\x00" + len(exts).to_bytes(2, "big") + exts
    req = _parse_cert_request(0x0304, _msg(body))
    assert req.ca_names == ("CN=Only CA, O=Acme, C=DE",)


def test_truncated_request_gives_no_names_not_an_exception() -> None:
    assert _parse_cert_request(0x0303, _msg(b"\x01")).ca_names == ()
