"""A DNS server on 127.0.0.1 that answers every query "no such name" (NXDOMAIN).

The tests point dnspython at it, so a lookup of a name that no ``--resolve`` covers is a real
DNS exchange that never leaves the machine.
"""

from __future__ import annotations

import socket
import struct
import threading


def _question_end(query: bytes) -> int:
    pos = 12
    while pos < len(query) and query[pos] != 0:
        pos += 1 + query[pos]
    return pos + 1 + 4


def _answer(query: bytes) -> bytes | None:
    if len(query) < 17:
        return None
    (ident,) = struct.unpack("!H", query[:2])
    end = _question_end(query)
    if end > len(query):
        return None
    # QR=1, opcode 0, RD copied, RA=1, RCODE=3 (NXDOMAIN); one question, no records
    flags = 0x8000 | (query[2] & 0x01) << 8 | 0x0080 | 3
    return struct.pack("!HHHHHH", ident, flags, 1, 0, 0, 0) + query[12:end]


class NxdomainServer:
    """Serve NXDOMAIN on 127.0.0.1 (UDP) until ``close()``."""

    def __init__(self) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(0.2)
        self.port: int = self.sock.getsockname()[1]
        self.queries = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True, name="dns-stub")
        self._thread.start()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                query, peer = self.sock.recvfrom(4096)
            except TimeoutError:
                continue
            except OSError:
                return
            reply = _answer(query)
            if reply is not None:
                self.queries += 1
                self.sock.sendto(reply, peer)

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=2)
        self.sock.close()
