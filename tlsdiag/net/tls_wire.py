"""The recorded side of a probe handshake: a socket driving an ``SSLObject`` over memory BIOs,
and what ``SSLContext._msg_callback`` sees (CertificateRequest and its CA names, DH parameters,
alerts) in TLS 1.2 and 1.3."""

from __future__ import annotations

import socket
import ssl
import time
from typing import Any

from tlsdiag.core.der import name_to_string, split_name_list
from tlsdiag.model import CertRequest

ALERTS = {int(a): a.name.removeprefix("ALERT_DESCRIPTION_").lower() for a in ssl.AlertDescription}
ALERTS.update({116: "certificate_required", 120: "no_application_protocol"})


class Recorder:
    """Collects what ``_msg_callback`` sees during one handshake (a plain class, as ``Wire``:
    building a dataclass costs ~0.7 ms at every start)."""

    __slots__ = (
        "alert_codes_in",
        "alerts_in",
        "alerts_out",
        "cert_request",
        "cert_status",
        "server_key_exchange",
    )

    def __init__(self) -> None:
        self.cert_request: tuple[int, bytes] | None = None
        self.server_key_exchange = b""
        self.cert_status = b""
        self.alerts_in: list[str] = []
        self.alerts_out: list[str] = []
        self.alert_codes_in: list[int] = []

    def __call__(
        self, conn: Any, direction: str, version: Any, content_type: Any, msg_type: Any, data: bytes
    ) -> None:
        try:
            ct = int(content_type)
            if ct == 21 and len(data) >= 2:
                text = f"{'fatal' if data[0] == 2 else 'warning'} {ALERTS.get(data[1], data[1])}"
                if direction == "read":
                    self.alerts_in.append(text)
                    self.alert_codes_in.append(data[1])
                else:
                    self.alerts_out.append(text)
            elif ct == 22 and data and direction == "read":
                mt = data[0]
                if mt == 13:
                    self.cert_request = (int(version), bytes(data))
                elif mt == 12:
                    self.server_key_exchange = bytes(data)
                elif mt == 22:
                    self.cert_status = bytes(data)
        except Exception:  # a recorder must never break the handshake
            return


def parse_cert_request(version: int, data: bytes) -> CertRequest:
    body = data[4:]
    names: list[bytes] = []
    try:
        if version == 0x0304:
            ctx_len = body[0]
            pos = 1 + ctx_len
            ext_total = int.from_bytes(body[pos : pos + 2], "big")
            pos += 2
            end = pos + ext_total
            while pos + 4 <= end:
                etype = int.from_bytes(body[pos : pos + 2], "big")
                elen = int.from_bytes(body[pos + 2 : pos + 4], "big")
                edata = body[pos + 4 : pos + 4 + elen]
                pos += 4 + elen
                if etype == 47:
                    names = split_name_list(edata[2:])
        else:
            pos = 1 + body[0]
            sig_len = int.from_bytes(body[pos : pos + 2], "big")
            pos += 2 + sig_len
            ca_len = int.from_bytes(body[pos : pos + 2], "big")
            names = split_name_list(body[pos + 2 : pos + 2 + ca_len])
    except IndexError:
        names = []
    out = []
    for der in names:
        try:
            out.append(name_to_string(der))
        except ValueError:
            out.append(f"(unparsable name, {len(der)} bytes)")
    return CertRequest(tuple(out))


def dh_bits(ske: bytes) -> int:
    body = ske[4:]
    if len(body) < 2:
        return 0
    plen = int.from_bytes(body[:2], "big")
    return int.from_bytes(body[2 : 2 + plen], "big").bit_length()


def is_ffdhe(cipher: str) -> bool:
    """Finite-field DHE suites (OpenSSL names start with DHE- or EDH-)."""
    return cipher.startswith(("DHE-", "EDH-"))


class Closed(Exception):
    """The peer closed or reset the connection."""

    def __init__(self, how: str, received: bytes) -> None:
        super().__init__(how)
        self.how = how
        self.received = received


class Wire:
    """A socket driving an SSLObject over memory BIOs, remembering the first bytes received."""

    __slots__ = ("deadline", "first_bytes", "incoming", "outgoing", "received", "sock")

    def __init__(self, sock: socket.socket, deadline: float) -> None:
        self.sock = sock
        self.deadline = deadline
        self.incoming = ssl.MemoryBIO()
        self.outgoing = ssl.MemoryBIO()
        self.first_bytes = b""
        self.received = 0

    def flush(self) -> None:
        data = self.outgoing.read()
        if data:
            self.sock.settimeout(max(0.05, self.deadline - time.monotonic()))
            self.sock.sendall(data)

    def fill(self) -> None:
        remaining = self.deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError("timed out")
        self.sock.settimeout(remaining)
        try:
            data = self.sock.recv(65536)
        except ConnectionResetError:
            raise Closed("reset", self.first_bytes) from None
        if not data:
            self.incoming.write_eof()
            if self.received == 0:
                raise Closed("eof", b"")
            return
        if len(self.first_bytes) < 64:
            self.first_bytes += data[: 64 - len(self.first_bytes)]
        self.received += len(data)
        self.incoming.write(data)
