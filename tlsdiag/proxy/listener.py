"""The listening proxy: accept connections, keep the caches, sweep idle tunnels, stop cleanly.

``ProxyServer`` owns what outlives one connection: the forger and its certificate cache, the
upstream TLS contexts, kept upstream sessions, policy decisions, servers known to want mutual
TLS, and the clients that accepted the CA. ``serve`` runs it until stopped; ``RunningProxy`` runs
it on its own event loop in a background thread.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
import os
import ssl
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509

from tlsdiag.core.certbuild import KeyType
from tlsdiag.proxy.ca import CaMaterial, permitted_domains
from tlsdiag.proxy.events import EventLog, ProxyEvent
from tlsdiag.proxy.forge import Forger, ForgeSpec, LeafNames, TlsVersions, leaf_names, spec_for
from tlsdiag.proxy.intercept import load_cert
from tlsdiag.proxy.native import NativeSession
from tlsdiag.proxy.policy import Decision, Policy
from tlsdiag.proxy.relay import Connection
from tlsdiag.proxy.tls import Endpoint, raw_msg_callback
from tlsdiag.proxy.upstream import UpstreamContexts

log = logging.getLogger(__name__)

SESSION_REFRESH = 30.0  # seconds before a kept upstream session is replaced by a newer one
SESSION_MAX_AGE = 3600.0  # never resume older sessions (servers' tickets expire too)
Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Session = ssl.SSLSession | NativeSession  # a kept upstream session (libssl's own when native)


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
    native_certs: bool = True  # present leaves through libssl when it checks out (native.py)
    # Poll up to this long before the loop sleeps (poll.py; 0: never). Only ``tlsdiag proxy``,
    # whose process is the proxy's own, polls: a polling loop in a thread would hold the
    # interpreter lock that the other threads of the process (RunningProxy's) are waiting for.
    poll_us: int = 0


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
            native=config.native_certs and os.environ.get("TLSDIAG_PROXY_NATIVE_CERTS") != "0",
        )
        self.upstream = UpstreamContexts(
            minimum=policy.server_min,
            maximum=policy.server_max,
            cafiles=config.upstream_cafiles,
            msg_callback=raw_msg_callback,
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
        self._allowed: dict[str, bool] = {}  # client address -> allowed (parsed once)
        self.sessions: OrderedDict[tuple[str, int, str, tuple[str, ...]], tuple[Session, float]] = (
            OrderedDict()
        )
        # Upstream sessions kept as libssl's own when the libssl helper loaded; its own reference,
        # so a leaf path that falls back to contexts later leaves the kept sessions usable.
        self._native_sessions = self.forger.native
        self._mtls: OrderedDict[tuple[str, int], None] = OrderedDict()
        self._specs: OrderedDict[tuple[str, bytes], tuple[ForgeSpec, str, str]] = OrderedDict()
        # Per server leaf (DER): its names, issuer and subject (parsed once).
        self._leaves: dict[bytes, tuple[LeafNames | None, str, str]] = {}
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
            now = time.monotonic()  # the clock Endpoint.data_received stamps
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
        known = self._allowed.get(ip)
        if known is None:
            known = self._allowed[ip] = self._client_allowed(ip)
            if len(self._allowed) > 4096:
                self._allowed.pop(next(iter(self._allowed)))
        return known

    def _client_allowed(self, ip: str) -> bool:
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
            return  # a newer session is rarely needed: not every time
        session: Session | None
        native = self._native_sessions
        if native is not None:
            session = native.session(tls)  # no copy, no context switch needed
        else:
            alpn = key[3]
            try:
                # The session must belong to the context new connections start with.
                tls.context = self.upstream.get(alpn)
                session = tls.session  # CPython copies it (~0.15 ms)
            except (ValueError, ssl.SSLError):
                return
            if session is not None and not session.has_ticket:
                session = None
        if session is not None:
            self.sessions[key] = (session, now)
            self.sessions.move_to_end(key)
            while len(self.sessions) > self.config.cache_size:
                self.sessions.popitem(last=False)

    def start_upstream_tls(
        self, up: Endpoint, key: tuple[str, int, str, tuple[str, ...]], server_name: str
    ) -> None:
        """Start TLS toward the server, offering the session kept for this host, port, SNI
        and ALPN offer (none when stale)."""
        ctx = self.upstream.get(key[3])
        kept = self.sessions.get(key)
        if kept is not None and time.monotonic() - kept[1] > SESSION_MAX_AGE:
            del self.sessions[key]
            kept = None
        session = kept[0] if kept is not None else None
        if isinstance(session, NativeSession):
            up.start_tls(ctx, server_side=False, server_hostname=server_name)
            native = self._native_sessions
            if native is not None and up.tls is not None:
                native.resume(up.tls, session)  # refused: a full handshake, nothing worse
        else:
            up.start_tls(ctx, server_side=False, server_hostname=server_name, session=session)

    def learn_mutual_tls(self, host: str, port: int) -> None:
        self._mtls[(host, port)] = None
        while len(self._mtls) > 4096:
            self._mtls.popitem(last=False)

    def knows_mutual_tls(self, host: str, port: int) -> bool:
        return (host, port) in self._mtls

    def spec_for_der(self, name: str, der: bytes | None) -> tuple[ForgeSpec, str, str]:
        """The forged spec (plus issuer and subject) for a verified upstream leaf, cached per
        name and leaf; the leaf is parsed once however many names it serves."""
        key = (name, der or b"")
        hit = self._specs.get(key)
        if hit is not None:
            self._specs.move_to_end(key)
            return hit
        leaf = self._leaves.get(key[1])
        if leaf is None:
            cert = load_cert(der) if der else None
            leaf = self._leaves[key[1]] = (
                leaf_names(cert) if cert is not None else None,
                cert.issuer.rfc4514_string() if cert is not None else "",
                cert.subject.rfc4514_string() if cert is not None else "",
            )
            while len(self._leaves) > self.config.cache_size:
                self._leaves.pop(next(iter(self._leaves)))
        out = (spec_for(name, leaf[0]), leaf[1], leaf[2])
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
            asyncio.run(main())  # never polls: see ProxyConfig.poll_us
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
