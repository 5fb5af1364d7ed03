"""The one writer of what tlsdiag outputs: ``--output FILE`` and standard output.

A file is never silently replaced: an existing path (a file, or a symlink even dangling) is
refused unless ``--force``, a path that is one of the command's input files is always refused,
and the data goes to a temporary file in the same folder that is renamed into place (no
half-written report when interrupted; a symlink at the path is replaced, never followed).

Standard output that is closed (``| head -1``) or cannot be written (a full device) ends the
command with ``EXIT_PIPE`` (141, as ``SIGPIPE`` would), never with a false verdict or a traceback;
characters the output encoding cannot show are written as backslash escapes.
"""

from __future__ import annotations

import contextlib
import errno
import os
import sys
from pathlib import Path
from typing import NoReturn

from tlsdiag.errors import InputError, UsageError

EXIT_PIPE = 141
"""Standard output closed or not writable: the report was not delivered (128 + SIGPIPE)."""


def tolerate_encodings() -> None:
    """Let stdout/stderr show any character (``PYTHONIOENCODING=ascii``): escape, never fail."""
    for stream in (sys.stdout, sys.stderr):
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None:
            with contextlib.suppress(ValueError, OSError, TypeError):
                reconfigure(errors="backslashreplace")


def stdout_lost(exc: OSError) -> NoReturn:
    """End the command after stdout failed: silently when the reader went away, else one line."""
    with contextlib.suppress(OSError, ValueError):
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    if exc.errno not in (errno.EPIPE, errno.ECONNRESET):
        with contextlib.suppress(OSError, ValueError):
            sys.stderr.write(f"error: stdout: cannot write the report: {exc.strerror or exc}\n")
    raise SystemExit(EXIT_PIPE)


def to_stdout(data: str | bytes) -> None:
    """Write to standard output (text or bytes) and flush."""
    try:
        if isinstance(data, bytes):
            sys.stdout.flush()
            sys.stdout.buffer.write(data)
            sys.stdout.buffer.flush()
        else:
            sys.stdout.write(data)
            sys.stdout.flush()
    except OSError as exc:
        stdout_lost(exc)


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def refuse_existing(output: Path, *, force: bool) -> None:
    """Refuse an ``--output`` path that exists (without ``--force``) or is a directory.

    Raises:
        UsageError: the path exists and ``force`` is not set.
        InputError: it is a directory or cannot be examined.
    """
    what = f"--output {output}"
    try:
        output.lstat()
    except FileNotFoundError:
        return
    except OSError as exc:
        raise InputError(f"{what}: cannot write: {exc.strerror}") from exc
    if output.is_dir() and not output.is_symlink():
        raise InputError(f"{what}: is a directory")
    if not force:
        raise UsageError(f"{what}: already exists", "pass --force to replace it")


def to_file(data: bytes, output: Path, *, force: bool) -> None:
    """Write ``data`` to ``output`` atomically, with the rules in the module docstring.

    Raises:
        UsageError: the path exists (without ``--force``) or is one of the inputs.
        InputError: a directory, a missing folder, or the write failed.
    """
    import tempfile  # only a file write needs it (with shutil and random: ~3 ms at start)

    from tlsdiag.stores.userfile import was_read

    what = f"--output {output}"
    if was_read(output):
        raise UsageError(f"{what}: is also an input of this command; write somewhere else")
    refuse_existing(output, force=force)
    folder = output.parent if str(output.parent) else Path(".")
    if not folder.is_dir():
        raise InputError(f"{what}: the folder {folder} does not exist")
    try:
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=f".{output.name}.", suffix=".tmp")
    except OSError as exc:
        raise InputError(f"{what}: cannot write: {exc.strerror}") from exc
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
            os.fchmod(fh.fileno(), 0o666 & ~_umask())
        os.replace(tmp, output)
    except OSError as exc:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise InputError(f"{what}: cannot write: {exc.strerror}") from exc
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def write_output(data: str | bytes, output: Path | None, *, force: bool = False) -> None:
    """Write a report (text gets a final newline) to stdout or to ``--output``."""
    if isinstance(data, str):
        if not data.endswith("\n"):
            data += "\n"
        if output is not None:
            data = data.encode("utf-8")
    if output is None:
        to_stdout(data)
    else:
        to_file(data if isinstance(data, bytes) else data.encode("utf-8"), output, force=force)
