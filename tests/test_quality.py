"""The code stays typed and lint-clean: mypy (strict, on the package, the tests and bench/; see
``[tool.mypy]``) and ruff, as CI gates. Both are pinned exactly in the ``test`` extra."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, cwd=ROOT, capture_output=True, text=True, timeout=240)


def test_ruff_check_and_format() -> None:
    lint = _run(sys.executable, "-m", "ruff", "check", "tlsdiag", "tests", "bench")
    assert lint.returncode == 0, lint.stdout + lint.stderr
    fmt = _run(sys.executable, "-m", "ruff", "format", "--check", "tlsdiag", "tests", "bench")
    assert fmt.returncode == 0, fmt.stdout + fmt.stderr


def test_mypy_strict_on_the_package_tests_and_benchmarks() -> None:
    out = _run(sys.executable, "-m", "mypy")
    assert out.returncode == 0, out.stdout + out.stderr


def _namedtuple_fields_made_by_dataclasses_field(path: Path) -> list[str]:
    import ast

    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = []
    for cls in (n for n in ast.walk(tree) if isinstance(n, ast.ClassDef)):
        if not any(ast.unparse(b).endswith("NamedTuple") for b in cls.bases):
            continue
        for stmt in cls.body:
            value = stmt.value if isinstance(stmt, ast.AnnAssign) else None
            if isinstance(value, ast.Call) and ast.unparse(value.func).endswith("field"):
                found.append(f"{path.relative_to(ROOT)}:{stmt.lineno} {cls.name}")
    return found


def test_no_namedtuple_takes_a_dataclasses_field_as_its_default() -> None:
    """``field(default_factory=...)`` means nothing to a NamedTuple: the Field object itself
    becomes the default, so a record made without that argument carries it instead of a value."""
    found = [
        hit
        for path in sorted((ROOT / "tlsdiag").rglob("*.py"))
        for hit in _namedtuple_fields_made_by_dataclasses_field(path)
    ]
    assert found == []
