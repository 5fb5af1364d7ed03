"""Tables and trees for ``render.term.Console`` (the shapes rich draws, on the stdlib).

A table sizes each column to its widest cell; when the table is wider than the console, the
widest wrappable columns shrink first (rich's rule) and cells word-wrap, folding a word longer
than its column: nothing is cut off. The boxed style is rich's default (heavy header lines).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal, NamedTuple

from tlsdiag.render.term import NULL, Line, Style, cell_len, wrap

if TYPE_CHECKING:
    from tlsdiag.render.term import Console

# rich's HEAVY_HEAD: top, header row, header separator, body row, bottom
_TOP = "┏━┳┓"
_HEAD = "┃ ┃┃"
_HEAD_SEP = "┡━╇┩"
_ROW = "│ ││"
_BOTTOM = "└─┴┘"


class _Column(NamedTuple):
    header: str
    style: Style
    justify: Literal["left", "right"]
    no_wrap: bool
    cells: list[str]  # filled row by row


def _line_width(line: Line) -> int:
    """The longest line of a cell, in cells."""
    return max((cell_len(part) for part in line.plain.split("\n")), default=0)


def _reduce(excess: int, ratios: list[int], maximums: list[int], values: list[int]) -> list[int]:
    """Take ``excess`` off ``values`` in proportion to ``ratios``, at most ``maximums`` each."""
    ratios = [r if m else 0 for r, m in zip(ratios, maximums, strict=True)]
    total_ratio = sum(ratios)
    if not total_ratio:
        return values[:]
    remaining = excess
    out = []
    for ratio, maximum, value in zip(ratios, maximums, values, strict=True):
        if ratio and total_ratio > 0:
            taken = min(maximum, round(ratio * remaining / total_ratio))
            out.append(value - taken)
            remaining -= taken
            total_ratio -= ratio
        else:
            out.append(value)
    return out


def _collapse(widths: list[int], wrapable: list[bool], max_width: int) -> list[int]:
    """Shrink the widest wrappable columns towards the next widest until the table fits."""
    total = sum(widths)
    excess = total - max_width
    if not any(wrapable):
        return widths
    while total and excess > 0:
        widest = max(w for w, ok in zip(widths, wrapable, strict=True) if ok)
        second = max(w if ok and w != widest else 0 for w, ok in zip(widths, wrapable, strict=True))
        difference = widest - second
        ratios = [int(w == widest and ok) for w, ok in zip(widths, wrapable, strict=True)]
        if not any(ratios) or not difference:
            break
        widths = _reduce(excess, ratios, [min(excess, difference)] * len(widths), widths)
        total = sum(widths)
        excess = total - max_width
    return widths


class Table:
    """Columns of markup cells, with an optional title above.

    Args:
        title: markup shown above the table, left-aligned, wrapped at the table's width.
        show_header: a first row of column headers (bold).
        box: rich's default heavy-headed box lines; False separates columns by spaces only.
        show_edge: the outer box lines.
        pad_edge: a space inside the left and right edges.
    """

    def __init__(
        self,
        *,
        title: str | None = None,
        show_header: bool = True,
        box: bool = True,
        show_edge: bool = True,
        pad_edge: bool = True,
    ) -> None:
        self.title = title
        self.show_header = show_header
        self.box = box
        self.show_edge = show_edge
        self.pad_edge = pad_edge
        self.columns: list[_Column] = []
        self.row_styles: list[Style] = []

    def add_column(
        self,
        header: str = "",
        *,
        style: str = "",
        justify: Literal["left", "right"] = "left",
        no_wrap: bool = False,
    ) -> None:
        """A column: header markup, a style for its cells, alignment, and whether it may wrap
        (a ``no_wrap`` column shrinks only when nothing else can)."""
        self.columns.append(_Column(header, Style.parse(style), justify, no_wrap, []))

    def add_row(self, *cells: str, style: str | None = None) -> None:
        """One row of markup cells (missing cells are empty) and an optional row style."""
        for i, column in enumerate(self.columns):
            column.cells.append(cells[i] if i < len(cells) else "")
        self.row_styles.append(Style.parse(style or ""))

    def _padding(self, index: int) -> tuple[int, int]:
        left = 0 if index == 0 and not self.pad_edge else 1
        right = 0 if index == len(self.columns) - 1 and not self.pad_edge else 1
        return left, right

    def _widths(self, cells: list[list[Line]], max_width: int) -> list[int]:
        widths: list[int] = []
        for i, column_cells in enumerate(cells):
            pad = sum(self._padding(i))
            longest = max((_line_width(c) for c in column_cells), default=0)
            widths.append(min(longest + pad, max_width) or 1)
        if sum(widths) > max_width:
            wrapable = [not c.no_wrap for c in self.columns]
            widths = _collapse(widths, wrapable, max_width)
            if sum(widths) > max_width:
                excess = sum(widths) - max_width
                widths = _reduce(excess, [1] * len(widths), widths, widths)
        return widths

    def render_lines(self, console: Console, width: int) -> list[Line]:
        """The table's lines (title, box lines, rows)."""
        if not self.columns:
            return []
        edge = self.box and self.show_edge
        extra = (2 if edge else 0) + (len(self.columns) - 1 if self.box else 0)
        header_style = Style.parse("bold")
        rows: list[list[Line]] = []
        styles: list[Style] = []
        if self.show_header:
            rows.append([console.render_str(c.header) for c in self.columns])
            styles.append(header_style)
        for r, row_style in enumerate(self.row_styles):
            rows.append([console.render_str(c.cells[r]) for c in self.columns])
            styles.append(row_style)
        by_column = [[row[i] for row in rows] for i in range(len(self.columns))]
        widths = self._widths(by_column, max(width - extra, 1))
        out: list[Line] = []
        table_width = sum(widths) + extra
        if self.title:
            title = console.render_str(self.title).styled(Style.parse("italic"))
            for line in title.split_lines():
                out += wrap(line, table_width)
        if edge:
            out.append(self._rule(_TOP, widths))
        for r, (row, row_style) in enumerate(zip(rows, styles, strict=True)):
            head = self.show_header and r == 0
            out += self._row(row, widths, row_style, _HEAD if head else _ROW, bottom=head)
            if head and self.box:
                out.append(self._rule(_HEAD_SEP, widths))
        if edge:
            out.append(self._rule(_BOTTOM, widths))
        return out

    def _rule(self, chars: str, widths: list[int]) -> Line:
        left, fill, cross, right = chars[0], chars[1], chars[2], chars[3]
        text = cross.join(fill * w for w in widths)
        return Line([(left + text + right if self.show_edge else text, NULL)])

    def _row(
        self, row: list[Line], widths: list[int], row_style: Style, chars: str, *, bottom: bool
    ) -> list[Line]:
        """One row's lines; cells top-aligned (``bottom``: bottom-aligned, as headers are)."""
        cells: list[list[Line]] = []
        for i, (cell, column, w) in enumerate(zip(row, self.columns, widths, strict=True)):
            left, right = self._padding(i)
            inner = max(w - left - right, 1)
            lines = [p for line in cell.split_lines() for p in wrap(line, inner)]
            padded: list[Line] = []
            for line in lines:
                gap = " " * max(inner - cell_len(line.plain), 0)
                body = Line([(gap, NULL), *line.runs]) if column.justify == "right" else line
                body = Line([(" " * left, NULL), *body.pad(inner).runs, (" " * right, NULL)])
                padded.append(body.styled(column.style + row_style))
            cells.append(padded)
        height = max(len(c) for c in cells)
        if bottom:
            blank = [Line([(" " * w, NULL)]) for w in widths]
            cells = [[blank[i]] * (height - len(c)) + c for i, c in enumerate(cells)]
        edge_chars = self.box and self.show_edge
        sep = chars[2] if self.box else ""
        out: list[Line] = []
        for n in range(height):
            text = Line()
            if edge_chars:
                text.append(chars[0])
            for i, (lines_, w) in enumerate(zip(cells, widths, strict=True)):
                if i:
                    text.append(sep)
                text.extend(lines_[n] if n < len(lines_) else Line([(" " * w, NULL)]))
            if edge_chars:
                text.append(chars[3])
            out.append(text.rstrip())
        return out


_SPACE, _CONTINUE, _FORK, _END = "    ", "│   ", "├── ", "└── "


class Tree:
    """A label with child trees, drawn with rich's guide lines (``├──``, ``└──``)."""

    def __init__(self, label: str) -> None:
        self.label = label
        self.children: list[Tree] = []

    def add(self, label: str) -> Tree:
        """A child tree with ``label``; returned so it can have children too."""
        child = Tree(label)
        self.children.append(child)
        return child

    def render_lines(self, console: Console, width: int) -> list[Line]:
        """The label's lines, then each child's, indented under guide lines."""
        out: list[Line] = []
        self._render(console, width, [], out)
        return out

    def _render(self, console: Console, width: int, prefix: list[str], out: list[Line]) -> None:
        label = console.render_str(self.label)
        used = sum(len(p) for p in prefix)
        lines = [p for line in label.split_lines() for p in wrap(line, max(width - used, 1))]
        for n, line in enumerate(lines):
            guides = prefix
            if n and prefix:
                guides = [*prefix[:-1], _SPACE if prefix[-1] == _END else _CONTINUE]
            row = Line([("".join(guides), NULL)]) if guides else Line()
            row.extend(line)
            out.append(row)
        above = [*prefix[:-1], _SPACE if prefix[-1] == _END else _CONTINUE] if prefix else []
        for i, child in enumerate(self.children):
            last = i == len(self.children) - 1
            child._render(console, width, [*above, _END if last else _FORK], out)
