"""A small terminal writer: the part of rich that tlsdiag's console output uses, on the stdlib.

Markup is rich's subset that tlsdiag writes: ``[bold]``, ``[dim]``, ``[italic]``,
``[underline]``, colours (``[red]``, ``[bold yellow]`` ...), closed by ``[/]`` or ``[/red]``. A
tag starts with a lower-case letter (or ``#``, ``/``, ``@``), so ``[0]`` or ``[1/5]`` print as
they are. ``escape`` puts a backslash before every ``[`` and ``\\`` of a text, and printing the
result shows the text exactly, whatever it holds: network strings never become markup.

ANSI styles are written only to a terminal (``isatty``, or ``FORCE_COLOR`` set non-empty,
``TTY_COMPATIBLE=1``), never when ``TERM`` is ``dumb``; ``NO_COLOR`` (non-empty) drops the
colours and keeps bold and dim, as rich does. Text is word-wrapped at the console width unless
``soft_wrap`` is on; tables and trees live in ``term_table``.
"""

from __future__ import annotations

import itertools
import os
import re
import sys
import threading
import unicodedata
from collections.abc import Iterator
from contextlib import contextmanager
from typing import IO, NamedTuple, Protocol

_TAG = re.compile(r"\\\\|\\\[|\[([a-z#/@][^\[\]]*)\]")
_ESCAPE = re.compile(r"[\\\[]")


def escape(text: str) -> str:
    """``text`` as markup that prints exactly ``text`` (``[`` and ``\\`` get a backslash)."""
    return _ESCAPE.sub(lambda m: "\\" + m.group(), text)


_ATTRS = {"bold": 1, "dim": 2, "italic": 3, "underline": 4}
_COLOURS = {
    name: i
    for i, name in enumerate(
        ("black", "red", "green", "yellow", "blue", "magenta", "cyan", "white")
    )
}


class Style(NamedTuple):
    """Text attributes (bold, dim ...) and one foreground colour (an SGR code) or none.

    A NamedTuple (a frozen dataclass costs ~0.7 ms to build at every start); ``+`` and truth are
    this class's own, not a tuple's.
    """

    attrs: frozenset[int] = frozenset()
    colour: int | None = None

    @classmethod
    def parse(cls, words: str) -> Style:
        """``"bold red"`` -> Style; words it does not know are ignored (as rich ignores a
        style it cannot find)."""
        attrs: set[int] = set()
        colour = None
        for word in words.split():
            if word in _ATTRS:
                attrs.add(_ATTRS[word])
            elif word in _COLOURS:
                colour = 30 + _COLOURS[word]
            elif word.startswith("bright_") and word[7:] in _COLOURS:
                colour = 90 + _COLOURS[word[7:]]
        return cls(frozenset(attrs), colour)

    def __add__(self, inner: Style) -> Style:  # type: ignore[override]
        """This style with ``inner`` on top: attributes add up, the inner colour wins."""
        if not self:
            return inner
        if not inner:
            return self
        colour = self.colour if inner.colour is None else inner.colour
        return Style(self.attrs | inner.attrs, colour)

    def __bool__(self) -> bool:
        return bool(self.attrs) or self.colour is not None

    def sgr(self, *, colour: bool) -> str:
        """The ANSI parameters (``"1;31"``), without the colour when ``colour`` is false."""
        codes = sorted(self.attrs)
        if colour and self.colour is not None:
            codes.append(self.colour)
        return ";".join(map(str, codes))


NULL = Style()


def cell_len(text: str) -> int:
    """Terminal cells ``text`` takes: wide (CJK) characters 2, combining marks 0."""
    if text.isascii():
        return len(text)
    width = 0
    for ch in text:
        if unicodedata.combining(ch):
            continue
        width += 2 if unicodedata.east_asian_width(ch) in "WF" else 1
    return width


class Line:
    """One line of styled text: runs of (text, style)."""

    __slots__ = ("runs",)

    def __init__(self, runs: list[tuple[str, Style]] | None = None) -> None:
        self.runs = runs if runs is not None else []

    @property
    def plain(self) -> str:
        """The text without styles."""
        return "".join(text for text, _ in self.runs)

    def append(self, text: str, style: Style = NULL) -> None:
        """Add text at the end."""
        if text:
            self.runs.append((text, style))

    def extend(self, other: Line) -> None:
        """Add another line's runs at the end."""
        self.runs.extend(other.runs)

    def slice(self, start: int, end: int) -> Line:
        """The characters ``start:end`` (string offsets), styles kept."""
        out = Line()
        pos = 0
        for text, style in self.runs:
            lo, hi = max(start - pos, 0), min(end - pos, len(text))
            if lo < hi:
                out.runs.append((text[lo:hi], style))
            pos += len(text)
            if pos >= end:
                break
        return out

    def styled(self, base: Style) -> Line:
        """This line under ``base`` (a cell's column or row style)."""
        if not base:
            return self
        return Line([(text, base + style) for text, style in self.runs])

    def rstrip(self) -> Line:
        """Without trailing spaces."""
        runs = list(self.runs)
        while runs:
            text, style = runs[-1]
            stripped = text.rstrip(" ")
            if stripped:
                runs[-1] = (stripped, style)
                break
            runs.pop()
        return Line(runs)

    def split_lines(self) -> list[Line]:
        """Split at newlines."""
        lines = [Line()]
        for text, style in self.runs:
            parts = text.split("\n")
            lines[-1].append(parts[0], style)
            for part in parts[1:]:
                lines.append(Line())
                lines[-1].append(part, style)
        return lines

    def pad(self, width: int) -> Line:
        """Padded with spaces to ``width`` cells."""
        missing = width - cell_len(self.plain)
        return Line([*self.runs, (" " * missing, NULL)]) if missing > 0 else self


def render_markup(markup: str, style: Style = NULL) -> Line:
    """Markup to styled text (may hold newlines).

    Raises:
        ValueError: a closing tag closes nothing that is open.
    """
    line = Line()
    if "[" not in markup and "\\" not in markup:
        line.append(markup, style)
        return line
    stack: list[tuple[str, Style]] = []
    current = style
    pos = 0
    for m in _TAG.finditer(markup):
        line.append(markup[pos : m.start()], current)
        pos = m.end()
        tag = m.group(1)
        if tag is None:  # an escaped backslash or bracket
            line.append(m.group()[1], current)
        elif tag.startswith("/"):
            name = tag[1:].strip()
            index = len(stack) - 1
            if name:
                while index >= 0 and stack[index][0] != name:
                    index -= 1
            if index < 0:
                raise ValueError(f"closing tag [{tag}] closes nothing open in {markup!r}")
            del stack[index]
            current = style
            for _, s in stack:
                current = current + s
        else:
            words = tag.partition("=")[0].strip()
            stack.append((words, Style.parse(words)))
            current = current + stack[-1][1]
    line.append(markup[pos:], current)
    return line


_WORDS = re.compile(r"\s*\S+\s*")


def chop(text: str, width: int) -> list[str]:
    """``text`` cut into pieces of at most ``width`` cells."""
    pieces: list[str] = []
    piece, used = "", 0
    for ch in text:
        w = cell_len(ch)
        if used + w > width and piece:
            pieces.append(piece)
            piece, used = "", 0
        piece += ch
        used += w
    pieces.append(piece)
    return pieces


def wrap(line: Line, width: int) -> list[Line]:
    """Word-wrap one line at ``width`` cells; a word longer than the width is folded, never cut.

    Breaks fall where rich breaks (before a word that does not fit); the spaces at a break are
    dropped.
    """
    plain = line.plain
    if cell_len(plain) <= width:
        return [line]
    width = max(width, 1)
    breaks: list[int] = []
    offset = 0
    for m in _WORDS.finditer(plain):
        start, word = m.start(), m.group()
        length = cell_len(word.rstrip())
        if width - offset >= length:
            offset += cell_len(word)
        elif length > width:
            pieces = chop(word, width)
            for i, piece in enumerate(pieces):
                if start:
                    breaks.append(start)
                if i == len(pieces) - 1:
                    offset = cell_len(piece)
                else:
                    start += len(piece)
        elif offset and start:
            breaks.append(start)
            offset = cell_len(word)
    bounds = [0, *breaks, len(plain)]
    return [line.slice(a, b).rstrip() for a, b in itertools.pairwise(bounds)]


class Renderable(Protocol):
    """Something ``Console.print`` lays out: a table, a tree, a rule."""

    def render_lines(self, console: Console, width: int) -> list[Line]:
        """The lines, at most ``width`` cells wide."""
        ...


class Rule:
    """A horizontal line across the width."""

    def render_lines(self, console: Console, width: int) -> list[Line]:
        """One line of ``─``."""
        return [Line([("─" * width, Style.parse("bright_green"))])]


class Console:
    """Writes markup and renderables to a stream (stdout by default, stderr if asked).

    Args:
        file: the stream; None writes to the current ``sys.stdout`` / ``sys.stderr``.
        stderr: write to stderr when ``file`` is None.
        width: cells per line; None reads ``COLUMNS`` or the terminal (80 if neither).
        no_color: no colours (bold and dim stay); None reads ``NO_COLOR``.
        force_terminal: write ANSI styles even to a non-terminal (True) or never (False).
        soft_wrap: do not wrap printed text (a file or pipe gets each line whole).
    """

    def __init__(
        self,
        file: IO[str] | None = None,
        *,
        stderr: bool = False,
        width: int | None = None,
        no_color: bool | None = None,
        force_terminal: bool | None = None,
        soft_wrap: bool = False,
    ) -> None:
        self._file = file
        self.stderr = stderr
        columns = os.environ.get("COLUMNS", "")
        self._width = width if width is not None else (int(columns) if columns.isdigit() else None)
        self.no_color = no_color if no_color is not None else bool(os.environ.get("NO_COLOR"))
        self._force_terminal = force_terminal
        self.soft_wrap = soft_wrap
        self._lock = threading.RLock()

    @property
    def file(self) -> IO[str]:
        """Where output goes."""
        if self._file is not None:
            return self._file
        return sys.stderr if self.stderr else sys.stdout

    @property
    def is_terminal(self) -> bool:
        """Whether the stream takes escape sequences (rich's rules: TTY_COMPATIBLE,
        FORCE_COLOR, then ``isatty``)."""
        if self._force_terminal is not None:
            return self._force_terminal
        compatible = os.environ.get("TTY_COMPATIBLE", "")
        if compatible in ("0", "1"):
            return compatible == "1"
        force = os.environ.get("FORCE_COLOR")
        if force is not None:
            return force != ""
        try:
            return bool(self.file.isatty())
        except (ValueError, OSError, AttributeError):
            return False

    @property
    def is_dumb_terminal(self) -> bool:
        """A terminal that takes no escape sequences (``TERM=dumb``)."""
        return os.environ.get("TERM", "").lower() in ("dumb", "unknown") and self.is_terminal

    @property
    def styled(self) -> bool:
        """Whether ANSI styles are written."""
        return self.is_terminal and not self.is_dumb_terminal

    @property
    def width(self) -> int:
        """Cells per line."""
        if self._width is not None:
            return self._width
        if self.is_dumb_terminal:
            return 80
        for fd in (0, 1, 2):
            try:
                columns = os.get_terminal_size(fd).columns
            except (AttributeError, ValueError, OSError):
                continue
            if columns:
                return columns
        return 80

    def render_str(self, text: str, *, markup: bool = True) -> Line:
        """Markup (or plain text) to styled text, tabs expanded."""
        if "\t" in text:
            text = text.expandtabs(8)
        return render_markup(text) if markup else Line([(text, NULL)])

    def lines(
        self, obj: str | Renderable, *, width: int, markup: bool = True, soft_wrap: bool = False
    ) -> list[Line]:
        """The lines one object prints as."""
        if isinstance(obj, str):
            lines = self.render_str(obj, markup=markup).split_lines()
            if soft_wrap:
                return lines
            return [piece for line in lines for piece in wrap(line, width)]
        return obj.render_lines(self, width)

    def encode(self, lines: list[Line]) -> str:
        """Lines as text for the stream, with ANSI styles when it takes them."""
        styled = self.styled
        colour = styled and not self.no_color
        out: list[str] = []
        for i, line in enumerate(lines):
            if i:
                out.append("\n")
            for text, style in line.runs:
                sgr = style.sgr(colour=colour) if styled and style else ""
                out.append(f"\x1b[{sgr}m{text}\x1b[0m" if sgr else text)
        return "".join(out)

    def print(
        self,
        *objects: str | Renderable,
        end: str = "\n",
        markup: bool = True,
        soft_wrap: bool | None = None,
        width: int | None = None,
    ) -> None:
        """Print markup strings (joined by a space) and renderables, each on its own lines.

        Args:
            objects: markup strings, or a ``Table``, ``Tree`` or ``Rule``.
            end: written after the last line.
            markup: read ``[bold]`` ... in strings (False prints them as they are).
            soft_wrap: do not wrap (None: the console's setting).
            width: at most this many cells (never more than the console's width).
        """
        wrap_off = self.soft_wrap if soft_wrap is None else soft_wrap
        cells = min(width, self.width) if width is not None else self.width
        lines: list[Line] = []
        texts: list[str] = []
        for obj in (*objects, None):
            if isinstance(obj, str):
                texts.append(obj)
                continue
            if texts:
                lines += self.lines(" ".join(texts), width=cells, markup=markup, soft_wrap=wrap_off)
                texts = []
            if obj is not None:
                lines += self.lines(obj, width=cells)
        text = self.encode(lines) + end if lines else end
        with self._lock:
            self.file.write(text)
            self.file.flush()

    @contextmanager
    def status(self, message: str) -> Iterator[Status]:
        """A spinner and ``message`` on one line while the block runs (terminals only; the
        line is cleared at the end)."""
        spinner = Status(self, message)
        if self.styled:
            spinner.start()
        try:
            yield spinner
        finally:
            spinner.stop()


_DOTS = "⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏"


class Status:
    """The line ``Console.status`` shows; ``update`` changes its message."""

    def __init__(self, console: Console, message: str) -> None:
        self.console = console
        self.message = message
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def update(self, message: str) -> None:
        """Show another message."""
        self.message = message

    def start(self) -> None:
        """Hide the cursor and start drawing (a daemon thread, 12 frames a second)."""
        self.console.file.write("\x1b[?25l")
        self._thread = threading.Thread(target=self._run, name="tlsdiag-status", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        frame = 0
        while not self._stop.is_set():
            line = Line([(_DOTS[frame % len(_DOTS)], Style.parse("green"))])
            line.append(" ")
            line.extend(render_markup(self.message))
            with self.console._lock:
                self.console.file.write(
                    "\r\x1b[2K" + self.console.encode(wrap(line, self.console.width - 1)[:1])
                )
                self.console.file.flush()
            frame += 1
            self._stop.wait(1 / 12)

    def stop(self) -> None:
        """Stop, clear the line and show the cursor again."""
        if self._thread is None:
            return
        self._stop.set()
        self._thread.join()
        self._thread = None
        with self.console._lock:
            self.console.file.write("\r\x1b[2K\x1b[?25h")
            self.console.file.flush()
