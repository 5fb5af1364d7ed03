"""Refuse, before any packet is sent, every connection to an address that is not loopback.

The test suite talks only to 127.0.0.0/8 and ::1. This module makes that true by construction:
``install()`` wraps ``socket.socket.connect``/``connect_ex``/``sendto``/``sendmsg`` and
``socket.getaddrinfo`` so that a non-loopback destination raises ``NonLoopbackRefused`` (an
``OSError``, so the code under test handles it like a refused connection) and is recorded;
the pytest plugin in ``tests/conftest.py`` then fails the test that caused it, naming the
address. The same module is loaded into every Python subprocess the tests start (through
``sitecustomize.py`` on ``PYTHONPATH``), where a refusal also prints one line on stderr.
"""

from __future__ import annotations

import ipaddress
import socket
import sys
import threading
from typing import Any

_lock = threading.Lock()
_refused: list[str] = []
_installed = False
_LOCAL_NAMES = frozenset({"localhost", "localhost.localdomain", "ip6-localhost", "ip6-loopback"})


class NonLoopbackRefused(ConnectionRefusedError):
    """The test network guard refused a destination that is not loopback."""


def _host_of(address: Any) -> str | None:
    """The host of a socket address, or None for families without one (AF_UNIX...)."""
    if isinstance(address, tuple) and address and isinstance(address[0], str):
        return address[0]
    return None


def is_local(host: str) -> bool:
    """True for loopback literals and the names that can only mean this machine."""
    name = host.strip("[]").split("%", 1)[0].rstrip(".").lower()
    if name in _LOCAL_NAMES or name.endswith(".localhost") or name == "":
        return True
    try:
        ip = ipaddress.ip_address(name)
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_loopback or ip.is_unspecified


def _refuse(what: str, host: str) -> None:
    message = f"test network guard: refused {what} to non-loopback {host!r}"
    with _lock:
        _refused.append(message)
    print(message, file=sys.stderr, flush=True)
    raise NonLoopbackRefused(message)


def take_refusals() -> list[str]:
    """The refusals recorded since the last call (and forget them)."""
    with _lock:
        out = list(_refused)
        _refused.clear()
    return out


def install() -> None:
    """Wrap the socket functions once per process."""
    global _installed
    if _installed:
        return
    _installed = True
    sock_cls = socket.socket
    real_connect = sock_cls.connect
    real_connect_ex = sock_cls.connect_ex
    real_sendto = sock_cls.sendto
    real_sendmsg = sock_cls.sendmsg
    real_getaddrinfo = socket.getaddrinfo

    def check(address: Any, what: str) -> None:
        host = _host_of(address)
        if host is not None and not is_local(host):
            _refuse(what, host)

    def connect(self: socket.socket, address: Any) -> None:
        check(address, "a connection")
        real_connect(self, address)

    def connect_ex(self: socket.socket, address: Any) -> int:
        check(address, "a connection")
        return real_connect_ex(self, address)

    def sendto(self: socket.socket, data: Any, *args: Any) -> int:
        check(args[-1], "a datagram")
        return real_sendto(self, data, *args)

    def sendmsg(self: socket.socket, buffers: Any, *args: Any) -> int:
        if len(args) >= 3:
            check(args[2], "a datagram")
        return real_sendmsg(self, buffers, *args)

    def getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
        # A name lookup asks the resolver, which may sit on another machine: only names
        # that can only mean this one (and literals, checked again at connect) pass.
        if isinstance(host, bytes):
            host = host.decode("idna", "replace")
        if isinstance(host, str) and host.rstrip(".").lower().endswith(".invalid"):
            # RFC 6761: every resolver answers "no such name"; say so without asking one
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        if isinstance(host, str) and not is_local(host):
            try:
                ipaddress.ip_address(host.strip("[]").split("%", 1)[0])
            except ValueError:
                _refuse("a name lookup", host)
        return real_getaddrinfo(host, *args, **kwargs)

    sock_cls.connect = connect  # type: ignore[method-assign,assignment]  # the guard itself
    sock_cls.connect_ex = connect_ex  # type: ignore[method-assign,assignment]
    sock_cls.sendto = sendto  # type: ignore[method-assign,assignment]
    sock_cls.sendmsg = sendmsg  # type: ignore[method-assign,assignment]
    socket.getaddrinfo = getaddrinfo
