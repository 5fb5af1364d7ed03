"""Silencing a warning in one thread never lets it escape in another, nor leaks a filter."""

from __future__ import annotations

import datetime as dt
import threading
import time
import warnings

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from tlsdiag.core.quiet import quietly
from tlsdiag.stores.readers import store_cert


def _negative_serial_der() -> bytes:
    """A certificate whose serial number is -1 (some distribution roots still have one)."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "old root")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(now)
        .not_valid_after(now + dt.timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    der = cert.public_bytes(serialization.Encoding.DER)
    marker = b"\xa0\x03\x02\x01\x02\x02\x01\x01"  # version v3, then serial INTEGER 1
    assert der.count(marker) == 1
    return der.replace(marker, marker[:-1] + b"\xff")  # serial -1


def _hammer(work: object, threads: int = 8, rounds: int = 150) -> list[BaseException]:
    errors: list[BaseException] = []

    def run() -> None:
        try:
            for _ in range(rounds):
                work()  # type: ignore[operator]  # a zero-argument callable
        except BaseException as exc:
            errors.append(exc)

    pool = [threading.Thread(target=run) for _ in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join(timeout=60)
    return errors


def test_silenced_warnings_never_escape_from_concurrent_threads() -> None:
    def work() -> None:
        with quietly(UserWarning):
            time.sleep(0.0002)  # let the other threads enter and leave meanwhile
            warnings.warn("deliberate", UserWarning, stacklevel=1)

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        before = list(warnings.filters)
        assert _hammer(work, rounds=40) == []
        assert warnings.filters == before  # nothing leaked
        with pytest.raises(UserWarning):  # control: outside the block it is an error
            warnings.warn("not silenced", UserWarning, stacklevel=1)


def test_store_certificates_with_negative_serials_parse_quietly_in_threads() -> None:
    der = _negative_serial_der()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(Warning, match=r"wasn.t positive"):  # control: cryptography warns
            x509.load_der_x509_certificate(der)
        assert _hammer(lambda: store_cert(der), rounds=60) == []
    cert = store_cert(der)
    assert cert is not None and "old root" in cert.subject
