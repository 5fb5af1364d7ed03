"""Certificates from the bytes people and servers hand us: PEM (one or many), DER, PKCS#7.

Pure: bytes in, certificates out (``--cafile``, ``--ca``, ``tlsdiag chain`` input, AIA bodies).
"""

from __future__ import annotations

from cryptography import x509

from tlsdiag.errors import InputError


def parse_certificates(data: bytes, *, what: str) -> list[x509.Certificate]:
    """Certificates from PEM (one or many), DER or PKCS#7 (PEM or DER) bytes.

    Raises:
        InputError: the bytes hold no certificate.
    """
    stripped = data.lstrip()
    try:
        if b"-----BEGIN PKCS7-----" in stripped:
            from cryptography.hazmat.primitives.serialization import pkcs7

            return list(pkcs7.load_pem_pkcs7_certificates(data))
        if b"-----BEGIN" in stripped:
            return list(x509.load_pem_x509_certificates(data))
    except ValueError as exc:
        raise InputError(f"{what}: malformed PEM: {exc}") from exc
    for loader in (_der_one, _der_pkcs7):
        try:
            return loader(data)
        except ValueError:
            continue
    raise InputError(f"{what}: no certificate found (expected PEM, DER or PKCS#7)")


def _der_one(data: bytes) -> list[x509.Certificate]:
    return [x509.load_der_x509_certificate(data)]


def _der_pkcs7(data: bytes) -> list[x509.Certificate]:
    from cryptography.hazmat.primitives.serialization import pkcs7  # (the email package: ~5 ms)

    return list(pkcs7.load_der_pkcs7_certificates(data))
