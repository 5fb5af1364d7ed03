"""The fast path: run a well-formed command line without importing typer (or its click).

Importing typer costs more than many a whole ``tlsdiag explain``. With a current spec of the
command (``tlsdiag.cli._spec``: built by an earlier run through typer), a command line made only
of what the spec knows is parsed here, exactly as click would, and the command function is
called as typer would call it; the run then ends as under ``OneLineErrors`` (same exit status,
same handling of Ctrl-C, a closed pipe and an unexpected exception).

Everything else goes to typer, which then prints its own help, error text and exit status:
``--help`` and any option or value not understood here (unknown or clustered short options,
``-fjson``, a flag with ``=value``, a missing value, a bad number or choice, a path click would
refuse, a missing or extra argument), an option whose callback cannot run here (``--output``),
options before the command (``--debug``), shell completion, Windows (click expands wildcards
there), and any command without a spec.
"""

from __future__ import annotations

import math
import os
import sys
from importlib import import_module
from typing import Any, NoReturn

from tlsdiag.cli._spec import Spec, load_specs

FAST_COMMANDS = frozenset(
    [
        "check",
        "compare",
        "probe",
        "chain",
        "lab",
        "demo",
        "issuer",
        "trust",
        "explain",
        "har",
        "bundle",
    ]
)
"""Commands whose modules import no typer (``ca``, ``proxy`` and ``fleet`` still do)."""


class _Fallback(Exception):
    """This command line is for typer."""


def run(argv: list[str]) -> bool:
    """Run ``argv`` (the arguments after the program name) on the fast path when it can be.

    Returns:
        False when the run goes to typer and the command's spec is current (or cannot be
        written); True when it goes to typer and the spec should be written. It does not
        return when the command ran.
    """
    if not argv or argv[0] not in FAST_COMMANDS:
        return False
    if os.name == "nt":
        return False  # click expands wildcards in the arguments there
    if any(k.startswith("_") and k.endswith("_COMPLETE") for k in os.environ):
        return False  # shell completion: typer's business
    specs = load_specs(argv[0])
    if specs is None:
        return True
    path, args = argv[0], argv[1:]
    if path not in specs:
        if not args or f"{path} {args[0]}" not in specs:
            return False
        path, args = f"{path} {args[0]}", args[1:]
    spec = specs[path]
    try:
        kwargs = parse(spec, args)
    except _Fallback:
        return False
    invoke(getattr(import_module(spec["module"]), spec["function"]), kwargs)


def parse(spec: Spec, args: list[str]) -> dict[str, Any]:
    """The keyword arguments typer would pass to the command function for ``args`` (those
    left out take the function's defaults, as under typer).

    Raises:
        _Fallback: anything typer must handle (help, an error, what is not modelled here).
    """
    if not spec.get("usable"):
        raise _Fallback
    options: dict[str, tuple[dict[str, Any], bool | None]] = {}
    arguments: list[dict[str, Any]] = []
    for param in spec["params"]:
        if param["kind"] == "argument":
            arguments.append(param)
            continue
        for opt in param["opts"]:
            options[opt] = (param, True if param["flag"] else None)
        for opt in param["secondary"]:
            options[opt] = (param, False)
    raw: dict[str, list[Any]] = {}
    positional: list[str] = []
    i = 0
    while i < len(args):
        arg = args[i]
        i += 1
        if arg == "--":
            positional.extend(args[i:])
            break
        if arg[:1] != "-" or len(arg) == 1:
            positional.append(arg)
            continue
        if arg.startswith("--"):
            name, eq, value = arg.partition("=")
        elif len(arg) == 2:
            name, eq, value = arg, "", ""
        else:
            raise _Fallback  # -fjson, -46, -f=json: click reads these its own way
        if name not in options:
            raise _Fallback  # --help, unknown or misspelt options
        param, flag_value = options[name]
        if flag_value is not None:
            if eq:
                raise _Fallback  # "does not take a value"
            raw.setdefault(param["name"], []).append(flag_value)
            continue
        if not eq:
            if i >= len(args):
                raise _Fallback  # "requires an argument"
            value = args[i]
            i += 1
        raw.setdefault(param["name"], []).append(value)
    _spread(arguments, positional, raw)
    kwargs: dict[str, Any] = {}
    for param in spec["params"]:
        values = raw.get(param["name"])
        if values is None:
            if param["required"]:
                raise _Fallback  # "missing option / argument"
            continue
        if not param["ok"]:
            raise _Fallback
        if param["flag"]:
            kwargs[param["name"]] = values[-1]
            continue
        converted = [_convert(param, v) for v in values]
        if param["list"]:
            kwargs[param["name"]] = converted
        elif param["multiple"] or param["nargs"] == -1:
            raise _Fallback  # a tuple-typed parameter: not modelled
        else:
            kwargs[param["name"]] = converted[-1]
    return kwargs


def _spread(
    arguments: list[dict[str, Any]], positional: list[str], raw: dict[str, list[Any]]
) -> None:
    """Give the positional arguments to the command's arguments, as click does (the simple
    shapes: single arguments, then at most one taking the rest)."""
    rest = list(positional)
    for n, param in enumerate(arguments):
        if param["nargs"] == -1:
            if n != len(arguments) - 1:
                raise _Fallback
            if rest:
                raw[param["name"]] = rest
            rest = []
        elif rest:
            raw[param["name"]] = [rest.pop(0)]
    if rest:
        raise _Fallback  # "got unexpected extra argument"


def _convert(param: dict[str, Any], value: str) -> Any:
    """Click's conversion of one value, then its callback, then typer's (Path, Enum)."""
    kind = param["type"]
    result: Any = value
    match kind["t"]:
        case "str":
            pass
        case "int" | "float":
            try:
                result = int(value) if kind["t"] == "int" else float(value)
            except ValueError:
                raise _Fallback from None
            if "range" in kind:
                low, high, low_open, high_open = kind["range"]
                if low is not None and (result <= low if low_open else result < low):
                    raise _Fallback
                if high is not None and (result >= high if high_open else result > high):
                    raise _Fallback
        case "choice":
            wanted = value if kind["case_sensitive"] else value.casefold()
            for choice in kind["choices"]:
                if (choice if kind["case_sensitive"] else choice.casefold()) == wanted:
                    result = choice
                    break
            else:
                raise _Fallback
        case "path":
            _check_path(kind, value)
        case _:
            raise _Fallback
    callback = param["callback"]
    if callback is not None:
        result = _run_callback(callback, _typer_convert(param["convert"], result))
    return _typer_convert(param["convert"], result)


def _check_path(kind: dict[str, Any], value: str) -> None:
    """Refuse (to typer) what typer's ``Path`` type would refuse."""
    import stat

    if kind["file_okay"] and kind["allow_dash"] and value == "-":
        return
    try:
        st = os.stat(value)
    except OSError:
        if kind["exists"]:
            raise _Fallback from None
        return
    if (not kind["file_okay"] and stat.S_ISREG(st.st_mode)) or (
        not kind["dir_okay"] and stat.S_ISDIR(st.st_mode)
    ):
        raise _Fallback
    if (kind["readable"] and not os.access(value, os.R_OK)) or (
        kind["writable"] and not os.access(value, os.W_OK)
    ):
        raise _Fallback


def _typer_convert(convert: str | None, value: Any) -> Any:
    if convert is None or value is None:
        return value
    if convert == "path":
        from pathlib import Path

        return value if isinstance(value, Path) else Path(value)
    _, module, name = convert.split(":")
    enum = getattr(import_module(module), name)
    return {str(member.value): member for member in enum}[str(value)]


def _run_callback(callback: list[Any], value: Any) -> Any:
    if callback[0] != "seconds" or not isinstance(value, float) or not math.isfinite(value):
        raise _Fallback
    from tlsdiag.cli._common import seconds

    _, low, high, option = callback
    try:
        return seconds(low, high, option)(value)
    except Exception:
        raise _Fallback from None  # typer prints the error


def invoke(func: Any, kwargs: dict[str, Any]) -> NoReturn:
    """Call the command function and exit as ``OneLineErrors.main`` would."""
    from tlsdiag.cli._common import sigterm_unwinds
    from tlsdiag.cli._output import tolerate_encodings

    tolerate_encodings()
    try:
        with sigterm_unwinds():
            rv = func(**kwargs)
    except KeyboardInterrupt:
        code = 130  # click: Exit(130), no message
    except EOFError:
        sys.stderr.write("\ninterrupted\n")  # click's newline, then typer.Abort's message
        code = 130
    except Exception as exc:
        _unexpected(exc)
        raise
    else:
        code = rv if isinstance(rv, int) else 0
    sys.exit(code)


def _unexpected(exc: Exception) -> None:
    """What click and typer do with an exception that leaves the command: a closed pipe ends
    the run with status 1; anything else gets typer's traceback."""
    import errno

    from tlsdiag.cli import _typer

    if isinstance(exc, OSError) and exc.errno == errno.EPIPE:
        from typer._click.utils import PacifyFlushWrapper

        sys.stdout = PacifyFlushWrapper(sys.stdout)
        sys.stderr = PacifyFlushWrapper(sys.stderr)
        sys.exit(1)
    _typer.tag_uncaught(exc)
