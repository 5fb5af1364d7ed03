"""Typed loaders for the scan knowledge bases (read once, cached).

``data/tls_cipher_suites.toml`` (IANA suites with their algorithms), ``data/tls_groups.toml``
(key-exchange groups), ``data/tls_cipher_levels.toml`` (what ``--cipher-level`` means) and
``data/tls_client_profiles.toml`` (what common clients offer).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any

from tlsdiag.kb._load import load_toml

#: Protocol versions by their report names, lowest first, with their wire code points.
VERSION_CODES: Mapping[str, int] = {
    "SSLv3": 0x0300,
    "TLSv1.0": 0x0301,
    "TLSv1.1": 0x0302,
    "TLSv1.2": 0x0303,
    "TLSv1.3": 0x0304,
}
VERSION_NAMES: tuple[str, ...] = tuple(VERSION_CODES)
_FORWARD_SECRET_KX = frozenset({"DH", "ECDH", "DHEPSK", "ECDHEPSK", "any"})


@dataclass(frozen=True, slots=True)
class Suite:
    """One cipher suite: IANA name, code point and algorithms."""

    name: str
    code: int
    openssl: str
    min_version: str
    kx: str
    auth: str
    enc: str
    bits: int
    mac: str

    @property
    def tls13(self) -> bool:
        """A TLS 1.3 suite (usable only with TLS 1.3, and only there)."""
        return self.min_version == "TLSv1.3"

    @property
    def forward_secrecy(self) -> bool:
        """Ephemeral key exchange."""
        return self.kx in _FORWARD_SECRET_KX

    @property
    def aead(self) -> bool:
        """An AEAD cipher (GCM, CCM, ChaCha20-Poly1305)."""
        return self.mac == "AEAD"

    @property
    def ecdhe(self) -> bool:
        """ECDHE key exchange in TLS 1.0-1.2 (the group comes from supported_groups)."""
        return self.kx == "ECDH"

    def usable_with(self, version: str) -> bool:
        """True when the suite is defined for ``version``."""
        if self.tls13 or version == "TLSv1.3":
            return self.tls13 and version == "TLSv1.3"
        return VERSION_CODES[version] >= VERSION_CODES[self.min_version]


@dataclass(frozen=True, slots=True)
class Group:
    """One key-exchange group."""

    name: str
    code: int
    tls12: bool
    tls13: bool


@dataclass(frozen=True, slots=True)
class CipherLevel:
    """What ``--cipher-level`` requires of a suite."""

    id: str
    description: str
    min_bits: int
    forward_secrecy: bool
    aead: bool
    forbid_enc: frozenset[str]
    forbid_mac: frozenset[str]
    forbid_auth: frozenset[str]

    def allows(self, suite: Suite) -> bool:
        """True when ``suite`` meets this level."""
        if suite.tls13:
            return suite.enc not in self.forbid_enc
        return (
            suite.bits >= self.min_bits
            and (suite.forward_secrecy or not self.forward_secrecy)
            and (suite.aead or not self.aead)
            and suite.enc not in self.forbid_enc
            and suite.mac not in self.forbid_mac
            and suite.auth not in self.forbid_auth
        )


@dataclass(frozen=True, slots=True)
class ClientProfile:
    """What one common client offers by default."""

    id: str
    name: str
    versions: tuple[str, ...]
    suites: tuple[str, ...]  # IANA names, in the client's order
    groups: tuple[str, ...]
    sources: tuple[str, ...]


def _check_keys(file: str, entry: Mapping[str, Any], allowed: set[str]) -> None:
    unknown = set(entry) - allowed
    missing = allowed - set(entry)
    if unknown or missing:
        raise ValueError(
            f"{file}: {entry.get('id')}: unknown keys {sorted(unknown)}, missing {sorted(missing)}"
        )


def _unique(file: str, ids: list[str]) -> None:
    if len(set(ids)) != len(ids):
        raise ValueError(f"{file}: duplicate ids")


@cache
def suites() -> dict[str, Suite]:
    """Every suite tlsdiag knows, keyed by IANA name, in the data file's order."""
    file = "tls_cipher_suites.toml"
    keys = {"id", "code", "openssl", "min_version", "kx", "auth", "enc", "bits", "mac"}
    out: dict[str, Suite] = {}
    for e in load_toml(file)["suite"]:
        _check_keys(file, e, keys)
        if e["min_version"] not in VERSION_CODES:
            raise ValueError(f"{file}: {e['id']}: bad min_version {e['min_version']!r}")
        s = Suite(
            e["id"], e["code"], e["openssl"], e["min_version"], e["kx"], e["auth"], e["enc"],
            e["bits"], e["mac"],
        )  # fmt: skip
        if s.name in out:
            raise ValueError(f"{file}: duplicate id {s.name}")
        out[s.name] = s
    _unique(file, [str(s.code) for s in out.values()])
    return out


@cache
def suites_by_code() -> dict[int, Suite]:
    """Suites keyed by code point."""
    return {s.code: s for s in suites().values()}


@cache
def groups() -> dict[str, Group]:
    """Every key-exchange group tlsdiag asks about, keyed by IANA name."""
    file = "tls_groups.toml"
    out: dict[str, Group] = {}
    for e in load_toml(file)["group"]:
        _check_keys(file, e, {"id", "code", "tls12", "tls13"})
        out[e["id"]] = Group(e["id"], e["code"], bool(e["tls12"]), bool(e["tls13"]))
    _unique(file, [str(g.code) for g in out.values()])
    return out


@cache
def groups_by_code() -> dict[int, Group]:
    """Groups keyed by code point."""
    return {g.code: g for g in groups().values()}


@cache
def cipher_levels() -> dict[str, CipherLevel]:
    """The ``--cipher-level`` choices, keyed by id."""
    file = "tls_cipher_levels.toml"
    keys = {"id", "description", "min_bits", "forward_secrecy", "aead"}
    keys |= {"forbid_enc", "forbid_mac", "forbid_auth"}
    out: dict[str, CipherLevel] = {}
    for e in load_toml(file)["level"]:
        _check_keys(file, e, keys)
        out[e["id"]] = CipherLevel(
            e["id"],
            e["description"],
            int(e["min_bits"]),
            bool(e["forward_secrecy"]),
            bool(e["aead"]),
            frozenset(e["forbid_enc"]),
            frozenset(e["forbid_mac"]),
            frozenset(e["forbid_auth"]),
        )
    return out


@cache
def client_profiles() -> tuple[ClientProfile, ...]:
    """The common clients, in the data file's order (names checked against the suite table)."""
    file = "tls_client_profiles.toml"
    known_suites, known_groups = suites(), groups()
    out: list[ClientProfile] = []
    for e in load_toml(file)["client"]:
        _check_keys(file, e, {"id", "name", "versions", "suites", "groups", "sources"})
        bad = [v for v in e["versions"] if v not in VERSION_CODES]
        bad += [s for s in e["suites"] if s not in known_suites]
        bad += [g for g in e["groups"] if g not in known_groups]
        if bad:
            raise ValueError(f"{file}: {e['id']}: unknown names {bad}")
        out.append(
            ClientProfile(
                e["id"],
                e["name"],
                tuple(e["versions"]),
                tuple(e["suites"]),
                tuple(e["groups"]),
                tuple(e["sources"]),
            )
        )
    _unique(file, [p.id for p in out])
    return tuple(out)
