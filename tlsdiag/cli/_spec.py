"""The parameters of a command as plain data, for the fast path (``tlsdiag.cli._fast``).

A spec is read off the click command typer builds (names, option strings, flags, types, ranges,
choices, callbacks) and the command function's annotations (typer's ``Path``, ``Enum`` and
``list`` conversions), so it says exactly what typer would accept. It is built on a run that
took the typer path and kept in the user cache directory of the knowledge-base cache, one file
per command and installation (``cli-spec-check-1a2b3c4d.json``), keyed by the tlsdiag and
Python versions, the size and modification time of every ``tlsdiag/cli/*.py`` and of typer
itself; a stale, corrupt or foreign file is ignored (and rewritten), and ``TLSDIAG_NO_CACHE=1``
turns the cache, and with it the fast path, off. Loading a spec imports neither typer nor
click.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tlsdiag import __version__

if TYPE_CHECKING:
    import typer

SPEC_FORMAT = 1
CLI_DIR = Path(__file__).parent

Spec = dict[str, Any]
"""One command: ``module``, ``function`` and ``params`` (a list of parameter dicts)."""


def spec_key(directory: Path = CLI_DIR) -> str:
    """What a spec depends on: versions, and the size and mtime of each ``*.py`` here."""
    parts = [__version__, str(SPEC_FORMAT), sys.version.split()[0]]
    with os.scandir(directory) as entries:
        for entry in sorted(entries, key=lambda e: e.name):
            if entry.name.endswith(".py"):
                st = entry.stat()
                parts.append(f"{entry.name}:{st.st_size}:{st.st_mtime_ns}")
    return "/".join(parts)


def _spec_path(command: str) -> Path | None:
    """The cache file of ``command`` for this installation (two installations, a venv and
    pipx say, keep a file each instead of replacing each other's)."""
    import zlib

    from tlsdiag.kb._cache import cache_dir

    directory = cache_dir()
    if directory is None:
        return None
    install = zlib.crc32(os.fsencode(CLI_DIR))
    return directory / f"cli-spec-{command}-{install:08x}.json"


def _stamp(path: str) -> list[int]:
    st = os.stat(path)
    return [st.st_size, st.st_mtime_ns]


def load_specs(command: str) -> dict[str, Spec] | None:
    """The specs of ``command`` (``"check"``; a group: ``"lab list"``, ``"lab serve"``), or
    None when there is no current cache file."""
    path = _spec_path(command)
    if path is None:
        return None
    try:
        doc = json.loads(path.read_bytes())
        if doc["key"] != spec_key():
            return None
        typer_file, stamp = doc["typer"]
        if _stamp(typer_file) != stamp:
            return None
        specs = doc["commands"]
        if isinstance(specs, dict) and all(isinstance(s, dict) for s in specs.values()):
            return specs
    except (OSError, ValueError, KeyError, TypeError):
        pass
    return None


def save_specs(app: typer.Typer, command: str) -> None:
    """Write the spec of ``command`` of ``app`` (a typer app with it registered), if caching
    is on; any problem leaves no cache file."""
    path = _spec_path(command)
    if path is None:
        return
    import typer as typer_module
    from typer.main import get_command

    from tlsdiag.kb._cache import write_cache

    click_command = get_command(app).commands[command]  # type: ignore[attr-defined]
    specs: dict[str, Spec] = {}
    subcommands = getattr(click_command, "commands", None)
    if subcommands is None:
        specs[command] = command_spec(click_command)
    else:
        for name, sub in subcommands.items():
            specs[f"{command} {name}"] = command_spec(sub)
    doc = {
        "key": spec_key(),
        "typer": [typer_module.__file__, _stamp(str(typer_module.__file__))],
        "commands": specs,
    }
    write_cache(path, doc, stale=path.name)  # nothing else to remove


def command_spec(click_command: Any) -> Spec:
    """The spec of one click command typer made from a function."""
    from typer.utils import get_params_from_function

    func = click_command.callback.__wrapped__
    metas = get_params_from_function(func)
    params = [param_spec(p, metas[p.name].annotation) for p in click_command.params]
    usable = set(metas) == {p["name"] for p in params} and not click_command.no_args_is_help
    return {
        "module": func.__module__,
        "function": func.__name__,
        "usable": usable,
        "params": params,
    }


def param_spec(param: Any, annotation: Any) -> dict[str, Any]:
    """One click parameter: what the fast parser needs to read it exactly as click does.

    ``ok`` is False for anything the fast parser does not handle: given on the command line,
    such a parameter sends the run to typer.
    """
    kind = "option" if type(param).__name__.endswith("Option") else "argument"
    value_type, ok = _type_spec(param.type)
    convert, is_list, conv_ok = _convertor_spec(annotation, param.type)
    spec: dict[str, Any] = {
        "name": param.name,
        "kind": kind,
        "opts": list(param.opts),
        "secondary": list(param.secondary_opts),
        "nargs": param.nargs,
        "multiple": bool(param.multiple),
        "required": bool(param.required),
        "type": value_type,
        "convert": convert,
        "list": is_list,
        "callback": _callback_spec(param.callback),
    }
    flag = kind == "option" and bool(param.is_flag)
    spec["flag"] = flag
    if flag:
        ok = bool(param.is_bool_flag) and not param.multiple  # the const True, or False
    if kind == "option" and (param.count or param.nargs != 1 or param.prompt):
        ok = False
    if kind == "argument" and param.nargs not in (1, -1):
        ok = False
    if param.envvar or not param.expose_value or spec["callback"] == ["other"]:
        ok = False
    spec["ok"] = ok and conv_ok
    return spec


def _type_spec(click_type: Any) -> tuple[dict[str, Any], bool]:
    name = type(click_type).__name__
    if name == "StringParamType":
        return {"t": "str"}, True
    if name == "BoolParamType":
        return {"t": "bool"}, False  # only as a flag (checked by the caller)
    if name in ("IntParamType", "IntRange", "FloatParamType", "FloatRange"):
        spec: dict[str, Any] = {"t": "int" if name.startswith("Int") else "float"}
        if name.endswith("Range"):
            if click_type.clamp:
                return spec, False
            spec["range"] = [
                click_type.min,
                click_type.max,
                bool(click_type.min_open),
                bool(click_type.max_open),
            ]
        return spec, True
    if name == "TyperChoice":
        from enum import Enum

        choices = [str(c.value) if isinstance(c, Enum) else str(c) for c in click_type.choices]
        return {"t": "choice", "choices": choices, "case_sensitive": click_type.case_sensitive}, (
            all(isinstance(c, str) for c in click_type.choices)
        )
    if name == "TyperPath":
        flags = ("exists", "file_okay", "dir_okay", "readable", "writable", "allow_dash")
        spec = {"t": "path", **{f: bool(getattr(click_type, f)) for f in flags}}
        return spec, not click_type.resolve_path and click_type.type is None
    return {"t": name}, False


def _convertor_spec(annotation: Any, click_type: Any) -> tuple[str | None, bool, bool]:
    """typer's conversion after click's: (``path`` | ``enum:module:Name`` | None, list?, ok)."""
    from enum import Enum
    from types import NoneType, UnionType
    from typing import Union, get_args, get_origin

    main = annotation
    if get_origin(main) in (Union, UnionType):
        rest = [a for a in get_args(main) if a is not NoneType]
        if len(rest) != 1:
            return None, False, False
        main = rest[0]
    is_list = False
    if get_origin(main) is list:
        is_list, main = True, get_args(main)[0]
    elif get_origin(main) is not None:
        return None, False, False
    if isinstance(main, type) and issubclass(main, Path):
        return "path", is_list, main is Path
    if isinstance(main, type) and issubclass(main, Enum):
        # typer maps the choice click returns to the member whose str(value) it is
        values = {str(member.value) for member in main}
        ok = all(isinstance(c, str) and c in values for c in getattr(click_type, "choices", ()))
        return f"enum:{main.__module__}:{main.__qualname__}", is_list, ok
    return None, is_list, True


def _callback_spec(callback: Any) -> list[Any] | None:
    """None, a duration check the fast path can run (``["seconds", low, high, option]``, see
    ``tlsdiag.cli._common.seconds``), or ``["other"]``."""
    if callback is None:
        return None
    original = getattr(callback, "__wrapped__", callback)
    fast = getattr(original, "fast_spec", None)
    return list(fast) if fast is not None else ["other"]
