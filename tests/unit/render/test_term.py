"""The stdlib terminal writer: markup, escape, wrapping, tables, trees, colour decisions."""

from __future__ import annotations

import io

import pytest

from tlsdiag.render.term import Console, Rule, cell_len, escape, render_markup
from tlsdiag.render.term_table import Table, Tree


def _out(console: Console) -> str:
    file = console.file
    assert isinstance(file, io.StringIO)
    return file.getvalue()


def _console(width: int = 100, **kw: bool) -> Console:
    return Console(file=io.StringIO(), width=width, **kw)


class _Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.fixture(autouse=True)
def _plain_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("NO_COLOR", "FORCE_COLOR", "TTY_COMPATIBLE", "COLUMNS"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("TERM", "xterm-256color")


def test_markup_tags_are_read_and_closed() -> None:
    line = render_markup("[bold red]A[/] b [dim]c [green]d[/green] e[/]")
    assert line.plain == "A b c d e"
    styles = {text: style.sgr(colour=True) for text, style in line.runs}
    assert styles == {"A": "1;31", " b ": "", "c ": "2", "d": "2;32", " e": "2"}


def test_brackets_that_are_not_tags_print_as_they_are() -> None:
    assert render_markup("[0] [1/5] a[] [ x] [A]").plain == "[0] [1/5] a[] [ x] [A]"


def test_unknown_style_words_are_ignored_like_rich() -> None:
    assert render_markup("[link=http://x]x[/link] [blink]y[/]").plain == "x y"


def test_a_closing_tag_that_closes_nothing_is_an_error() -> None:
    with pytest.raises(ValueError, match="closes nothing"):
        render_markup("a[/]")
    with pytest.raises(ValueError, match="closes nothing"):
        render_markup("[bold]a[/red]")


@pytest.mark.parametrize(
    "text",
    [
        "[bold]not bold[/]",
        "C:\\Users\\x\\",
        "\\[red]x\\\\[/]",
        "evil\\x1b[2J\\x1b[31m.test",
        "trailing backslash \\",
        "[[rule]]\\n",
        "",
    ],
)
def test_escape_round_trips_and_composes(text: str) -> None:
    assert render_markup(escape(text)).plain == text
    line = render_markup(f"[red]{escape(text)}[/] after")
    assert line.plain == text + " after"
    assert all(style.colour is None for t, style in line.runs if t == " after")


def test_escaped_text_prints_literally() -> None:
    console = _console()
    raw = "[red]x[/] \\[y]"
    console.print(f"[bold]{escape(raw)}[/]")
    assert _out(console) == "[red]x[/] \\[y]\n"


def test_markup_false_prints_raw_text() -> None:
    console = _console()
    console.print("[bold]x[/]", markup=False)
    assert _out(console) == "[bold]x[/]\n"


def test_no_ansi_when_the_stream_is_not_a_terminal() -> None:
    console = _console()
    console.print("[bold red]x[/]")
    assert _out(console) == "x\n"


def test_ansi_on_a_terminal_and_no_colour_with_no_color(monkeypatch: pytest.MonkeyPatch) -> None:
    console = Console(file=_Tty(), width=80)
    console.print("[bold red]x[/] [green]y[/]")
    assert _out(console) == "\x1b[1;31mx\x1b[0m \x1b[32my\x1b[0m\n"
    monkeypatch.setenv("NO_COLOR", "1")
    console = Console(file=_Tty(), width=80)
    console.print("[bold red]x[/] [green]y[/]")
    assert _out(console) == "\x1b[1mx\x1b[0m y\n"  # bold stays, colours go (as rich does)


def test_dumb_terminal_and_force_color(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TERM", "dumb")
    console = Console(file=_Tty(), width=80)
    console.print("[bold]x[/]")
    assert _out(console) == "x\n"
    monkeypatch.setenv("TERM", "xterm")
    monkeypatch.setenv("FORCE_COLOR", "1")
    console = _console()
    console.print("[red]x[/]")
    assert _out(console) == "\x1b[31mx\x1b[0m\n"
    console = Console(file=io.StringIO(), width=80, force_terminal=False)
    console.print("[red]x[/]")
    assert _out(console) == "x\n"


def test_width_from_columns(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "57")
    assert Console(file=io.StringIO()).width == 57
    assert Console(file=io.StringIO(), width=30).width == 30


def test_long_lines_wrap_at_words_and_fold_long_words() -> None:
    console = _console(width=10)
    console.print("alpha beta gamma abcdefghijklmnop")
    assert _out(console).splitlines() == ["alpha beta", "gamma", "abcdefghij", "klmnop"]


def test_soft_wrap_never_cuts_a_line() -> None:
    line = "x" * 50 + " " + "y" * 50
    console = Console(file=io.StringIO(), width=20, soft_wrap=True)
    console.print(line)
    console.print(line, soft_wrap=False)
    lines = _out(console).splitlines()
    assert lines[0] == line and all(len(w) <= 20 for w in lines[1:])
    assert "".join(lines[1:]) == line.replace(" ", "")


def test_wide_characters_count_two_cells() -> None:
    assert cell_len("ab") == 2 and cell_len("日本") == 4 and cell_len("é") == 1


def test_print_end_and_empty_line() -> None:
    console = _console()
    console.print()
    console.print("a", end="")
    console.print("b", "c")
    assert _out(console) == "\nab c\n"


def test_rule_spans_the_given_width() -> None:
    console = _console(width=100)
    console.print(Rule(), width=30)
    assert _out(console) == "─" * 30 + "\n"


def test_boxed_table_with_header() -> None:
    table = Table(pad_edge=False)
    table.add_column("")
    table.add_column("left")
    table.add_column("n", justify="right")
    table.add_row("[bold red]≠[/] a", "xyz", "1")
    table.add_row("b", "[dim]q[/]", "22", style="yellow")
    console = _console()
    console.print(table)
    assert _out(console).splitlines() == [
        "┏━━━━┳━━━━━━┳━━━┓",
        "┃    ┃ left ┃  n┃",
        "┡━━━━╇━━━━━━╇━━━┩",
        "│≠ a │ xyz  │  1│",
        "│b   │ q    │ 22│",
        "└────┴──────┴───┘",
    ]


def test_table_without_box_or_edge() -> None:
    table = Table(show_header=False, box=False, pad_edge=False)
    table.add_column(style="dim")
    table.add_column()
    table.add_row("key", "value")
    table.add_row("longer key", "v")
    console = _console()
    console.print(table)
    assert _out(console).splitlines() == ["key         value", "longer key  v"]
    table = Table(title="Title", show_edge=False)
    table.add_column("a")
    table.add_column("b")
    table.add_row("1", "2")
    console = _console()
    console.print(table)
    assert _out(console).splitlines() == ["Title", " a ┃ b", "━━━╇━━━", " 1 │ 2"]


def test_wide_table_wraps_cells_and_keeps_every_word() -> None:
    table = Table(show_edge=False, pad_edge=False)
    table.add_column("id", no_wrap=True)
    table.add_column("text")
    text = "some rather long text that cannot fit in a narrow terminal at all"
    words = text.split(" ")
    table.add_row("identifier-1", " ".join(words))
    console = _console(width=30)
    console.print(table)
    lines = _out(console).splitlines()
    assert all(cell_len(line) <= 30 for line in lines)
    assert all(line.startswith(("id", "━", "identifier-1", " ")) for line in lines)
    body = " ".join(line.split("│", 1)[1] for line in lines[2:])
    assert body.split() == words


def test_header_cells_align_at_the_bottom() -> None:
    table = Table(show_edge=False, pad_edge=False)
    table.add_column("machine")
    table.add_column("stores lacking the root")
    table.add_row("h1", "certifi, java, node, firefox, curl")
    console = _console(width=30)
    console.print(table)
    lines = _out(console).splitlines()
    assert lines[0].startswith("        ┃") and lines[1].startswith("machine ┃")


def test_tree_draws_guides_under_multi_line_labels() -> None:
    tree = Tree("[bold]chain[/]")
    node = tree.add("[0] leaf\nissuer mid")
    node.add("[1] mid")
    tree.add("other")
    console = _console()
    console.print(tree)
    assert _out(console).splitlines() == [
        "chain",
        "├── [0] leaf",
        "│   issuer mid",
        "│   └── [1] mid",
        "└── other",
    ]


def test_status_is_silent_off_a_terminal() -> None:
    console = _console()
    with console.status("working") as status:
        status.update("still working")
    assert _out(console) == ""


def test_status_draws_and_clears_on_a_terminal() -> None:
    console = Console(file=_Tty(), width=40)
    with console.status("working"):
        pass
    out = _out(console)
    assert out.startswith("\x1b[?25l") and out.endswith("\r\x1b[2K\x1b[?25h")
