"""The store side of ``trust``: where a root sits in the stores read, the files that hold it,
the public roots of this machine. ``tlsdiag.commands.trust`` runs the audit."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from cryptography import x509

from tlsdiag.core.trust.records import StoreCert, StoreReading
from tlsdiag.core.trust.roots import PublicRoots, RootInfo, public_roots_from, root_info
from tlsdiag.stores.context import StoreContext
from tlsdiag.stores.readers import read_pem


def _load(cert: StoreCert) -> x509.Certificate:
    return x509.load_der_x509_certificate(cert.der)


def _origin(readings: Sequence[StoreReading], cert: StoreCert) -> str:
    for reading in readings:
        for source in reading.sources:
            if any(c.sha256 == cert.sha256 for c in source.certs):
                return f"{reading.id}: {cert.where or source.path or source.label}"
        if any(c.sha256 == cert.sha256 for c in reading.anchors):
            return f"{reading.id} (anchor directory): {cert.where}"
    return ""


def _pem_path(cert: StoreCert, readings: Sequence[StoreReading]) -> str:
    """A file holding only this certificate (an OS anchor file, a certificate directory entry),
    for the fix commands; "" when it only sits inside bundles and keystores."""
    candidates = [c for r in readings for c in r.anchors if c.sha256 == cert.sha256]
    candidates += [
        c
        for r in readings
        for s in r.sources
        if s.kind in {"path", "env"} and s.path and Path(s.path).is_dir()
        for c in s.certs
        if c.sha256 == cert.sha256
    ]
    for candidate in candidates:
        if candidate.where.endswith((".crt", ".pem", ".cer")):
            return candidate.where
    return ""


def root_infos(certs: Sequence[StoreCert], readings: Sequence[StoreReading]) -> list[RootInfo]:
    """What ``trust`` reports of these store certificates: details, where each was found, and
    a PEM file holding it alone (for the fix commands)."""
    return [
        root_info(_load(c), origin=_origin(readings, c), pem_path=_pem_path(c, readings))
        for c in certs
    ]


def public_roots_here(ctx: StoreContext, readings: Sequence[StoreReading]) -> PublicRoots:
    """The public roots: certifi of tlsdiag's interpreter, plus the roots the distribution
    packages itself (an older distribution bundle keeps roots certifi has dropped)."""
    certs: list[StoreCert] = []
    if ctx.certifi_path:
        certs = list(read_pem(Path(ctx.certifi_path))[0])
    public = public_roots_from(certs)
    packaged = frozenset().union(*(r.packaged for r in readings if r.provides_os))
    return PublicRoots(public.sha256 | packaged, public.spki)
