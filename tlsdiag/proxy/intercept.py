"""The inspect path of a tunnel: TLS to the server, what its certificate means, then the client.

Runs inside a ``relay.Connection``'s setup coroutine. The handshake with the server comes first
(with the client's SNI and ALPN offer); its outcome goes to ``decide`` (block, mimic, allow,
mutual TLS, weak cipher), and the client gets a forged certificate that says the same.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import ssl
import time
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from cryptography import x509

from tlsdiag import codes
from tlsdiag.proxy import decide
from tlsdiag.proxy.decide import Step, TlsErrorFacts
from tlsdiag.proxy.forge import ForgeSpec, spec_for
from tlsdiag.proxy.tls import Endpoint, Stop, UpstreamDown, peer_chain
from tlsdiag.proxy.upstream import (
    TlsFailure,
    classify_ssl_error,
    classify_verify_error,
    completes_via_aia,
    refine_with_chain,
)
from tlsdiag.render.blockpage import block_response

if TYPE_CHECKING:
    from tlsdiag.proxy.parse import ClientHello, RequestHead
    from tlsdiag.proxy.relay import Connection

_VERSION_NAMES = {"TLSv1": "TLSv1.0"}


def version_name(version: str | None) -> str:
    """OpenSSL's version name as the events spell it (``TLSv1`` -> ``TLSv1.0``)."""
    version = version or ""
    return _VERSION_NAMES.get(version, version)


def ms_since(start: float) -> float:
    """Milliseconds since a ``time.perf_counter()`` reading."""
    return (time.perf_counter() - start) * 1000.0


def load_cert(der: bytes) -> x509.Certificate | None:
    """The certificate, or None when it does not parse."""
    try:
        return x509.load_der_x509_certificate(der)
    except ValueError:
        return None


def _is_loopback(ip: str | None) -> bool:
    try:
        return ip is not None and ipaddress.ip_address(ip).is_loopback
    except ValueError:
        return False


async def inspect(conn: Connection, req: RequestHead, hello: ClientHello, name: str) -> None:
    """Connect to the server, verify it, forge for the client and link both sides."""
    srv = conn.server
    cfg = srv.config
    ev = conn.ev
    ev.tls_inspection = 1
    try:
        up = await conn.open_upstream(req.host, req.port)
    except UpstreamDown:
        await block(conn, hello, name, ev.finding, "Cannot reach the server", ev.detail)
        return
    server_name = hello.sni or req.host
    t0 = time.perf_counter()
    failure: TlsFailure | None = None
    verify_failed: ssl.SSLCertVerificationError | None = None
    session_key = (req.host, req.port, server_name, hello.alpn)
    try:
        srv.start_upstream_tls(up, session_key, server_name)
        async with asyncio.timeout(cfg.handshake_timeout):
            await up.handshake()
    except ssl.SSLCertVerificationError as exc:
        verify_failed = exc
    except (ssl.SSLError, OSError, EOFError) as exc:
        failure = classify_ssl_error(exc, cert_requested=up.cert_requested)
    except TimeoutError:
        failure = TlsFailure(codes.NETWORK_RESET, "the server did not complete the handshake")
    ev.upstream_tls_ms = ms_since(t0)
    if failure is None and verify_failed is None and up.cert_requested:
        failure = TlsFailure(codes.APP_MUTUAL_TLS, "certificate required", "fatal")
    if failure is not None:
        up.abort()
        conn.upstream = None
        _server_alert(conn, up, failure)
        if failure.code == codes.APP_MUTUAL_TLS:
            srv.learn_mutual_tls(name, req.port)
            plan = decide.mutual_tls_plan(cfg.policy.mutual_tls, earlier=False)
            await conn.follow(plan, req, hello, name)
            return
        ev.verification = "not completed"
        detail = decide.failure_detail(failure, name)
        await block(conn, hello, name, failure.code, "Cannot connect securely", detail)
        return
    spec: ForgeSpec
    if verify_failed is not None:
        up.abort()
        conn.upstream = None
        got = await _invalid_certificate(conn, req, hello, name, verify_failed)
        if got is None:
            return
        up, spec = got
    else:
        ev.verification = "ok"
        if up.tls is not None and up.tls.session_reused:
            ev.verification = "ok (resumed session)"
        conn.session_key = session_key
        der = up.tls.getpeercert(binary_form=True) if up.tls is not None else None
        spec, issuer, subject = srv.spec_for_der(name, der)
        ev.issuer, ev.subject = issuer, subject
    assert up.tls is not None
    if verify_failed is None:
        # Same settings without the message callback: no Python call per TLS record from
        # now on (CPython re-reads the callback from the SSL object's context).
        # Verification is over, so a context without trust anchors does.
        up.tls.context = srv.upstream.get(hello.alpn, verify=False, callback=False)
    _upstream_facts(conn, up)
    weak = decide.weak_cipher_plan(ev.cipher, ev.cipher_bits, cfg.policy.min_cipher_bits)
    if weak is not None:
        up.close()
        conn.upstream = None
        ev.tls_error_side = "server"
        await block(conn, hello, name, weak.finding, weak.title, weak.detail)
        return
    ev.forged = spec.signer.value
    alpn = up.tls.selected_alpn_protocol()
    if not await client_tls(conn, spec, alpn):
        up.close()
        return
    conn.link()


async def _invalid_certificate(
    conn: Connection,
    req: RequestHead,
    hello: ClientHello,
    name: str,
    verify_failed: ssl.SSLCertVerificationError,
) -> tuple[Endpoint, ForgeSpec] | None:
    """The server's certificate did not verify: look at it again unverified, then apply the
    policy. Returns the unverified upstream and the forged spec, or None once blocked."""
    srv = conn.server
    cfg = srv.config
    ev = conn.ev
    server_name = hello.sni or req.host
    vf = classify_verify_error(verify_failed.verify_code, verify_failed.verify_message)
    ev.verification = verify_failed.verify_message or "certificate verify failed"
    up2 = await _unverified(conn, req, hello, server_name)
    leaf = None
    chain: list[bytes] = []
    if up2 is not None:
        chain = peer_chain(up2)
        if chain:
            vf, _seen = refine_with_chain(
                vf, chain, host=server_name, now=datetime.now(UTC), extra_roots=srv.extra_roots
            )
            leaf = load_cert(chain[0])
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
    if leaf is not None:
        ev.issuer = leaf.issuer.rfc4514_string()
        ev.subject = leaf.subject.rfc4514_string()
    plan = decide.invalid_cert_plan(
        vf,
        name=name,
        mode=cfg.policy.invalid_certificate,
        have_leaf=up2 is not None and leaf is not None,
        aia_ok=aia_ok,
    )
    if plan.step is Step.BLOCK or up2 is None:
        if up2 is not None:
            up2.abort()
            conn.upstream = None
        await block(conn, hello, name, vf.code, plan.title, plan.detail)
        return None
    if plan.completed_via_aia:
        # The chain verifies once completed: inspect as usual, keep the finding.
        ev.verification = "ok (chain completed from AIA)"
        ev.tls_error_description = ev.tls_error_type = ev.tls_error_side = ""
    else:
        ev.detail = plan.detail
    return up2, spec_for(name, leaf, mimic=plan.mimic, signer=plan.signer)


async def _unverified(
    conn: Connection, req: RequestHead, hello: ClientHello, server_name: str
) -> Endpoint | None:
    """Connect again without verification, to see the chain (and to allow or mimic)."""
    cfg = conn.server.config
    try:
        up = await conn.open_upstream(req.host, req.port)
    except UpstreamDown:
        return None
    try:
        up.start_tls(
            conn.server.upstream.get(hello.alpn, verify=False),
            server_side=False,
            server_hostname=server_name,
        )
        async with asyncio.timeout(cfg.handshake_timeout):
            await up.handshake()
    except (ssl.SSLError, OSError, EOFError, TimeoutError):
        up.abort()
        conn.upstream = None
        return None
    return up


def _upstream_facts(conn: Connection, up: Endpoint) -> None:
    tls = up.tls
    assert tls is not None
    ev = conn.ev
    ev.upstream_version = version_name(tls.version())
    cipher = tls.cipher()
    if cipher:
        ev.cipher, ev.cipher_bits = cipher[0], int(cipher[2] or 0)
    ev.alpn = tls.selected_alpn_protocol() or ""


def _server_alert(conn: Connection, up: Endpoint, failure: TlsFailure) -> None:
    ev = conn.ev
    ev.finding = failure.code
    ev.tls_error_description = failure.description
    ev.tls_error_type = failure.error_type
    ev.tls_error_side = "server"
    for direction, level, _desc in up.alerts:
        if direction == "read":
            ev.tls_error_type = "warning" if level == 1 else "fatal"


async def client_tls(conn: Connection, spec: ForgeSpec, alpn: str | None) -> bool:
    """Finish the client's handshake with a forged certificate; classify a refusal."""
    client = conn.client
    assert client is not None
    ev = conn.ev
    t0 = time.perf_counter()
    try:
        client.start_forged(conn.server.forger, spec, alpn)
        async with asyncio.timeout(conn.server.config.handshake_timeout):
            await client.handshake()
    except ssl.SSLError as exc:
        ev.client_tls_ms = ms_since(t0)
        _client_failed(conn, exc)
        return False
    except (OSError, EOFError) as exc:
        ev.client_tls_ms = ms_since(t0)
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
    ev.client_tls_ms = ms_since(t0)
    ev.client_handshake = "ok"
    assert client.tls is not None
    ev.client_version = version_name(client.tls.version())
    if conn.client_ip is not None:
        conn.server.trusted_by.add(conn.client_ip)
    return True


def _client_failed(conn: Connection, exc: ssl.SSLError) -> None:
    ev = conn.ev
    ev.client_handshake = "failed"
    ev.closed_by = "client"
    # Programs on one machine share its address, so a loopback client that accepted the
    # CA before says nothing about this program.
    accepted = conn.client_ip in conn.server.trusted_by and not _is_loopback(conn.client_ip)
    out = decide.client_failure(
        reason=getattr(exc, "reason", None) or "",
        text=str(exc),
        seen=TlsErrorFacts(
            ev.tls_error_description, ev.tls_error_side, ev.tls_error_type, ev.finding, ev.detail
        ),
        forged=ev.forged,
        accepted_ca_before=accepted,
    )
    ev.tls_error_description, ev.tls_error_side = out.description, out.side
    ev.tls_error_type, ev.finding, ev.detail = out.error_type, out.finding, out.detail


async def block(
    conn: Connection, hello: ClientHello, name: str, code: str, title: str, detail: str
) -> None:
    """Finish the client handshake with a trusted forged certificate and serve a 403 page."""
    ev = conn.ev
    ev.action = "block"
    ev.tls_inspection = 1
    ev.finding = code
    ev.detail = detail
    ev.forged = "trusted"
    alpn = "http/1.1" if (not hello.alpn or "http/1.1" in hello.alpn) else None
    if not await client_tls(conn, spec_for(name), alpn):
        return
    client = conn.client
    assert client is not None
    with contextlib.suppress(TimeoutError, Stop):
        async with asyncio.timeout(min(10.0, conn.server.config.header_timeout)):
            while client.pending.find(b"\r\n\r\n") < 0 and len(client.pending) < 16384:
                await client.wait()
    client.send(
        block_response(
            status=403, reason="Forbidden", code=code, title=title, detail=detail, host=name
        )
    )
    ev.http_status = 403
    ev.closed_by = "proxy"
