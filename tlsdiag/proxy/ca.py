"""The local inspection root CA: where it lives, how it is created, loaded and exported.

The CA key is EC P-256 by default (``ca init --key-type`` picks RSA or P-384; ``--ca-cert``
and ``--ca-key`` may bring any RSA 2048-4096 or EC P-256/P-384 CA). It is written once with
0600 permissions (``os.open`` with the mode, never a chmod after the write) in the user's
config directory, and never overwritten without ``force``.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.x509.oid import NameOID

from tlsdiag.core.certbuild import (
    KeyType,
    PrivateKey,
    build_ca,
    ca_key_problem,
    cert_pem,
    key_pem,
    name,
    new_key,
)
from tlsdiag.errors import InputError, ProxyError, UsageError
from tlsdiag.facts.ids import Platform
from tlsdiag.model import platform_name

CERT_NAME = "ca.pem"
KEY_NAME = "ca-key.pem"
HOME_ENV = "TLSDIAG_HOME"


def config_dir(env: Mapping[str, str] | None = None, platform: str | None = None) -> Path:
    """The user's tlsdiag config directory (``TLSDIAG_HOME`` overrides it).

    Linux and other Unix: ``$XDG_CONFIG_HOME/tlsdiag`` or ``~/.config/tlsdiag``; macOS:
    ``~/Library/Application Support/tlsdiag``; Windows: ``%APPDATA%\\tlsdiag``.
    """
    env = os.environ if env is None else env
    plat = platform_name(platform)
    if env.get(HOME_ENV):
        return Path(env[HOME_ENV])
    home = Path(env.get("HOME") or env.get("USERPROFILE") or Path.home())
    if plat == Platform.WINDOWS:
        base = env.get("APPDATA")
        return Path(base) / "tlsdiag" if base else home / "AppData" / "Roaming" / "tlsdiag"
    if plat == Platform.MACOS:
        return home / "Library" / "Application Support" / "tlsdiag"
    xdg = env.get("XDG_CONFIG_HOME")
    return (Path(xdg) if xdg else home / ".config") / "tlsdiag"


@dataclass(frozen=True, slots=True)
class CaPaths:
    """Where the CA certificate and key are."""

    cert: Path
    key: Path

    @classmethod
    def in_dir(cls, directory: Path) -> CaPaths:
        """The standard file names in ``directory``."""
        return cls(directory / CERT_NAME, directory / KEY_NAME)


@dataclass(frozen=True, slots=True)
class CaMaterial:
    """A loaded CA: certificate, private key and where they came from."""

    cert: x509.Certificate
    key: PrivateKey
    paths: CaPaths


def create_ca(
    *,
    now: datetime,
    machine: str,
    days: int = 365,
    permit: Sequence[str] = (),
    key: PrivateKey | None = None,
    common_name: str | None = None,
    key_type: KeyType = KeyType.EC256,
) -> tuple[x509.Certificate, PrivateKey]:
    """A self-signed root CA for inspection (CA:true, pathlen 0).

    Args:
        now: issuance time (the certificate is backdated one hour).
        machine: the machine name written into the CN.
        days: validity in days.
        permit: DNS name constraints (the CA can only issue for these domains); empty for none.
        key: an existing key (a new ``key_type`` key otherwise).
        common_name: overrides the CN.
        key_type: the type of a new key (EC P-256 by default).

    Returns:
        The certificate and its private key.
    """
    if days < 1:
        raise ValueError("the CA validity must be at least one day")
    cn = common_name or f"tlsdiag inspection CA ({machine}, {now:%Y-%m-%d})"
    issued = build_ca(
        name(cn[:64], "tlsdiag"),
        not_before=now - timedelta(hours=1),
        not_after=now + timedelta(days=days),
        key=key or new_key(key_type),
        path_length=0,
        permitted_dns=[_permit_name(p) for p in permit],
        self_aki=True,
    )
    return issued.cert, issued.key


def _permit_name(value: str) -> str:
    name = value.strip().lower().removeprefix("*.").removeprefix(".").rstrip(".")
    if not name or " " in name or "/" in name or ":" in name:
        raise ValueError(f"--permit {value!r}: expected a domain name such as example.com")
    try:
        return name.encode("idna").decode("ascii")
    except UnicodeError as exc:
        raise ValueError(f"--permit {value!r}: not a valid domain name") from exc


def permitted_domains(cert: x509.Certificate) -> tuple[str, ...]:
    """The DNS name constraints of a CA (empty when it has none)."""
    try:
        ext = cert.extensions.get_extension_for_class(x509.NameConstraints).value
    except x509.ExtensionNotFound:
        return ()
    return tuple(str(s.value) for s in ext.permitted_subtrees or () if isinstance(s, x509.DNSName))


def name_permitted(permitted: Sequence[str], host: str) -> bool:
    """True when ``host`` is within the DNS name constraints (always true without any)."""
    if not permitted:
        return True
    host = host.lower().rstrip(".")
    return any(host == p or host.endswith("." + p) for p in permitted)


def write_private(path: Path, data: bytes, mode: int = 0o600) -> None:
    """Create ``path`` new with ``mode`` (set by ``os.open`` before any byte is written, and
    again with ``fchmod`` so the umask cannot widen or narrow it). Never follows a symlink and
    never opens an existing file (O_EXCL | O_NOFOLLOW): a planted link fails with EEXIST/ELOOP.
    """
    flags = (
        os.O_WRONLY
        | os.O_CREAT
        | os.O_EXCL
        | getattr(os, "O_NOFOLLOW", 0)
        | getattr(os, "O_BINARY", 0)
    )
    fd = os.open(path, flags, mode)
    with os.fdopen(fd, "wb") as fh:
        if hasattr(os, "fchmod"):
            os.fchmod(fh.fileno(), mode)
        fh.write(data)


def _tighten(directory: Path) -> None:
    """Make the CA folder 0700 (only ours to change; other users lose nothing they need)."""
    if os.name == "nt":
        return
    st = directory.stat()
    if st.st_mode & 0o077 and st.st_uid == os.getuid():
        os.chmod(directory, 0o700)


def key_open_to_others(path: Path) -> bool:
    """True when users other than the owner can read or write the key file (POSIX only)."""
    if os.name == "nt":
        return False
    try:
        return bool(path.stat().st_mode & 0o077)
    except OSError:
        return False


def init_ca(
    directory: Path,
    *,
    now: datetime | None = None,
    days: int = 365,
    permit: Sequence[str] = (),
    force: bool = False,
    key_type: KeyType = KeyType.EC256,
) -> CaMaterial:
    """Create the CA in ``directory`` (refuses to overwrite unless ``force``) with a new
    ``key_type`` key.

    Raises:
        ProxyError: a CA already exists there, or the files cannot be written.
    """
    paths = CaPaths.in_dir(directory)
    if not force and (os.path.lexists(paths.key) or os.path.lexists(paths.cert)):
        raise UsageError(
            f"a CA already exists in {directory}",
            hint="use `tlsdiag ca show` to see it, or `tlsdiag ca init --force` to replace it "
            "(clients that trust the old one must then trust the new one)",
        )
    now = now or datetime.now(UTC)
    cert, key = create_ca(
        now=now,
        machine=socket.gethostname() or "localhost",
        days=days,
        permit=permit,
        key_type=key_type,
    )
    try:
        directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        _tighten(directory)
        if force:  # unlink removes a link itself, never its target; the files are created new
            paths.key.unlink(missing_ok=True)
            paths.cert.unlink(missing_ok=True)
        write_private(paths.key, key_pem(key))
        write_private(paths.cert, cert_pem(cert), 0o644)
    except OSError as exc:
        raise ProxyError(f"cannot write the CA to {directory}: {exc.strerror}") from exc
    return CaMaterial(cert, key, paths)


def load_ca(paths: CaPaths) -> CaMaterial:
    """Load a CA certificate and its key (RSA 2048-4096 or EC P-256/P-384).

    Raises:
        ProxyError: the files are missing.
        InputError: they are unreadable or do not belong together.
    """
    if not paths.cert.exists() or not paths.key.exists():
        raise ProxyError(
            f"no CA found at {paths.cert}",
            hint="create one with `tlsdiag ca init` (or pass --ca-cert FILE --ca-key FILE)",
        )
    from tlsdiag.stores.userfile import Kind, read_file

    if key_open_to_others(paths.key):
        raise InputError(
            f"CA key {paths.key}: readable or writable by other users; refusing to use it",
            hint=f"chmod 600 {paths.key} (and replace the CA if others may have copied it)",
        )
    try:
        cert_data, _ = read_file(paths.cert, Kind.KEY, what=f"CA certificate {paths.cert}")
        cert = x509.load_pem_x509_certificate(cert_data)
    except ValueError as exc:
        raise InputError(f"CA certificate {paths.cert}: cannot read: {exc}") from exc
    try:
        key_data, _ = read_file(paths.key, Kind.KEY, what=f"CA key {paths.key}")
        key = serialization.load_pem_private_key(key_data, password=None)
    except (ValueError, TypeError) as exc:
        raise InputError(f"CA key {paths.key}: cannot read: {exc}") from exc
    problem = ca_key_problem(key)
    if problem is not None:
        raise InputError(f"CA key {paths.key}: {problem}")
    assert isinstance(key, PrivateKey)  # ca_key_problem accepts only these
    pub = serialization.PublicFormat.SubjectPublicKeyInfo
    der = serialization.Encoding.DER
    if key.public_key().public_bytes(der, pub) != cert.public_key().public_bytes(der, pub):
        raise InputError(f"CA key {paths.key} does not match the certificate {paths.cert}")
    return CaMaterial(cert, key, paths)


def untrusted_twin(ca: x509.Certificate, *, now: datetime) -> tuple[x509.Certificate, PrivateKey]:
    """A throw-away CA named after ``ca`` that nobody trusts (Squid's signUntrusted twin).

    Certificates it signs make a client fail exactly as for an unknown issuer. It has its own
    key (generated in memory, never written) so that no client can chain it to the real CA.
    """
    cn = ca.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    base = str(cn[0].value) if cn else "tlsdiag"
    cert, key = create_ca(now=now, machine="", days=30, common_name=f'Not trusted by "{base}"'[:64])
    return cert, key
