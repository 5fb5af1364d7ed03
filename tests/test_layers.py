"""Imports point inward: every arrow between tlsdiag modules must be allowed by the layer table
of STYLE.md §2 (mirrored in the README's architecture section), and no two modules import
each other at module top level.

Every import counts, including those inside functions (the lazy imports of the CLI) and under
``TYPE_CHECKING``; only the cycle check ignores function bodies and ``TYPE_CHECKING`` blocks,
since those do not run when the module is imported.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator, Mapping, Set
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "tlsdiag"

BASE = frozenset({"model", "codes", "errors"})
# layer -> the other layers it may import (a layer may always import itself and the version)
ALLOWED: Mapping[str, frozenset[str]] = {
    "cli": frozenset({"commands", "render", "proxy", "lab", "net", "stores", "core", "kb"} | BASE),
    "commands": frozenset({"net", "stores", "proxy", "lab", "core", "kb"} | BASE),
    "render": frozenset({"model", "codes", "kb"}),
    "proxy": frozenset({"net", "stores", "core", "kb"} | BASE),
    "lab": frozenset({"net", "stores", "core", "kb"} | BASE),
    "net": frozenset({"core", "kb"} | BASE),
    "stores": frozenset({"core", "kb"} | BASE),
    "core": frozenset({"kb"} | BASE),
    "kb": BASE,
    "model": frozenset({"codes", "errors"}),
    "codes": frozenset(),
    "errors": frozenset(),
}
# Named modules a layer may import beyond its table row: the proxy serves the block page
# that render/blockpage.py draws (plain data in, bytes out), as the table in STYLE.md says.
EXCEPTIONS: Mapping[str, frozenset[str]] = {"proxy": frozenset({"tlsdiag.render.blockpage"})}
PACKAGE_LAYERS = ("cli", "commands", "render", "proxy", "lab", "net", "stores", "core", "kb")
VERSION = "version"  # the package itself: ``tlsdiag/__init__.py`` holds ``__version__`` only


def layer_of(module: str) -> str:
    """The layer of a dotted module name inside tlsdiag.

    Raises:
        LookupError: a module the table does not place (add it to the table and STYLE.md).
    """
    parts = module.split(".")
    if parts[0] != "tlsdiag":
        raise ValueError(f"{module}: not a tlsdiag module")
    if len(parts) == 1:
        return VERSION
    top = parts[1]
    if top == "__main__":
        return "cli"
    if top in PACKAGE_LAYERS:
        return top
    if top in BASE:
        return top
    if top == "facts":  # tlsdiag.facts: the typed facts per command, part of the model
        return "model"
    # knowledge loaders: tlsdiag.kb_*, tlsdiag.trust_types today, tlsdiag.kb.* after the move;
    # tlsdiag.data holds the TOML they read
    if top.startswith("kb_") or top in {"trust_types", "data"}:
        return "kb"
    raise LookupError(f"{module}: no layer in the table (tests/test_layers.py, STYLE.md §2)")


def _is_module(name: str) -> bool:
    rel = Path(*name.split(".")[1:])
    return (PACKAGE / rel).with_suffix(".py").is_file() or (PACKAGE / rel / "__init__.py").is_file()


def _resolve_from(node: ast.ImportFrom, module: str, is_package: bool) -> str:
    if not node.level:
        return node.module or ""
    base = module.split(".") if is_package else module.split(".")[:-1]
    base = base[: len(base) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def _targets(node: ast.AST, module: str, is_package: bool) -> Iterator[str]:
    """The tlsdiag modules one import statement loads."""
    if isinstance(node, ast.Import):
        for alias in node.names:
            if alias.name.split(".")[0] == "tlsdiag":
                yield alias.name
    elif isinstance(node, ast.ImportFrom):
        source = _resolve_from(node, module, is_package)
        if source.split(".")[0] != "tlsdiag":
            return
        for alias in node.names:
            sub = f"{source}.{alias.name}"
            # ``from tlsdiag.core import certs`` loads a module; ``from tlsdiag import
            # __version__`` or ``from tlsdiag.model import Report`` loads a name of ``source``
            yield sub if _is_module(sub) else source


def imports_of(module: str, source: str, *, is_package: bool = False) -> set[str]:
    """Every tlsdiag module that ``source`` imports, anywhere in the file."""
    tree = ast.parse(source)
    return {t for node in ast.walk(tree) for t in _targets(node, module, is_package)}


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _top_level(body: list[ast.stmt]) -> Iterator[ast.stmt]:
    """Statements that run on import: module level, into if/try/with, never into functions,
    classes' methods or ``if TYPE_CHECKING:``."""
    for stmt in body:
        if isinstance(stmt, ast.If):
            if not _is_type_checking(stmt.test):
                yield from _top_level(stmt.body)
            yield from _top_level(stmt.orelse)
        elif isinstance(stmt, ast.Try):
            for block in (stmt.body, stmt.orelse, stmt.finalbody):
                yield from _top_level(block)
            for handler in stmt.handlers:
                yield from _top_level(handler.body)
        elif isinstance(stmt, ast.With):
            yield from _top_level(stmt.body)
        else:
            yield stmt


def top_level_imports_of(module: str, source: str, *, is_package: bool = False) -> set[str]:
    """The tlsdiag modules ``source`` imports when it is itself imported."""
    tree = ast.parse(source)
    return {t for stmt in _top_level(tree.body) for t in _targets(stmt, module, is_package)} - {
        module
    }


def violations(module: str, source: str, *, is_package: bool = False) -> list[str]:
    """The arrows out of ``module`` that the layer table forbids, as ``a -> b (x -> y)``."""
    layer = layer_of(module)
    bad = []
    for target in sorted(imports_of(module, source, is_package=is_package)):
        other = layer_of(target)
        if other in (layer, VERSION) or other in ALLOWED[layer]:
            continue
        if target in EXCEPTIONS.get(layer, ()):
            continue
        bad.append(f"{module} -> {target} ({layer} may not import {other})")
    return bad


def find_cycles(graph: Mapping[str, Set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    out: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                out.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def _modules() -> Iterator[tuple[str, str, bool]]:
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(PACKAGE.parent).with_suffix("")
        parts = list(rel.parts)
        is_package = parts[-1] == "__init__"
        if is_package:
            parts.pop()
        yield ".".join(parts), path.read_text(encoding="utf-8"), is_package


MODULES = list(_modules())


def test_the_package_is_found() -> None:
    names = {m for m, _, _ in MODULES}
    assert {"tlsdiag.cli.app", "tlsdiag.commands.check", "tlsdiag.core.chain"} <= names


@pytest.mark.parametrize(("module", "source", "is_package"), MODULES, ids=[m[0] for m in MODULES])
def test_imports_follow_the_layer_table(module: str, source: str, is_package: bool) -> None:
    assert violations(module, source, is_package=is_package) == []


def test_no_import_cycle_at_module_level() -> None:
    graph = {
        module: top_level_imports_of(module, source, is_package=is_package)
        for module, source, is_package in MODULES
    }
    assert find_cycles(graph) == []


LIGHT = frozenset({VERSION, "cli", "model", "codes", "errors"})


@pytest.mark.parametrize(
    ("module", "source", "is_package"),
    [m for m in MODULES if layer_of(m[0]) == "cli"],
    ids=[m[0] for m in MODULES if layer_of(m[0]) == "cli"],
)
def test_cli_imports_commands_lazily(module: str, source: str, is_package: bool) -> None:
    """STYLE §10: a cli module loads only light modules on import; commands, render and the
    rest are imported inside the command function."""
    eager = top_level_imports_of(module, source, is_package=is_package)
    assert sorted(t for t in eager if layer_of(t) not in LIGHT) == []


# --- the checker itself: every positive case has a negative control ---------------------------


@pytest.mark.parametrize(
    ("module", "source", "forbidden"),
    [
        ("tlsdiag.net.fake", "from tlsdiag.stores.bundles import public_roots\n", "stores"),
        ("tlsdiag.stores.fake", "def f():\n    import tlsdiag.net.probe\n", "net"),
        ("tlsdiag.net.fake", "from tlsdiag.commands.check import run_check\n", "commands"),
        ("tlsdiag.core.fake", "def f():\n    from tlsdiag.net import aia\n", "net"),
        ("tlsdiag.render.fake", "from tlsdiag.core.chain import chain_facts\n", "core"),
        ("tlsdiag.render.fake", "from ..lab.cases import CASES\n", "lab"),
        ("tlsdiag.commands.fake", "from tlsdiag.render import render_reports\n", "render"),
        ("tlsdiag.commands.fake", "from tlsdiag.cli._common import emit\n", "cli"),
        ("tlsdiag.lab.fake", "from tlsdiag.render.console import render_console\n", "render"),
        (
            "tlsdiag.kb_fake",
            "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import tlsdiag.core.certs\n",
            "core",
        ),
        ("tlsdiag.kb.fake", "from tlsdiag.core import certs\n", "core"),
        ("tlsdiag.codes", "from tlsdiag.model import Severity\n", "model"),
    ],
)
def test_checker_rejects_a_forbidden_arrow(module: str, source: str, forbidden: str) -> None:
    [bad] = violations(module, source)
    assert f"may not import {forbidden}" in bad


@pytest.mark.parametrize(
    ("module", "source"),
    [
        ("tlsdiag.cli.fake", "def f():\n    from tlsdiag.render.check import render_check\n"),
        ("tlsdiag.commands.fake", "from tlsdiag.net.probe import probe\nimport tlsdiag.stores\n"),
        ("tlsdiag.proxy.fake", "from tlsdiag.net.aia import fetch_many\n"),
        ("tlsdiag.core.fake", "from tlsdiag import __version__, codes\nfrom . import certs\n"),
        ("tlsdiag.core.fake", "from tlsdiag.kb_vendors import vendors\n"),
        ("tlsdiag.core.fake", "from tlsdiag.kb.vendors import vendors\n"),
        ("tlsdiag.trust_types", "from tlsdiag.kb import load_toml\n"),
        ("tlsdiag.render.fake", "from tlsdiag.kb import findings\nfrom tlsdiag import codes\n"),
        ("tlsdiag.net.fake", "import os\nfrom cryptography import x509\n"),
    ],
)
def test_checker_accepts_an_allowed_arrow(module: str, source: str) -> None:
    assert violations(module, source) == []


def test_checker_rejects_a_module_outside_the_table() -> None:
    with pytest.raises(LookupError, match=r"tlsdiag\.bundle"):
        violations("tlsdiag.bundle", "import tlsdiag.model\n")


def test_cycle_finder_finds_a_cycle_and_only_real_ones() -> None:
    graph = {"x": {"y"}, "y": {"z"}, "z": {"x"}, "w": {"x"}}
    assert find_cycles(graph) == [["x", "y", "z"]]
    assert find_cycles({"x": {"y"}, "y": set(), "w": {"x", "y"}}) == []
    # a lazy import inside a function, or one under TYPE_CHECKING, does not run on import
    lazy = "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import tlsdiag.net.a\n"
    lazy += "def f():\n    import tlsdiag.net.a\n"
    assert top_level_imports_of("tlsdiag.net.b", lazy) == set()
    assert top_level_imports_of("tlsdiag.net.b", "import tlsdiag.net.a\n") == {"tlsdiag.net.a"}
