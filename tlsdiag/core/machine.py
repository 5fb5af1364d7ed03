"""The machine block of a per-machine result: shaped from what the edge read (pure).

``trust`` and ``check`` reports carry it so that ``tlsdiag fleet report`` can tell machines
apart. It holds nothing secret: the machine id is a salted hash (never a hardware serial or the
raw ``/etc/machine-id``), no environment, no paths of the user's files.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import replace
from datetime import UTC, datetime
from typing import NamedTuple

from tlsdiag.facts.machine import MachineFacts
from tlsdiag.model import Report

# A tlsdiag-specific salt: the hash cannot be matched with other tools' ids of the same machine.
_SALT = b"tlsdiag machine id v1\x00"


class MachineRaw(NamedTuple):
    """What the edge read about this machine and session (plain values, nothing secret)."""

    hostname: str
    os: str  # "linux", "macos", "windows", or sys.platform
    os_name: str  # "Debian GNU/Linux 12 (bookworm)", "macOS 14.5", "Windows 11"
    os_version: str  # "12", "14.5", "10.0.22631"
    arch: str
    user: str
    machine_id: str  # already hashed or taken from TLSDIAG_MACHINE_ID
    id_source: str  # "env", "machine-id", "windows-machine-guid", "generated", "ephemeral"
    tool_version: str
    python_version: str
    time_zone: str
    utc_offset_seconds: int


def hashed_id(raw: str) -> str:
    """A stable id derived from a system identifier, salted so it is tlsdiag's own.

    Args:
        raw: the system identifier (``/etc/machine-id``, Windows ``MachineGuid``).

    Returns:
        32 lower-case hex digits.
    """
    return hashlib.sha256(_SALT + raw.strip().lower().encode()).hexdigest()[:32]


def _offset(seconds: int) -> str:
    sign = "-" if seconds < 0 else "+"
    hours, rest = divmod(abs(seconds), 3600)
    return f"{sign}{hours:02d}:{rest // 60:02d}"


def machine_block(raw: MachineRaw, *, now: datetime) -> MachineFacts:
    """The JSON-ready machine block (keys documented in the README, section Fleet).

    Args:
        raw: what the edge read.
        now: the time of the run (aware).

    Returns:
        A flat dict of strings.
    """
    return {
        "id": raw.machine_id,
        "id_source": raw.id_source,
        "hostname": raw.hostname,
        "os": raw.os,
        "os_name": raw.os_name,
        "os_version": raw.os_version,
        "arch": raw.arch,
        "user": raw.user,
        "tool_version": raw.tool_version,
        "python_version": raw.python_version,
        "time": now.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "time_zone": raw.time_zone,
        "utc_offset": _offset(raw.utc_offset_seconds),
    }


def with_machine(reports: Iterable[Report], block: MachineFacts) -> list[Report]:
    """The same reports, each carrying the machine block.

    Args:
        reports: reports of one run on this machine.
        block: from :func:`machine_block`.

    Returns:
        New reports (the inputs are frozen).
    """
    return [replace(r, machine=block) for r in reports]
