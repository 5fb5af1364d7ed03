"""Read a HAR file's entries one at a time from text chunks, in bounded memory (pure).

A HAR is one JSON object ``{"log": {"version", "creator", "pages", "entries": [...]}}``; browsers
write files of hundreds of MB. ``har_events`` walks the outer objects by hand and decodes each
value of ``log`` (every entry, ``pages``, ``creator`` ...) with ``json.JSONDecoder.raw_decode``,
so only one value at a time is held, plus one chunk. Keys may come in any order.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

MAX_VALUE_CHARS = 64 * 1024 * 1024  # one entry (or pages list) larger than this is refused
_WS = " \t\r\n"


class HarFormatError(ValueError):
    """The text is not a HAR file, is malformed, or ends early (message says where)."""


@dataclass(frozen=True, slots=True)
class HarItem:
    """One value of ``log``: an entry (``key == "entries"``) or a whole other value."""

    key: str
    value: Any


class _Scanner:
    def __init__(self, chunks: Iterable[str], max_value: int) -> None:
        self._chunks = iter(chunks)
        self.buf = ""
        self.pos = 0
        self.eof = False
        self.consumed = 0  # characters dropped from the front of buf
        self.max_value = max_value
        self._decoder = json.JSONDecoder()

    def _more(self, want: int = 1) -> bool:
        """Append at least ``want`` more characters (or reach the end); False at the end."""
        if self.eof:
            return False
        if self.pos:
            self.consumed += self.pos
            self.buf = self.buf[self.pos :]
            self.pos = 0
        got = 0
        parts = [self.buf]
        while got < want:
            try:
                chunk = next(self._chunks)
            except StopIteration:
                self.eof = True
                break
            parts.append(chunk)
            got += len(chunk)
        self.buf = "".join(parts)
        return got > 0

    def where(self) -> str:
        return f"character {self.consumed + self.pos}"

    def peek(self) -> str:
        """The next non-space character ('' at the end), not consumed."""
        while True:
            while self.pos < len(self.buf) and self.buf[self.pos] in _WS:
                self.pos += 1
            if self.pos < len(self.buf):
                return self.buf[self.pos]
            if not self._more():
                return ""

    def expect(self, chars: str, what: str) -> str:
        ch = self.peek()
        if ch == "":
            raise HarFormatError(f"the file ends early (truncated?) at {self.where()}: {what}")
        if ch not in chars:
            raise HarFormatError(f"malformed JSON at {self.where()}: {what}, found {ch!r}")
        self.pos += 1
        return ch

    def value(self) -> Any:
        """Decode the next JSON value, reading more text (doubling) until it is complete."""
        self.peek()
        while True:
            try:
                obj, end = self._decoder.raw_decode(self.buf, self.pos)
            except json.JSONDecodeError as exc:
                size = len(self.buf) - self.pos
                at_end = exc.pos >= len(self.buf) - 1 or "Unterminated" in exc.msg
                if not at_end:
                    raise HarFormatError(
                        f"malformed JSON at character {self.consumed + exc.pos}: {exc.msg}"
                    ) from None
                if self.eof:
                    raise HarFormatError(
                        f"the file ends early (truncated?) inside a value at {self.where()}"
                    ) from None
                if size > self.max_value:
                    raise HarFormatError(
                        f"a value at {self.where()} is larger than {self.max_value} characters"
                    ) from None
                self._more(max(size, 1 << 16))
                continue
            # a number at the very end of the buffer may continue in the next chunk
            scalar = not isinstance(obj, dict | list | str)
            if end == len(self.buf) and not self.eof and scalar and self._more():
                continue
            if end - self.pos > self.max_value:
                raise HarFormatError(
                    f"a value at {self.where()} is larger than {self.max_value} characters"
                )
            self.pos = end
            return obj

    def key(self) -> str:
        k = self.value()
        if not isinstance(k, str):
            raise HarFormatError(f"malformed JSON at {self.where()}: expected a key")
        self.expect(":", "expected ':' after a key")
        return k


def _object(sc: _Scanner, what: str) -> Iterator[str]:
    """The keys of an object one by one; the caller consumes each value."""
    sc.expect("{", f"expected {what} to be an object")
    if sc.peek() == "}":
        sc.pos += 1
        return
    while True:
        yield sc.key()
        if sc.expect(",}", f"expected ',' or '}}' in {what}") == "}":
            return


def har_events(chunks: Iterable[str], *, max_value: int = MAX_VALUE_CHARS) -> Iterator[HarItem]:
    """The entries of ``log.entries`` one by one, and the other values of ``log`` whole.

    Args:
        chunks: the file's text in pieces of any size.
        max_value: the largest single value (entry, pages list) accepted, in characters.

    Yields:
        ``HarItem("entries", entry)`` per entry and ``HarItem(key, value)`` for other keys.

    Raises:
        HarFormatError: not JSON, not a HAR (no ``log.entries``), or truncated.
    """
    sc = _Scanner(chunks, max_value)
    if sc.peek() == "\ufeff":
        sc.pos += 1
    if sc.peek() == "":
        raise HarFormatError("the file is empty")
    if sc.peek() != "{":
        raise HarFormatError("not a HAR file: expected a JSON object starting with '{'")
    seen_log = seen_entries = False
    for key in _object(sc, "the HAR file"):
        if key != "log":
            sc.value()
            continue
        seen_log = True
        for lkey in _object(sc, "log"):
            if lkey != "entries":
                yield HarItem(lkey, sc.value())
                continue
            seen_entries = True
            sc.expect("[", "expected log.entries to be an array")
            if sc.peek() == "]":
                sc.pos += 1
                continue
            while True:
                entry = sc.value()
                if not isinstance(entry, dict):
                    raise HarFormatError(f"log.entries holds a non-object at {sc.where()}")
                yield HarItem("entries", entry)
                if sc.expect(",]", "expected ',' or ']' in log.entries") == "]":
                    break
    if sc.peek() != "":
        raise HarFormatError(f"unexpected text after the HAR object at {sc.where()}")
    if not seen_log:
        raise HarFormatError("not a HAR file: no 'log' object")
    if not seen_entries:
        raise HarFormatError("not a HAR file: 'log' has no 'entries'")
