"""The machine block of ``trust`` and ``check`` reports: who ran it where (see README, Fleet).

Nothing secret: ``id`` is a salted hash (or ``$TLSDIAG_MACHINE_ID`` as given), no environment,
no paths of the user's files. ``tlsdiag fleet report`` tells machines apart by it.
"""

from __future__ import annotations

from typing import TypedDict


class MachineFacts(TypedDict):
    """``Report.machine``: a flat block of strings."""

    id: str
    id_source: str  # "env", "machine-id", "windows-machine-guid", "generated", "ephemeral"
    hostname: str
    os: str  # "linux", "macos", "windows", or sys.platform
    os_name: str  # "Debian GNU/Linux 12 (bookworm)", "macOS 14.5", "Windows 11"
    os_version: str
    arch: str
    user: str
    tool_version: str
    python_version: str
    time: str  # ISO 8601 UTC of the run
    time_zone: str
    utc_offset: str  # "+02:00"
