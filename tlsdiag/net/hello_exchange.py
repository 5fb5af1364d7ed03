"""One hand-built ClientHello over a fresh TCP connection, and the server's first answer.

Socket errors become outcomes here, once (``Lost``): the scan and the browser-sized hello of
``check`` both read them.
"""

from __future__ import annotations

import socket
import time
from typing import NamedTuple

from tlsdiag.core.tlswire.reply import Reply, parse_reply

MAX_READ = 65536


class Lost(NamedTuple):
    """No TLS answer: reset, EOF, timeout or no TCP connection."""

    kind: str  # "reset", "eof", "timeout", "connect"
    message: str


Outcome = Reply | Lost


def exchange(address: str, port: int, hello: bytes, timeout: float) -> Outcome:
    """Send one ClientHello and return the server's first answer (bounded by ``timeout``)."""
    deadline = time.monotonic() + timeout
    family = socket.AF_INET6 if ":" in address else socket.AF_INET
    try:
        sock = socket.socket(family, socket.SOCK_STREAM)
    except OSError as exc:
        return Lost("connect", exc.strerror or str(exc))
    with sock:
        sock.settimeout(timeout)
        try:
            sock.connect((address, port))
        except TimeoutError:
            return Lost("connect", f"no TCP answer within {timeout:g}s")
        except OSError as exc:
            return Lost("connect", exc.strerror or str(exc))
        return converse(sock, hello, deadline, timeout)


def converse(sock: socket.socket, hello: bytes, deadline: float, timeout: float) -> Outcome:
    """Send ``hello`` on a connected socket (direct, or a proxy's tunnel) and read the first
    answer until ``deadline`` (``time.monotonic()``; ``timeout`` only names it in words)."""
    data = b""
    try:
        sock.sendall(hello)
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError
            sock.settimeout(left)
            chunk = sock.recv(MAX_READ)
            if not chunk:
                reply = parse_reply(data)
                if reply is not None:
                    return reply
                return Lost("eof", "closed the connection" + _after(data))
            data += chunk
            reply = parse_reply(data)
            if reply is not None:
                return reply
    except TimeoutError:
        return Lost("timeout", f"did not answer the ClientHello within {timeout:g}s")
    except ConnectionResetError:
        return Lost("reset", "reset the connection (RST)" + _after(data))
    except OSError as exc:
        return Lost("reset", (exc.strerror or str(exc)) + _after(data))


def _after(data: bytes) -> str:
    return f" after {len(data)} bytes" if data else " without answering"
