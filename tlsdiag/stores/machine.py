"""Read who and where this run is: host name, OS, a stable machine id, user, time zone (edge).

The machine id, in order: ``$TLSDIAG_MACHINE_ID`` as given (for fleet tools that name machines
themselves, and tests); ``/etc/machine-id`` (or D-Bus's copy) or Windows' ``MachineGuid``, hashed
with a tlsdiag salt; else a random id generated once and kept in the user's tlsdiag config
directory (``machine-id``). Never a hardware serial number.
"""

from __future__ import annotations

import getpass
import os
import re
import socket
import sys
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path

from tlsdiag import __version__
from tlsdiag.core.machine import MachineRaw, hashed_id, machine_block, with_machine
from tlsdiag.model import Report
from tlsdiag.stores.clock import local_zone

ENV_ID = "TLSDIAG_MACHINE_ID"
_ID_FILES = (Path("/etc/machine-id"), Path("/var/lib/dbus/machine-id"))


def _config_dir(env: Mapping[str, str]) -> Path:
    if env.get("TLSDIAG_HOME"):
        return Path(env["TLSDIAG_HOME"])
    home = Path(env.get("HOME") or env.get("USERPROFILE") or Path.home())
    if sys.platform.startswith("win"):
        base = env.get("APPDATA")
        return Path(base) / "tlsdiag" if base else home / "AppData" / "Roaming" / "tlsdiag"
    if sys.platform == "darwin":
        return home / "Library" / "Application Support" / "tlsdiag"
    xdg = env.get("XDG_CONFIG_HOME")
    return (Path(xdg) if xdg else home / ".config") / "tlsdiag"


def _system_id() -> tuple[str, str] | None:
    for path in _ID_FILES:
        try:
            text = path.read_text(encoding="ascii").strip()
        except (OSError, UnicodeDecodeError):
            continue
        if text:
            return hashed_id(text), "machine-id"
    if sys.platform == "win32":
        import winreg

        try:
            with winreg.OpenKey(
                winreg.HKEY_LOCAL_MACHINE, r"SOFTWARE\Microsoft\Cryptography"
            ) as key:
                guid, _ = winreg.QueryValueEx(key, "MachineGuid")
        except OSError:
            return None
        return hashed_id(str(guid)), "windows-machine-guid"
    return None


def _generated_id(env: Mapping[str, str]) -> tuple[str, str]:
    path = _config_dir(env) / "machine-id"
    try:
        existing = path.read_text(encoding="ascii").strip()
    except (OSError, UnicodeDecodeError):
        existing = ""
    if existing:
        return existing, "generated"
    import uuid  # only the first run on a machine without a machine-id file needs it

    new = uuid.uuid4().hex
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(new + "\n", encoding="ascii")
    except OSError:
        return new, "ephemeral"
    return new, "generated"


def machine_id(env: Mapping[str, str]) -> tuple[str, str]:
    """This machine's tlsdiag id and where it came from."""
    given = env.get(ENV_ID, "").strip()
    if given:
        return given, "env"
    return _system_id() or _generated_id(env)


# The os-release format (freedesktop.org): NAME=value lines, the value optionally quoted, five
# characters backslash-escaped; read as ``platform.freedesktop_os_release`` reads it, without
# importing ``platform`` (a few ms of regular expressions at every start).
_OS_RELEASE_FILES = ("/etc/os-release", "/usr/lib/os-release")
_OS_RELEASE_LINE = re.compile("^(?P<name>[a-zA-Z0-9_]+)=(?P<quote>[\"']?)(?P<value>.*)(?P=quote)$")
_OS_RELEASE_UNESCAPE = re.compile(r"\\([\\\$\"\'`])")


def _os_release() -> dict[str, str]:
    for candidate in _OS_RELEASE_FILES:
        try:
            with open(candidate, encoding="utf-8") as f:
                lines = f.readlines()
        except OSError:
            continue
        info = {"NAME": "Linux", "ID": "linux", "PRETTY_NAME": "Linux"}
        for line in lines:
            mo = _OS_RELEASE_LINE.match(line)
            if mo is not None:
                info[mo.group("name")] = _OS_RELEASE_UNESCAPE.sub(r"\1", mo.group("value"))
        return info
    return {}


def _os() -> tuple[str, str, str]:
    if sys.platform == "darwin":
        import platform

        version = platform.mac_ver()[0]
        return "macos", f"macOS {version}".strip(), version
    if sys.platform == "win32":
        import platform

        release, version, _, _ = platform.win32_ver()
        return "windows", f"Windows {release}".strip(), version
    kernel: str = sys.platform  # a plain str: mypy must not narrow this to one platform
    if kernel.startswith("linux"):
        info = _os_release()
        name = info.get("PRETTY_NAME") or info.get("NAME") or "Linux"
        return "linux", name, info.get("VERSION_ID", os.uname().release)
    import platform

    return sys.platform, platform.system(), platform.release()


def _arch() -> str:
    """The machine's architecture as ``platform.machine()`` gives it (``x86_64``, ``arm64``)."""
    if hasattr(os, "uname"):
        return os.uname().machine
    import platform

    return platform.machine()


def _user(env: Mapping[str, str]) -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return env.get("USER") or env.get("USERNAME") or ""


def gather(env: Mapping[str, str], now: datetime) -> MachineRaw:
    """Read this machine's facts (no network: the host name is the local one)."""
    ident, source = machine_id(env)
    os_family, os_name, os_version = _os()
    zone, offset = local_zone(now)
    return MachineRaw(
        hostname=socket.gethostname(),
        os=os_family,
        os_name=os_name,
        os_version=os_version,
        arch=_arch(),
        user=_user(env),
        machine_id=ident,
        id_source=source,
        tool_version=__version__,
        python_version=sys.version.split(" ", 1)[0],  # platform.python_version()
        time_zone=zone,
        utc_offset_seconds=offset,
    )


def attach_machine(
    reports: Sequence[Report], env: Mapping[str, str] | None = None, now: datetime | None = None
) -> list[Report]:
    """The reports with this machine's block (``trust`` and ``check`` call it)."""
    when = now or datetime.now(UTC)
    block = machine_block(gather(os.environ if env is None else env, when), now=when)
    return with_machine(reports, block)
