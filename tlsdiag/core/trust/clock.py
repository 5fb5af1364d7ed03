"""The clock check: this machine's clock against a server's HTTP ``Date`` header. Pure: the
local time is an argument."""

from __future__ import annotations

from datetime import datetime
from email.utils import parsedate_to_datetime

from tlsdiag import codes
from tlsdiag.core.certs import utc
from tlsdiag.core.findings import make_finding
from tlsdiag.facts.trust import ClockFacts
from tlsdiag.model import Finding, Severity

CLOCK_WARNING_SECONDS = 300
CLOCK_ERROR_SECONDS = 3600


def clock_check(
    *,
    local_utc: datetime,
    server_date: str,
    host: str,
    tz_name: str,
    utc_offset_seconds: int,
    round_trip_seconds: float = 0.0,
) -> tuple[ClockFacts, list[Finding]]:
    """Compare the local clock with a server's HTTP ``Date`` header.

    Args:
        local_utc: the local clock (aware, UTC) when the response arrived.
        server_date: the ``Date`` header as sent ("" when absent).
        host: the host that answered.
        tz_name: the local time zone name; utc_offset_seconds: its offset.
        round_trip_seconds: the request's duration (tolerance; Date has 1 s resolution).

    Returns:
        JSON-ready facts and a ``client.clock_skew`` finding when the skew exceeds 5 minutes
        (warning) or 1 hour (error).
    """
    hours, rem = divmod(abs(utc_offset_seconds), 3600)
    offset = f"{'+' if utc_offset_seconds >= 0 else '-'}{hours:02d}:{rem // 60:02d}"
    facts: ClockFacts = {
        "host": host,
        "local_utc": utc(local_utc),
        "time_zone": tz_name,
        "utc_offset": offset,
        "server_date": server_date or None,
        "skew_seconds": None,
    }
    if not server_date:
        facts["error"] = "the server sent no Date header"
        return facts, []
    try:
        server = parsedate_to_datetime(server_date)
    except (TypeError, ValueError, IndexError):
        facts["error"] = f"unparseable Date header {server_date!r}"
        return facts, []
    if server.tzinfo is None:
        facts["error"] = f"Date header without a time zone {server_date!r}"
        return facts, []
    skew = (local_utc - server).total_seconds()
    facts["skew_seconds"] = round(skew, 1)
    size = abs(skew) - round_trip_seconds - 1
    if size <= CLOCK_WARNING_SECONDS:
        return facts, []
    severity = Severity.ERROR if size > CLOCK_ERROR_SECONDS else Severity.WARNING
    direction = "ahead of" if skew > 0 else "behind"
    return facts, [
        make_finding(
            codes.CLIENT_CLOCK_SKEW,
            severity=severity,
            detail=(
                f"This machine's clock is {_duration(abs(skew))} {direction} {host}'s clock "
                f"(time zone {tz_name}, UTC{offset})."
            ),
            evidence={
                "local_utc": utc(local_utc),
                "server_date": server_date,
                "skew_seconds": f"{skew:.0f}",
                "time_zone": f"{tz_name} (UTC{offset})",
            },
        )
    ]


def _duration(seconds: float) -> str:
    if seconds >= 86400:
        return f"{seconds / 86400:.1f} days"
    if seconds >= 3600:
        return f"{seconds / 3600:.1f} hours"
    return f"{seconds / 60:.0f} minutes"
