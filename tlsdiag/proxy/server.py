"""The proxy server: asyncio transports, TLS through memory BIOs, byte relay, events.

Each client connection is one ``Connection`` with up to two ``Endpoint`` protocols (client side,
server side). TLS runs on ``ssl.SSLObject`` + ``MemoryBIO`` over plain TCP transports, not on
asyncio's TLS transport (which allocates a 256 KiB buffer per connection): an idle tunnel then
costs a few KiB. The setup (request head, ClientHello, upstream handshake, policy, forged
handshake) is one coroutine per connection; once both sides are up, bytes move in protocol
callbacks with backpressure (a side whose write buffer is full pauses reading on the other).
"""

from __future__ import annotations

import asyncio
import contextlib
import html
import ipaddress
import logging
import ssl
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cryptography import x509

from tlsdiag import codes
from tlsdiag.core.certbuild import KeyType
from tlsdiag.proxy.ca import CaMaterial, name_permitted, permitted_domains
from tlsdiag.proxy.events import EventLog, ProxyEvent
from tlsdiag.proxy.forge import Forger, ForgeSpec, Signer, TlsVersions, spec_for
from tlsdiag.proxy.parse import (
    ClientHello,
    NotTls,
    ParseError,
    RequestHead,
    head_end,
    origin_request,
    parse_client_hello,
    parse_request_head,
)
from tlsdiag.proxy.policy import Action, Decision, InvalidCert, MutualTls, Policy
from tlsdiag.proxy.upstream import (
    CLIENT_REJECTS,
    TlsFailure,
    UpstreamContexts,
    alert_from_reason,
    classify_ssl_error,
    classify_verify_error,
    completes_via_aia,
    refine_with_chain,
)

log = logging.getLogger(__name__)

_READ_BUF = bytearray(256 * 1024)  # one shared buffer: the loop is single-threaded
_READ_VIEW = memoryview(_READ_BUF)
PENDING_LIMIT = 256 * 1024
SESSION_REFRESH = 30.0  # seconds before a kept upstream session is replaced by a newer one
SESSION_MAX_AGE = 3600.0  # never resume older sessions (servers' tickets expire too)
Network = ipaddress.IPv4Network | ipaddress.IPv6Network
_VERSION_NAMES = {"TLSv1": "TLSv1.0"}
# OpenSSL reasons for a client that sends something other than TLS records mid-handshake.
_GARBAGE_REASONS = frozenset(
    {
        "WRONG_VERSION_NUMBER",
        "HTTP_REQUEST",
        "UNKNOWN_PROTOCOL",
        "PACKET_LENGTH_TOO_LONG",
        "RECORD_LAYER_FAILURE",
        "UNEXPECTED_RECORD",
        "RECORD_LENGTH_MISMATCH",
        "BAD_PACKET_LENGTH",
        "LENGTH_MISMATCH",
        "DECRYPTION_FAILED_OR_BAD_RECORD_MAC",
        "BAD_RECORD_MAC",
    }
)
_VERSION_REASONS = (
    "UNSUPPORTED_PROTOCOL",
    "PROTOCOL_VERSION",
    "VERSION_TOO_LOW",
    "VERSION_TOO_HIGH",
    "NO_PROTOCOLS_AVAILABLE",
    "UNSUPPORTED_SSL_VERSION",
)


@dataclass(frozen=True, slots=True)
class ResolveTo:
    """``--resolve HOST:PORT:ADDR``: connect there instead of resolving."""

    host: str
    port: int
    addresses: tuple[str, ...]


@dataclass(slots=True)
class ProxyConfig:
    """Everything the proxy needs to run."""

    ca: CaMaterial
    policy: Policy
    host: str = "127.0.0.1"
    port: int = 8080
    events_path: Path | None = None
    upstream_cafiles: tuple[Path, ...] = ()
    resolve: tuple[ResolveTo, ...] = ()
    allow_clients: tuple[Network, ...] = ()
    max_connections: int = 4096
    header_timeout: float = 30.0
    handshake_timeout: float = 15.0
    connect_timeout: float = 10.0
    idle_timeout: float = 300.0
    cache_size: int = 2048
    backlog: int = 1024
    listener: Callable[[ProxyEvent], None] | None = None
    leaf_key: KeyType = KeyType.EC256  # the forged leaves' key type


class _Stop(Exception):
    """The connection ends here (already answered or closed)."""


def _now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _ms(start: float) -> float:
    return (time.perf_counter() - start) * 1000.0


def _header_safe(text: str) -> str:
    return "".join(c if 0x20 <= ord(c) < 0x7F else " " for c in text)[:300]


def block_response(
    *, status: int, reason: str, code: str, title: str, detail: str, host: str
) -> bytes:
    """A small HTML page naming why the proxy refused, with the finding code in a header."""
    body = (
        '<!doctype html><html><head><meta charset="utf-8"><title>'
        f"{html.escape(title)}</title></head><body><h1>{html.escape(title)}</h1>"
        f"<p>{html.escape(detail)}</p><p>Host: <code>{html.escape(host)}</code><br>"
        + (f"Finding: <code>{html.escape(code)}</code>" if code else "")
        + "</p>"
        "<p>Served by the tlsdiag inspecting proxy.</p></body></html>\n"
    ).encode()
    finding = f"X-Tlsdiag-Finding: {_header_safe(code)}\r\n" if code else ""
    head = (
        f"HTTP/1.1 {status} {reason}\r\n"
        "Content-Type: text/html; charset=utf-8\r\n"
        f"Content-Length: {len(body)}\r\n"
        f"{finding}"
        f"X-Tlsdiag-Reason: {_header_safe(detail)}\r\n"
        "Cache-Control: no-store\r\n"
        "Connection: close\r\n\r\n"
    ).encode()
    return head + body


def _raw_msg_callback(
    conn: Any, direction: str, version: int, content_type: int, msg_type: int, data: bytes
) -> None:
    """OpenSSL message callback on upstream contexts: notes CertificateRequest and alerts."""
    if content_type == 22 and msg_type == 13 and direction == "read":
        ep = getattr(conn, "_tlsdiag_ep", None)
        if ep is not None:
            ep.cert_requested = True
    elif content_type == 21 and len(data) >= 2:
        ep = getattr(conn, "_tlsdiag_ep", None)
        if ep is not None:
            ep.alerts.append((direction, data[0], data[1]))


class Endpoint(asyncio.Protocol):
    """One TCP side of a connection, optionally speaking TLS through memory BIOs."""

    __slots__ = (
        "alerts",
        "bio_in",
        "bio_out",
        "cert_requested",
        "closed",
        "conn",
        "eof",
        "error",
        "handshaking",
        "paused",
        "peer",
        "pending",
        "relayed",
        "role",
        "tls",
        "transport",
        "waiter",
    )

    def __init__(self, conn: Connection, role: str) -> None:
        self.conn = conn
        self.role = role  # "client" or "server"
        self.transport: asyncio.Transport | None = None
        self.tls: ssl.SSLObject | None = None
        self.bio_in: ssl.MemoryBIO | None = None
        self.bio_out: ssl.MemoryBIO | None = None
        self.peer: Endpoint | None = None
        self.pending = bytearray()
        self.waiter: asyncio.Future[None] | None = None
        self.handshaking = False
        self.eof = False
        self.closed = False
        self.paused = False
        self.error: BaseException | None = None
        self.relayed = 0
        self.cert_requested = False
        self.alerts: list[tuple[str, int, int]] = []

    # --- asyncio callbacks ---------------------------------------------------------------
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        if self.role == "client":
            self.conn.client_made(self)

    def data_received(self, data: bytes) -> None:
        self.conn.last_activity = self.conn.loop.time()
        if self.tls is None:
            self._deliver(data)
            return
        assert self.bio_in is not None
        self.bio_in.write(data)
        if self.handshaking:
            self._wake()
            return
        self._decrypt()

    def eof_received(self) -> bool | None:
        self.eof = True
        self._wake()
        if self.peer is not None and self.conn.relaying:
            self.conn.side_eof(self)
            return self.tls is None and self.peer.tls is None
        return None

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        if exc is not None and self.error is None:
            self.error = exc
        self._wake()
        if self.tls is not None:
            self.tls.__dict__.pop("_tlsdiag_ep", None)
        self.conn.side_closed(self)

    def pause_writing(self) -> None:
        if self.peer is not None and self.peer.transport is not None:
            self.peer.transport.pause_reading()
            self.peer.paused = True

    def resume_writing(self) -> None:
        if self.peer is not None and self.peer.transport is not None and self.peer.paused:
            self.peer.paused = False
            self.peer.transport.resume_reading()

    # --- data ------------------------------------------------------------------------------
    def _wake(self) -> None:
        w = self.waiter
        if w is not None and not w.done():
            w.set_result(None)

    def _deliver(self, data: bytes) -> None:
        peer = self.peer
        if peer is not None and self.conn.relaying:
            self.relayed += len(data)
            peer.send(data)
            return
        self.pending += data
        if len(self.pending) > PENDING_LIMIT and self.transport is not None:
            self.transport.pause_reading()
            self.paused = True
        self._wake()

    def _decrypt(self) -> None:
        tls = self.tls
        bio = self.bio_in
        assert tls is not None and bio is not None
        raw: Any = tls._sslobj  # type: ignore[attr-defined] # skip the Python wrapper (hot path)
        try:
            while True:
                n = raw.read(len(_READ_BUF), _READ_BUF)
                if not n:
                    self._flush()
                    self.eof = True
                    self._wake()
                    if self.conn.relaying:
                        self.conn.side_eof(self)
                    return
                self._deliver(bytes(_READ_VIEW[:n]))
                # Stop without provoking SSLWantReadError (building it costs microseconds).
                if not bio.pending and not raw.pending():
                    break
        except ssl.SSLWantReadError:
            pass
        except ssl.SSLError as exc:
            self.error = exc
            self._flush()
            self.conn.side_tls_error(self, exc)
            return
        self._flush()

    def _flush(self) -> None:
        bio = self.bio_out
        if bio is not None and bio.pending and self.transport is not None:
            self.transport.write(bio.read())

    def send(self, data: bytes) -> None:
        """Send application bytes (encrypted when this side speaks TLS)."""
        t = self.transport
        if t is None or t.is_closing():
            return
        if self.tls is not None:
            try:
                self.tls.write(data)
            except ssl.SSLError as exc:
                self.error = exc
                t.close()
                return
            self._flush()
        else:
            t.write(data)

    def send_raw(self, data: bytes) -> None:
        """Send bytes as they are (before TLS starts)."""
        if self.transport is not None and not self.transport.is_closing():
            self.transport.write(data)

    async def wait(self) -> None:
        """Wait for more bytes, EOF or close."""
        if self.closed or self.eof:
            raise _Stop()
        self.waiter = self.conn.loop.create_future()
        try:
            await self.waiter
        finally:
            self.waiter = None

    # --- TLS -------------------------------------------------------------------------------
    def start_tls(
        self,
        ctx: ssl.SSLContext,
        *,
        server_side: bool,
        server_hostname: str | None = None,
        session: ssl.SSLSession | None = None,
    ) -> None:
        """Switch to TLS; bytes already received (the ClientHello) are fed to it."""
        self.bio_in = ssl.MemoryBIO()
        self.bio_out = ssl.MemoryBIO()
        self.tls = ctx.wrap_bio(
            self.bio_in,
            self.bio_out,
            server_side=server_side,
            server_hostname=server_hostname,
            session=session,
        )
        self.tls._tlsdiag_ep = self  # type: ignore[attr-defined] # for the message callback
        if self.pending:
            self.bio_in.write(bytes(self.pending))
            self.pending.clear()
        if self.paused and self.transport is not None:
            self.paused = False
            self.transport.resume_reading()

    async def handshake(self) -> None:
        """Run the handshake; raises ssl.SSLError or ConnectionResetError."""
        tls = self.tls
        assert tls is not None
        self.handshaking = True
        try:
            while True:
                try:
                    tls.do_handshake()
                    break
                except ssl.SSLWantReadError:
                    self._flush()
                    if self.closed or self.eof:
                        if self.error is not None and isinstance(self.error, OSError):
                            raise ConnectionResetError(str(self.error)) from None
                        raise ssl.SSLEOFError("EOF during the handshake") from None
                    await self.wait_raw()
        finally:
            self._flush()
            self.handshaking = False
        assert self.bio_in is not None
        if self.bio_in.pending:
            self._decrypt()

    async def wait_raw(self) -> None:
        """Like ``wait`` but EOF does not raise (the handshake loop checks it)."""
        self.waiter = self.conn.loop.create_future()
        try:
            await self.waiter
        finally:
            self.waiter = None

    def close(self) -> None:
        """Close gracefully: close_notify for TLS, then close after buffered data is sent."""
        t = self.transport
        if t is None or t.is_closing():
            return
        if self.tls is not None and not self.handshaking:
            with contextlib.suppress(ssl.SSLError, ValueError):
                self.tls.unwrap()
            self._flush()
        t.close()

    def abort(self) -> None:
        """Drop the connection at once."""
        if self.transport is not None:
            self.transport.abort()


class Connection:
    """One client connection from accept to the event line."""

    __slots__ = (
        "client",
        "client_ip",
        "ev",
        "finished",
        "last_activity",
        "loop",
        "pre_open",
        "relaying",
        "server",
        "session_key",
        "started",
        "task",
        "upstream",
    )

    def __init__(self, server: ProxyServer) -> None:
        self.server = server
        self.loop = server.loop
        self.client: Endpoint | None = None
        self.upstream: Endpoint | None = None
        self.relaying = False
        self.finished = False
        self.started = time.perf_counter()
        self.last_activity = self.loop.time()
        self.ev = ProxyEvent(time=_now_iso())
        self.client_ip: str | None = None
        self.task: asyncio.Task[None] | None = None
        self.session_key: tuple[str, int, str, tuple[str, ...]] | None = None
        self.pre_open: tuple[tuple[str, int], asyncio.Task[_Opened]] | None = None

    # --- callbacks from endpoints ----------------------------------------------------------
    def client_made(self, ep: Endpoint) -> None:
        self.client = ep
        assert ep.transport is not None
        peer = ep.transport.get_extra_info("peername")
        if isinstance(peer, tuple) and peer:
            self.client_ip = str(peer[0])
            host = f"[{peer[0]}]" if ":" in str(peer[0]) else str(peer[0])
            self.ev.client = f"{host}:{peer[1]}"
        srv = self.server
        if not srv.client_allowed(self.client_ip):
            self._refuse(
                403,
                "Forbidden",
                codes.POLICY_BLOCKED,
                "client not allowed",
                f"client {self.client_ip} is not in --allow-client",
            )
            return
        if len(srv.connections) >= srv.config.max_connections:
            self._refuse(
                503,
                "Service Unavailable",
                codes.POLICY_BLOCKED,
                "too many connections",
                "the proxy's connection limit is reached",
            )
            return
        srv.connections.add(self)
        srv.accepted += 1
        self.task = self.loop.create_task(self.run())

    def _refuse(self, status: int, reason: str, code: str, title: str, detail: str) -> None:
        assert self.client is not None
        self.client.send_raw(
            block_response(
                status=status, reason=reason, code=code, title=title, detail=detail, host=""
            )
        )
        self.ev.action = "block"
        self.ev.rule = "proxy-limits" if status == 503 else "allow-client"
        self.ev.finding = code
        self.ev.detail = detail
        self.ev.http_status = status
        self.ev.closed_by = "proxy"
        self.client.close()
        self.finish()

    def side_eof(self, ep: Endpoint) -> None:
        if ep is not self.client and ep is not self.upstream:
            return  # a connection given up earlier (a failed or spare upstream attempt)
        other = self.upstream if ep is self.client else self.client
        if not self.ev.closed_by:
            self.ev.closed_by = ep.role
        if other is None:
            return
        if ep.tls is None and other.tls is None:
            t = other.transport
            if t is not None and not t.is_closing() and t.can_write_eof():
                t.write_eof()
            if other.eof:
                ep.close()
                other.close()
            return
        other.close()
        ep.close()

    def side_tls_error(self, ep: Endpoint, exc: ssl.SSLError) -> None:
        if ep is not self.client and ep is not self.upstream:
            if ep.transport is not None:
                ep.transport.close()
            return
        alert = alert_from_reason(getattr(exc, "reason", None))
        if alert and not self.ev.tls_error_description:
            self.ev.tls_error_description = alert
            self.ev.tls_error_side = ep.role
            self.ev.tls_error_type = "fatal"
            if ep.role == "server" and alert == "certificate required":
                self.ev.finding = codes.APP_MUTUAL_TLS
                self.ev.detail = (
                    "mutual TLS: cannot inspect (the server requires a client certificate)"
                )
                self.server.learn_mutual_tls(self.ev.sni or self.ev.host, self.ev.port)
        if not self.ev.closed_by:
            self.ev.closed_by = ep.role
        other = self.upstream if ep is self.client else self.client
        if ep.transport is not None:
            ep.transport.close()
        if other is not None:
            other.close()

    def side_closed(self, ep: Endpoint) -> None:
        if ep is not self.client and ep is not self.upstream:
            return
        if not self.ev.closed_by and self.relaying:
            self.ev.closed_by = ep.role
        other = self.upstream if ep is self.client else self.client
        if self.relaying and other is not None:
            other.close()
        if self.relaying and (other is None or other.closed) and ep.closed:
            self.finish()

    # --- the setup coroutine ---------------------------------------------------------------
    async def run(self) -> None:
        try:
            await self._run()
        except _Stop:
            pass
        except TimeoutError:
            self.ev.closed_by = self.ev.closed_by or "timeout"
            if not self.ev.detail:
                self.ev.detail = "timed out before the tunnel was set up"
        except asyncio.CancelledError:
            self.ev.closed_by = self.ev.closed_by or "proxy"
            self.close_all(abort=True)
            self.finish()
            raise
        except Exception as exc:  # never let one connection take the proxy down
            log.exception("connection failed: %s", exc)
            self.ev.detail = self.ev.detail or f"proxy error: {type(exc).__name__}: {exc}"
        finally:
            self.task = None
            self._drop_open_ahead()
        if not self.relaying:
            self.close_all()
            self.finish()

    async def _run(self) -> None:
        cfg = self.server.config
        client = self.client
        assert client is not None
        async with asyncio.timeout(cfg.header_timeout):
            while True:
                end = self._head_end(client)
                if end >= 0:
                    break
                await client.wait()
        raw = bytes(client.pending[:end])
        del client.pending[:end]
        try:
            req = parse_request_head(raw)
        except ParseError as exc:
            self.ev.kind = "invalid"
            self._answer_plain(
                exc.status,
                "Bad Request" if exc.status == 400 else "Request Header Fields Too Large",
                "",
                "malformed request",
                str(exc),
                "",
            )
            return
        self.ev.host, self.ev.port = req.host, req.port
        if req.method == "CONNECT":
            await self._connect(req)
        else:
            await self._http(req)

    def _head_end(self, client: Endpoint) -> int:
        try:
            return head_end(client.pending)
        except ParseError as exc:
            self._answer_plain(
                exc.status,
                "Request Header Fields Too Large",
                "",
                "malformed request",
                str(exc),
                "",
            )
            raise _Stop() from None

    def _answer_plain(
        self, status: int, reason: str, code: str, title: str, detail: str, host: str
    ) -> None:
        assert self.client is not None
        self.client.send_raw(
            block_response(
                status=status, reason=reason, code=code, title=title, detail=detail, host=host
            )
        )
        self.ev.http_status = status
        self.ev.finding = self.ev.finding or code
        self.ev.detail = self.ev.detail or detail
        self.ev.action = self.ev.action or "block"
        self.ev.closed_by = "proxy"

    def _decide(self, name: str, fallback: str, port: int) -> Decision:
        cache = self.server.decisions
        key = (name, fallback, port, self.client_ip)
        hit = cache.get(key)
        if hit is None:
            hit = cache[key] = self._decide_uncached(name, fallback, port)
            if len(cache) > 4096:
                cache.pop(next(iter(cache)))
        return hit

    def _decide_uncached(self, name: str, fallback: str, port: int) -> Decision:
        policy = self.server.config.policy
        d = policy.decide(name, port, self.client_ip)
        if d.rule == "default" and fallback != name:
            d2 = policy.decide(fallback, port, self.client_ip)
            if d2.rule != "default":
                return d2
        return d

    async def _connect(self, req: RequestHead) -> None:
        cfg = self.server.config
        client = self.client
        assert client is not None
        client.send_raw(b"HTTP/1.1 200 Connection established\r\n\r\n")
        if self._decide(req.host, req.host, req.port).action is not Action.BLOCK:
            self._open_ahead(req.host, req.port)
        hello: ClientHello | None = None
        not_tls = ""
        async with asyncio.timeout(cfg.header_timeout):
            while True:
                try:
                    hello = parse_client_hello(client.pending)
                except NotTls as exc:
                    not_tls = str(exc)
                    break
                if hello is not None:
                    break
                await client.wait()
        name = hello.sni if hello is not None and hello.sni else req.host
        ev = self.ev
        if hello is not None:
            ev.sni = hello.sni or ""
            ev.client_alpn = ",".join(hello.alpn)
        decision = self._decide(name, req.host, req.port)
        ev.rule, ev.action = decision.rule, decision.action.value
        if decision.source == "default-bypass":
            ev.finding = codes.PLATFORM_DEFAULT_BYPASS
            ev.detail = f"in the default bypass list ({decision.note})"
        if hello is None:
            if decision.action is Action.BYPASS:
                await self._bypass(req.host, req.port)
                return
            ev.client_handshake = "not-tls"
            ev.finding = codes.NETWORK_NOT_TLS
            ev.detail = f"the client sent no TLS ClientHello after CONNECT ({not_tls})"
            ev.action = "block"
            ev.closed_by = "proxy"
            return
        permitted = self.server.permitted
        if decision.action is Action.INSPECT and not name_permitted(permitted, name):
            ev.rule, ev.action = "ca-name-constraints", "bypass"
            decision = Decision(Action.BYPASS, "ca-name-constraints")
        if decision.action is Action.INSPECT and self.server.knows_mutual_tls(name, req.port):
            ev.finding = codes.APP_MUTUAL_TLS
            ev.detail = "mutual TLS: cannot inspect (seen on an earlier connection)"
            if cfg.policy.mutual_tls is MutualTls.BYPASS:
                ev.rule, ev.action = "mutual-tls", "bypass"
                await self._bypass(req.host, req.port)
            else:
                ev.rule, ev.action = "mutual-tls", "block"
                await self._block(
                    hello, name, codes.APP_MUTUAL_TLS, "mutual TLS: cannot inspect", ev.detail
                )
            return
        if decision.action is Action.BYPASS:
            await self._bypass(req.host, req.port)
        elif decision.action is Action.BLOCK:
            await self._block(
                hello,
                name,
                codes.POLICY_BLOCKED,
                "Blocked by policy",
                f"rule {decision.rule!r} blocks {name}",
            )
        else:
            await self._inspect(req, hello, name)

    async def _open(self, host: str, port: int) -> Endpoint:
        """TCP to the server (the one opened ahead when it matches); failures become findings
        and ``_UpstreamDown``."""
        pre = self.pre_open
        if pre is not None and pre[0] == (host, port):
            self.pre_open = None
            opened = await pre[1]
        else:
            opened = await self._connect_tcp(host, port)
        self.ev.connect_ms = opened.ms
        if opened.ep is None:
            self._fail(opened.code, opened.detail)
            raise _UpstreamDown()
        self.upstream = opened.ep
        self.ev.upstream_address = opened.address
        return opened.ep

    def _open_ahead(self, host: str, port: int) -> None:
        """Start connecting to the server while the client sends its ClientHello."""
        self.pre_open = ((host, port), self.loop.create_task(self._connect_tcp(host, port)))

    def _drop_open_ahead(self) -> None:
        pre = self.pre_open
        if pre is None:
            return
        self.pre_open = None
        task = pre[1]

        def discard(t: asyncio.Task[_Opened]) -> None:
            if not t.cancelled() and t.exception() is None:
                ep = t.result().ep
                if ep is not None:
                    ep.abort()

        if task.done():
            discard(task)
        else:
            task.cancel()
            task.add_done_callback(discard)

    async def _connect_tcp(self, host: str, port: int) -> _Opened:
        """Open TCP to host:port (``--resolve`` first); never raises for network errors."""
        cfg = self.server.config
        addrs = self.server.resolve(host, port)
        ep = Endpoint(self, "server")
        t0 = time.perf_counter()
        last: BaseException | None = None
        for addr in addrs:
            try:
                async with asyncio.timeout(cfg.connect_timeout):
                    await self.loop.create_connection(lambda: ep, addr, port)
                assert ep.transport is not None
                peer = ep.transport.get_extra_info("peername")
                address = ""
                if isinstance(peer, tuple):
                    h = f"[{peer[0]}]" if ":" in str(peer[0]) else str(peer[0])
                    address = f"{h}:{peer[1]}"
                return _Opened(ep, address, _ms(t0))
            except (OSError, TimeoutError) as exc:
                last = exc
        import socket

        if isinstance(last, socket.gaierror):
            code, detail = codes.NETWORK_DNS_FAILURE, f"{host} does not resolve: {last.strerror}"
        elif isinstance(last, TimeoutError):
            code, detail = codes.NETWORK_CONNECT_FAILED, f"connecting to {host}:{port} timed out"
        else:
            msg = getattr(last, "strerror", None) or str(last)
            code, detail = codes.NETWORK_CONNECT_FAILED, f"cannot connect to {host}:{port}: {msg}"
        return _Opened(None, "", _ms(t0), code, detail)

    def _fail(self, code: str, detail: str) -> None:
        self.ev.finding = code
        self.ev.detail = detail

    async def _bypass(self, host: str, port: int) -> None:
        ev = self.ev
        ev.tls_inspection = 0
        ev.action = "bypass"
        ev.client_handshake = "skipped"
        try:
            await self._open(host, port)
        except _UpstreamDown:
            ev.closed_by = "proxy"
            return
        self._link()

    async def _http(self, req: RequestHead) -> None:
        ev = self.ev
        ev.kind = "http"
        decision = self._decide(req.host, req.host, req.port)
        ev.rule, ev.action = decision.rule, decision.action.value
        if decision.action is Action.BLOCK:
            self._answer_plain(
                403,
                "Forbidden",
                codes.POLICY_BLOCKED,
                "Blocked by policy",
                f"rule {decision.rule!r} blocks {req.host}",
                req.host,
            )
            return
        try:
            up = await self._open(req.host, req.port)
        except _UpstreamDown:
            self._answer_plain(
                502, "Bad Gateway", ev.finding, "Cannot reach the server", ev.detail, req.host
            )
            return
        up.send(origin_request(req))
        self._link()

    async def _inspect(self, req: RequestHead, hello: ClientHello, name: str) -> None:
        cfg = self.server.config
        srv = self.server
        ev = self.ev
        ev.tls_inspection = 1
        try:
            up = await self._open(req.host, req.port)
        except _UpstreamDown:
            await self._block(hello, name, ev.finding, "Cannot reach the server", ev.detail)
            return
        server_name = hello.sni or req.host
        t0 = time.perf_counter()
        failure: TlsFailure | None = None
        verify_failed: ssl.SSLCertVerificationError | None = None
        try:
            session_key = (req.host, req.port, server_name, hello.alpn)
            up.start_tls(
                srv.upstream.get(hello.alpn),
                server_side=False,
                server_hostname=server_name,
                session=srv.session_for(session_key),
            )
            async with asyncio.timeout(cfg.handshake_timeout):
                await up.handshake()
        except ssl.SSLCertVerificationError as exc:
            verify_failed = exc
        except (ssl.SSLError, OSError, EOFError) as exc:
            failure = classify_ssl_error(exc, cert_requested=up.cert_requested)
        except TimeoutError:
            failure = TlsFailure(codes.NETWORK_RESET, "the server did not complete the handshake")
        ev.upstream_tls_ms = _ms(t0)
        if failure is None and verify_failed is None and up.cert_requested:
            failure = TlsFailure(codes.APP_MUTUAL_TLS, "certificate required", "fatal")
        if failure is not None:
            up.abort()
            self.upstream = None
            self._server_alert(up, failure)
            if failure.code == codes.APP_MUTUAL_TLS:
                await self._mutual_tls(req, hello, name)
                return
            ev.verification = "not completed"
            await self._block(
                hello,
                name,
                failure.code,
                "Cannot connect securely",
                self._failure_detail(failure, name),
            )
            return
        spec: ForgeSpec
        if verify_failed is not None:
            up.abort()
            self.upstream = None
            vf = classify_verify_error(verify_failed.verify_code, verify_failed.verify_message)
            ev.verification = verify_failed.verify_message or "certificate verify failed"
            up2 = await self._unverified(req, hello, server_name)
            leaf = None
            chain: list[bytes] = []
            if up2 is not None:
                chain = _peer_chain(up2)
                if chain:
                    vf, _seen = refine_with_chain(
                        vf,
                        chain,
                        host=server_name,
                        now=datetime.now(UTC),
                        extra_roots=srv.extra_roots,
                    )
                    leaf = _load(chain[0])
            aia_ok = False
            if (
                vf.code == codes.SERVER_CHAIN_INCOMPLETE
                and cfg.policy.aia_fetch
                and up2 is not None
                and leaf is not None
            ):
                aia_ok, aia_words = await asyncio.to_thread(
                    completes_via_aia,
                    chain,
                    host=server_name,
                    now=datetime.now(UTC),
                    extra_roots=srv.extra_roots,
                    timeout=min(5.0, cfg.connect_timeout),
                )
                ev.detail = aia_words
            ev.tls_certificate_error = vf.certificate_error
            ev.tls_error_description = vf.description
            ev.tls_error_type = "fatal"
            ev.tls_error_side = "server"
            ev.finding = vf.code
            mode = cfg.policy.invalid_certificate
            if leaf is not None:
                ev.issuer = leaf.issuer.rfc4514_string()
                ev.subject = leaf.subject.rfc4514_string()
            if up2 is None or leaf is None or (mode is InvalidCert.BLOCK and not aia_ok):
                if up2 is not None:
                    up2.abort()
                    self.upstream = None
                await self._block(
                    hello,
                    name,
                    vf.code,
                    "Invalid server certificate",
                    self._failure_detail(vf, name),
                )
                return
            up = up2
            if aia_ok:
                # The chain verifies once completed: inspect as usual, keep the finding.
                ev.verification = "ok (chain completed from AIA)"
                ev.tls_error_description = ev.tls_error_type = ev.tls_error_side = ""
                spec = spec_for(name, leaf)
            elif mode is InvalidCert.ALLOW:
                ev.detail = (
                    f"server certificate invalid ({vf.certificate_error}); re-signed as valid by "
                    "policy (invalid_certificate = allow): the client sees no error"
                )
                spec = spec_for(name, leaf)
            else:
                signer = Signer.TRUSTED
                if vf.code == codes.SERVER_SELF_SIGNED:
                    signer = Signer.SELF
                elif vf.code in (codes.SERVER_UNTRUSTED_ROOT, codes.SERVER_CHAIN_INCOMPLETE):
                    signer = Signer.UNTRUSTED
                ev.detail = (
                    f"server certificate invalid ({vf.certificate_error}); the problem is "
                    "reproduced in the forged certificate (invalid_certificate = mimic)"
                )
                spec = spec_for(name, leaf, mimic=True, signer=signer)
        else:
            ev.verification = "ok"
            if up.tls is not None and up.tls.session_reused:
                ev.verification = "ok (resumed session)"
            self.session_key = session_key
            der = up.tls.getpeercert(binary_form=True) if up.tls is not None else None
            spec, issuer, subject = srv.spec_for_der(name, der)
            ev.issuer, ev.subject = issuer, subject
        assert up.tls is not None
        if verify_failed is None:
            # Same settings without the message callback: no Python call per TLS record from
            # now on (CPython re-reads the callback from the SSL object's context).
            # Verification is over, so a context without trust anchors does.
            up.tls.context = srv.upstream.get(hello.alpn, verify=False, callback=False)
        self._upstream_facts(up)
        if ev.cipher_bits and ev.cipher_bits < cfg.policy.min_cipher_bits:
            up.close()
            self.upstream = None
            ev.tls_error_side = "server"
            await self._block(
                hello,
                name,
                codes.LEGACY_CIPHER_SUITE,
                "Weak cipher",
                f"{ev.cipher} has {ev.cipher_bits}-bit strength, the policy needs "
                f"{cfg.policy.min_cipher_bits}",
            )
            return
        ev.forged = spec.signer.value
        alpn = up.tls.selected_alpn_protocol()
        if not await self._client_tls(srv.forger.context(spec, alpn)):
            up.close()
            return
        self._link()

    def _upstream_facts(self, up: Endpoint) -> None:
        tls = up.tls
        assert tls is not None
        ev = self.ev
        version = tls.version() or ""
        ev.upstream_version = _VERSION_NAMES.get(version, version)
        cipher = tls.cipher()
        if cipher:
            ev.cipher, ev.cipher_bits = cipher[0], int(cipher[2] or 0)
        ev.alpn = tls.selected_alpn_protocol() or ""

    def _server_alert(self, up: Endpoint, failure: TlsFailure) -> None:
        ev = self.ev
        ev.finding = failure.code
        ev.tls_error_description = failure.description
        ev.tls_error_type = failure.error_type
        ev.tls_error_side = "server"
        for direction, level, _desc in up.alerts:
            if direction == "read":
                ev.tls_error_type = "warning" if level == 1 else "fatal"

    def _failure_detail(self, failure: TlsFailure, name: str) -> str:
        if failure.certificate_error:
            return f"the certificate of {name} failed verification: {failure.certificate_error}"
        words = {
            codes.LEGACY_PROTOCOL_VERSION: "no TLS version in common with the server (the policy "
            "minimum toward the server is above what it offers)",
            codes.LEGACY_CIPHER_SUITE: "no acceptable cipher suite in common with the server",
            codes.NETWORK_RESET: "the server closed or reset the connection during the handshake",
            codes.NETWORK_NOT_TLS: "the server did not answer with TLS",
        }
        base = words.get(failure.code, "the TLS handshake with the server failed")
        return f"{base} (alert or error: {failure.description})"

    async def _unverified(
        self, req: RequestHead, hello: ClientHello, server_name: str
    ) -> Endpoint | None:
        """Connect again without verification, to see the chain (and to allow or mimic)."""
        cfg = self.server.config
        try:
            up = await self._open(req.host, req.port)
        except _UpstreamDown:
            return None
        try:
            up.start_tls(
                self.server.upstream.get(hello.alpn, verify=False),
                server_side=False,
                server_hostname=server_name,
            )
            async with asyncio.timeout(cfg.handshake_timeout):
                await up.handshake()
        except (ssl.SSLError, OSError, EOFError, TimeoutError):
            up.abort()
            self.upstream = None
            return None
        return up

    async def _mutual_tls(self, req: RequestHead, hello: ClientHello, name: str) -> None:
        ev = self.ev
        self.server.learn_mutual_tls(name, req.port)
        ev.finding = codes.APP_MUTUAL_TLS
        ev.detail = "mutual TLS: cannot inspect (the server asks for a client certificate)"
        if self.server.config.policy.mutual_tls is MutualTls.BYPASS:
            ev.rule = "mutual-tls"
            await self._bypass(req.host, req.port)
        else:
            ev.rule = "mutual-tls"
            await self._block(
                hello, name, codes.APP_MUTUAL_TLS, "mutual TLS: cannot inspect", ev.detail
            )

    async def _client_tls(self, ctx: ssl.SSLContext) -> bool:
        """Finish the client's handshake with a forged certificate; classify a refusal."""
        client = self.client
        assert client is not None
        ev = self.ev
        t0 = time.perf_counter()
        try:
            client.start_tls(ctx, server_side=True)
            async with asyncio.timeout(self.server.config.handshake_timeout):
                await client.handshake()
        except ssl.SSLError as exc:
            ev.client_tls_ms = _ms(t0)
            self._client_failed(exc)
            return False
        except (OSError, EOFError) as exc:
            ev.client_tls_ms = _ms(t0)
            ev.client_handshake = "failed"
            ev.tls_error_side = ev.tls_error_side or "client"
            if not ev.finding or ev.finding == codes.PLATFORM_DEFAULT_BYPASS:
                ev.finding = codes.NETWORK_RESET
            ev.detail = ev.detail or f"the client closed the connection in the handshake ({exc})"
            ev.closed_by = "client"
            return False
        except TimeoutError:
            ev.client_handshake = "failed"
            ev.detail = ev.detail or "the client did not complete the handshake"
            ev.closed_by = "timeout"
            return False
        ev.client_tls_ms = _ms(t0)
        ev.client_handshake = "ok"
        assert client.tls is not None
        version = client.tls.version() or ""
        ev.client_version = _VERSION_NAMES.get(version, version)
        if self.client_ip is not None:
            self.server.trusted_by.add(self.client_ip)
        return True

    def _client_failed(self, exc: ssl.SSLError) -> None:
        ev = self.ev
        reason = getattr(exc, "reason", None) or ""
        alert = alert_from_reason(reason)
        ev.client_handshake = "failed"
        ev.closed_by = "client"
        if any(r in reason for r in CLIENT_REJECTS):
            # A server-side problem already recorded stays the main finding; the client's
            # refusal is the alert seen.
            ev.tls_error_description = alert or reason.lower()
            ev.tls_error_side = "client"
            ev.tls_error_type = "fatal"
            if ev.finding in ("", codes.PLATFORM_DEFAULT_BYPASS):
                # Programs on one machine share its address, so a loopback client that
                # accepted the CA before says nothing about this program.
                pinned = self.client_ip in self.server.trusted_by and not _is_loopback(
                    self.client_ip
                )
                ev.finding = (
                    codes.APP_CERTIFICATE_PINNING if pinned else codes.CLIENT_ROOT_NOT_TRUSTED
                )
                ev.detail = (
                    "the client rejected the forged certificate "
                    f"(alert: {ev.tls_error_description}): "
                    + (
                        "this device accepted the tlsdiag CA for other connections, so this "
                        "application probably pins its server's certificate or reads its own "
                        "trust store"
                        if pinned
                        else "the tlsdiag CA is not trusted by this client, or the application "
                        "pins its server's certificate or reads its own trust store"
                    )
                )
            elif ev.forged in ("untrusted", "self") or ev.finding.startswith("server."):
                ev.detail = (ev.detail + "; " if ev.detail else "") + (
                    f"the client refused it as it would without the proxy (alert: "
                    f"{ev.tls_error_description})"
                )
            return
        if not ev.tls_error_description:
            ev.tls_error_description = alert or reason.lower().replace("_", " ") or str(exc)
            ev.tls_error_side = "client"
            ev.tls_error_type = "fatal"
        if not ev.finding or ev.finding == codes.PLATFORM_DEFAULT_BYPASS:
            if reason in _GARBAGE_REASONS:
                ev.finding = codes.NETWORK_NOT_TLS
                ev.detail = "the client sent bytes that are not TLS during the handshake"
            elif any(n in reason for n in _VERSION_REASONS):
                ev.finding = codes.LEGACY_PROTOCOL_VERSION
                ev.detail = "no TLS version in common with the client (client-side settings)"
            elif "NO_SHARED_CIPHER" in reason:
                ev.finding = codes.LEGACY_CIPHER_SUITE
                ev.detail = "no cipher suite in common with the client"
            else:
                ev.finding = codes.NETWORK_RESET
            ev.detail = ev.detail or f"the client's handshake failed: {ev.tls_error_description}"

    async def _block(
        self, hello: ClientHello, name: str, code: str, title: str, detail: str
    ) -> None:
        """Finish the client handshake with a trusted forged certificate and serve a 403 page."""
        ev = self.ev
        ev.action = "block"
        ev.tls_inspection = 1
        ev.finding = code
        ev.detail = detail
        ev.forged = "trusted"
        alpn = "http/1.1" if (not hello.alpn or "http/1.1" in hello.alpn) else None
        if not await self._client_tls(self.server.forger.context(spec_for(name), alpn)):
            return
        client = self.client
        assert client is not None
        with contextlib.suppress(TimeoutError, _Stop):
            async with asyncio.timeout(min(10.0, self.server.config.header_timeout)):
                while client.pending.find(b"\r\n\r\n") < 0 and len(client.pending) < 16384:
                    await client.wait()
        client.send(
            block_response(
                status=403, reason="Forbidden", code=code, title=title, detail=detail, host=name
            )
        )
        ev.http_status = 403
        ev.closed_by = "proxy"

    def _link(self) -> None:
        """Both sides are up: move bytes from now on, starting with what is pending."""
        c, u = self.client, self.upstream
        assert c is not None and u is not None
        c.peer, u.peer = u, c
        self.relaying = True
        for a, b in ((c, u), (u, c)):
            if a.pending:
                data = bytes(a.pending)
                a.pending.clear()
                a.relayed += len(data)
                b.send(data)
            if a.paused and a.transport is not None:
                a.paused = False
                a.transport.resume_reading()
        for a in (c, u):
            if a.closed:
                self.side_closed(a)
            elif a.eof:
                self.side_eof(a)

    def close_all(self, *, abort: bool = False) -> None:
        for ep in (self.client, self.upstream):
            if ep is not None:
                if abort:
                    ep.abort()
                else:
                    ep.close()

    def finish(self) -> None:
        """Write the event (once)."""
        if self.finished:
            return
        self.finished = True
        self.server.connections.discard(self)
        ev = self.ev
        if self.client is not None:
            ev.bytes_up = self.client.relayed
        if self.upstream is not None:
            ev.bytes_down = self.upstream.relayed
            if self.session_key is not None and ev.finding in ("", codes.PLATFORM_DEFAULT_BYPASS):
                self.server.keep_session(self.session_key, self.upstream, self.ev)
        ev.duration_ms = _ms(self.started)
        if not ev.action:
            ev.action = "block" if ev.finding else "none"
        self.server.emit(ev)


@dataclass(slots=True)
class _Opened:
    """The outcome of one TCP connect toward the server."""

    ep: Endpoint | None
    address: str
    ms: float
    code: str = ""
    detail: str = ""


class _UpstreamDown(Exception):
    """The server could not be reached (the event already says why)."""


def _is_loopback(ip: str | None) -> bool:
    try:
        return ip is not None and ipaddress.ip_address(ip).is_loopback
    except ValueError:
        return False


def _release_memory() -> None:
    """Collect cycles and ask glibc to return free heap pages (no-op elsewhere)."""
    import gc
    import sys

    gc.collect()
    if sys.platform.startswith("linux"):
        import ctypes
        import ctypes.util

        name = ctypes.util.find_library("c")
        if name:
            with contextlib.suppress(OSError, AttributeError):
                ctypes.CDLL(name).malloc_trim(0)


def _peer_chain(ep: Endpoint) -> list[bytes]:
    tls = ep.tls
    if tls is None:
        return []
    sslobj = getattr(tls, "_sslobj", None)
    getter = getattr(sslobj, "get_unverified_chain", None)
    if getter is not None:
        try:
            chain = getter()
        except (ValueError, ssl.SSLError):
            chain = None
        if chain:
            import _ssl

            return [c.public_bytes(_ssl.ENCODING_DER) for c in chain]
    der = tls.getpeercert(binary_form=True)
    return [der] if der else []


def _load(der: bytes) -> x509.Certificate | None:
    try:
        return x509.load_der_x509_certificate(der)
    except ValueError:
        return None


class ProxyServer:
    """The listening proxy."""

    def __init__(self, config: ProxyConfig, events: EventLog) -> None:
        self.config = config
        self.events = events
        self.loop = asyncio.get_running_loop()
        policy = config.policy
        self.forger = Forger(
            config.ca.cert,
            config.ca.key,
            cache_size=config.cache_size,
            client_versions=TlsVersions(policy.client_min, policy.client_max),
            leaf_key_type=config.leaf_key,
        )
        self.upstream = UpstreamContexts(
            minimum=policy.server_min,
            maximum=policy.server_max,
            cafiles=config.upstream_cafiles,
            msg_callback=_raw_msg_callback,
        )
        self.extra_roots: list[x509.Certificate] = []
        for path in config.upstream_cafiles:
            with contextlib.suppress(OSError, ValueError):
                self.extra_roots.extend(x509.load_pem_x509_certificates(path.read_bytes()))
        self.permitted = permitted_domains(config.ca.cert)
        self.connections: set[Connection] = set()
        self.accepted = 0
        self.trusted_by: set[str] = set()
        self.decisions: dict[tuple[str, str, int, str | None], Decision] = {}
        self.sessions: OrderedDict[
            tuple[str, int, str, tuple[str, ...]], tuple[ssl.SSLSession, float]
        ] = OrderedDict()
        self._mtls: OrderedDict[tuple[str, int], None] = OrderedDict()
        self._specs: OrderedDict[tuple[str, bytes], tuple[ForgeSpec, str, str]] = OrderedDict()
        self._server: asyncio.Server | None = None
        self._sweeper: asyncio.Task[None] | None = None
        self.port = 0

    async def start(self) -> None:
        """Bind and start accepting."""
        cfg = self.config
        from tlsdiag.errors import ProxyError

        try:
            self._server = await self.loop.create_server(
                self._factory, cfg.host, cfg.port, backlog=cfg.backlog, reuse_address=True
            )
        except OSError as exc:
            raise ProxyError(
                f"cannot listen on {cfg.host}:{cfg.port}: {exc.strerror or exc}",
                hint="choose another port with --listen 127.0.0.1:PORT",
            ) from exc
        for alpn in ((), ("h2", "http/1.1"), ("http/1.1",)):
            self.upstream.get(alpn)  # load the trust store now, not on the first connection
            self.upstream.get(alpn, verify=False, callback=False)
        sock = self._server.sockets[0]
        self.port = int(sock.getsockname()[1])
        self._sweeper = self.loop.create_task(self._sweep())

    def _factory(self) -> Endpoint:
        return Endpoint(Connection(self), "client")

    async def _sweep(self) -> None:
        idle = self.config.idle_timeout
        peak = 0
        trimmed_at = 0  # self.accepted when memory was last given back
        seen = 0
        while True:
            await asyncio.sleep(max(0.5, min(2.0, idle / 4)))
            peak = max(peak, len(self.connections))
            quiet = self.accepted == seen  # no new connection since the last sweep
            seen = self.accepted
            if (peak >= 64 and len(self.connections) <= peak // 16) or (
                quiet and self.accepted - trimmed_at >= 256
            ):
                # A burst is over (or the proxy went quiet after one): give the memory its
                # handshakes used back to the OS, whether or not its tunnels stay open.
                _release_memory()
                peak = len(self.connections)
                trimmed_at = self.accepted
            now = self.loop.time()
            for conn in list(self.connections):
                if conn.relaying and now - conn.last_activity > idle:
                    conn.ev.closed_by = "timeout"
                    conn.close_all()

    async def close(self) -> None:
        """Stop accepting, close every connection and write their events."""
        if self._sweeper is not None:
            self._sweeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._sweeper
        if self._server is not None:
            self._server.close()
        tasks = []
        for conn in list(self.connections):
            conn.ev.closed_by = conn.ev.closed_by or "proxy"
            if conn.task is not None:
                conn.task.cancel()
                tasks.append(conn.task)
            else:
                conn.close_all(abort=True)
                conn.finish()
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)
        if self._server is not None:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(2):
                    await self._server.wait_closed()
        self.forger.close()

    def emit(self, ev: ProxyEvent) -> None:
        try:
            self.events.write(ev)
        except OSError as exc:  # a full disk must not stop the proxy
            log.error("cannot write event: %s", exc)

    def client_allowed(self, ip: str | None) -> bool:
        if ip is None:
            return True
        try:
            addr = ipaddress.ip_address(ip)
        except ValueError:
            return False
        mapped = getattr(addr, "ipv4_mapped", None)
        if isinstance(mapped, ipaddress.IPv4Address):
            addr = mapped
        if addr.is_loopback:
            return True
        return any(addr in net for net in self.config.allow_clients)

    def resolve(self, host: str, port: int) -> Sequence[str]:
        for rule in self.config.resolve:
            if rule.port == port and rule.host in ("*", host):
                return rule.addresses
        return (host,)

    def keep_session(
        self, key: tuple[str, int, str, tuple[str, ...]], up: Endpoint, ev: ProxyEvent
    ) -> None:
        """Remember a verified upstream TLS session so the next connection resumes it."""
        tls = up.tls
        if tls is None or up.cert_requested:
            return
        kept = self.sessions.get(key)
        now = time.monotonic()
        if kept is not None and now - kept[1] < SESSION_REFRESH:
            return  # reading a session costs ~0.1 ms (CPython copies it): not every time
        alpn = key[3]
        try:
            # The session must belong to the context new connections start with.
            tls.context = self.upstream.get(alpn)
            session = tls.session
        except (ValueError, ssl.SSLError):
            return
        if session is not None and session.has_ticket:
            self.sessions[key] = (session, now)
            self.sessions.move_to_end(key)
            while len(self.sessions) > self.config.cache_size:
                self.sessions.popitem(last=False)

    def session_for(self, key: tuple[str, int, str, tuple[str, ...]]) -> ssl.SSLSession | None:
        """A kept upstream session for this host, port, SNI and ALPN offer (None when stale)."""
        kept = self.sessions.get(key)
        if kept is None:
            return None
        if time.monotonic() - kept[1] > SESSION_MAX_AGE:
            del self.sessions[key]
            return None
        return kept[0]

    def learn_mutual_tls(self, host: str, port: int) -> None:
        self._mtls[(host, port)] = None
        while len(self._mtls) > 4096:
            self._mtls.popitem(last=False)

    def knows_mutual_tls(self, host: str, port: int) -> bool:
        return (host, port) in self._mtls

    def spec_for_der(self, name: str, der: bytes | None) -> tuple[ForgeSpec, str, str]:
        """The forged spec (plus issuer and subject) for a verified upstream leaf, cached."""
        key = (name, der or b"")
        hit = self._specs.get(key)
        if hit is not None:
            self._specs.move_to_end(key)
            return hit
        leaf = _load(der) if der else None
        spec = spec_for(name, leaf)
        out = (
            spec,
            leaf.issuer.rfc4514_string() if leaf is not None else "",
            leaf.subject.rfc4514_string() if leaf is not None else "",
        )
        self._specs[key] = out
        while len(self._specs) > self.config.cache_size:
            self._specs.popitem(last=False)
        return out


async def serve(
    config: ProxyConfig,
    events: EventLog,
    *,
    ready: Callable[[ProxyServer], None] | None = None,
    stop: asyncio.Event | None = None,
) -> None:
    """Run the proxy until ``stop`` is set (or the task is cancelled)."""
    server = ProxyServer(config, events)
    await server.start()
    try:
        if ready is not None:
            ready(server)
        if stop is None:
            stop = asyncio.Event()
        await stop.wait()
    finally:
        await server.close()


class RunningProxy:
    """A proxy running on its own event loop in a background thread (tests, A/B comparisons)."""

    def __init__(self, config: ProxyConfig, events: EventLog | None = None) -> None:
        self.config = config
        self.events = events or EventLog(config.events_path, listener=config.listener)
        self.port = 0
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._ready = threading.Event()
        self._error: BaseException | None = None
        self.server: ProxyServer | None = None

    def __enter__(self) -> RunningProxy:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> None:
        """Start and wait until the proxy listens."""
        self._thread = threading.Thread(target=self._main, name="tlsdiag-proxy", daemon=True)
        self._thread.start()
        self._ready.wait(30)
        if self._error is not None:
            raise self._error
        if not self.port:
            raise RuntimeError("the proxy did not start")

    def _main(self) -> None:
        async def main() -> None:
            self._loop = asyncio.get_running_loop()
            self._stop = asyncio.Event()

            def ready(server: ProxyServer) -> None:
                self.server = server
                self.port = server.port
                self._ready.set()

            await serve(self.config, self.events, ready=ready, stop=self._stop)

        try:
            asyncio.run(main())
        except BaseException as exc:
            self._error = exc
        finally:
            self._ready.set()

    @property
    def url(self) -> str:
        """``http://127.0.0.1:PORT`` for a client's proxy setting."""
        host = self.config.host
        host = f"[{host}]" if ":" in host else host
        return f"http://{host}:{self.port}"

    def stop(self) -> None:
        """Close every connection, write the last events, stop the thread (idempotent)."""
        if self._loop is not None and self._stop is not None and not self._loop.is_closed():
            with contextlib.suppress(RuntimeError):
                self._loop.call_soon_threadsafe(self._stop.set)
        if self._thread is not None:
            self._thread.join(15)
        self.events.close()
