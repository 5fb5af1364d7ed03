"""Headless Chromium through the proxy: the tlsdiag CA is trusted through an NSS database.

Needs the Debian packages ``chromium`` and ``libnss3-tools`` (certutil); skipped without them.
"""

from __future__ import annotations

import http.server
import shutil
import ssl
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import trustme

from tlsdiag.facts.proxy import EventFacts
from tlsdiag.lab.cases import Lab
from tlsdiag.proxy.ca import CaMaterial, init_ca
from tlsdiag.proxy.listener import ProxyConfig, ResolveTo, RunningProxy
from tlsdiag.proxy.policy import parse_policy
from tlsdiag.proxy.report import spki_sha256_b64

from helpers import chromium
from helpers.chromium import run_chromium

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(
        not chromium.installed(),
        reason="headless Chromium is not installed (apt-get install chromium libnss3-tools)",
    ),
]
PAGE = (
    b"<html><body><h1 id='t'>tlsdiag proxied page</h1><p>" + b"x" * 200_000 + b"</p></body></html>"
)


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(PAGE)))
        self.end_headers()
        self.wfile.write(PAGE)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture(scope="module")
def origin_port(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[int, Path]]:
    ca = trustme.CA()
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ca.issue_cert("page.test", "direct.test").configure_cert(ctx)
    root = tmp_path_factory.mktemp("chromium-origin") / "root.pem"
    ca.cert_pem.write_to_path(str(root))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    httpd.daemon_threads = True
    httpd.socket = ctx.wrap_socket(httpd.socket, server_side=True)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield httpd.server_address[1], root
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture(scope="module")
def lab() -> Iterator[Lab]:
    with Lab(names=("expired",)) as running:
        yield running


def _trust(home: Path, ca: CaMaterial, origin_root: Path) -> list[str] | None:
    """Trust the tlsdiag CA (and the origin's own root, for the bypassed site) in an NSS
    database in $HOME; None when certutil is missing."""
    certutil = shutil.which("certutil")
    if not certutil:
        return None
    db = home / ".pki" / "nssdb"
    db.mkdir(parents=True)
    subprocess.run(
        [certutil, "-d", f"sql:{db}", "-N", "--empty-password"],
        check=True,
        capture_output=True,
        timeout=30,
    )
    for nick, pem in (("tlsdiag test CA", ca.paths.cert), ("origin root", origin_root)):
        subprocess.run(
            [certutil, "-d", f"sql:{db}", "-A", "-t", "C,,", "-n", nick, "-i", str(pem)],
            check=True,
            capture_output=True,
            timeout=30,
        )
    return []


def _dump_dom(proxy: RunningProxy, url: str, home: Path, trust: list[str]) -> str:
    profile = home / f"profile-{time.monotonic_ns()}"
    r = run_chromium(home, *trust, "--dump-dom", url, proxy=proxy.url, profile=profile)
    return r.stdout


def _events_once(
    proxy: RunningProxy, skip: int, done: Callable[[list[EventFacts]], bool]
) -> list[EventFacts]:
    """The proxy's events after the first ``skip``, once ``done`` holds for them (an event is
    written when its connection closes, which a busy machine may delay; 10 s at most), then
    a moment more for any straggler."""
    deadline = time.monotonic() + 10
    while True:
        events = [e.to_dict() for e in proxy.events.recent][skip:]
        if done(events) or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    time.sleep(0.2)
    return [e.to_dict() for e in proxy.events.recent][skip:]


def test_chromium_loads_pages_through_the_proxy(
    tmp_path: Path, origin_port: tuple[int, Path], lab: Lab
) -> None:
    port, origin_root = origin_port
    ca = init_ca(tmp_path / "ca")
    expired = lab.cases["expired"]
    cfg = ProxyConfig(
        ca=ca,
        policy=parse_policy(
            # Only the test's own names are let through; any other name Chromium asks for
            # is blocked by the proxy itself and never dialled.
            '[policy]\ndefault_action = "block"\ndefault_bypass = false\n'
            '[[rule]]\nid = "direct"\nhost = "direct.test"\naction = "bypass"\n'
            '[[rule]]\nid = "lab"\naction = "inspect"\n'
            f'host = ["page.test", "{expired.spec.host}"]\n'
        ),
        port=0,
        upstream_cafiles=(origin_root, lab.root_pem_path),
        resolve=(
            ResolveTo("page.test", port, ("127.0.0.1",)),
            ResolveTo("direct.test", port, ("127.0.0.1",)),
            ResolveTo(expired.spec.host, expired.port, ("127.0.0.1",)),
        ),
    )
    home = tmp_path / "home"
    home.mkdir()
    nss = _trust(home, ca, origin_root)
    with RunningProxy(cfg) as proxy:
        # Without certutil, Chromium's SPKI allow-list flag with the CA's key stands in for
        # the NSS database (the proxy sends the CA after the leaf); the bypassed site then
        # cannot load: nothing trusts its real issuer.
        trust = nss
        if trust is None:
            trust = [f"--ignore-certificate-errors-spki-list={spki_sha256_b64(ca.cert)}"]
        dom = _dump_dom(proxy, f"https://page.test:{port}/", home, trust)
        assert "tlsdiag proxied page" in dom
        assert dom.count("x") >= 200_000  # the whole body arrived
        direct = _dump_dom(proxy, f"https://direct.test:{port}/", home, trust)
        if nss is not None:
            assert "tlsdiag proxied page" in direct  # bypassed: the origin's own certificate
        blocked = _dump_dom(proxy, f"https://{expired.target}/", home, trust)
        assert "Invalid server certificate" in blocked
        assert "server.cert_expired" in blocked
        events = _events_once(
            proxy,
            0,
            lambda evs: {"page.test", "direct.test", expired.spec.host} <= {e["sni"] for e in evs},
        )
        # Negative control: a profile that does not trust the CA gets no page, and the proxy
        # says why (the browser rejected the forged certificate).
        untrusting = tmp_path / "home2"
        untrusting.mkdir()
        assert "tlsdiag proxied page" not in _dump_dom(
            proxy, f"https://page.test:{port}/", untrusting, []
        )
        rejected = _events_once(
            proxy,
            len(events),
            lambda evs: any(
                e["client_handshake"] == "failed" and e["sni"] == "page.test" for e in evs
            ),
        )
    page = [e for e in events if e["sni"] == "page.test" and e["client_handshake"] == "ok"]
    assert page and page[0]["action"] == "inspect" and page[0]["tls_inspection"] == 1
    assert any(e["bytes_down"] > len(PAGE) for e in page)
    assert any(e["sni"] == expired.spec.host and e["action"] == "block" for e in events)
    bypassed = [e for e in events if e["sni"] == "direct.test"]
    assert bypassed and bypassed[0]["action"] == "bypass" and bypassed[0]["tls_inspection"] == 0
    assert bypassed[0]["rule"] == "direct"
    # Chromium accepted the forged certificates: no client-side rejection of a test name.
    ours = {"page.test", "direct.test", expired.spec.host}
    assert not [e for e in events if e["client_handshake"] == "failed" and e["sni"] in ours]
    # Anything else Chromium asked for was never dialled, and blocked by policy once its
    # ClientHello came (a CONNECT that Chromium dropped on exit before its hello ends with no
    # decision: action "", no SNI).
    others = [e for e in events if (e["sni"] or e["host"]) not in ours]
    assert not [e for e in others if e["upstream_address"]], others
    assert all(e["action"] == "block" for e in others if e["sni"]), others
    assert all(e["action"] in ("block", "") for e in others), others
    failed = [e for e in rejected if e["client_handshake"] == "failed" and e["sni"] == "page.test"]
    assert failed, rejected
    assert failed[0]["finding"] == "client.root_not_trusted"
    assert failed[0]["tls_error_side"] == "client" and failed[0]["tls_error_description"]
