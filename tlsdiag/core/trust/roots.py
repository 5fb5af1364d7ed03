"""The root being looked for, the public root program, and finding certificates in the store
readings (by fingerprint, by name, by the issuer of a presented chain). Pure."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from cryptography import x509

from tlsdiag.core.certs import (
    fingerprint,
    key_description,
    signature_hash,
    signed_by,
    spki_sha256,
    utc,
)
from tlsdiag.core.trust.records import StoreCert, StoreReading
from tlsdiag.facts.trust import RootFacts


@dataclass(frozen=True, slots=True)
class RootInfo:
    """The root being looked for. ``cert`` is None when only its name is known (the proxy did
    not send it and no store holds a certificate that signed the chain)."""

    subject: str  # RFC 4514
    sha256: str = ""
    spki_sha256: str = ""
    cert: x509.Certificate | None = None
    pem_path: str = ""  # a file holding it, for the fix commands
    origin: str = ""  # how it was chosen: "--ca FILE", "OS store", "chain of HOST" ...

    @property
    def common_name(self) -> str:
        """The CN (or the whole subject when there is none)."""
        match = re.search(r"(?:^|,)CN=((?:[^,\\]|\\.)*)", self.subject)
        return match.group(1).replace("\\", "") if match else self.subject

    def to_dict(self, now: datetime) -> RootFacts:
        """JSON form: subject, fingerprints, validity, key and signature."""
        out: RootFacts = {
            "subject": self.subject,
            "common_name": self.common_name,
            "sha256": self.sha256 or None,
            "spki_sha256": self.spki_sha256 or None,
            "origin": self.origin,
            "not_before": None,
            "not_after": None,
            "days_left": None,
            "key": None,
            "signature_hash": None,
        }
        if self.cert is not None:
            cert = self.cert
            out["not_before"] = utc(cert.not_valid_before_utc)
            out["not_after"] = utc(cert.not_valid_after_utc)
            out["days_left"] = (cert.not_valid_after_utc - now).days
            out["key"] = key_description(cert)[0]
            out["signature_hash"] = signature_hash(cert) or None
        return out


def root_info(cert: x509.Certificate, *, origin: str = "", pem_path: str = "") -> RootInfo:
    """A ``RootInfo`` for a certificate."""
    return RootInfo(
        subject=cert.subject.rfc4514_string(),
        sha256=fingerprint(cert),
        spki_sha256=spki_sha256(cert),
        cert=cert,
        pem_path=pem_path,
        origin=origin,
    )


@dataclass(frozen=True, slots=True)
class PublicRoots:
    """The public root program (certifi): fingerprints of certificates and of keys."""

    sha256: frozenset[str] = frozenset()
    spki: frozenset[str] = frozenset()

    def holds(self, cert: StoreCert) -> bool:
        """Is this certificate (or its key) a public root?"""
        return cert.sha256 in self.sha256 or cert.spki_sha256 in self.spki

    def holds_root(self, root: RootInfo) -> bool:
        """Is the root a public root?"""
        return bool(
            root.sha256 in self.sha256 or (root.spki_sha256 and root.spki_sha256 in self.spki)
        )


def public_roots_from(certs: Iterable[StoreCert]) -> PublicRoots:
    """``PublicRoots`` from the certifi bundle's ``StoreCert`` records."""
    certs = list(certs)
    return PublicRoots(frozenset(c.sha256 for c in certs), frozenset(c.spki_sha256 for c in certs))


def all_store_certs(readings: Sequence[StoreReading]) -> list[tuple[StoreReading, StoreCert]]:
    """Every (store, certificate) pair of the present stores."""
    return [(r, c) for r in readings if r.present for s in r.sources for c in s.certs]


def private_os_roots(readings: Sequence[StoreReading], public: PublicRoots) -> list[StoreCert]:
    """The certificates of the OS stores that are not public roots: where inspection roots live
    (the default selection of ``tlsdiag trust``). Anchors waiting in the input directories of an
    OS store count too: a root dropped there but not yet applied is exactly what we look for."""
    out: dict[str, StoreCert] = {}
    for reading in readings:
        if not (reading.provides_os and reading.present):
            continue
        for cert in [c for s in reading.sources for c in s.certs] + list(reading.anchors):
            if not public.holds(cert) and cert.der:
                out.setdefault(cert.sha256, cert)
    return list(out.values())


def match_fingerprint(readings: Sequence[StoreReading], sha256: str) -> list[StoreCert]:
    """Certificates with this SHA-256 (of the DER, or of the key) in any present store."""
    want = sha256.lower().replace(":", "").strip()
    out: dict[str, StoreCert] = {}
    for reading in readings:
        if not reading.present:
            continue
        for cert in [c for s in reading.sources for c in s.certs] + list(reading.anchors):
            if want in {cert.sha256, cert.spki_sha256} and cert.der:
                out.setdefault(cert.sha256, cert)
    return list(out.values())


def certs_by_subject(
    readings: Sequence[StoreReading], pattern: str, public: PublicRoots | None = None
) -> list[StoreCert]:
    """Certificates whose subject contains ``pattern`` (case-insensitive; ``*`` and ``?`` as
    wildcards), public roots included only when nothing else matches."""
    regex = re.compile(
        ".*".join(re.escape(p) for p in pattern.replace("?", "\0").split("*")).replace("\0", "."),
        re.IGNORECASE,
    )
    out: dict[str, StoreCert] = {}
    for reading in readings:
        if not reading.present:
            continue
        for cert in [c for s in reading.sources for c in s.certs] + list(reading.anchors):
            if regex.search(cert.subject) and cert.der:
                out.setdefault(cert.sha256, cert)
    found = list(out.values())
    if public is not None:
        private = [c for c in found if not public.holds(c)]
        return private or found
    return found


def issuer_candidates(
    top: x509.Certificate, readings: Sequence[StoreReading]
) -> tuple[list[StoreCert], list[StoreCert]]:
    """For the last certificate a server presented: the store certificates that signed it, and
    those that only carry the issuer's name (an older or newer root with another key)."""
    signers: dict[str, StoreCert] = {}
    namesakes: dict[str, StoreCert] = {}
    want = top.issuer.rfc4514_string()
    for _, cert in all_store_certs(readings):
        if cert.subject != want or not cert.der:
            continue
        if cert.sha256 in signers or cert.sha256 in namesakes:
            continue
        try:
            candidate = x509.load_der_x509_certificate(cert.der)
        except ValueError:
            continue
        if signed_by(top, candidate):
            signers[cert.sha256] = cert
        else:
            namesakes[cert.sha256] = cert
    return list(signers.values()), list(namesakes.values())
