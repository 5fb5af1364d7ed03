"""The inspection root's own health: validity, key and signature strength, strict-X.509
acceptability (Python 3.13+), and whether it signed the chain the client sees. Pure."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from cryptography import x509
from cryptography.x509.oid import ExtensionOID

from tlsdiag import codes
from tlsdiag.core.certs import (
    fingerprint,
    is_self_signed,
    key_description,
    signature_hash,
    signed_by,
    utc,
)
from tlsdiag.core.findings import make_finding
from tlsdiag.core.trust.records import StoreCert
from tlsdiag.core.trust.roots import RootInfo
from tlsdiag.model import Finding, Severity

EXPIRY_WARNING_DAYS = 180


def _ext(cert: x509.Certificate, oid: x509.ObjectIdentifier) -> x509.Extension[Any] | None:
    try:
        return cert.extensions.get_extension_for_oid(oid)
    except x509.ExtensionNotFound:
        return None


def presented_cert_is_ca(cert: x509.Certificate) -> bool:
    """basicConstraints CA:TRUE."""
    bc = _ext(cert, ExtensionOID.BASIC_CONSTRAINTS)
    return bc is not None and isinstance(bc.value, x509.BasicConstraints) and bc.value.ca


def strict_x509_problems(cert: x509.Certificate) -> list[str]:
    """What OpenSSL's ``X509_STRICT`` (Python >= 3.13 default) rejects in a CA certificate
    (checked with ``openssl verify -x509_strict``: errors 89, 92, 86 and, for the certificates
    it signs, 85 "Missing Authority Key Identifier")."""
    problems = []
    bc = _ext(cert, ExtensionOID.BASIC_CONSTRAINTS)
    if bc is None or not isinstance(bc.value, x509.BasicConstraints) or not bc.value.ca:
        problems.append("no basicConstraints CA:TRUE")
    elif not bc.critical:
        problems.append("basicConstraints is not marked critical")
    ku = _ext(cert, ExtensionOID.KEY_USAGE)
    if ku is None:
        problems.append("no keyUsage extension")
    elif isinstance(ku.value, x509.KeyUsage) and not ku.value.key_cert_sign:
        problems.append("keyUsage lacks keyCertSign")
    if _ext(cert, ExtensionOID.SUBJECT_KEY_IDENTIFIER) is None:
        problems.append("no subjectKeyIdentifier")
    if not is_self_signed(cert) and _ext(cert, ExtensionOID.AUTHORITY_KEY_IDENTIFIER) is None:
        problems.append("no authorityKeyIdentifier")
    return problems


def root_health_findings(
    root: RootInfo,
    now: datetime,
    *,
    presented: Sequence[x509.Certificate] = (),
    namesakes: Sequence[StoreCert] = (),
    warn_days: int = EXPIRY_WARNING_DAYS,
) -> list[Finding]:
    """The root's own health: validity (warned ``warn_days`` ahead), key and signature
    strength, strict-X.509 acceptability, and whether it is the root that signed the chain the
    client sees (``presented``, leaf first)."""
    out: list[Finding] = []
    evidence = {"root": root.subject, "sha256": root.sha256 or "-"}
    if presented and root.cert is None:
        others = ", ".join(f"{c.sha256[:16]}... (until {c.not_after})" for c in namesakes)
        out.append(
            make_finding(
                codes.CLIENT_ROOT_NOT_TRUSTED,
                title="No store here holds the root that signed this chain",
                detail=(
                    f"The chain is signed by {root.subject!r}; "
                    + (
                        f"the stores hold certificates with that name but another key ({others}): "
                        "the root was rotated and this machine has the other one."
                        if namesakes
                        else "no store on this machine has a certificate with that name."
                    )
                ),
                evidence=evidence,
            )
        )
        return out
    cert = root.cert
    if cert is None:
        return out
    if presented:
        top = presented[-1]
        if fingerprint(top) != root.sha256 and not signed_by(top, cert):
            out.append(
                make_finding(
                    codes.CLIENT_ROOT_NOT_TRUSTED,
                    title="The root you looked for did not sign the chain the server presents",
                    detail=(
                        f"The presented chain ends at {top.subject.rfc4514_string()!r}, issued by "
                        f"{top.issuer.rfc4514_string()!r}, which {root.common_name!r} did not "
                        "sign. A rotated inspection root is the usual cause."
                    ),
                    evidence={**evidence, "chain_top_issuer": top.issuer.rfc4514_string()},
                )
            )
    not_after = cert.not_valid_after_utc
    not_before = cert.not_valid_before_utc
    days = (not_after - now) / timedelta(days=1)
    validity = {**evidence, "not_after": utc(not_after)}
    if not_after <= now:
        out.append(
            make_finding(
                codes.SERVER_CERT_EXPIRED,
                title="The inspection root has expired",
                detail=f"{root.common_name!r} expired on {utc(not_after)}.",
                evidence=validity,
                remediation=(
                    "The inspection administrator must issue a new root and deploy it to every "
                    "store before switching the proxy to it."
                ),
            )
        )
    elif days <= warn_days:
        out.append(
            make_finding(
                codes.SERVER_CERT_EXPIRED,
                severity=Severity.WARNING,
                title=f"The inspection root expires in {int(days)} days",
                detail=f"{root.common_name!r} is valid until {utc(not_after)}.",
                evidence=validity,
                remediation=(
                    "Plan the rotation now: deploy the new root to every store (see the matrix) "
                    "before the proxy starts signing with it."
                ),
            )
        )
    if not_before > now:
        out.append(
            make_finding(
                codes.SERVER_CERT_NOT_YET_VALID,
                title="The inspection root is not valid yet",
                detail=f"{root.common_name!r} is valid from {utc(not_before)}.",
                evidence={**evidence, "not_before": utc(not_before)},
            )
        )
    key, bits = key_description(cert)
    if (key.startswith("RSA") and bits < 2048) or (key.startswith("EC") and bits < 256):
        out.append(
            make_finding(
                codes.SERVER_WEAK_KEY,
                title=f"The inspection root has a weak key ({key})",
                detail=(
                    "Current clients reject RSA keys below 2048 bits and EC keys below 256 bits."
                ),
                evidence={**evidence, "key": key},
                remediation="The inspection administrator must issue a root with a stronger key.",
            )
        )
    sig = signature_hash(cert)
    if sig in {"md5", "sha1"}:
        out.append(
            make_finding(
                codes.SERVER_WEAK_SIGNATURE,
                severity=Severity.WARNING,
                title=f"The inspection root is self-signed with {sig.upper()}",
                detail=(
                    "Most clients do not check a trust anchor's own signature, but strict ones "
                    "and some compliance scanners reject it."
                ),
                evidence={**evidence, "signature_hash": sig},
                remediation="Reissue the root with SHA-256 or better at the next rotation.",
            )
        )
    problems = strict_x509_problems(cert)
    for presented_cert in presented:
        if fingerprint(presented_cert) == root.sha256:
            continue
        name = presented_cert.subject.rfc4514_string()
        if presented_cert_is_ca(presented_cert):
            problems += [f"{name}: {p}" for p in strict_x509_problems(presented_cert)]
        elif _ext(presented_cert, ExtensionOID.AUTHORITY_KEY_IDENTIFIER) is None:
            problems.append(f"{name}: no authorityKeyIdentifier")
    if problems:
        out.append(
            make_finding(
                codes.CLIENT_STORE_MISMATCH,
                severity=Severity.WARNING,
                title="Python 3.13+ clients reject this chain even where the root is installed",
                detail=(
                    "Python 3.13 turns on strict X.509 verification (VERIFY_X509_STRICT), which "
                    "rejects this root: " + "; ".join(problems) + "."
                ),
                evidence={**evidence, "problems": "; ".join(problems)},
                remediation=(
                    "Reissue the root with critical basicConstraints CA:TRUE, keyUsage "
                    "keyCertSign and a subjectKeyIdentifier; meanwhile affected apps (e.g. Azure "
                    "CLI 2.77+) need a bypass rule."
                ),
            )
        )
    return out
