"""Read a HAR file in chunks, and write a redacted copy entry by entry (I/O edge).

Reading never loads the whole file: ``har_items`` feeds 1 MiB pieces to the streaming parser
of ``tlsdiag.core.har_stream``; its errors, and those of the file system and the UTF-8 decoder,
become one ``InputError`` naming the file. The file is opened by the one bounded reader
(``tlsdiag.stores.userfile``, ``Kind.HAR``): devices, FIFOs and directories are refused before
any read, and a HAR larger than ``Kind.HAR.max_bytes`` (1 GiB) is refused.
"""

from __future__ import annotations

import codecs
import json
from collections.abc import Iterator
from pathlib import Path
from types import TracebackType
from typing import IO, Any

from tlsdiag.core.har_stream import MAX_VALUE_CHARS, HarFormatError, HarItem, har_events
from tlsdiag.errors import InputError
from tlsdiag.stores.userfile import Kind, open_file

CHUNK_BYTES = 1 << 20
_HINT = "export the HAR again from the browser's developer tools (Network tab, 'Save all as HAR')"


def _chunks(fh: IO[bytes], path: Path) -> Iterator[str]:
    decoder = codecs.getincrementaldecoder("utf-8-sig")(errors="strict")
    total = 0
    while True:
        try:
            data = fh.read(CHUNK_BYTES)
            total += len(data)
            if total > Kind.HAR.max_bytes:  # the file grew after it was opened
                raise InputError(
                    f"{path}: larger than {Kind.HAR.max_bytes >> 30} GiB, too big for a HAR file"
                )
            text = decoder.decode(data, final=not data)
        except UnicodeDecodeError as exc:
            raise InputError(f"{path}: not UTF-8 text ({exc.reason})", hint=_HINT) from exc
        except OSError as exc:
            raise InputError(f"{path}: cannot read: {exc.strerror}") from exc
        if text:
            yield text
        if not data:
            return


def har_items(path: Path, *, max_value: int = MAX_VALUE_CHARS) -> Iterator[HarItem]:
    """The entries and other ``log`` values of the HAR file at ``path``, streamed.

    Raises:
        InputError: unreadable, not UTF-8, not a HAR, malformed or truncated.
    """
    fh = open_file(path, Kind.HAR, what=str(path))
    with fh:
        try:
            yield from har_events(_chunks(fh, path), max_value=max_value)
        except HarFormatError as exc:
            raise InputError(f"{path}: {exc}", hint=_HINT) from exc
        except RecursionError as exc:
            raise InputError(f"{path}: JSON nested too deeply", hint=_HINT) from exc


class RedactedHarWriter:
    """Writes ``{"log": {..., "entries": [...]}}`` one (already redacted) value at a time."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fh: IO[str] = path.open("w", encoding="utf-8")
        self._fh.write('{"log": {"comment": "redacted by tlsdiag: cookies, credentials, ')
        self._fh.write('tokens and bodies removed"')
        self._entries = 0
        self._meta: dict[str, Any] = {}

    def meta(self, key: str, value: Any) -> None:
        """Keep a non-entry value of ``log`` (written at the end)."""
        if key not in {"comment", "entries"}:
            self._meta[key] = value

    def entry(self, entry: dict[str, Any]) -> None:
        """Append one entry."""
        self._fh.write(', "entries": [\n' if not self._entries else ",\n")
        self._fh.write(json.dumps(entry, ensure_ascii=False))  # one entry per line
        self._entries += 1

    def close(self) -> None:
        """Finish the JSON text and close the file."""
        self._fh.write(', "entries": []' if not self._entries else "\n]")
        for key, value in self._meta.items():
            self._fh.write(f", {json.dumps(key)}: {json.dumps(value, ensure_ascii=False)}")
        self._fh.write("}}\n")
        self._fh.close()

    def __enter__(self) -> RedactedHarWriter:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._fh.closed:
            return
        if exc_type is None:
            self.close()
        else:
            self._fh.close()
