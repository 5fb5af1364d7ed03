"""The OS stores that have no file format Python can read: macOS keychains (through
``/usr/bin/security``) and the Windows certificate stores (``ssl.enum_certificates`` plus the
registry for "machine or user"). Both take their command runner / enumerators as arguments so
tests can replay recorded output."""

from __future__ import annotations

import hashlib
import plistlib
import tempfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from tlsdiag.core.trust.records import StoreCert
from tlsdiag.stores.readers import Reading, pem_ders, store_cert


@dataclass(frozen=True, slots=True)
class CommandResult:
    """What a command printed and returned."""

    returncode: int
    stdout: bytes = b""
    stderr: bytes = b""


Runner = Callable[[Sequence[str]], CommandResult | None]
"""Runs argv; returns None when the program does not exist."""

WindowsEnum = Callable[[str], Sequence[tuple[bytes, str, Any]]]
RegistryHas = Callable[[str], bool]

_SERVER_AUTH = "1.3.6.1.5.5.7.3.1"
# SecTrustSettingsResult: 1 trust root, 2 trust as root, 3 deny, 4 unspecified
_TRUSTING = {1, 2}
_DENY = 3


def _decide(settings: Sequence[Mapping[str, Any]]) -> bool | None:
    """True trusted for TLS, False denied, None no decision (unspecified)."""
    if not settings:
        return True  # an empty list means "always trust" for every policy
    decision: bool | None = None
    for entry in settings:
        name = entry.get("kSecTrustSettingsPolicyName", "")
        if name and name not in {"sslServer", "basicX509"}:
            continue
        result = int(entry.get("kSecTrustSettingsResult", 1))
        if result == _DENY:
            return False
        if result in _TRUSTING:
            decision = True
    return decision


def parse_trust_settings(data: bytes) -> dict[str, bool | None]:
    """``security trust-settings-export`` plist: SHA-1 (upper-case hex) -> TLS trust decision."""
    try:
        doc = plistlib.loads(data)
    except (plistlib.InvalidFileException, ValueError, TypeError):
        return {}
    out: dict[str, bool | None] = {}
    for sha1, entry in (doc.get("trustList") or {}).items():
        settings = entry.get("trustSettings", []) if isinstance(entry, dict) else []
        out[str(sha1).upper()] = _decide(settings if isinstance(settings, list) else [])
    return out


def macos_trust_settings(run: Runner) -> dict[str, bool | None]:
    """Trust settings of the user and admin domains (admin wins over user on conflicts)."""
    merged: dict[str, bool | None] = {}
    for flags in ([], ["-d"]):
        with tempfile.TemporaryDirectory(prefix="tlsdiag-") as tmp:
            out = Path(tmp) / "trust.plist"
            result = run(["security", "trust-settings-export", *flags, str(out)])
            if result is None or result.returncode != 0 or not out.exists():
                continue
            merged.update(parse_trust_settings(out.read_bytes()))
    return merged


def read_keychain(keychain: str, run: Runner, trust: Mapping[str, bool | None]) -> Reading:
    """Certificates of one keychain (``security find-certificate -a -Z -p``); a certificate is a
    trust anchor only when a trust setting marks it trusted for TLS."""
    result = run(["security", "find-certificate", "-a", "-Z", "-p", keychain])
    if result is None:
        return (), "the `security` command is not available (not macOS?)"
    if result.returncode != 0:
        message = result.stderr.decode("utf-8", "replace").strip() or f"exit {result.returncode}"
        return (), f"security find-certificate {keychain}: {message}"
    out: list[StoreCert] = []
    for der in pem_ders(result.stdout):
        cert = store_cert(der, where=keychain)
        if cert is None:
            continue
        decision = trust.get(hashlib.sha1(der).hexdigest().upper())
        if decision is not True:
            why = (
                "its trust setting denies it for TLS"
                if decision is False
                else "no 'Always Trust' trust setting (present, but not a trust anchor)"
            )
            cert = replace(cert, trusted=False, why_untrusted=why)
        out.append(cert)
    return tuple(out), ""


def read_windows_store(
    store: str,
    registry_keys: Sequence[str],
    enum: WindowsEnum | None,
    registry_has: RegistryHas | None,
) -> Reading:
    """Certificates of a Windows system store that sit in one of ``registry_keys``.

    ``ssl.enum_certificates`` merges every location (machine, user, GPO, enterprise); the
    registry tells which location holds a thumbprint, so machine and user rows differ.
    """
    if enum is None:
        return (), "ssl.enum_certificates is not available (not Windows)"
    try:
        entries = list(enum(store))
    except OSError as exc:
        return (), f"cannot enumerate the {store} store: {exc}"
    out: dict[str, StoreCert] = {}
    for der, encoding, trust in entries:
        if encoding != "x509_asn":
            continue
        thumb = hashlib.sha1(der).hexdigest().upper()
        if registry_has is not None and not any(
            registry_has(f"{key}\\{thumb}") for key in registry_keys
        ):
            continue
        cert = store_cert(der, where=store)
        if cert is None:
            continue
        if trust is not True and _SERVER_AUTH not in set(trust or ()):
            cert = replace(
                cert, trusted=False, why_untrusted="not enabled for server authentication"
            )
        out.setdefault(cert.sha256, cert)
    return tuple(out.values()), ""
