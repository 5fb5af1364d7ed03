"""Plain records passed from the trust-store readers (``tlsdiag.stores``) to the pure matrix
builder (``tlsdiag.core.trust.matrix``). They live in the core, which the readers may import
(imports point inward, STYLE.md section 2)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class StoreCert:
    """One certificate found in a store, reduced to what matching needs."""

    sha256: str  # SHA-256 of the DER, lower-case hex
    spki_sha256: str  # SHA-256 of the SubjectPublicKeyInfo (same key, re-issued cert)
    subject: str  # RFC 4514
    not_after: str = ""  # ISO 8601 UTC
    trusted: bool = True  # False: present but not a trust anchor (NSS flags, keychain, hash)
    why_untrusted: str = ""  # when trusted is False, in plain words
    label: str = ""  # alias / nickname
    where: str = ""  # the file it came from, when a store has many
    der: bytes = field(default=b"", repr=False, compare=False)


@dataclass(frozen=True, slots=True)
class SourceReading:
    """One resolved source of a store: an env var, a config key, a file, a delegation."""

    kind: str  # env path glob config jvm-option delegate builtin keychain windows-store
    label: str  # "$REQUESTS_CA_BUNDLE", "~/.npmrc cafile", "built-in Mozilla list"
    path: str = ""
    group: str = "main"
    replaces_default: bool = False
    extends: bool = False
    certs: tuple[StoreCert, ...] = ()
    delegate_to: tuple[str, ...] = ()
    public_only: bool = False  # a built-in list of public roots only
    disabled: bool = False  # certificate verification switched off
    partial: bool = False  # applies to some hosts only (Docker certs.d)
    missing: bool = False  # the configured file does not exist (the tool fails)
    error: str = ""  # cannot be read: trust unknown


@dataclass(frozen=True, slots=True)
class FixText:
    """The fix chosen for this machine; ``${ROOT_*}`` placeholders are filled by the core."""

    steps: tuple[str, ...]
    scope: str = "user"
    note: str = ""


@dataclass(frozen=True, slots=True)
class StoreReading:
    """Everything the readers found about one store (one instance) on this machine."""

    id: str
    name: str
    kind: str
    default_source: str
    present: bool
    instance: str = ""  # Java home, Firefox profile
    provides_os: bool = False
    sources: tuple[SourceReading, ...] = ()
    fix: FixText | None = None
    anchors: tuple[StoreCert, ...] = ()  # certs waiting in the OS store's input directories
    anchor_update: str = ""  # the command that rebuilds the bundle from them
    anchor_ignored: tuple[str, ...] = ()  # files the update tool skips (wrong suffix)
    packaged: frozenset[str] = frozenset()  # SHA-256 of the distribution's own public roots
    consumers: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()
    sources_urls: tuple[str, ...] = ()
    variables: Mapping[str, str] = field(default_factory=dict)  # STORE_PATH ... for the fix
