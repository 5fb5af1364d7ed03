"""Identifiers of closed sets used as keys and values in facts: root sets and platforms.

Their values are the stable tokens of the JSON output (``trust`` and ``trusted_by`` are keyed
by ``RootSetId`` values). What a person reads is chosen in ``tlsdiag.render``.
"""

from __future__ import annotations

from enum import StrEnum


class RootSetId(StrEnum):
    """A set of trusted roots that ``check``, ``chain`` and ``issuer`` verify a chain against.

    The values are the JSON keys of the ``trust`` and ``trusted_by`` facts (kept as they were
    when they were display labels, so the JSON output did not change).
    """

    PUBLIC = "public (certifi)"  # the public root program, as certifi ships it
    OS = "os"  # this machine's OS bundle
    CAFILE = "--cafile"  # roots the user gave with --cafile
    UPSTREAM_CAFILE = "--upstream-cafile"  # the proxy's extra roots for upstream servers


class Platform(StrEnum):
    """A client platform: where the stores are (linux, macos, windows) and what an inspecting
    product does there by default (android, ios, unknown too). ``model.platform_name`` names
    this machine's OS; ``Platform(platform_name(other="linux"))`` is its member."""

    LINUX = "linux"
    MACOS = "macos"
    WINDOWS = "windows"
    ANDROID = "android"
    IOS = "ios"
    UNKNOWN = "unknown"


DESKTOP_PLATFORMS = frozenset({Platform.LINUX, Platform.MACOS, Platform.WINDOWS})
"""The platforms whose trust stores tlsdiag reads."""
