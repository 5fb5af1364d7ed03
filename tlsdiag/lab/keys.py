"""The lab's RSA keys, generated in a background thread while other work proceeds.

Most lab certificates use EC P-256 keys, which take microseconds. The few cases that depend on
an RSA key (the SHA-1 case's CA signs with RSA; the weak-key case's leaf has 1024 bits) need
keys whose generation takes 10 to 100 ms, and OpenSSL releases the GIL while it searches for
primes. :class:`LabKeys` begins that search at once, so it runs on another core while the
caller imports modules and builds the rest of the lab. This module imports only the RSA
primitives, so the keys can be started before the heavier imports.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable

from cryptography.hazmat.primitives.asymmetric import rsa

# lab case -> RSA key size it needs, in the order the lab builds its cases
RSA_CASE_BITS: dict[str, int] = {"sha1": 2048, "rsa1024": 1024}


class LabKeys:
    """RSA keys for the lab cases that need one, made by one daemon thread."""

    def __init__(self, names: Iterable[str] | None = None) -> None:
        """Begin generating the keys of the cases among ``names`` (all cases when None) that
        need one."""
        wanted = set(RSA_CASE_BITS if names is None else names)
        self._order = tuple(n for n in RSA_CASE_BITS if n in wanted)
        self._keys: dict[str, rsa.RSAPrivateKey] = {}
        self._error: BaseException | None = None
        self._done = {n: threading.Event() for n in self._order}
        if self._order:
            threading.Thread(target=self._make, name="lab-rsa-keys", daemon=True).start()

    def _make(self) -> None:
        try:
            for name in self._order:
                bits = RSA_CASE_BITS[name]
                self._keys[name] = rsa.generate_private_key(public_exponent=65537, key_size=bits)
                self._done[name].set()
        except BaseException as exc:  # handed to the caller of key()
            self._error = exc
            for event in self._done.values():
                event.set()

    def key(self, name: str) -> rsa.RSAPrivateKey:
        """The RSA key of lab case ``name``, waiting until it is made.

        Raises:
            KeyError: ``name`` needs no RSA key or was not among the names given.
        """
        self._done[name].wait()
        if name not in self._keys and self._error is not None:
            raise self._error
        return self._keys[name]
