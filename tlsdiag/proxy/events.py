"""Connection events: one JSON line per connection, appended and flushed as each one ends.

The field names follow what inspection products log per session (``tls_inspection`` 1/0, the TLS
alert seen as ``tls_error_description``, the X.509 problem of the server's certificate as
``tls_certificate_error``, ``tls_error_type`` warning/fatal) plus tlsdiag's finding code.
"""

from __future__ import annotations

import contextlib
import json
import operator
import os
import threading
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, fields
from pathlib import Path
from typing import IO, Any, cast

from tlsdiag.errors import InputError
from tlsdiag.facts.proxy import EventFacts


@dataclass(slots=True)
class ProxyEvent:
    """Everything recorded about one client connection."""

    time: str = ""  # ISO 8601 UTC when the client connected
    client: str = ""  # address:port of the client
    kind: str = "connect"  # "connect" (CONNECT tunnel) or "http" (absolute-URI request)
    host: str = ""  # CONNECT host or the URL's host
    port: int = 0
    sni: str = ""
    rule: str = ""  # id of the deciding rule ("default" when none matched)
    action: str = ""  # inspect | bypass | block
    tls_inspection: int = 0  # 1 when the proxy decrypted the connection
    upstream_address: str = ""
    upstream_version: str = ""
    cipher: str = ""
    cipher_bits: int = 0
    alpn: str = ""
    client_alpn: str = ""  # what the client offered, comma-separated
    issuer: str = ""  # the server certificate's issuer (as the proxy saw it)
    subject: str = ""
    verification: str = ""  # "ok", the OpenSSL message, or "" when not verified (bypass)
    tls_error_description: str = ""  # the TLS alert seen, from either side ("unknown ca")
    tls_error_side: str = ""  # "client" or "server": who sent or caused it
    tls_certificate_error: str = ""  # what was wrong with the server certificate
    tls_error_type: str = ""  # "warning" or "fatal"
    finding: str = ""  # a tlsdiag finding code, "" when none
    detail: str = ""  # one line in plain words
    forged: str = ""  # "trusted", "untrusted", "self" (how the client's certificate was signed)
    client_handshake: str = ""  # ok | failed | not-tls | skipped
    client_version: str = ""
    http_status: int = 0  # status sent by the proxy itself (block page, 400, 502) or 0
    bytes_up: int = 0  # client -> server (application bytes)
    bytes_down: int = 0  # server -> client
    connect_ms: float = 0.0
    upstream_tls_ms: float = 0.0
    client_tls_ms: float = 0.0
    duration_ms: float = 0.0
    closed_by: str = ""  # client | server | proxy | timeout

    def to_dict(self) -> EventFacts:
        """JSON-ready dict with stable keys."""
        out: dict[str, Any] = dict(zip(FIELD_NAMES, _FIELD_VALUES(self), strict=True))
        for key in ("connect_ms", "upstream_tls_ms", "client_tls_ms", "duration_ms"):
            out[key] = round(out[key], 2)
        return cast("EventFacts", out)


FIELD_NAMES: tuple[str, ...] = tuple(f.name for f in fields(ProxyEvent))
_FIELD_VALUES = operator.attrgetter(*FIELD_NAMES)  # one call for all the values
# One encoder for every line (``json.dumps`` with options builds a new one per call).
_ENCODE = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode


class EventLog:
    """Append events to a file (one JSON line each, flushed) and keep the recent ones in memory."""

    def __init__(
        self,
        path: Path | None = None,
        *,
        keep: int = 1000,
        listener: Callable[[ProxyEvent], None] | None = None,
    ) -> None:
        self.path = path
        self.recent: deque[ProxyEvent] = deque(maxlen=keep)
        self.listener = listener
        self.count = 0
        self._lock = threading.Lock()
        self._fh: IO[str] | None = None
        if path is not None:
            if not path.parent.is_dir():
                raise InputError(
                    f"--events {path}: the folder {path.parent} does not exist",
                    hint="create it first (tlsdiag does not create folders for you)",
                )
            try:
                self._fh = open(path, "a", encoding="utf-8")  # noqa: SIM115 - kept open
            except OSError as exc:
                raise InputError(
                    f"--events {path}: cannot open for appending: {exc.strerror}"
                ) from exc

    def write(self, event: ProxyEvent) -> None:
        """Record one event (thread-safe; the file is flushed after each line)."""
        line = _ENCODE(event.to_dict()) + "\n" if self._fh is not None else ""  # no file: none
        with self._lock:
            self.count += 1
            self.recent.append(event)
            if self._fh is not None:
                self._fh.write(line)
                self._fh.flush()
        if self.listener is not None:
            self.listener(event)

    def close(self) -> None:
        """Flush and close the file (fsync so Ctrl-C loses nothing)."""
        with self._lock:
            if self._fh is not None:
                self._fh.flush()
                with contextlib.suppress(OSError):
                    os.fsync(self._fh.fileno())
                self._fh.close()
                self._fh = None


def read_events(path: Path) -> list[EventFacts]:
    """Read an events file; lines that are not JSON objects are skipped.

    Raises:
        InputError: the file cannot be read or holds no event at all.
    """
    from tlsdiag.stores.userfile import Kind, read_file

    data, _ = read_file(path, Kind.EVENTS, what=str(path))
    text = data.decode("utf-8", errors="replace")
    out = list(_parse_lines(text.splitlines()))
    if not out and text.strip():
        raise InputError(f"{path}: no proxy events found (expected JSON lines)")
    return out


def _parse_lines(lines: Iterable[str]) -> Iterator[EventFacts]:
    for line in lines:
        line = line.strip()
        if not line:
            continue
        try:
            value = json.loads(line)
        except ValueError:
            continue
        if (
            isinstance(value, dict)
            and isinstance(value.get("action"), str)
            and isinstance(value.get("host"), str)
        ):
            yield cast("EventFacts", value)  # other keys are kept as they are


def filter_events(
    events: Iterable[EventFacts],
    *,
    host: str | None = None,
    action: str | None = None,
    errors_only: bool = False,
) -> list[EventFacts]:
    """Events matching the filters (host: exact or substring, case-insensitive)."""
    out = []
    needle = host.lower() if host else None
    for ev in events:
        if (
            needle
            and needle not in str(ev.get("host", "")).lower()
            and needle not in str(ev.get("sni", "")).lower()
        ):
            continue
        if action and ev.get("action") != action:
            continue
        if errors_only and not (ev.get("finding") or ev.get("tls_error_description")):
            continue
        out.append(EventFacts(**ev))
    return out
