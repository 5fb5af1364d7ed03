"""Load the root sets that ``check`` verifies against: public (certifi), this machine's OS bundle,
and a user-given ``--cafile``. I/O lives here; core functions receive certificate lists."""

from __future__ import annotations

import hashlib
import os
import ssl
import zlib
from functools import cache
from pathlib import Path
from typing import NamedTuple

from cryptography import x509

from tlsdiag import __version__
from tlsdiag.core.certfile import parse_certificates
from tlsdiag.errors import InputError
from tlsdiag.facts.ids import RootSetId

# Where the common distributions keep the OS bundle (first existing wins).
OS_BUNDLE_CANDIDATES = (
    "/etc/ssl/certs/ca-certificates.crt",  # Debian, Ubuntu, Alpine, Arch (compat link)
    "/etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem",  # RHEL, Fedora, Amazon Linux
    "/etc/pki/tls/certs/ca-bundle.crt",
    "/etc/ssl/ca-bundle.pem",  # SUSE
    "/etc/ssl/cert.pem",  # macOS (exported system roots), Alpine, OpenBSD
)


class RootSet(NamedTuple):
    """A named set of trusted roots."""

    name: RootSetId
    source: str  # a path, or a description
    certs: tuple[x509.Certificate, ...]
    digest: str = ""  # SHA-256 of the bundle file's bytes (public and OS bundles; else "")


def _load_pem_quietly(data: bytes) -> list[x509.Certificate]:
    """Load a PEM bundle, hiding cryptography's deprecation warnings about odd old roots
    (e.g. a non-positive serial) that are not ours to fix."""
    from tlsdiag.core.quiet import quietly

    with quietly():
        return list(x509.load_pem_x509_certificates(data))


def load_bundle(name: RootSetId, path: str) -> RootSet:
    """A PEM bundle a library or the OS ships (not a user's file: see ``load_cafile``), with the
    SHA-256 of its bytes (``stores.rootfacts`` keys its cache on it).

    Raises:
        OSError: the file cannot be read.
        ValueError: it is not a PEM bundle.
    """
    data = Path(path).read_bytes()
    certs = _load_pem_quietly(data)
    return RootSet(name, path, tuple(certs), hashlib.sha256(data).hexdigest())


CERTIFI_CACHE_FORMAT = 1

MAX_CAFILE_CERTS = 500
"""Most certificates accepted in one ``--cafile`` bundle (the OS bundles hold about 150)."""


def load_cafile(path: Path, option: str = "--cafile") -> RootSet:
    """Read a user's certificate file: ``--cafile``, ``--upstream-cafile``, ``trust --ca`` (a PEM
    bundle, or DER/PKCS#7; at most ``MAX_CAFILE_CERTS``); ``option`` names it in messages.

    Raises:
        InputError: unreadable, not a regular file, too large, or no certificate in it.
    """
    from tlsdiag.stores.userfile import Kind, read_file

    what = f"{option} {path}"
    data, _ = read_file(path, Kind.PEM, what=what)
    if data.count(b"-----BEGIN CERTIFICATE-----") > MAX_CAFILE_CERTS:
        raise InputError(
            f"{what}: more than {MAX_CAFILE_CERTS} certificates, more than a CA bundle holds",
            "pass only the roots you need (the OS and public roots are always checked)",
        )
    certs = parse_certificates(data, what=what)
    if not certs:
        raise InputError(f"{what}: no certificate found")
    if len(certs) > MAX_CAFILE_CERTS:
        raise InputError(f"{what}: more than {MAX_CAFILE_CERTS} certificates")
    return RootSet(RootSetId.CAFILE, str(path), tuple(certs))


@cache
def public_roots() -> RootSet:
    """The public root program as shipped by certifi (Mozilla's list)."""
    return load_bundle(RootSetId.PUBLIC, certifi_where())


def _certifi_cache() -> tuple[Path, str] | None:
    """Where ``certifi_where`` keeps its answer and the key it must carry (None: no cache)."""
    from importlib.util import find_spec

    from tlsdiag.kb._cache import cache_dir

    directory = cache_dir()
    if directory is None:
        return None
    try:
        spec = find_spec("certifi")
        origin = spec.origin if spec is not None else None
        if not origin:
            return None
        parts = [f"{__version__}/{CERTIFI_CACHE_FORMAT}"]
        for name in ("__init__.py", "core.py"):  # the code that answers
            st = os.stat(os.path.join(os.path.dirname(origin), name))
            parts.append(f"{name}:{st.st_size}:{st.st_mtime_ns}")
    except (ImportError, ValueError, OSError):  # e.g. a zipped certifi: no files to stat
        return None
    key = "/".join([origin, *parts])
    # Named per installation too: another venv's certifi keeps its own file (no ping-pong).
    install = f"{zlib.crc32(origin.encode()):08x}"
    return directory / f"certifi-{install}-{zlib.crc32(key.encode()):08x}.json", key


def certifi_where() -> str:
    """``certifi.where()``, kept in the user cache directory per certifi installation.

    Importing certifi and asking it costs ~4 ms at every check (it imports ``importlib.resources``
    with ``tempfile`` and ``zipfile``), and the answer only changes with the installed certifi:
    it is keyed by the tlsdiag version, the package's path and the size and modification time of
    the certifi code that answers. A missing, stale, corrupt or foreign cache file, or a cached
    path that is no longer a file, means asking certifi (and caching again); so does
    ``TLSDIAG_NO_CACHE=1``.
    """
    from tlsdiag.kb._cache import read_cache

    where = _certifi_cache()
    doc = read_cache(*where) if where is not None else None
    found = doc.get("where") if doc is not None else None
    if isinstance(found, str) and os.path.isfile(found):
        return found
    import certifi

    answer = str(certifi.where())
    if where is not None and os.path.isfile(answer):
        from tlsdiag.kb._cache import write_cache

        stale = where[0].name.rsplit("-", 1)[0] + "-*.json"  # this installation's older files
        write_cache(where[0], {"key": where[1], "where": answer}, stale=stale)
    return answer


def os_bundle_path() -> str | None:
    """The OS bundle OpenSSL uses on this machine (``SSL_CERT_FILE`` is not consulted)."""
    paths = ssl.get_default_verify_paths()
    candidates = [paths.openssl_cafile, *OS_BUNDLE_CANDIDATES]
    for candidate in candidates:
        if candidate and os.path.isfile(candidate):
            return candidate
    return None


@cache
def os_roots() -> RootSet:
    """The roots of this machine's OS bundle (empty when none is found)."""
    path = os_bundle_path()
    if path is None:
        return RootSet(RootSetId.OS, "(no OS bundle found)", ())
    try:
        return load_bundle(RootSetId.OS, path)
    except (OSError, ValueError):
        return RootSet(RootSetId.OS, f"{path} (unreadable)", ())
