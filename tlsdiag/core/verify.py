"""The only module that uses ``cryptography.x509.verification`` (documented as unstable).

It answers one question: does this chain verify against this set of roots? Codes never come
from the verifier's free-form message; it is kept as evidence only.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from cryptography import x509
from cryptography.x509 import DNSName, IPAddress
from cryptography.x509.verification import PolicyBuilder, Store, VerificationError


@dataclass(frozen=True, slots=True)
class VerifyOutcome:
    """Whether the chain verified, the path the verifier built, and its message."""

    ok: bool
    chain: tuple[x509.Certificate, ...] = ()
    message: str = ""


def verify_chain(
    leaf: x509.Certificate,
    intermediates: Sequence[x509.Certificate],
    roots: Sequence[x509.Certificate],
    *,
    name: str,
    now: datetime,
) -> VerifyOutcome:
    """Verify ``leaf`` for ``name`` (DNS name or IP) against ``roots`` at time ``now``.

    Args:
        leaf: the end-entity certificate.
        intermediates: untrusted certificates that may help build the path.
        roots: the trust anchors.
        name: the server name or IP address to verify for.
        now: the verification time.

    Returns:
        The outcome; never raises for a chain that does not verify.
    """
    if not roots:
        return VerifyOutcome(False, (), "no trusted roots in this store")
    try:
        subject: DNSName | IPAddress = IPAddress(ipaddress.ip_address(name))
    except ValueError:
        try:
            subject = DNSName(name)
        except ValueError as exc:
            return VerifyOutcome(False, (), f"cannot verify for {name!r}: {exc}")
    try:
        builder = PolicyBuilder().store(Store(list(roots))).time(now)
        verifier = builder.build_server_verifier(subject)
        chain = verifier.verify(leaf, list(intermediates))
    except VerificationError as exc:
        return VerifyOutcome(False, (), str(exc))
    except ValueError as exc:  # e.g. unsupported certificate contents
        return VerifyOutcome(False, (), f"verifier rejected the input: {exc}")
    return VerifyOutcome(True, tuple(chain), "ok")
