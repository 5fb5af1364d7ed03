"""The only module that uses ``cryptography.x509.verification`` (documented as unstable).

It answers one question: does this chain verify against this set of roots? Codes never come
from the verifier's free-form message; it is kept as evidence only.

Two policies: :func:`verify_chain` is the server policy for one name (as a TLS client checks
it); :func:`verify_path` is the same server policy with no name (``tlsdiag chain`` without
``--host``): the path, the CA rules and the serverAuth EKU are checked, the name is not, and a
leaf without a subjectAltName is judged on its path (the missing names get their own finding).
Rules that only the CA/Browser Forum sets (an authorityKeyIdentifier in the leaf) are relaxed
here and reported as warnings by the structured checks.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from datetime import datetime
from typing import NamedTuple

from cryptography import x509
from cryptography.x509 import DNSName, IPAddress
from cryptography.x509.oid import ExtendedKeyUsageOID
from cryptography.x509.verification import (
    Criticality,
    ExtensionPolicy,
    Policy,
    PolicyBuilder,
    Store,
    VerificationError,
)

SERVER_AUTH = ExtendedKeyUsageOID.SERVER_AUTH
ANY_EKU = ExtendedKeyUsageOID.ANY_EXTENDED_KEY_USAGE


class VerifyOutcome(NamedTuple):
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


def _leaf_eku(policy: Policy, cert: x509.Certificate, ext: x509.ExtendedKeyUsage | None) -> None:
    """The server policy's leaf EKU rule: when present it must list serverAuth."""
    del policy, cert
    if ext is not None and SERVER_AUTH not in ext:
        raise ValueError("the leaf's extendedKeyUsage does not allow serverAuth")


def _ca_eku(policy: Policy, cert: x509.Certificate, ext: x509.ExtendedKeyUsage | None) -> None:
    """The server policy's CA EKU rule: when present it must list serverAuth or anyEKU."""
    del policy, cert
    if ext is not None and SERVER_AUTH not in ext and ANY_EKU not in ext:
        raise ValueError("an issuer's extendedKeyUsage allows neither serverAuth nor any purpose")


def verify_path(
    leaf: x509.Certificate,
    intermediates: Sequence[x509.Certificate],
    roots: Sequence[x509.Certificate],
    *,
    now: datetime,
) -> VerifyOutcome:
    """Verify the path of ``leaf`` for a TLS server, without checking any name.

    Args:
        leaf: the end-entity certificate.
        intermediates: untrusted certificates that may help build the path.
        roots: the trust anchors.
        now: the verification time.

    Returns:
        The outcome; never raises for a chain that does not verify.
    """
    if not roots:
        return VerifyOutcome(False, (), "no trusted roots in this store")
    agnostic = Criticality.AGNOSTIC
    ee = (
        ExtensionPolicy.webpki_defaults_ee()
        .may_be_present(x509.SubjectAlternativeName, agnostic, None)
        .may_be_present(x509.AuthorityKeyIdentifier, Criticality.NON_CRITICAL, None)
        .may_be_present(x509.ExtendedKeyUsage, Criticality.NON_CRITICAL, _leaf_eku)
    )
    ca = ExtensionPolicy.webpki_defaults_ca().may_be_present(
        x509.ExtendedKeyUsage, Criticality.NON_CRITICAL, _ca_eku
    )
    try:
        builder = (
            PolicyBuilder()
            .store(Store(list(roots)))
            .time(now)
            .extension_policies(ca_policy=ca, ee_policy=ee)
        )
        verified = builder.build_client_verifier().verify(leaf, list(intermediates))
    except VerificationError as exc:
        return VerifyOutcome(False, (), str(exc))
    except ValueError as exc:  # e.g. unsupported certificate contents
        return VerifyOutcome(False, (), f"verifier rejected the input: {exc}")
    return VerifyOutcome(True, tuple(verified.chain), "ok")
