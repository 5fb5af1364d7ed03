"""One proxied connection: read the request, ask ``decide``, set up both sides, move bytes.

Each client connection is one ``Connection`` with up to two ``tls.Endpoint`` protocols (client
side, server side). The setup (request head, ClientHello, policy, upstream handshake, forged
handshake) is one coroutine per connection; the inspect path of it is in ``intercept.py``. Once
both sides are up, bytes move in the endpoints' callbacks and the connection only hears about
EOF, close and errors; when it ends it writes one event.
"""

from __future__ import annotations

import asyncio
import logging
import ssl
import time
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from tlsdiag import codes
from tlsdiag.proxy import decide
from tlsdiag.proxy.ca import name_permitted
from tlsdiag.proxy.decide import Plan, Step
from tlsdiag.proxy.events import ProxyEvent
from tlsdiag.proxy.intercept import block, inspect, ms_since
from tlsdiag.proxy.parse import (
    ClientHello,
    NotTls,
    ParseError,
    RequestBody,
    RequestHead,
    head_end,
    origin_request,
    parse_client_hello,
    parse_request_head,
)
from tlsdiag.proxy.policy import Action, Decision
from tlsdiag.proxy.tls import Endpoint, Opened, Stop, UpstreamDown, connect_tcp
from tlsdiag.render.blockpage import block_response

if TYPE_CHECKING:
    from tlsdiag.proxy.listener import ProxyServer

log = logging.getLogger(__name__)


def _now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _client_address(peer: object) -> str:
    """``host:port`` (IPv6 in brackets) from a transport's ``peername``; "" when unknown."""
    if not isinstance(peer, tuple) or not peer:
        return ""
    host = f"[{peer[0]}]" if ":" in str(peer[0]) else str(peer[0])
    return f"{host}:{peer[1]}"


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
        self.last_activity = time.monotonic()
        self.ev = ProxyEvent(time=_now_iso())
        self.client_ip: str | None = None
        self.task: asyncio.Task[None] | None = None
        self.session_key: tuple[str, int, str, tuple[str, ...]] | None = None
        self.pre_open: tuple[tuple[str, int], asyncio.Task[Opened]] | None = None

    # --- callbacks from endpoints ----------------------------------------------------------
    def client_made(self, ep: Endpoint) -> None:
        self.client = ep
        assert ep.transport is not None
        peer = ep.transport.get_extra_info("peername")
        if isinstance(peer, tuple) and peer:
            self.client_ip = str(peer[0])
            self.ev.client = _client_address(peer)
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
        alert, mutual_tls = decide.tls_error_on_relay(ep.role, getattr(exc, "reason", None))
        if alert and not self.ev.tls_error_description:
            self.ev.tls_error_description = alert
            self.ev.tls_error_side = ep.role
            self.ev.tls_error_type = "fatal"
            if mutual_tls:
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
        except Stop:
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
            raise Stop() from None

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
            policy = self.server.config.policy
            hit = cache[key] = decide.policy_decision(policy, name, fallback, port, self.client_ip)
            if len(cache) > 4096:
                cache.pop(next(iter(cache)))
        return hit

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
        finding, detail = decide.default_bypass_note(decision)
        if finding:
            ev.finding, ev.detail = finding, detail
        plan = decide.connect_plan(
            decision,
            name=name,
            hello_seen=hello is not None,
            not_tls=not_tls,
            name_permitted=name_permitted(self.server.permitted, name),
            known_mutual_tls=self.server.knows_mutual_tls(name, req.port),
            mutual_tls=cfg.policy.mutual_tls,
        )
        await self.follow(plan, req, hello, name)

    async def follow(
        self, plan: Plan, req: RequestHead, hello: ClientHello | None, name: str
    ) -> None:
        """Record a plan from ``decide`` in the event and carry it out."""
        ev = self.ev
        if plan.rule:
            ev.rule = plan.rule
        if plan.rule or plan.step is Step.NOT_TLS:
            ev.action = plan.action
        if plan.finding and plan.step is not Step.BLOCK:
            ev.finding, ev.detail = plan.finding, plan.detail
        if plan.step is Step.NOT_TLS:
            ev.client_handshake = "not-tls"
            ev.closed_by = "proxy"
        elif plan.step is Step.BYPASS:
            await self.bypass(req.host, req.port)
        elif plan.step is Step.BLOCK:
            assert hello is not None
            await block(self, hello, name, plan.finding, plan.title, plan.detail)
        else:
            assert hello is not None
            await inspect(self, req, hello, name)

    async def open_upstream(self, host: str, port: int) -> Endpoint:
        """TCP to the server (the one opened ahead when it matches); failures become findings
        and ``UpstreamDown``."""
        pre = self.pre_open
        if pre is not None and pre[0] == (host, port):
            self.pre_open = None
            opened = await pre[1]
        else:
            opened = await self._connect_tcp(host, port)
        self.ev.connect_ms = opened.ms
        if opened.ep is None:
            self.ev.finding = opened.code
            self.ev.detail = opened.detail
            raise UpstreamDown()
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

        def discard(t: asyncio.Task[Opened]) -> None:
            if not t.cancelled() and t.exception() is None:
                ep = t.result().ep
                if ep is not None:
                    ep.abort()

        if task.done():
            discard(task)
        else:
            task.cancel()
            task.add_done_callback(discard)

    async def _connect_tcp(self, host: str, port: int) -> Opened:
        """Open TCP to host:port (``--resolve`` first); never raises for network errors."""
        addrs = self.server.resolve(host, port)
        ep = Endpoint(self, "server")
        return await connect_tcp(ep, addrs, host, port, timeout=self.server.config.connect_timeout)

    async def bypass(self, host: str, port: int) -> None:
        """Relay the tunnel as it is (no TLS on our side)."""
        ev = self.ev
        ev.tls_inspection = 0
        ev.action = "bypass"
        ev.client_handshake = "skipped"
        try:
            await self.open_upstream(host, port)
        except UpstreamDown:
            ev.closed_by = "proxy"
            return
        self.link()

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
            up = await self.open_upstream(req.host, req.port)
        except UpstreamDown:
            self._answer_plain(
                502, "Bad Gateway", ev.finding, "Cannot reach the server", ev.detail, req.host
            )
            return
        up.send(origin_request(req))
        assert self.client is not None
        self.client.limit = RequestBody(req)  # a pipelined next request is never relayed
        self.link()

    def link(self) -> None:
        """Both sides are up: move bytes from now on, starting with what is pending."""
        c, u = self.client, self.upstream
        assert c is not None and u is not None
        c.peer, u.peer = u, c
        self.relaying = True
        for a, b in ((c, u), (u, c)):
            if a.pending:
                data = bytes(a.pending)
                a.pending.clear()
                if a.limit is not None:
                    data = a.limit.take(data)
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
        ev.duration_ms = ms_since(self.started)
        if not ev.action:
            ev.action = "block" if ev.finding else "none"
        self.server.emit(ev)
