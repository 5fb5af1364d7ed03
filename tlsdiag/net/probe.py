"""The probe: DNS, TCP, a recorded TLS handshake and one small HTTP request.

The handshake runs over memory BIOs so that every byte the server sends is seen: a first byte
that is not a TLS record means the port does not speak TLS; an EOF before any byte means the
server closed the connection. ``SSLContext._msg_callback`` records the server's
CertificateRequest (and its CA names), DH parameters and alerts, in TLS 1.2 and 1.3.
Foreign exceptions are turned into ``ProbeFailure`` records here, once.
"""

from __future__ import annotations

import contextlib
import socket
import ssl
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, NamedTuple

from tlsdiag import codes
from tlsdiag.core.quiet import quietly
from tlsdiag.core.target import ConnectTo, ResolveRule
from tlsdiag.model import (
    ConnectAttempt,
    DnsAnswer,
    Handshake,
    ProbeFailure,
    ProbeResult,
    Target,
)
from tlsdiag.net.dns import resolve
from tlsdiag.net.probe_http import http_exchange
from tlsdiag.net.tls_wire import (
    ALERTS,
    Closed,
    Recorder,
    Wire,
    dh_bits,
    is_ffdhe,
    parse_cert_request,
)
from tlsdiag.net.tunnel import ProxyRoute, open_tunnel

_VERSIONS = {
    "TLSv1": ssl.TLSVersion.TLSv1,
    "TLSv1.1": ssl.TLSVersion.TLSv1_1,
    "TLSv1.2": ssl.TLSVersion.TLSv1_2,
    "TLSv1.3": ssl.TLSVersion.TLSv1_3,
}
LEGACY_CIPHERS = "ALL:COMPLEMENTOFALL:@SECLEVEL=0"


@dataclass(frozen=True, slots=True)
class ProbeOptions:
    """How to probe (mirrors curl and openssl s_client options)."""

    servername: str | None = None  # --servername
    no_sni: bool = False
    resolve: tuple[ResolveRule, ...] = ()
    connect_to: tuple[ConnectTo, ...] = ()
    timeout: float = 5.0
    family: int = socket.AF_UNSPEC
    http: bool = True
    tls_version: str | None = None  # "TLSv1.2" / "TLSv1.3": only that version (s_client -tls1_2)
    ciphers: str | None = None
    alpn: tuple[str, ...] = ("http/1.1",)
    legacy_retry: bool = True
    proxy: ProxyRoute | None = None  # -x / HTTPS_PROXY: tunnel with CONNECT (NO_PROXY applied)


def make_context(
    *, legacy: bool, tls_version: str | None, ciphers: str | None, alpn: Sequence[str]
) -> ssl.SSLContext:
    """A client context that records but does not enforce verification (analysis does that).

    ``legacy`` allows TLS 1.0 and every cipher at OpenSSL security level 0, to learn what an
    old server speaks; it is used only after the default handshake failed, and said so.
    """
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE  # tlsdiag verifies the recorded chain itself (core.chain)
    if legacy:
        with quietly(DeprecationWarning):  # deliberate: this retry exists to detect TLS 1.0/1.1
            ctx.minimum_version = ssl.TLSVersion.TLSv1
        ctx.set_ciphers(LEGACY_CIPHERS)
    elif ciphers:
        ctx.set_ciphers(ciphers)
    if tls_version:
        with quietly(DeprecationWarning):
            ctx.minimum_version = _VERSIONS[tls_version]
            ctx.maximum_version = _VERSIONS[tls_version]
    if alpn:
        ctx.set_alpn_protocols(list(alpn))
    return ctx


def _looks_like_tls(first: bytes) -> bool:
    return len(first) >= 3 and first[0] in (20, 21, 22, 23) and first[1] == 3 and first[2] <= 4


class _Attempt(NamedTuple):
    """One handshake's outcome (a NamedTuple: a dataclass costs ~0.7 ms to build at import)."""

    handshake: Handshake | None
    failure: ProbeFailure | None
    recorder: Recorder
    sslobj: ssl.SSLObject | None = None
    wire: Wire | None = None


def _handshake(
    sock: socket.socket, ctx: ssl.SSLContext, sni: str, timeout: float, settings: str
) -> _Attempt:
    rec = Recorder()
    ctx._msg_callback = rec  # type: ignore[attr-defined]  # private but stable since 3.8
    wire = Wire(sock, time.monotonic() + timeout)
    obj = ctx.wrap_bio(wire.incoming, wire.outgoing, server_hostname=sni or None)
    start = time.monotonic()
    try:
        while True:
            try:
                obj.do_handshake()
                break
            except ssl.SSLWantReadError:
                wire.flush()
                wire.fill()
        wire.flush()
    except Closed as closed:
        return _Attempt(None, _closed_failure(closed, rec), rec)
    except TimeoutError:
        return _Attempt(None, _timeout_failure(wire, rec, timeout), rec)
    except (ssl.SSLError, OSError) as exc:
        with contextlib.suppress(OSError):
            wire.flush()  # send our alert, as a real client would
        return _Attempt(None, _ssl_failure(exc, wire, rec), rec)
    chain_der: tuple[bytes, ...] = ()
    chain = obj._sslobj.get_unverified_chain()  # type: ignore[attr-defined]  # 3.10+ internal
    if chain:
        chain_der = tuple(c.public_bytes(ssl._ssl.ENCODING_DER) for c in chain)  # type: ignore[attr-defined]
    cipher = obj.cipher() or ("", "", 0)
    cr = parse_cert_request(*rec.cert_request) if rec.cert_request else None
    hs = Handshake(
        version=obj.version() or "",
        cipher=cipher[0],
        cipher_bits=int(cipher[2] or 0),
        alpn=obj.selected_alpn_protocol() or "",
        sni=sni,
        chain_der=chain_der,
        cert_request=cr,
        alerts_received=tuple(rec.alerts_in),
        alerts_sent=tuple(rec.alerts_out),
        dh_bits=dh_bits(rec.server_key_exchange) if is_ffdhe(cipher[0]) else 0,
        ocsp_stapled=rec.cert_status[8:] if len(rec.cert_status) > 8 else b"",
        seconds=time.monotonic() - start,
        settings=settings,
    )
    return _Attempt(hs, None, rec, obj, wire)


def _closed_failure(closed: Closed, rec: Recorder) -> ProbeFailure:
    if closed.received and not _looks_like_tls(closed.received):
        return _not_tls(closed.received)
    how = "reset (RST)" if closed.how == "reset" else "closed (EOF)"
    return ProbeFailure(
        codes.NETWORK_RESET,
        "handshake",
        f"the server {how} the connection during the TLS handshake",
        "no bytes were received" if not closed.received else "after a partial handshake",
    )


def _timeout_failure(wire: Wire, rec: Recorder, timeout: float) -> ProbeFailure:
    if wire.first_bytes and not _looks_like_tls(wire.first_bytes):
        return _not_tls(wire.first_bytes)
    return ProbeFailure(
        codes.NETWORK_TIMEOUT,
        "handshake",
        f"the server did not complete the TLS handshake within {timeout:g}s",
        "no answer to the ClientHello" if not wire.received else "the handshake stalled",
    )


def _not_tls(first: bytes) -> ProbeFailure:
    text = first[:40].decode("latin-1")
    printable = "".join(ch if 32 <= ord(ch) < 127 else "." for ch in text)
    return ProbeFailure(
        codes.NETWORK_NOT_TLS,
        "handshake",
        "the server answered with bytes that are not a TLS record",
        f"first bytes: {printable!r}",
    )


def _ssl_failure(exc: BaseException, wire: Wire, rec: Recorder) -> ProbeFailure:
    if wire.first_bytes and not _looks_like_tls(wire.first_bytes):
        return _not_tls(wire.first_bytes)
    reason = getattr(exc, "reason", None) or ""
    message = str(exc)
    if isinstance(exc, ConnectionResetError):
        return ProbeFailure(codes.NETWORK_RESET, "handshake", "connection reset during handshake")
    from tlsdiag.core.tls_failure import classify  # a failed handshake only: its table costs

    alerts = rec.alert_codes_in
    found = classify(
        peer="server",
        alert=ALERTS.get(alerts[-1], "") if alerts else "",
        reason=reason,
        cert_requested=rec.cert_request is not None,
        text=message,
        default=codes.NETWORK_RESET,
    )
    if found.code == codes.NETWORK_RESET and isinstance(exc, ssl.SSLEOFError):
        words = "the server closed the connection during the TLS handshake"
    else:
        words = _FAILURE_WORDS.get(found.code, f"TLS handshake failed: {reason or message}")
    return ProbeFailure(found.code, "handshake", words, message)


_FAILURE_WORDS = {
    codes.APP_MUTUAL_TLS: "the server requires a client certificate",
    codes.LEGACY_PROTOCOL_VERSION: "no TLS version in common",
    codes.LEGACY_CIPHER_SUITE: "the server refused the handshake (no cipher suite in common?)",
}


def _connect(
    addresses: Sequence[str], port: int, timeout: float
) -> tuple[socket.socket | None, str, list[ConnectAttempt]]:
    attempts: list[ConnectAttempt] = []
    for addr in addresses:
        family = socket.AF_INET6 if ":" in addr else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        sock.settimeout(timeout)
        start = time.monotonic()
        try:
            sock.connect((addr, port))
        except ConnectionRefusedError:
            attempts.append(
                ConnectAttempt(addr, "refused", "connection refused", time.monotonic() - start)
            )
        except TimeoutError:
            attempts.append(
                ConnectAttempt(
                    addr, "timeout", f"no answer within {timeout:g}s", time.monotonic() - start
                )
            )
        except OSError as exc:
            outcome = "unreachable" if exc.errno in (101, 113, 65, 51) else "error"
            attempts.append(
                ConnectAttempt(addr, outcome, exc.strerror or str(exc), time.monotonic() - start)
            )
        else:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            attempts.append(ConnectAttempt(addr, "ok", "", time.monotonic() - start))
            return sock, addr, attempts
        sock.close()
    return None, "", attempts


def probe(target: Target, opts: ProbeOptions) -> ProbeResult:
    """Probe one target: resolve, connect, handshake (with a classified retry), HTTP.

    Through a proxy (``opts.proxy``, unless ``NO_PROXY`` sends the host direct), the proxy
    resolves the name and the TCP connection is a CONNECT tunnel.

    Never raises for problems of the target: they are recorded as ``ProbeFailure``.

    Raises:
        ProxyError: the proxy itself cannot be reached.
    """
    started = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    if opts.no_sni:
        sni = ""
    elif opts.servername:
        sni = opts.servername
    else:
        sni = "" if target.is_ip else target.host
    chost, cport = None, None
    for rule in opts.connect_to:
        moved = rule.apply(target.host, target.port)
        if moved:
            chost, cport = moved
            break
    port = cport or target.port
    route = opts.proxy if opts.proxy and opts.proxy.applies_to(chost or target.host) else None
    if route is not None:
        name = chost or target.host
        dns = DnsAnswer(name, source=f"resolved by the proxy {route.url}")
        base = ProbeResult(target=target, sni=sni, dns=dns, started_at=started)
        base = _replace(base, proxy=route.describe())
        sock, refused, tcp = open_tunnel(route, name, port, opts.timeout)
        attempts, addr = [tcp], name
        if sock is None:
            return _replace(base, connects=(tcp,), failure=refused)
    else:
        dns = resolve(
            target,
            rules=opts.resolve,
            connect_host=chost,
            connect_port=cport,
            family=opts.family,
            timeout=opts.timeout,
        )
        base = ProbeResult(target=target, sni=sni, dns=dns, started_at=started)
        if not dns.addresses:
            failure = ProbeFailure(
                codes.NETWORK_DNS_FAILURE, "dns", f"{dns.name} does not resolve", dns.error
            )
            return _replace(base, failure=failure)
        sock, addr, attempts = _connect(dns.addresses, port, opts.timeout)
    if sock is None:
        kinds = sorted({a.outcome for a in attempts})
        failure = ProbeFailure(
            codes.NETWORK_CONNECT_FAILED,
            "connect",
            f"TCP connection to port {port} failed ({', '.join(kinds)})",
            "; ".join(f"{a.address}: {a.message}" for a in attempts),
        )
        return _replace(base, connects=tuple(attempts), failure=failure)
    ctx = make_context(
        legacy=False, tls_version=opts.tls_version, ciphers=opts.ciphers, alpn=opts.alpn
    )
    try:
        attempt = _handshake(sock, ctx, sni, opts.timeout, "default")
        http = None
        if (
            attempt.handshake is not None
            and opts.http
            and attempt.handshake.alpn in ("", "http/1.1")
        ):
            host_header = target.host if target.port == 443 else target.display
            assert attempt.sslobj is not None and attempt.wire is not None
            http = http_exchange(
                attempt.sslobj,
                attempt.wire,
                attempt.recorder.alert_codes_in,
                host_header,
                target.path,
            )
    finally:
        sock.close()
    result = _replace(base, connects=tuple(attempts), address=addr, port=port, http=http)
    if attempt.handshake is not None:
        return _replace(result, handshake=attempt.handshake)
    assert attempt.failure is not None
    failed: ProbeFailure = attempt.failure
    legacy = None
    retry_codes = (codes.LEGACY_PROTOCOL_VERSION, codes.LEGACY_CIPHER_SUITE, codes.NETWORK_RESET)
    forced = opts.tls_version is not None or opts.ciphers is not None
    # a timeout is not retried (it would wait twice); options the user forced are not overridden
    if opts.legacy_retry and failed.code in retry_codes and not forced:
        legacy = _legacy_retry(addr, port, sni, opts, route)
    partial = Handshake(
        sni=sni,
        cert_request=parse_cert_request(*attempt.recorder.cert_request)
        if attempt.recorder.cert_request
        else None,
        alerts_received=tuple(attempt.recorder.alerts_in),
        alerts_sent=tuple(attempt.recorder.alerts_out),
    )
    seen = partial if (partial.alerts_received or partial.cert_request) else None
    return _replace(result, failure=failed, legacy=legacy, failed_handshake=seen)


def _legacy_retry(
    addr: str, port: int, sni: str, opts: ProbeOptions, route: ProxyRoute | None
) -> Handshake | None:
    if route is not None:
        sock, _, _ = open_tunnel(route, addr, port, opts.timeout)
    else:
        sock, _, _ = _connect((addr,), port, opts.timeout)
    if sock is None:
        return None
    try:
        ctx = make_context(legacy=True, tls_version=None, ciphers=None, alpn=opts.alpn)
        attempt = _handshake(sock, ctx, sni, opts.timeout, "legacy")
    finally:
        sock.close()
    return attempt.handshake


def _replace(result: ProbeResult, **changes: Any) -> ProbeResult:
    from dataclasses import replace

    return replace(result, **changes)
