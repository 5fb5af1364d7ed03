"""Small pieces of the server without sockets: who may connect, the block page."""

from __future__ import annotations

import asyncio
import ipaddress
from datetime import UTC, datetime
from pathlib import Path

from tlsdiag.proxy.ca import CaMaterial, CaPaths, create_ca
from tlsdiag.proxy.events import EventLog
from tlsdiag.proxy.listener import ProxyConfig, ProxyServer
from tlsdiag.proxy.policy import default_policy
from tlsdiag.render.blockpage import block_response


def test_allow_client_networks(tmp_path: Path) -> None:
    cert, key = create_ca(now=datetime.now(UTC), machine="t")
    ca = CaMaterial(cert, key, CaPaths(tmp_path / "c.pem", tmp_path / "k.pem"))
    cfg = ProxyConfig(
        ca=ca,
        policy=default_policy(),
        allow_clients=(ipaddress.ip_network("10.1.0.0/16"),),
    )

    async def check() -> dict[str, bool]:
        server = ProxyServer(cfg, EventLog(None))
        try:
            return {
                ip: server.client_allowed(ip)
                for ip in ("127.0.0.1", "::1", "10.1.2.3", "10.2.0.1", "::ffff:10.1.0.9", "junk")
            }
        finally:
            server.forger.close()

    assert asyncio.run(check()) == {
        "127.0.0.1": True,  # loopback is always allowed
        "::1": True,
        "10.1.2.3": True,
        "10.2.0.1": False,
        "::ffff:10.1.0.9": True,  # IPv4-mapped addresses count as IPv4
        "junk": False,
    }


def test_block_page_is_escaped_and_carries_the_code() -> None:
    page = block_response(
        status=403,
        reason="Forbidden",
        code="server.cert_expired",
        title="Invalid <cert>",
        detail="expired\r\nSet-Cookie: x=1",
        host="<script>",
    )
    head, _, body = page.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 403 Forbidden\r\n")
    assert b"X-Tlsdiag-Finding: server.cert_expired\r\n" in head
    assert b"\r\nSet-Cookie" not in head  # no header injection through the detail
    assert b"<script>" not in body and b"&lt;script&gt;" in body
    assert int(head.split(b"Content-Length: ")[1].split(b"\r\n")[0]) == len(body)
    plain = block_response(
        status=400, reason="Bad Request", code="", title="t", detail="d", host=""
    )
    assert b"X-Tlsdiag-Finding" not in plain
