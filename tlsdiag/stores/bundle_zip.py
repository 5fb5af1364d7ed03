"""Write a support bundle (zip) safely, and read one back (I/O edge for ``bundle``).

Output files are never overwritten without ``force``; the zip is written to a temporary file in
the same folder and then moved into place (``os.link`` when not forcing, so a file that appeared
meanwhile is not replaced; ``os.replace`` with ``force``, which replaces a symbolic link itself
rather than writing through it). Every member is scanned for PEM private keys, which are cut out.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import tempfile
import time
import zipfile
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from tlsdiag.errors import InputError

Member = tuple[str, "bytes | Path"]
_KEY_LABEL = rb"[A-Z0-9 ]*PRIVATE KEY"  # RSA, EC, ENCRYPTED, none (PKCS#8) ...
_KEY_BLOCK = re.compile(
    rb"-----BEGIN " + _KEY_LABEL + rb"-----.*?(-----END " + _KEY_LABEL + rb"-----|\Z)", re.S
)
_KEY_WORDS = re.compile(rb"PRIVATE\s+KEY", re.I)
KEY_REMOVED = b"[key material removed by tlsdiag]"  # not "private key": the words are rewritten too


def scrub_keys(data: bytes) -> bytes:
    """``data`` with every PEM private key block (and the words ``PRIVATE KEY``) removed."""
    if not _KEY_WORDS.search(data):
        return data
    return _KEY_WORDS.sub(b"private-key", _KEY_BLOCK.sub(KEY_REMOVED, data))


def refuse_existing(path: Path, force: bool, what: str = "--output") -> None:
    """Raise unless ``path`` may be written (absent, or ``force`` and not a directory).

    Raises:
        InputError: the file exists (and no ``force``), is a directory, is one of the command's
            inputs (even with ``force``), or its folder is missing.
    """
    from tlsdiag.stores.userfile import was_read

    if was_read(path):
        raise InputError(f"{what} {path}: is also an input of this command; write somewhere else")
    if path.is_dir() and not path.is_symlink():
        raise InputError(f"{what} {path}: is a directory")
    if os.path.lexists(path) and not force:
        raise InputError(
            f"{what} {path}: the file exists", hint="choose another name or add --force"
        )
    if not path.parent.is_dir():
        raise InputError(f"{what} {path}: the folder {path.parent} does not exist")


@contextlib.contextmanager
def new_file(path: Path, *, force: bool, what: str = "--output") -> Iterator[IO[bytes]]:
    """A binary file handle whose content lands at ``path`` only when the block succeeds.

    Semantics: refuse an existing ``path`` unless ``force``; write to a temporary file in the same
    folder, flush and fsync it, then move it into place; never follow a symbolic link at ``path``.

    Raises:
        InputError: as :func:`refuse_existing`, or the folder is not writable.
    """
    refuse_existing(path, force, what)
    try:
        fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except OSError as exc:
        raise InputError(f"{what} {path}: cannot write: {exc.strerror}") from exc
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        if force:
            os.replace(tmp, path)
        else:
            try:
                os.link(tmp, path)
            except FileExistsError as exc:
                raise InputError(
                    f"{what} {path}: the file exists", hint="choose another name or add --force"
                ) from exc
            except OSError:  # no hard links on this file system
                if os.path.lexists(path):
                    raise InputError(f"{what} {path}: the file exists") from None
                os.replace(tmp, path)
    except OSError as exc:
        raise InputError(f"{what} {path}: cannot write: {exc.strerror}") from exc
    finally:
        with contextlib.suppress(OSError):
            tmp.unlink()


def _add(zf: zipfile.ZipFile, name: str, content: bytes | Path) -> tuple[str, int]:
    digest = hashlib.sha256()
    size = 0
    info = zipfile.ZipInfo(name, date_time=time.localtime()[:6])
    info.compress_type = zipfile.ZIP_DEFLATED
    with zf.open(info, "w", force_zip64=True) as out:
        if isinstance(content, bytes):
            data = scrub_keys(content)
            out.write(data)
            digest.update(data)
            size = len(data)
        else:
            with content.open("rb") as src:
                for line in src:  # the redacted HAR has one entry per line
                    data = scrub_keys(line)
                    out.write(data)
                    digest.update(data)
                    size += len(data)
    return digest.hexdigest(), size


def write_bundle_zip(
    path: Path,
    members: Sequence[Member],
    *,
    force: bool,
    manifest_extra: Mapping[str, Any],
) -> dict[str, Any]:
    """Write the members and ``manifest.json`` (sha256 and size of every other member).

    Returns:
        The manifest written.
    """
    files: dict[str, dict[str, Any]] = {}
    with (
        new_file(path, force=force) as fh,
        zipfile.ZipFile(fh, "w", compression=zipfile.ZIP_DEFLATED) as zf,
    ):
        for name, content in members:
            sha, size = _add(zf, name, content)
            files[name] = {"sha256": sha, "size": size}
        manifest = {**manifest_extra, "files": files}
        zf.writestr("manifest.json", json.dumps(manifest, indent=2) + "\n")
    return manifest


@dataclass(frozen=True, slots=True)
class BundleContents:
    """What ``bundle show`` reads: the manifest, each member's digest, the report and README."""

    manifest: Mapping[str, Any] | None
    digests: Mapping[str, str]
    reports: Sequence[Mapping[str, Any]]
    readme: str
    error: str = ""


def read_bundle(path: Path) -> BundleContents:
    """Read a bundle zip: hash every member, parse ``manifest.json`` and ``report.json``.

    Raises:
        InputError: not a regular file (refused before any read, by the one bounded reader),
            larger than ``Kind.BUNDLE`` allows, or not a readable zip file.
    """
    from tlsdiag.stores.userfile import Kind, open_file

    source = open_file(path, Kind.BUNDLE, what=str(path))
    try:
        zf = zipfile.ZipFile(source)
    except (OSError, zipfile.BadZipFile, EOFError) as exc:
        source.close()
        raise InputError(f"{path}: not a readable zip file ({exc})") from exc
    digests: dict[str, str] = {}
    manifest: Any = None
    reports: Any = []
    readme = ""
    error = ""
    with source, zf:
        for info in zf.infolist():
            if info.is_dir():
                continue
            digest = hashlib.sha256()
            try:
                with zf.open(info) as fh:
                    while block := fh.read(1 << 20):
                        digest.update(block)
            except (OSError, zipfile.BadZipFile, EOFError) as exc:
                error = f"{info.filename}: cannot be read ({exc})"
                continue
            digests[info.filename] = digest.hexdigest()
        try:
            if "manifest.json" in digests:
                manifest = json.loads(zf.read("manifest.json"))
            if "report.json" in digests:
                reports = json.loads(zf.read("report.json"))
            if "README.txt" in digests:
                readme = zf.read("README.txt").decode("utf-8", "replace")
        except (ValueError, OSError, zipfile.BadZipFile) as exc:
            error = error or f"cannot parse the bundle's JSON: {exc}"
    return BundleContents(
        manifest=manifest if isinstance(manifest, dict) else None,
        digests=digests,
        reports=[r for r in reports if isinstance(r, dict)] if isinstance(reports, list) else [],
        readme=readme,
        error=error,
    )
