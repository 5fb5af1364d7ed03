"""The shared reader of the TOML files shipped in ``tlsdiag/data`` (the loaders cache results)."""

from __future__ import annotations

import tomllib
from importlib.resources import files
from typing import Any


def load_toml(name: str) -> dict[str, Any]:
    """Read one data file shipped in the package.

    Args:
        name: file name inside ``tlsdiag/data``, e.g. ``"findings.toml"``.

    Returns:
        The parsed TOML document.
    """
    text = files("tlsdiag.data").joinpath(name).read_text(encoding="utf-8")
    return tomllib.loads(text)
