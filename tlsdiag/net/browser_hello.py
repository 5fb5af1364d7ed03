"""``check``'s extra ClientHellos: one like a current browser's, then, if it got no answer, a
small one.

The large one offers X25519MLKEM768 with a well-formed key share (``core.tlswire.hello``) and is
padded to about the size of Chromium's; the small one is the same TLS 1.3 hello without that
share or padding. Each goes out on a fresh TCP connection to the address the check used (or a
fresh tunnel through the same proxy), in a thread, while the check analyses its chain. What the
answers mean: ``core.browser_hello``.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable

from tlsdiag.core.browser_hello import BROWSER_HELLO_SIZE, BrowserHello, HelloAnswer
from tlsdiag.core.tlswire.hello import (
    MLKEM768_NOISE,
    X25519MLKEM768,
    HelloSpec,
    client_hello,
    mlkem768_share,
)
from tlsdiag.core.tlswire.reply import Alert, NotTls, ServerHello
from tlsdiag.kb.scan import groups, groups_by_code
from tlsdiag.net.hello_exchange import Lost, Outcome, converse, exchange
from tlsdiag.net.tunnel import ProxyRoute, open_tunnel

_SUITES = (0x1301, 0x1302, 0x1303)  # the TLS 1.3 suites every browser offers
_CLASSIC = ("x25519", "secp256r1", "secp384r1")  # the classic groups browsers offer first


def hellos(sni: str) -> tuple[bytes, bytes]:
    """The browser-sized ClientHello and its small twin, for ``sni``."""
    x25519 = os.urandom(32)
    pq = mlkem768_share(os.urandom(MLKEM768_NOISE), x25519)
    known = groups()
    classic = tuple(known[name].code for name in _CLASSIC)

    def spec(groups: tuple[int, ...], shares: tuple[tuple[int, bytes], ...], pad: int) -> bytes:
        return client_hello(
            HelloSpec(
                version=0x0304,
                suites=_SUITES,
                random=os.urandom(32),
                server_name=sni,
                groups=groups,
                x25519_share=x25519,
                session_id=os.urandom(32),
                shares=shares,
                alpn=("h2", "http/1.1"),
                pad_to=pad,
            )
        )

    return spec((X25519MLKEM768, *classic), ((X25519MLKEM768, pq),), BROWSER_HELLO_SIZE), spec(
        classic, (), 0
    )


def answer(out: Outcome) -> HelloAnswer:
    """One outcome in words, and whether it is a TLS answer."""
    if isinstance(out, ServerHello):
        kind = "HelloRetryRequest" if out.retry else "ServerHello"
        named = groups_by_code().get(out.group)
        group = (named.name if named else f"group {out.group:#06x}") if out.group else ""
        return HelloAnswer(True, f"{kind}, {group}" if group else kind)
    if isinstance(out, Alert):
        return HelloAnswer(True, f"alert {out.name}")
    if isinstance(out, NotTls):
        return HelloAnswer(False, f"not TLS ({out.reason})", "not_tls")
    return HelloAnswer(False, out.message, out.kind)


def _through(route: ProxyRoute, host: str, port: int, hello: bytes, timeout: float) -> Outcome:
    deadline = time.monotonic() + timeout
    sock, refused, _ = open_tunnel(route, host, port, timeout)
    if sock is None:
        return Lost("connect", refused.message if refused else "no tunnel")
    with sock:
        return converse(sock, hello, deadline, timeout)


def start(
    address: str, port: int, sni: str, timeout: float, route: ProxyRoute | None = None
) -> Callable[[], BrowserHello]:
    """Send the browser-sized hello now, in a thread, and its small twin after it when it got
    no answer (through ``route``'s tunnels to ``address``, a host name then, when given); the
    function returned waits for the answers."""
    large, small = hellos(sni)
    got: dict[str, Outcome] = {}

    def send(hello: bytes) -> Outcome:
        if route is not None:
            return _through(route, address, port, hello, timeout)
        return exchange(address, port, hello, timeout)

    def ask() -> None:
        got["large"] = send(large)
        if isinstance(got["large"], Lost):  # only then does the small one tell anything
            got["small"] = send(small)

    thread = threading.Thread(target=ask, daemon=True, name="browser-hello")
    thread.start()

    def result() -> BrowserHello:
        thread.join(2 * timeout + 1.0)
        lost = Lost("timeout", f"did not answer the ClientHello within {timeout:g}s")
        small_out = got.get("small")
        return BrowserHello(
            len(large),
            answer(got.get("large", lost)),
            answer(small_out) if small_out is not None else None,
        )

    return result
