"""Read a server's HTTP ``Date`` header and this machine's clock and time zone (I/O edge for
``trust --time-host``). Certificates are not verified here: only the header matters, and an
untrusted inspection root must not hide a wrong clock."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import NamedTuple


class DateSample(NamedTuple):
    """The server's ``Date`` header and the local clock when the answer arrived."""

    url: str
    date: str = ""
    local_utc: datetime | None = None
    round_trip: float = 0.0
    error: str = ""


def local_zone(now: datetime | None = None) -> tuple[str, int]:
    """The local time zone name and its UTC offset in seconds."""
    local = (now or datetime.now(UTC)).astimezone()
    offset = local.utcoffset()
    return local.tzname() or "local", int(offset.total_seconds()) if offset else 0


def fetch_date(
    url: str, *, timeout: float = 5.0, trust_env: bool = True, host_header: str | None = None
) -> DateSample:
    """One HEAD request to ``url`` (with ``Host: host_header`` when the URL names the address
    that ``--resolve``/``--connect-to`` chose); the ``Date`` header and the local clock."""
    import httpx

    start = time.monotonic()
    try:
        with httpx.Client(verify=False, timeout=timeout, trust_env=trust_env) as client:
            response = client.head(url, headers={"Host": host_header} if host_header else None)
    except httpx.HTTPError as exc:
        return DateSample(
            url, error=f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
        )
    return DateSample(
        url,
        date=response.headers.get("date", ""),
        local_utc=datetime.now(UTC),
        round_trip=time.monotonic() - start,
    )
