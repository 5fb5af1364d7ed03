"""The one reader of files the user names (``--cafile``, ``--from``, ``chain FILE``, ``explain
--file``, policy files, ``--upstream-cafile``, event files, HAR files, bundle zips) and of
standard input.

Each kind of file has a size limit that fits it; devices, FIFOs, sockets and directories are
refused up front (the file is opened non-blocking and checked with ``fstat`` before any read, so
a FIFO never blocks); every problem is one ``InputError`` line naming the option and the path.
Files read whole go through ``read_file``; files read as a stream (a HAR, a bundle zip) are
opened with ``open_file``, which applies the same checks and the size limit up front.
"""

from __future__ import annotations

import os
import stat
import sys
from enum import Enum
from pathlib import Path
from typing import BinaryIO, NamedTuple

from tlsdiag.errors import InputError

MiB = 1024 * 1024


class _Limit(NamedTuple):
    label: str
    max_bytes: int


class Kind(Enum):
    """What a file holds, and the most tlsdiag reads of it."""

    PEM = _Limit("a PEM/DER certificate bundle", 10 * MiB)
    TARGETS = _Limit("a target list", 1 * MiB)
    ERROR_TEXT = _Limit("an error text or log", 2 * MiB)
    POLICY = _Limit("a policy file", 1 * MiB)
    EVENTS = _Limit("an events file", 256 * MiB)
    KEY = _Limit("a key or certificate", 1 * MiB)
    RESULTS = _Limit("a result file or zip of results", 256 * MiB)
    HAR = _Limit("a HAR file", 1024 * MiB)
    BUNDLE = _Limit("a support bundle zip", 1024 * MiB)

    @property
    def max_bytes(self) -> int:
        """The size limit in bytes."""
        return self.value.max_bytes


_READ: set[tuple[int, int]] = set()
"""(device, inode) of every file read in this process: an output must not replace one."""


def was_read(path: Path) -> bool:
    """True when ``path`` (symlinks followed) is a file this process read as an input."""
    try:
        st = os.stat(path)
    except OSError:
        return False
    return (st.st_dev, st.st_ino) in _READ


TAIL_CAP = 256 * MiB
"""Most read from a stream when only its end is kept (``explain -``)."""


def _size_text(n: int) -> str:
    if n >= 1024 * MiB:
        return f"{n // (1024 * MiB)} GiB"
    return f"{n // MiB} MiB" if n >= MiB else f"{n // 1024} KiB"


def _too_big(what: str, kind: Kind) -> InputError:
    return InputError(
        f"{what}: larger than {_size_text(kind.max_bytes)}, too big for {kind.value.label}"
    )


def _kind_of_mode(mode: int) -> str | None:
    """Why a file of this mode is refused, or None for a regular file."""
    if stat.S_ISREG(mode):
        return None
    if stat.S_ISDIR(mode):
        return "is a directory"
    if stat.S_ISFIFO(mode):
        return "is a FIFO (named pipe), not a regular file"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "is a device, not a regular file"
    if stat.S_ISSOCK(mode):
        return "is a socket, not a regular file"
    return "is not a regular file"


def _open_regular(path: Path, what: str) -> int:
    """A file descriptor on a regular file, or one ``InputError`` line."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except FileNotFoundError as exc:
        raise InputError(f"{what}: cannot read: no such file") from exc
    except IsADirectoryError as exc:
        raise InputError(f"{what}: is a directory") from exc
    except OSError as exc:
        raise InputError(f"{what}: cannot read: {exc.strerror}") from exc
    try:
        st = os.fstat(fd)
        refusal = _kind_of_mode(st.st_mode)
        if refusal:
            raise InputError(f"{what}: {refusal}")
        _READ.add((st.st_dev, st.st_ino))
        os.set_blocking(fd, True)
    except BaseException:
        os.close(fd)
        raise
    return fd


def read_file(path: Path, kind: Kind, *, what: str, tail: bool = False) -> tuple[bytes, bool]:
    """The bytes of a user-named regular file, and whether only its end was kept.

    Args:
        path: the file.
        kind: what it holds (sets the size limit).
        what: how to name it in messages (``--cafile ca.pem``).
        tail: keep the last ``kind.max_bytes`` of a larger file instead of refusing it.

    Raises:
        InputError: missing, unreadable, not a regular file, or larger than the limit.
    """
    limit = kind.max_bytes
    fd = _open_regular(path, what)
    try:
        with os.fdopen(fd, "rb") as fh:
            if tail:
                size = fh.seek(0, os.SEEK_END)
                fh.seek(max(0, size - limit))
                return fh.read(limit), size > limit
            data = fh.read(limit + 1)
    except OSError as exc:
        raise InputError(f"{what}: cannot read: {exc.strerror}") from exc
    if len(data) > limit:
        raise _too_big(what, kind)
    return data, False


def open_file(path: Path, kind: Kind, *, what: str) -> BinaryIO:
    """A user-named regular file opened for reading as a stream, checked like ``read_file``.

    The size limit is applied to the file's size when it is opened; a reader that streams it
    stops at ``kind.max_bytes`` too (the file may grow while it is read).

    Raises:
        InputError: missing, unreadable, not a regular file, or larger than the limit.
    """
    fd = _open_regular(path, what)
    try:
        size = os.fstat(fd).st_size
    except OSError as exc:
        os.close(fd)
        raise InputError(f"{what}: cannot read: {exc.strerror}") from exc
    if size > kind.max_bytes:
        os.close(fd)
        raise _too_big(what, kind)
    return os.fdopen(fd, "rb")


def check_file(path: Path, kind: Kind, *, what: str) -> None:
    """Refuse up front, without reading it, a file ``open_file`` or ``read_file`` would refuse.

    Raises:
        InputError: missing, unreadable, not a regular file, or larger than the limit.
    """
    open_file(path, kind, what=what).close()


def stdin_stream() -> BinaryIO:
    """Standard input as bytes.

    Raises:
        InputError: standard input is closed or absent.
    """
    stream = sys.stdin
    buffer = getattr(stream, "buffer", None) if stream is not None else None
    if buffer is None or getattr(stream, "closed", False):
        raise InputError("stdin: standard input is closed, nothing to read")
    return buffer  # type: ignore[no-any-return]


def stdin_is_terminal() -> bool | None:
    """True on a terminal, False on a file or pipe, None when stdin is closed or absent."""
    stream = sys.stdin
    if stream is None or getattr(stream, "closed", False):
        return None
    try:
        return stream.isatty()
    except (ValueError, OSError):
        return None


def read_stream(
    stream: BinaryIO, kind: Kind, *, what: str = "stdin", tail: bool = False
) -> tuple[bytes, bool]:
    """The bytes of a stream with the same limits as ``read_file``.

    With ``tail`` the last ``kind.max_bytes`` are kept (at most ``TAIL_CAP`` is read).

    Raises:
        InputError: the stream cannot be read or is larger than the limit.
    """
    limit = kind.max_bytes
    try:
        if not tail:
            data = stream.read(limit + 1)
            if len(data) > limit:
                raise _too_big(what, kind)
            return data, False
        kept = b""
        total = 0
        while chunk := stream.read(MiB):
            total += len(chunk)
            kept = (kept + chunk)[-limit:]
            if total > TAIL_CAP:
                raise InputError(f"{what}: more than {_size_text(TAIL_CAP)}, not an error text")
        return kept, total > limit
    except (OSError, ValueError) as exc:
        raise InputError(f"{what}: cannot read: {exc}") from exc
