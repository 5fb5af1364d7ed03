"""TLS over memory BIOs: one ``Endpoint`` per TCP side of a proxied connection.

TLS runs on ``ssl.SSLObject`` + ``MemoryBIO`` over plain TCP transports, not on asyncio's TLS
transport (which allocates a 256 KiB buffer per connection): an idle tunnel then costs a few KiB.
An endpoint buffers bytes until its connection links both sides, then hands every decrypted
chunk to its peer, with backpressure (a side whose write buffer is full pauses reading on the
other). The connection (``relay.Connection``) is told about EOF, close and TLS errors.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import ssl
import time
from collections.abc import Sequence
from dataclasses import dataclass
from time import monotonic
from typing import TYPE_CHECKING, Any

from tlsdiag import codes

if TYPE_CHECKING:
    from tlsdiag.proxy.forge import Forger, ForgeSpec
    from tlsdiag.proxy.parse import RequestBody
    from tlsdiag.proxy.relay import Connection

_READ_SIZE = 256 * 1024
_READ_BUF = bytearray(_READ_SIZE)  # one shared buffer: the loop is single-threaded
_READ_VIEW = memoryview(_READ_BUF)
PENDING_LIMIT = 256 * 1024
WRITE_HIGH = 512 * 1024  # plus one read at most: under 1 MiB waits per side


class Stop(Exception):
    """The connection ends here (already answered or closed)."""


class UpstreamDown(Exception):
    """The server could not be reached (the event already says why)."""


def raw_msg_callback(
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
        "limit",
        "paused",
        "peer",
        "pending",
        "raw",
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
        self.raw: Any = None  # tls._sslobj: the C object under ``tls`` (skips the wrapper)
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
        self.limit: RequestBody | None = None  # plain HTTP: relay this request's body only

    # --- asyncio callbacks ---------------------------------------------------------------
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        # Pause the other side only when two full reads (256 KiB each) wait unsent:
        # asyncio's default (64 KiB) stops and restarts a bulk transfer on every read.
        transport.set_write_buffer_limits(high=WRITE_HIGH)
        if self.role == "client":
            self.conn.client_made(self)

    def data_received(self, data: bytes) -> None:
        self.conn.last_activity = monotonic()  # a C call; the sweep reads the same clock
        bio = self.bio_in
        if bio is None:
            self._deliver(data)
            return
        bio.write(data)
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
            if self.limit is not None:
                data = self.limit.take(data)
                if not data:
                    return
            self.relayed += len(data)
            peer.send(data)
            return
        self.pending += data
        if len(self.pending) > PENDING_LIMIT and self.transport is not None:
            self.transport.pause_reading()
            self.paused = True
        self._wake()

    def _decrypt(self) -> None:
        raw = self.raw
        bio = self.bio_in
        assert raw is not None and bio is not None
        # Decrypt every record at hand into the shared buffer, then hand them on as one chunk:
        # the peer encrypts and sends them in one write (one syscall, not one per 16 KiB record).
        # Stop without provoking SSLWantReadError (building it costs microseconds).
        got = 0
        try:
            n = raw.read(_READ_SIZE, _READ_BUF)
            if n and not bio.pending and not raw.pending():
                # The usual case (a keep-alive request or response): one read, and a TLS peer
                # encrypts straight from the shared buffer, no copy in between.
                self._hand_on(n)
                out = self.bio_out
                if out is not None and out.pending and self.transport is not None:
                    self.transport.write(out.read())
                return
            while True:
                if not n:  # close_notify
                    if got:
                        self._hand_on(got)
                    self._flush()
                    self.eof = True
                    self._wake()
                    if self.conn.relaying:
                        self.conn.side_eof(self)
                    return
                got += n
                if not bio.pending and not raw.pending():
                    break
                if _READ_SIZE - got < 16384:  # less than a record's room left: hand these on
                    self._hand_on(got)
                    got = 0
                n = raw.read(_READ_SIZE - got, _READ_VIEW[got:])
        except ssl.SSLWantReadError:
            pass
        except ssl.SSLError as exc:
            if got:
                self._hand_on(got)
            self.error = exc
            self._flush()
            self.conn.side_tls_error(self, exc)
            return
        if got:
            self._hand_on(got)
        self._flush()

    def _hand_on(self, n: int) -> None:
        """Deliver the first ``n`` bytes of the shared buffer: straight to a TLS peer while
        relaying (its ``write`` copies them into OpenSSL), copied anywhere else."""
        peer = self.peer  # set (with ``conn.relaying``) only when both sides are linked
        if peer is not None and peer.raw is not None and self.limit is None:
            self.relayed += n
            peer.send(_READ_VIEW[:n])
        else:
            self._deliver(bytes(_READ_VIEW[:n]))

    def _flush(self) -> None:
        bio = self.bio_out
        if bio is not None and bio.pending and self.transport is not None:
            self.transport.write(bio.read())

    def send(self, data: bytes | memoryview) -> None:
        """Send application bytes (encrypted when this side speaks TLS)."""
        t = self.transport
        if t is None or t.is_closing():
            return
        raw = self.raw
        if raw is not None:
            try:
                raw.write(data)
            except ssl.SSLError as exc:
                self.error = exc
                t.close()
                return
            assert self.bio_out is not None
            t.write(self.bio_out.read())
        else:
            t.write(data)

    def send_raw(self, data: bytes) -> None:
        """Send bytes as they are (before TLS starts)."""
        if self.transport is not None and not self.transport.is_closing():
            self.transport.write(data)

    async def wait(self) -> None:
        """Wait for more bytes, EOF or close."""
        if self.closed or self.eof:
            raise Stop()
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
        self._begin(
            ctx.wrap_bio(
                self.bio_in,
                self.bio_out,
                server_side=server_side,
                server_hostname=server_hostname,
                session=session,
            )
        )

    def start_forged(self, forger: Forger, spec: ForgeSpec, alpn: str | None) -> None:
        """Switch to TLS as the server, presenting the forged certificate for ``spec``."""
        self.bio_in = ssl.MemoryBIO()
        self.bio_out = ssl.MemoryBIO()
        self._begin(forger.wrap(self.bio_in, self.bio_out, spec, alpn))

    def _begin(self, tls: ssl.SSLObject) -> None:
        assert self.bio_in is not None
        self.tls = tls
        self.raw = tls._sslobj  # type: ignore[attr-defined]
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


def peer_chain(ep: Endpoint) -> list[bytes]:
    """The chain the peer sent, leaf first, as DER (only the leaf when the chain is hidden)."""
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


@dataclass(slots=True)
class Opened:
    """The outcome of one TCP connect toward the server."""

    ep: Endpoint | None
    address: str
    ms: float
    code: str = ""
    detail: str = ""


def _address(peer: object) -> str:
    """``host:port`` (IPv6 in brackets) from a transport's ``peername``; "" when unknown."""
    if not isinstance(peer, tuple) or not peer:
        return ""
    host = f"[{peer[0]}]" if ":" in str(peer[0]) else str(peer[0])
    return f"{host}:{peer[1]}"


async def connect_tcp(
    ep: Endpoint, addrs: Sequence[str], host: str, port: int, *, timeout: float
) -> Opened:
    """Open TCP for ``ep`` to the first address that answers; never raises for network errors."""
    loop = asyncio.get_running_loop()
    t0 = time.perf_counter()
    last: BaseException | None = None
    for addr in addrs:
        try:
            async with asyncio.timeout(timeout):
                await loop.create_connection(lambda: ep, addr, port)
            assert ep.transport is not None
            address = _address(ep.transport.get_extra_info("peername"))
            return Opened(ep, address, (time.perf_counter() - t0) * 1000.0)
        except (OSError, TimeoutError) as exc:
            last = exc
    if isinstance(last, socket.gaierror):
        code, detail = codes.NETWORK_DNS_FAILURE, f"{host} does not resolve: {last.strerror}"
    elif isinstance(last, TimeoutError):
        code, detail = codes.NETWORK_CONNECT_FAILED, f"connecting to {host}:{port} timed out"
    else:
        msg = getattr(last, "strerror", None) or str(last)
        code, detail = codes.NETWORK_CONNECT_FAILED, f"cannot connect to {host}:{port}: {msg}"
    return Opened(None, "", (time.perf_counter() - t0) * 1000.0, code, detail)
