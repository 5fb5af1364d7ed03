"""Forged leaf certificates: one shared leaf key, one signature per new name set, an LRU.

The leaf key is EC P-256 (the default) or RSA 2048 (``--leaf-key``), whatever the CA's key is;
the signature hash suits the CA's key (SHA-384 for a P-384 CA, SHA-256 otherwise).

``spec_for`` decides what a forged certificate says (pure; ``leaf_names`` is what it copies from
a server's leaf, parsed once per certificate); ``Forger`` mints it (with ``certbuild``'s
``LeafTemplate``: the part every leaf of a signer shares is built once) and presents it
on a client connection: through libssl on one shared context (``native.py``), or, where that is
unavailable, with an ``ssl.SSLContext`` per leaf. Python's ``ssl`` loads certificates only from
files, so that path keeps them in a private temporary directory (mode 0700) removed on close.
"""

from __future__ import annotations

import hashlib
import ipaddress
import logging
import os
import shutil
import ssl
import tempfile
from collections import OrderedDict
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.x509.oid import NameOID

from tlsdiag.core.certbuild import (
    Issued,
    KeyType,
    LeafTemplate,
    PrivateKey,
    cert_pem,
    key_pem,
    new_key,
)
from tlsdiag.proxy.ca import untrusted_twin, write_private
from tlsdiag.proxy.native import NativeCerts

log = logging.getLogger(__name__)

VALIDITY = timedelta(days=30)
BACKDATE = timedelta(days=1)
DEFAULT_CACHE = 2048
LEAF_KEY_TYPES = (KeyType.EC256, KeyType.RSA2048)  # what --leaf-key offers


class Signer(StrEnum):
    """Who signs a forged certificate."""

    TRUSTED = "trusted"  # the inspection CA: the client accepts it (when it trusts the CA)
    UNTRUSTED = "untrusted"  # the untrusted twin CA: the client sees an unknown issuer
    SELF = "self"  # self-signed with the leaf key: the client sees a self-signed certificate


@dataclass(frozen=True, slots=True)
class ForgeSpec:
    """What a forged certificate says. Hashable: it is the cache key."""

    common_name: str
    dns_names: tuple[str, ...]
    ip_addresses: tuple[str, ...] = ()
    organization: str = ""
    signer: Signer = Signer.TRUSTED
    not_before: datetime | None = None  # None: now - BACKDATE (mimic copies the real dates)
    not_after: datetime | None = None


def _is_ip(name: str) -> bool:
    # An IPv4 literal ends with a digit and an IPv6 one has a colon: most names are neither,
    # and need no parse (ipaddress raises, which costs microseconds per name).
    if ":" not in name and not name[-1:].isdigit():
        return False
    try:
        ipaddress.ip_address(name)
    except ValueError:
        return False
    return True


def _dns_ok(name: str) -> bool:
    if not name or len(name) > 253 or " " in name or _is_ip(name):
        return False
    return name.isascii()


@dataclass(frozen=True, slots=True)
class LeafNames:
    """What ``spec_for`` copies from a server's leaf (parsed once per certificate)."""

    common_name: str = ""
    organization: str = ""
    dns_names: tuple[str, ...] = ()  # SAN dNSNames fit to copy, lower case
    ip_addresses: tuple[str, ...] = ()
    not_before: datetime | None = None
    not_after: datetime | None = None


def leaf_names(upstream: x509.Certificate) -> LeafNames:
    """The names (and dates) of a server's leaf that a forged certificate may copy."""
    cns = upstream.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    orgs = upstream.subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)
    dns: tuple[str, ...] = ()
    ips: tuple[str, ...] = ()
    try:
        san = upstream.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        dns = tuple(n.lower() for n in san.get_values_for_type(x509.DNSName) if _dns_ok(n))
        ips = tuple(str(a) for a in san.get_values_for_type(x509.IPAddress))
    except x509.ExtensionNotFound:
        pass
    return LeafNames(
        common_name=str(cns[0].value) if cns else "",
        organization=str(orgs[0].value) if orgs else "",
        dns_names=dns,
        ip_addresses=ips,
        not_before=upstream.not_valid_before_utc,
        not_after=upstream.not_valid_after_utc,
    )


def spec_for(
    host: str,
    upstream: x509.Certificate | LeafNames | None = None,
    *,
    mimic: bool = False,
    signer: Signer = Signer.TRUSTED,
) -> ForgeSpec:
    """The forged certificate for ``host`` (the SNI, or the CONNECT host without SNI).

    Args:
        host: the name the client asked for; always among the names.
        upstream: the server's leaf (or its ``leaf_names``); its SAN names (and a DNS-like CN)
            are copied.
        mimic: copy the server's own dates and names *only* (so an expired or mismatched
            certificate stays expired or mismatched for the client).
        signer: who signs it.

    Returns:
        The spec.
    """
    host = host.lower().rstrip(".")
    dns: list[str] = []
    ips: list[str] = []
    cn = ""
    org = ""
    names = leaf_names(upstream) if isinstance(upstream, x509.Certificate) else upstream
    if names is not None:
        cn = names.common_name
        org = names.organization
        dns.extend(names.dns_names)
        ips.extend(names.ip_addresses)
        if _dns_ok(cn) and "." in cn and cn.lower() not in dns and not mimic:
            dns.append(cn.lower())
    if not mimic or names is None:
        if _is_ip(host):
            if host not in ips:
                ips.append(host)
        elif _dns_ok(host) and host not in dns:
            dns.append(host)
    if not cn or len(cn) > 64:
        cn = (dns or ips or [host])[0][:64]
    not_before = not_after = None
    if mimic and names is not None:
        not_before = names.not_before
        not_after = names.not_after
    return ForgeSpec(
        common_name=cn,
        dns_names=tuple(dict.fromkeys(dns)),
        ip_addresses=tuple(dict.fromkeys(ips)),
        organization=org[:64],
        signer=signer,
        not_before=not_before,
        not_after=not_after,
    )


def _template(leaf_key: PrivateKey, issued: Issued | None) -> LeafTemplate:
    """What every forged leaf of one signer shares: ``build_leaf``'s leaf with keyUsage and
    without a subjectKeyIdentifier."""
    return LeafTemplate(leaf_key, issued, key_usage=True, ski=False)


def _mint(template: LeafTemplate, spec: ForgeSpec, now: datetime) -> x509.Certificate:
    attrs = [x509.NameAttribute(NameOID.COMMON_NAME, spec.common_name or "tlsdiag")]
    if spec.organization:
        attrs.append(x509.NameAttribute(NameOID.ORGANIZATION_NAME, spec.organization))
    builder = template.builder(
        x509.Name(attrs),
        not_before=spec.not_before or now - BACKDATE,
        not_after=spec.not_after or now + VALIDITY,
        names=spec.dns_names + spec.ip_addresses,
    )
    return template.sign(builder)


def mint(
    spec: ForgeSpec,
    *,
    leaf_key: PrivateKey,
    issuer: x509.Certificate,
    issuer_key: PrivateKey,
    now: datetime,
) -> x509.Certificate:
    """Build and sign one leaf certificate (one signature; no key generation)."""
    issued = None if spec.signer is Signer.SELF else Issued(issuer, issuer_key)
    return _mint(_template(leaf_key, issued), spec, now)


@dataclass(frozen=True, slots=True)
class TlsVersions:
    """Minimum and maximum TLS versions of one side."""

    minimum: ssl.TLSVersion = ssl.TLSVersion.TLSv1_2
    maximum: ssl.TLSVersion = ssl.TLSVersion.TLSv1_3


def _fast_tmp() -> str | None:
    """A memory-backed temp dir when there is one (certificate files are read on every miss)."""
    shm = "/dev/shm"
    if os.path.isdir(shm) and os.access(shm, os.W_OK | os.X_OK):
        return shm
    return None


@dataclass(slots=True)
class _Leaf:
    """One cached forged certificate: parsed, as a libssl object or a PEM file, and the
    session ID context that keeps its TLS sessions to itself (the native path)."""

    cert: x509.Certificate
    sid: bytes
    ptr: int = 0  # X509 * (the native path)
    path: Path | None = None  # PEM file with the chain (the context path, written on demand)


class Forger:
    """Mints forged leaves and presents them to clients, with an LRU cache.

    Two ways to present a leaf: the native path (``native.NativeCerts``) sets the cached leaf
    on each connection of one shared server context per ALPN value; the context path (when the
    native one is unavailable or refused, or ``native=False``) keeps a context per leaf, loaded
    from a PEM file. Both send the same certificates.
    """

    def __init__(
        self,
        ca_cert: x509.Certificate,
        ca_key: PrivateKey,
        *,
        cache_size: int = DEFAULT_CACHE,
        client_versions: TlsVersions | None = None,
        leaf_key_type: KeyType = KeyType.EC256,
        native: bool = True,
    ) -> None:
        if cache_size < 1:
            raise ValueError("cache_size must be positive")
        if leaf_key_type not in LEAF_KEY_TYPES:
            raise ValueError(f"leaf key type {leaf_key_type}: not one of {LEAF_KEY_TYPES}")
        self.ca_cert = ca_cert
        self.ca_key = ca_key
        self._ca_pem = cert_pem(ca_cert)
        self.cache_size = cache_size
        self.versions = client_versions or TlsVersions()
        self.leaf_key = new_key(leaf_key_type)
        self._twin: tuple[x509.Certificate, PrivateKey] | None = None
        self._dir: Path | None = None  # created for the context path only (mode 0700)
        self._certs: OrderedDict[ForgeSpec, _Leaf] = OrderedDict()
        self._contexts: OrderedDict[tuple[ForgeSpec, str | None], ssl.SSLContext] = OrderedDict()
        self._shared: dict[str | None, ssl.SSLContext] = {}
        self._templates: dict[Signer, LeafTemplate] = {}
        self._serial = 0
        self.hits = 0
        self.misses = 0
        self.native: NativeCerts | None = None
        self._key_ptr = self._ca_ptr = self._chain_ptr = 0
        if native:
            self._start_native(NativeCerts.load())

    def _start_native(self, lib: NativeCerts | None) -> None:
        if lib is None:
            return
        der = serialization.Encoding.DER
        try:
            self._key_ptr = lib.pkey(
                self.leaf_key.private_bytes(
                    der, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
                )
            )
            self._ca_ptr = lib.x509(self.ca_cert.public_bytes(der))
            self._chain_ptr = lib.chain([self._ca_ptr])
        except ValueError:
            self._free_native(lib)
            return
        self.native = lib

    def _free_native(self, lib: NativeCerts) -> None:
        for leaf in self._certs.values():
            if leaf.ptr:
                lib.free_x509(leaf.ptr)
                leaf.ptr = 0
        if self._chain_ptr:
            lib.free_chain(self._chain_ptr)
        if self._ca_ptr:
            lib.free_x509(self._ca_ptr)
        if self._key_ptr:
            lib.free_pkey(self._key_ptr)
        self._key_ptr = self._ca_ptr = self._chain_ptr = 0
        self.native = None

    @property
    def mode(self) -> str:
        """How leaves are presented: "native" or "context"."""
        return "native" if self.native is not None else "context"

    def close(self) -> None:
        """Free the libssl objects and remove the temporary files (the leaf key among them)."""
        if self.native is not None:
            self._free_native(self.native)
        self._certs.clear()
        self._contexts.clear()
        self._shared.clear()
        if self._dir is not None:
            shutil.rmtree(self._dir, ignore_errors=True)
            self._dir = None

    def _issuer(self, signer: Signer) -> tuple[x509.Certificate, PrivateKey]:
        if signer is Signer.UNTRUSTED:
            if self._twin is None:
                self._twin = untrusted_twin(self.ca_cert, now=datetime.now(UTC))
            return self._twin
        return self.ca_cert, self.ca_key

    def certificate(self, spec: ForgeSpec) -> x509.Certificate:
        """The forged certificate for ``spec`` (minted on a cache miss)."""
        return self._entry(spec).cert

    def _entry(self, spec: ForgeSpec) -> _Leaf:
        entry = self._certs.get(spec)
        if entry is not None:
            self._certs.move_to_end(spec)
            self.hits += 1
            return entry
        self.misses += 1
        template = self._templates.get(spec.signer)
        if template is None:
            issued = None if spec.signer is Signer.SELF else Issued(*self._issuer(spec.signer))
            template = self._templates[spec.signer] = _template(self.leaf_key, issued)
        cert = _mint(template, spec, datetime.now(UTC))
        der = cert.public_bytes(serialization.Encoding.DER)
        entry = _Leaf(cert, hashlib.sha256(der).digest())
        if self.native is not None:
            entry.ptr = self.native.x509(der)
        self._certs[spec] = entry
        while len(self._certs) > self.cache_size:
            _, old = self._certs.popitem(last=False)
            if old.ptr and self.native is not None:
                self.native.free_x509(old.ptr)
            if old.path is not None:
                old.path.unlink(missing_ok=True)
        return entry

    def _files(self) -> Path:
        """The private directory of the context path, with the leaf key in it."""
        if self._dir is None:
            self._dir = Path(tempfile.mkdtemp(prefix="tlsdiag-forge-", dir=_fast_tmp()))
            write_private(self._dir / "leaf-key.pem", key_pem(self.leaf_key))
        return self._dir

    def _path(self, spec: ForgeSpec, entry: _Leaf) -> Path:
        if entry.path is None:
            self._serial += 1
            path = self._files() / f"leaf-{self._serial}.pem"
            pem = cert_pem(entry.cert)
            if spec.signer is Signer.TRUSTED:
                # Send the CA after the leaf, as most inspection products do: clients that pin
                # or allow-list the CA's key (Chromium's SPKI flag) see it in the chain.
                pem += self._ca_pem
            path.write_bytes(pem)
            entry.path = path
        return entry.path

    def _base_context(self, alpn: str | None) -> ssl.SSLContext:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.minimum_version = self.versions.minimum
        ctx.maximum_version = self.versions.maximum
        if self.versions.minimum < ssl.TLSVersion.TLSv1_2:
            ctx.set_ciphers("DEFAULT:@SECLEVEL=0")  # legacy clients: the server's order
        else:
            # Every suite on offer is strong, so the client's order decides, as Mozilla's
            # intermediate and modern server profiles set it (ssl_prefer_server_ciphers off):
            # a browser that prefers AES-128-GCM, or ChaCha20 without AES instructions, gets
            # it through the proxy as from the server, not Python's server-side AES-256 first.
            ctx.options &= ~ssl.OP_CIPHER_SERVER_PREFERENCE
        ctx.num_tickets = 0
        if alpn:
            ctx.set_alpn_protocols([alpn])
        return ctx

    def context(self, spec: ForgeSpec, alpn: str | None = None) -> ssl.SSLContext:
        """A server-side context presenting the forged certificate and selecting ``alpn``."""
        key = (spec, alpn)
        ctx = self._contexts.get(key)
        if ctx is not None and spec in self._certs:
            self._contexts.move_to_end(key)
            self._certs.move_to_end(spec)
            self.hits += 1
            return ctx
        entry = self._entry(spec)
        ctx = self._base_context(alpn)
        key_path = self._files() / "leaf-key.pem"
        ctx.load_cert_chain(os.fspath(self._path(spec, entry)), os.fspath(key_path))
        self._contexts[key] = ctx
        while len(self._contexts) > self.cache_size:
            self._contexts.popitem(last=False)
        return ctx

    def wrap(
        self, incoming: ssl.MemoryBIO, outgoing: ssl.MemoryBIO, spec: ForgeSpec, alpn: str | None
    ) -> ssl.SSLObject:
        """The server side of a client's TLS connection, presenting the forged certificate."""
        native = self.native
        if native is not None:
            entry = self._entry(spec)
            ctx = self._shared.get(alpn)
            if ctx is None:
                ctx = self._shared[alpn] = self._base_context(alpn)
                while len(self._shared) > 64:  # ALPN values come from servers: keep it bounded
                    self._shared.pop(next(iter(self._shared)))
            tls = ctx.wrap_bio(incoming, outgoing, server_side=True)
            chain = self._chain_ptr if spec.signer is Signer.TRUSTED else None
            if native.use(tls, entry.ptr, self._key_ptr, chain, entry.sid):
                return tls
            log.warning("presenting a certificate per connection failed: one context per leaf")
            self._free_native(native)
        return self.context(spec, alpn).wrap_bio(incoming, outgoing, server_side=True)
