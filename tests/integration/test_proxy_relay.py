"""Real clients (curl, openssl s_client, httpx, Python ssl) through the proxy to local servers.

Upstream problems come from the lab (expired, wrong host, untrusted root, incomplete chain, TLS
1.0 only, client certificate required ...); bodies and keep-alive from a trustme origin here.
"""

from __future__ import annotations

import contextlib
import hashlib
import http.server
import json
import os
import random
import shutil
import socket
import ssl
import struct
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx
import pytest
import trustme

from tlsdiag import codes
from tlsdiag.facts.proxy import EventFacts
from tlsdiag.lab.cases import Lab
from tlsdiag.proxy.ca import CaMaterial, init_ca
from tlsdiag.proxy.listener import ProxyConfig, ResolveTo, RunningProxy
from tlsdiag.proxy.policy import InvalidCert, MutualTls, Policy, default_policy, parse_policy

pytestmark = pytest.mark.integration

LAB_CASES = (
    "good",
    "expired",
    "wrong-host",
    "self-signed",
    "untrusted-root",
    "incomplete-chain",
    "tls10",
    "client-cert",
    "not-tls",
    "reset",
)
# Clients must use the proxy we give them, whatever the environment says (NO_PROXY=* here).
ENV = {
    k: v
    for k, v in os.environ.items()
    if k.lower() not in {"no_proxy", "http_proxy", "https_proxy", "all_proxy"}
}
BIG = 3 * 1024 * 1024 + 17  # a multi-megabyte body, not a multiple of any buffer size
HUGE = 24 * 1024 * 1024 + 5  # more than the kernel's socket buffers can hold


def _pattern(n: int) -> bytes:
    block = hashlib.sha256(b"tlsdiag").digest() * 2048
    return (block * (n // len(block) + 1))[:n]


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        if self.path.startswith("/huge"):
            body = _pattern(HUGE)
        elif self.path.startswith("/big"):
            body = _pattern(BIG)
        elif self.path.startswith("/page"):
            body = b"<html><body><h1 id='t'>tlsdiag proxied page</h1></body></html>"
        else:
            body = b"origin says hello\n"
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Content-Type", "text/html" if "page" in self.path else "text/plain")
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self) -> None:
        n = int(self.headers.get("Content-Length", "0"))
        data = self.rfile.read(n)
        body = hashlib.sha256(data).hexdigest().encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


class _Origin:
    def __init__(self, ctx: ssl.SSLContext | None) -> None:
        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self.httpd.daemon_threads = True
        if ctx is not None:
            self.httpd.socket = ctx.wrap_socket(self.httpd.socket, server_side=True)
        self.port = self.httpd.server_address[1]
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    d = tmp_path_factory.mktemp("proxy")
    ca = init_ca(d / "ca")
    origin_ca = trustme.CA()
    origin_ca.cert_pem.write_to_path(str(d / "origin-ca.pem"))
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    origin_ca.issue_cert("origin.test").configure_cert(ctx)
    return {"dir": d, "ca": ca, "origin_ca": d / "origin-ca.pem", "origin_ctx": ctx}


@pytest.fixture(scope="module")
def origin(pki: dict[str, Any]) -> Iterator[_Origin]:
    o = _Origin(pki["origin_ctx"])
    yield o
    o.close()


@pytest.fixture(scope="module")
def plain_origin() -> Iterator[_Origin]:
    o = _Origin(None)
    yield o
    o.close()


@pytest.fixture(scope="module")
def lab() -> Iterator[Lab]:
    with Lab(names=LAB_CASES) as running:
        yield running


@pytest.fixture(scope="module")
def resolve(lab: Lab, origin: _Origin, plain_origin: _Origin) -> tuple[ResolveTo, ...]:
    rules = [ResolveTo(c.spec.host, c.port, ("127.0.0.1",)) for c in lab.cases.values()]
    rules.append(ResolveTo("origin.test", origin.port, ("127.0.0.1",)))
    rules.append(ResolveTo("plain.test", plain_origin.port, ("127.0.0.1",)))
    return tuple(rules)


ProxyFactory = Callable[..., RunningProxy]


@pytest.fixture
def start_proxy(
    pki: dict[str, Any], lab: Lab, resolve: tuple[ResolveTo, ...], tmp_path: Path
) -> Iterator[ProxyFactory]:
    running: list[RunningProxy] = []

    def start(policy: Policy | None = None, **kw: Any) -> RunningProxy:
        kw.setdefault("resolve", resolve)
        kw.setdefault("upstream_cafiles", (lab.root_pem_path, pki["origin_ca"]))
        kw.setdefault("events_path", tmp_path / f"events-{len(running)}.jsonl")
        cfg = ProxyConfig(ca=pki["ca"], policy=policy or default_policy(), port=0, **kw)
        p = RunningProxy(cfg)
        p.start()
        running.append(p)
        return p

    yield start
    for p in running:
        p.stop()


def _events(p: RunningProxy, n: int = 1, timeout: float = 5.0) -> list[EventFacts]:
    """Wait until at least n events were written, then return them all."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if p.events.count >= n:
            break
        time.sleep(0.02)
    return [e.to_dict() for e in p.events.recent]


def _event_for(p: RunningProxy, host: str) -> EventFacts:
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        for e in p.events.recent:
            if e.sni == host or e.host == host:
                return e.to_dict()
        time.sleep(0.02)
    raise AssertionError(f"no event for {host}: {[e.host for e in p.events.recent]}")


def _curl(
    p: RunningProxy, url: str, ca: Path | None, *extra: str
) -> subprocess.CompletedProcess[str]:
    cmd = [
        "curl",
        "-sS",
        "-m",
        "15",
        "-x",
        p.url,
        "-o",
        "/dev/null",
        "-D",
        "-",
        "-w",
        "\n%{http_code}",
        *extra,
    ]
    if ca is not None:
        cmd += ["--cacert", str(ca)]
    return subprocess.run([*cmd, url], env=ENV, capture_output=True, text=True, timeout=30)


def _status(r: subprocess.CompletedProcess[str]) -> str:
    return r.stdout.rstrip().rsplit("\n", 1)[-1]


def _tunnel_peer(p: RunningProxy, host: str, port: int, cafile: Path) -> dict[str, Any]:
    """CONNECT by hand, then TLS with Python's ssl trusting ``cafile``; the peer certificate."""
    sock = socket.create_connection(("127.0.0.1", p.port), timeout=10)
    sock.sendall(f"CONNECT {host}:{port} HTTP/1.1\r\nHost: {host}:{port}\r\n\r\n".encode())
    assert sock.recv(4096).startswith(b"HTTP/1.1 200")
    ctx = ssl.create_default_context(cafile=str(cafile))
    with ctx.wrap_socket(sock, server_hostname=host) as tls:
        cert = tls.getpeercert()
        assert cert is not None
        return dict(cert)


def _issuer_cn(cert: dict[str, Any]) -> str:
    for rdn in cert["issuer"]:
        for key, value in rdn:
            if key == "commonName":
                return str(value)
    return ""


# --- the good path -------------------------------------------------------------------------


@pytest.mark.skipif(shutil.which("curl") is None, reason="curl not installed")
def test_curl_sees_tlsdiag_issuer_and_gets_content(
    start_proxy: ProxyFactory, pki: dict[str, Any], lab: Lab
) -> None:
    p = start_proxy()
    case = lab.cases["good"]
    r = _curl(p, f"https://{case.target}/", pki["ca"].paths.cert, "-v")
    assert _status(r) == "200", r.stderr
    assert (
        "issuer: O=tlsdiag; CN=tlsdiag inspection CA" in r.stderr
        or "tlsdiag inspection CA" in r.stderr
    )
    ev = _event_for(p, case.spec.host)
    assert ev["action"] == "inspect" and ev["tls_inspection"] == 1
    assert ev["verification"] == "ok" and ev["finding"] == ""
    assert (
        ev["issuer"].endswith("CN=Lab Test Intermediate CA")
        or "Lab Test Intermediate" in ev["issuer"]
    )
    assert ev["upstream_version"] in ("TLSv1.2", "TLSv1.3") and ev["cipher"]
    assert ev["alpn"] == "http/1.1" and "h2" in ev["client_alpn"]
    assert ev["client_handshake"] == "ok" and ev["bytes_down"] > 0 and ev["bytes_up"] > 0


def test_python_client_sees_forged_names(
    start_proxy: ProxyFactory, pki: dict[str, Any], lab: Lab
) -> None:
    p = start_proxy()
    case = lab.cases["good"]
    cert = _tunnel_peer(p, case.spec.host, case.port, pki["ca"].paths.cert)
    assert _issuer_cn(cert).startswith("tlsdiag inspection CA")
    assert ("DNS", case.spec.host) in cert["subjectAltName"]


@pytest.mark.skipif(shutil.which("curl") is None, reason="curl not installed")
def test_multi_megabyte_body_intact_with_curl(
    start_proxy: ProxyFactory, pki: dict[str, Any], origin: _Origin, tmp_path: Path
) -> None:
    p = start_proxy()
    out = tmp_path / "big.bin"
    r = subprocess.run(
        [
            "curl",
            "-sS",
            "-m",
            "30",
            "-x",
            p.url,
            "--cacert",
            str(pki["ca"].paths.cert),
            "-o",
            str(out),
            f"https://origin.test:{origin.port}/big",
        ],
        env=ENV,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert r.returncode == 0, r.stderr
    assert out.read_bytes() == _pattern(BIG)
    ev = _event_for(p, "origin.test")
    assert ev["bytes_down"] > BIG


def test_httpx_keepalive_upload_and_download(
    start_proxy: ProxyFactory, pki: dict[str, Any], origin: _Origin
) -> None:
    p = start_proxy()
    ctx = ssl.create_default_context(cafile=str(pki["ca"].paths.cert))
    upload = _pattern(2 * 1024 * 1024 + 5)
    with httpx.Client(proxy=p.url, verify=ctx, timeout=20) as client:
        base = f"https://origin.test:{origin.port}"
        for _ in range(5):
            assert client.get(f"{base}/small").text == "origin says hello\n"
        assert client.get(f"{base}/big").content == _pattern(BIG)
        r = client.post(f"{base}/echo", content=upload)
        assert r.text == hashlib.sha256(upload).hexdigest()
    events = _events(p, 1)
    assert len(events) == 1  # one tunnel carried all the requests
    assert events[0]["bytes_up"] > len(upload)


@pytest.mark.skipif(shutil.which("openssl") is None, reason="openssl not installed")
def test_openssl_s_client_through_proxy(
    start_proxy: ProxyFactory, pki: dict[str, Any], lab: Lab
) -> None:
    p = start_proxy()
    case = lab.cases["good"]
    r = subprocess.run(
        [
            "openssl",
            "s_client",
            "-proxy",
            f"127.0.0.1:{p.port}",
            "-connect",
            case.target,
            "-servername",
            case.spec.host,
            "-CAfile",
            str(pki["ca"].paths.cert),
            "-verify_return_error",
            "-ign_eof",
        ],
        input=f"GET / HTTP/1.1\r\nHost: {case.spec.host}\r\nConnection: close\r\n\r\n",
        env=ENV,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert "Verify return code: 0 (ok)" in r.stdout, r.stdout + r.stderr
    assert "tlsdiag inspection CA" in r.stdout
    assert "tlsdiag lab" in r.stdout  # the lab's body came through


# --- policy actions --------------------------------------------------------------------------


BLOCKED = {
    "expired": (codes.SERVER_CERT_EXPIRED, "certificate has expired", "certificate expired"),
    "wrong-host": (codes.SERVER_HOSTNAME_MISMATCH, "hostname mismatch", "bad certificate"),
    "untrusted-root": (
        codes.SERVER_UNTRUSTED_ROOT,
        "self-signed certificate in certificate chain",
        "unknown ca",
    ),
    "incomplete-chain": (
        codes.SERVER_CHAIN_INCOMPLETE,
        "unable to get local issuer certificate",
        "unknown ca",
    ),
    "self-signed": (codes.SERVER_SELF_SIGNED, "self-signed certificate", "unknown ca"),
}


@pytest.mark.skipif(shutil.which("curl") is None, reason="curl not installed")
@pytest.mark.parametrize("name", sorted(BLOCKED))
def test_invalid_server_certificates_are_blocked(
    name: str, start_proxy: ProxyFactory, pki: dict[str, Any], lab: Lab
) -> None:
    code, cert_error, alert = BLOCKED[name]
    p = start_proxy()
    case = lab.cases[name]
    r = _curl(p, f"https://{case.target}/", pki["ca"].paths.cert)
    assert _status(r) == "403", r.stderr
    assert f"x-tlsdiag-finding: {code}" in r.stdout.lower()
    ev = _event_for(p, case.spec.host)
    assert ev["action"] == "block" and ev["finding"] == code and ev["http_status"] == 403
    assert cert_error in ev["tls_certificate_error"]
    assert ev["tls_error_description"] == alert and ev["tls_error_type"] == "fatal"


@pytest.mark.skipif(shutil.which("curl") is None, reason="curl not installed")
@pytest.mark.parametrize("name", sorted(BLOCKED))
def test_allow_resigns_invalid_certificates_and_masks_the_error(
    name: str, start_proxy: ProxyFactory, pki: dict[str, Any], lab: Lab
) -> None:
    p = start_proxy(replace(default_policy(), invalid_certificate=InvalidCert.ALLOW))
    case = lab.cases[name]
    r = _curl(p, f"https://{case.target}/", pki["ca"].paths.cert)
    assert _status(r) == "200", r.stderr  # the client sees no error at all
    ev = _event_for(p, case.spec.host)
    assert ev["action"] == "inspect" and ev["finding"] == BLOCKED[name][0]
    assert "re-signed as valid" in ev["detail"]


MIMIC_CURL = {
    "expired": "certificate has expired",
    "wrong-host": "no alternative certificate subject name matches",
    "untrusted-root": "unable to get local issuer certificate",
    "incomplete-chain": "unable to get local issuer certificate",
    "self-signed": "self-signed certificate",
}


@pytest.mark.skipif(shutil.which("curl") is None, reason="curl not installed")
@pytest.mark.parametrize("name", sorted(MIMIC_CURL))
def test_mimic_reproduces_the_server_error_for_the_client(
    name: str, start_proxy: ProxyFactory, pki: dict[str, Any], lab: Lab
) -> None:
    p = start_proxy(replace(default_policy(), invalid_certificate=InvalidCert.MIMIC))
    case = lab.cases[name]
    r = _curl(p, f"https://{case.target}/", pki["ca"].paths.cert)
    assert r.returncode == 60, r.stderr
    assert MIMIC_CURL[name] in r.stderr
    ev = _event_for(p, case.spec.host)
    assert ev["finding"] == BLOCKED[name][0] and ev["action"] == "inspect"
    assert ev["forged"] == {
        "untrusted-root": "untrusted",
        "incomplete-chain": "untrusted",
        "self-signed": "self",
    }.get(name, "trusted")


@pytest.mark.skipif(shutil.which("curl") is None, reason="curl not installed")
def test_tls10_upstream_under_tls12_minimum_is_legacy_protocol(
    start_proxy: ProxyFactory, pki: dict[str, Any], lab: Lab
) -> None:
    p = start_proxy()
    case = lab.cases["tls10"]
    r = _curl(p, f"https://{case.target}/", pki["ca"].paths.cert)
    assert _status(r) == "403"
    assert f"x-tlsdiag-finding: {codes.LEGACY_PROTOCOL_VERSION}" in r.stdout.lower()
    ev = _event_for(p, case.spec.host)
    assert ev["finding"] == codes.LEGACY_PROTOCOL_VERSION
    assert ev["tls_error_description"] and ev["tls_error_side"] == "server"


def test_mutual_tls_upstream_is_reported_and_bypassed(
    start_proxy: ProxyFactory, pki: dict[str, Any], lab: Lab
) -> None:
    p = start_proxy()
    case = lab.cases["client-cert"]
    # Bypassed: the client talks to the server itself and sees the lab's own issuer.
    sock = socket.create_connection(("127.0.0.1", p.port), timeout=10)
    sock.sendall(f"CONNECT {case.target} HTTP/1.1\r\n\r\n".encode())
    assert sock.recv(4096).startswith(b"HTTP/1.1 200")
    ctx = ssl.create_default_context(cafile=str(lab.root_pem_path))
    with ctx.wrap_socket(sock, server_hostname=case.spec.host) as tls:
        cert = tls.getpeercert()
        assert cert is not None and _issuer_cn(dict(cert)) == "Lab Test Intermediate CA"
        with pytest.raises((ssl.SSLError, OSError)):
            tls.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
            assert tls.recv(100)  # the server wants a certificate we do not have
    ev = _event_for(p, case.spec.host)
    assert ev["finding"] == codes.APP_MUTUAL_TLS and ev["action"] == "bypass"
    assert ev["tls_inspection"] == 0 and "mutual TLS: cannot inspect" in ev["detail"]


@pytest.mark.skipif(shutil.which("curl") is None, reason="curl not installed")
def test_mutual_tls_blocked_by_policy(
    start_proxy: ProxyFactory, pki: dict[str, Any], lab: Lab
) -> None:
    p = start_proxy(replace(default_policy(), mutual_tls=MutualTls.BLOCK))
    case = lab.cases["client-cert"]
    r = _curl(p, f"https://{case.target}/", pki["ca"].paths.cert)
    assert _status(r) == "403"
    assert f"x-tlsdiag-finding: {codes.APP_MUTUAL_TLS}" in r.stdout.lower()


def test_bypass_rule_gives_the_original_issuer(start_proxy: ProxyFactory, lab: Lab) -> None:
    pol = parse_policy('[[rule]]\nid = "lab"\nhost = ".lab.test"\naction = "bypass"\n')
    p = start_proxy(pol)
    case = lab.cases["good"]
    cert = _tunnel_peer(p, case.spec.host, case.port, lab.root_pem_path)
    assert _issuer_cn(cert) == "Lab Test Intermediate CA"
    ev = _event_for(p, case.spec.host)
    assert (ev["action"], ev["rule"], ev["tls_inspection"]) == ("bypass", "lab", 0)
    assert ev["verification"] == "" and ev["bytes_down"] > 0


@pytest.mark.skipif(shutil.which("curl") is None, reason="curl not installed")
def test_block_rule_serves_block_page(
    start_proxy: ProxyFactory, pki: dict[str, Any], lab: Lab
) -> None:
    pol = parse_policy('[[rule]]\nid = "no-good"\nhost = "good.lab.test"\naction = "block"\n')
    p = start_proxy(pol)
    case = lab.cases["good"]
    r = subprocess.run(
        [
            "curl",
            "-sS",
            "-m",
            "15",
            "-x",
            p.url,
            "--cacert",
            str(pki["ca"].paths.cert),
            "-i",
            f"https://{case.target}/",
        ],
        env=ENV,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert "HTTP/1.1 403 Forbidden" in r.stdout
    assert "x-tlsdiag-finding: policy.blocked" in r.stdout.lower()
    assert "rule &#x27;no-good&#x27; blocks good.lab.test" in r.stdout
    ev = _event_for(p, case.spec.host)
    assert (ev["action"], ev["rule"], ev["finding"]) == ("block", "no-good", codes.POLICY_BLOCKED)


@pytest.mark.skipif(shutil.which("curl") is None, reason="curl not installed")
def test_client_without_the_ca_is_classified(
    start_proxy: ProxyFactory, lab: Lab, tmp_path: Path
) -> None:
    p = start_proxy()
    case = lab.cases["good"]
    other = tmp_path / "other.pem"
    trustme.CA().cert_pem.write_to_path(str(other))  # trusts something else, not our CA
    r = _curl(p, f"https://{case.target}/", other)
    assert r.returncode == 60
    ev = _event_for(p, case.spec.host)
    assert ev["finding"] == codes.CLIENT_ROOT_NOT_TRUSTED
    assert ev["tls_error_description"] == "unknown ca" and ev["tls_error_side"] == "client"
    assert ev["client_handshake"] == "failed"


@pytest.mark.skipif(shutil.which("curl") is None, reason="curl not installed")
def test_plain_http_absolute_uri(start_proxy: ProxyFactory, plain_origin: _Origin) -> None:
    pol = parse_policy('[[rule]]\nid = "deny"\nhost = "blocked.test"\naction = "block"\n')
    p = start_proxy(
        pol,
        resolve=(
            ResolveTo("plain.test", plain_origin.port, ("127.0.0.1",)),
            ResolveTo("blocked.test", plain_origin.port, ("127.0.0.1",)),
        ),
    )
    r = subprocess.run(
        ["curl", "-sS", "-m", "10", "-x", p.url, f"http://plain.test:{plain_origin.port}/x"],
        env=ENV,
        capture_output=True,
        text=True,
        timeout=20,
    )
    assert r.stdout == "origin says hello\n", r.stderr
    r = _curl(p, f"http://blocked.test:{plain_origin.port}/x", None)
    assert _status(r) == "403" and "x-tlsdiag-finding: policy.blocked" in r.stdout.lower()
    ev = _event_for(p, "plain.test")
    assert (ev["kind"], ev["action"], ev["tls_inspection"]) == ("http", "inspect", 0)


@pytest.mark.skipif(shutil.which("curl") is None, reason="curl not installed")
def test_unreachable_and_not_tls_servers(
    start_proxy: ProxyFactory, pki: dict[str, Any], lab: Lab
) -> None:
    p = start_proxy(
        resolve=(
            ResolveTo("down.test", 9, ("127.0.0.1",)),
            *[ResolveTo(c.spec.host, c.port, ("127.0.0.1",)) for c in lab.cases.values()],
        )
    )
    r = _curl(p, "https://down.test:9/", pki["ca"].paths.cert)
    assert _status(r) == "403" and codes.NETWORK_CONNECT_FAILED in r.stdout
    for name, code in (("not-tls", codes.NETWORK_NOT_TLS), ("reset", codes.NETWORK_RESET)):
        r = _curl(p, f"https://{lab.cases[name].target}/", pki["ca"].paths.cert)
        assert _status(r) == "403" and code in r.stdout, (name, r.stdout)


# --- hostile and broken clients ----------------------------------------------------------------


def _raw(p: RunningProxy, data: bytes, *, wait: float = 5.0) -> bytes:
    with socket.create_connection(("127.0.0.1", p.port), timeout=wait) as s:
        s.sendall(data)
        out = b""
        try:
            while chunk := s.recv(65536):
                out += chunk
        except (TimeoutError, ConnectionResetError):
            pass
        return out


def _good_request_works(p: RunningProxy, pki: dict[str, Any], origin: _Origin) -> None:
    ctx = ssl.create_default_context(cafile=str(pki["ca"].paths.cert))
    with httpx.Client(proxy=p.url, verify=ctx, timeout=10) as client:
        assert client.get(f"https://origin.test:{origin.port}/").status_code == 200


@pytest.mark.parametrize(
    ("data", "status"),
    [
        (b"GARBAGE\r\n\r\n", b"400"),
        (b"GET / HTTP/1.1\r\nHost: x\r\n\r\n", b"400"),
        (b"CONNECT nohost HTTP/1.1\r\n\r\n", b"400"),
        (b"CONNECT a.test:443 HTTP/1.1\r\n" + b"X: " + b"a" * 20000 + b"\r\n\r\n", b"431"),
        (b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc" + b"\x00" * 100 + b"\r\n\r\n", b"400"),
        (b"GET http://x.test/ HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n", b"400"),
    ],
)
def test_malformed_requests_get_an_error_and_the_proxy_lives_on(
    data: bytes, status: bytes, start_proxy: ProxyFactory, pki: dict[str, Any], origin: _Origin
) -> None:
    p = start_proxy()
    reply = _raw(p, data)
    assert reply.startswith(b"HTTP/1.1 " + status), reply[:100]
    _good_request_works(p, pki, origin)


def test_non_tls_after_connect_is_logged(
    start_proxy: ProxyFactory, pki: dict[str, Any], origin: _Origin
) -> None:
    p = start_proxy()
    reply = _raw(
        p, f"CONNECT origin.test:{origin.port} HTTP/1.1\r\n\r\nGET / HTTP/1.1\r\n\r\n".encode()
    )
    assert reply.startswith(b"HTTP/1.1 200")
    ev = _event_for(p, "origin.test")
    assert ev["finding"] == codes.NETWORK_NOT_TLS and ev["client_handshake"] == "not-tls"
    _good_request_works(p, pki, origin)


def test_resets_and_half_sent_hellos_do_not_hurt_others(
    start_proxy: ProxyFactory, pki: dict[str, Any], origin: _Origin
) -> None:
    p = start_proxy()
    for payload in (
        b"CONNECT origin.test:%d HTTP/1.1\r\n\r\n\x16\x03\x01\x02\x00\x01" % origin.port,
        b"CONNECT origin.test:%d HTTP/1.1\r\n" % origin.port,
        b"GET http://plain",
    ):
        s = socket.create_connection(("127.0.0.1", p.port), timeout=5)
        s.sendall(payload)
        time.sleep(0.05)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        s.close()  # RST
    # A client that resets in the middle of a relayed transfer.
    s = socket.create_connection(("127.0.0.1", p.port), timeout=5)
    s.sendall(f"CONNECT origin.test:{origin.port} HTTP/1.1\r\n\r\n".encode())
    assert s.recv(100).startswith(b"HTTP/1.1 200")
    tls = ssl.create_default_context(cafile=str(pki["ca"].paths.cert)).wrap_socket(
        s, server_hostname="origin.test"
    )
    tls.sendall(b"GET /big HTTP/1.1\r\nHost: origin.test\r\n\r\n")
    tls.recv(1000)
    tls.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    tls.close()
    _good_request_works(p, pki, origin)
    events = _events(p, 5)
    assert p.server is not None and not any(
        c.relaying for c in p.server.connections if c.ev.sni == "origin.test" and c.ev.bytes_up
    )
    assert any(e["closed_by"] == "client" for e in events)


def test_slow_client_times_out_while_others_are_served(
    start_proxy: ProxyFactory, pki: dict[str, Any], origin: _Origin
) -> None:
    p = start_proxy(header_timeout=1.0)
    slow = socket.create_connection(("127.0.0.1", p.port), timeout=5)
    slow.sendall(b"CONNECT origin.test:")  # and then nothing
    t0 = time.monotonic()
    _good_request_works(p, pki, origin)
    assert slow.recv(100) == b""  # closed by the proxy after the header timeout
    assert time.monotonic() - t0 < 4
    slow.close()


def test_idle_tunnels_are_closed(
    start_proxy: ProxyFactory, pki: dict[str, Any], origin: _Origin
) -> None:
    p = start_proxy(idle_timeout=1.0)
    s = socket.create_connection(("127.0.0.1", p.port), timeout=6)
    s.sendall(f"CONNECT origin.test:{origin.port} HTTP/1.1\r\n\r\n".encode())
    assert s.recv(100).startswith(b"HTTP/1.1 200")
    tls = ssl.create_default_context(cafile=str(pki["ca"].paths.cert)).wrap_socket(
        s, server_hostname="origin.test"
    )
    assert tls.recv(100) == b""  # nothing sent for over a second: closed
    tls.close()
    ev = _event_for(p, "origin.test")
    assert ev["closed_by"] == "timeout"


def test_connection_limit(start_proxy: ProxyFactory, pki: dict[str, Any], origin: _Origin) -> None:
    p = start_proxy(max_connections=2)
    held = [socket.create_connection(("127.0.0.1", p.port), timeout=5) for _ in range(2)]
    time.sleep(0.1)
    reply = _raw(p, b"CONNECT origin.test:1 HTTP/1.1\r\n\r\n")
    assert reply.startswith(b"HTTP/1.1 503")
    for s in held:
        s.close()
    time.sleep(0.2)
    _good_request_works(p, pki, origin)


def test_events_file_one_json_line_per_connection(
    start_proxy: ProxyFactory, pki: dict[str, Any], origin: _Origin, lab: Lab
) -> None:
    p = start_proxy()
    _good_request_works(p, pki, origin)
    _raw(p, b"NONSENSE\r\n\r\n")
    _events(p, 2)
    p.stop()
    assert p.config.events_path is not None
    lines = p.config.events_path.read_text().splitlines()
    recs = [json.loads(x) for x in lines]
    assert len(recs) == 2 and {r["action"] for r in recs} == {"inspect", "block"}


def test_name_constrained_ca_bypasses_other_domains(
    pki: dict[str, Any], lab: Lab, resolve: tuple[ResolveTo, ...], tmp_path: Path
) -> None:
    constrained: CaMaterial = init_ca(tmp_path / "c", permit=["example.com"])
    cfg = ProxyConfig(
        ca=constrained,
        policy=default_policy(),
        port=0,
        resolve=resolve,
        upstream_cafiles=(lab.root_pem_path,),
    )
    with RunningProxy(cfg) as p:
        case = lab.cases["good"]
        cert = _tunnel_peer(p, case.spec.host, case.port, lab.root_pem_path)
        assert _issuer_cn(cert) == "Lab Test Intermediate CA"
        assert _event_for(p, case.spec.host)["rule"] == "ca-name-constraints"


@pytest.mark.skipif(shutil.which("curl") is None, reason="curl not installed")
@pytest.mark.parametrize("native", [True, False], ids=["native", "context"])
def test_upstream_session_is_resumed_on_the_next_connection(
    native: bool, start_proxy: ProxyFactory, pki: dict[str, Any], lab: Lab
) -> None:
    """Kept through libssl (native) or CPython's SSLSession (context): resumed either way."""
    p = start_proxy(native_certs=native)
    assert p.server is not None and p.server.forger.mode == ("native" if native else "context")
    case = lab.cases["good"]
    for _ in range(2):
        assert _status(_curl(p, f"https://{case.target}/", pki["ca"].paths.cert)) == "200"
    events = [e for e in _events(p, 2) if e["sni"] == case.spec.host]
    assert [e["verification"] for e in events] == ["ok", "ok (resumed session)"]
    assert events[1]["issuer"] == events[0]["issuer"]  # known from the resumed session


@pytest.mark.skipif(shutil.which("curl") is None, reason="curl not installed")
def test_kept_sessions_outlive_a_fall_back_of_the_leaf_path(
    start_proxy: ProxyFactory, pki: dict[str, Any], lab: Lab, monkeypatch: pytest.MonkeyPatch
) -> None:
    """When presenting leaves through libssl fails and the proxy falls back to contexts, the
    upstream sessions it kept through libssl still resume."""
    p = start_proxy(native_certs=True)
    assert p.server is not None and p.server.forger.native is not None
    case = lab.cases["good"]
    assert _status(_curl(p, f"https://{case.target}/", pki["ca"].paths.cert)) == "200"
    monkeypatch.setattr(p.server.forger.native, "use", lambda *args: False)
    for _ in range(2):  # the connection that falls back, then one after it
        assert _status(_curl(p, f"https://{case.target}/", pki["ca"].paths.cert)) == "200"
    assert p.server.forger.mode == "context"
    events = [e for e in _events(p, 3) if e["sni"] == case.spec.host]
    assert [e["verification"] for e in events] == ["ok"] + ["ok (resumed session)"] * 2


@pytest.mark.skipif(shutil.which("curl") is None, reason="curl not installed")
def test_no_resumption_after_a_failed_verification(
    start_proxy: ProxyFactory, pki: dict[str, Any], lab: Lab
) -> None:
    p = start_proxy(replace(default_policy(), invalid_certificate=InvalidCert.ALLOW))
    case = lab.cases["expired"]
    for _ in range(2):
        assert _status(_curl(p, f"https://{case.target}/", pki["ca"].paths.cert)) == "200"
    events = [e for e in _events(p, 2) if e["sni"] == case.spec.host]
    assert [e["finding"] for e in events] == [codes.SERVER_CERT_EXPIRED] * 2


@pytest.mark.skipif(shutil.which("curl") is None, reason="curl not installed")
def test_aia_completion_when_the_policy_allows_it(
    start_proxy: ProxyFactory, pki: dict[str, Any], lab: Lab
) -> None:
    p = start_proxy(parse_policy("[policy]\naia_fetch = true\n"))
    case = lab.cases["incomplete-chain"]
    r = _curl(p, f"https://{case.target}/", pki["ca"].paths.cert)
    assert _status(r) == "200", r.stdout
    ev = _event_for(p, case.spec.host)
    assert ev["verification"] == "ok (chain completed from AIA)"
    assert ev["finding"] == codes.SERVER_CHAIN_INCOMPLETE  # still reported
    assert "completed from AIA" in ev["detail"]


def test_slow_reader_gets_everything_and_others_are_not_held_up(
    start_proxy: ProxyFactory, pki: dict[str, Any], origin: _Origin
) -> None:
    p = start_proxy()
    s = socket.create_connection(("127.0.0.1", p.port), timeout=10)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 32768)
    s.sendall(f"CONNECT origin.test:{origin.port} HTTP/1.1\r\n\r\n".encode())
    assert s.recv(100).startswith(b"HTTP/1.1 200")
    tls = ssl.create_default_context(cafile=str(pki["ca"].paths.cert)).wrap_socket(
        s, server_hostname="origin.test"
    )
    tls.sendall(b"GET /huge HTTP/1.1\r\nHost: origin.test\r\n\r\n")
    assert p.server is not None
    deadline = time.monotonic() + 5
    held: list[Any] = []
    while time.monotonic() < deadline:  # not reading: the proxy must stop reading the server
        held = [c for c in p.server.connections if c.relaying and c.upstream is not None]
        if any(c.upstream.paused for c in held):
            break
        time.sleep(0.05)
    assert any(c.upstream.paused for c in held), "the server side was never paused"
    for conn in held:  # what waits for the client stays bounded
        assert conn.client is not None and conn.client.transport is not None
        assert conn.client.transport.get_write_buffer_size() < 1024 * 1024
    _good_request_works(p, pki, origin)  # meanwhile, others are served
    data = b""
    while b"\r\n\r\n" not in data:
        data += tls.recv(65536)
    _head, _, body = data.partition(b"\r\n\r\n")
    chunks = [body]
    got = len(body)
    while got < HUGE:
        chunk = tls.recv(1 << 20)
        assert chunk
        chunks.append(chunk)
        got += len(chunk)
    assert b"".join(chunks) == _pattern(HUGE)
    tls.close()


def test_stopping_closes_open_tunnels_and_writes_their_events(
    start_proxy: ProxyFactory, pki: dict[str, Any], origin: _Origin
) -> None:
    p = start_proxy()
    s = socket.create_connection(("127.0.0.1", p.port), timeout=10)
    s.sendall(f"CONNECT origin.test:{origin.port} HTTP/1.1\r\n\r\n".encode())
    assert s.recv(100).startswith(b"HTTP/1.1 200")
    tls = ssl.create_default_context(cafile=str(pki["ca"].paths.cert)).wrap_socket(
        s, server_hostname="origin.test"
    )
    tls.sendall(b"GET / HTTP/1.1\r\nHost: origin.test\r\n\r\n")
    got = b""
    while b"origin says hello" not in got:
        got += tls.recv(4096)
    half = socket.create_connection(("127.0.0.1", p.port), timeout=10)
    half.sendall(b"CONNECT origin.test:")  # still sending its request when the proxy stops
    time.sleep(0.1)
    p.stop()
    assert tls.recv(100) == b""  # the proxy closed the tunnel
    tls.close()
    half.close()
    assert p.config.events_path is not None
    recs = [json.loads(x) for x in p.config.events_path.read_text().splitlines()]
    assert len(recs) == 2
    tunnel = next(r for r in recs if r["sni"] == "origin.test")
    assert tunnel["closed_by"] == "proxy" and tunnel["bytes_down"] > 0


def test_malformed_request_event(start_proxy: ProxyFactory) -> None:
    p = start_proxy()
    reply = _raw(p, b"BREW coffee HTTP/1.1\r\n\r\n")
    assert reply.startswith(b"HTTP/1.1 400") and b"X-Tlsdiag-Finding" not in reply
    ev = _events(p, 1)[0]
    assert (ev["kind"], ev["http_status"], ev["finding"]) == ("invalid", 400, "")
    assert ev["detail"]


@pytest.mark.skipif(shutil.which("curl") is None, reason="curl not installed")
def test_client_below_the_client_side_minimum(
    start_proxy: ProxyFactory, pki: dict[str, Any], origin: _Origin
) -> None:
    p = start_proxy(parse_policy('[policy]\nclient_min_tls = "1.3"\n'))
    r = _curl(p, f"https://origin.test:{origin.port}/", pki["ca"].paths.cert, "--tls-max", "1.2")
    assert r.returncode != 0
    ev = _event_for(p, "origin.test")
    assert ev["finding"] == codes.LEGACY_PROTOCOL_VERSION
    assert ev["tls_error_side"] == "client" and ev["client_handshake"] == "failed"
    assert ev["upstream_version"] == "TLSv1.3"  # the server side was fine


def test_flood_of_hostile_clients(
    start_proxy: ProxyFactory, pki: dict[str, Any], origin: _Origin
) -> None:
    """Random bytes, corrupted and truncated ClientHellos, garbage after a good hello, bodies
    that never come, all at once: every connection ends with an event, nothing stays open, and
    the proxy still serves a normal client."""
    p = start_proxy(header_timeout=1.0, handshake_timeout=1.0)
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
    obj = ctx.wrap_bio(incoming, outgoing, server_hostname="origin.test")
    with pytest.raises(ssl.SSLWantReadError):
        obj.do_handshake()
    good_hello = outgoing.read()
    connect = f"CONNECT origin.test:{origin.port} HTTP/1.1\r\n\r\n".encode()
    rnd = random.Random(7)

    def payload(n: int) -> bytes:
        kind = n % 6
        if kind == 0:
            return bytes(rnd.randrange(256) for _ in range(rnd.randint(1, 2000)))
        if kind == 1:
            return connect + bytes(rnd.randrange(256) for _ in range(200))
        if kind == 2:
            h = bytearray(good_hello)
            for _ in range(5):
                h[rnd.randrange(len(h))] = rnd.randrange(256)
            return connect + bytes(h)
        if kind == 3:
            return connect + good_hello + b"\x17\x03\x03\x00\x10" + b"\x00" * 16
        if kind == 4:
            return b"POST http://nowhere.invalid/ HTTP/1.1\r\nContent-Length: 99999\r\n\r\nabc"
        return connect + good_hello[: rnd.randint(1, len(good_hello) - 1)]

    payloads = [payload(n) for n in range(60)]

    def attack(data: bytes) -> None:
        with (
            contextlib.suppress(OSError),
            socket.create_connection(("127.0.0.1", p.port), timeout=5) as s,
        ):
            s.sendall(data)
            s.recv(65536)

    threads = [threading.Thread(target=attack, args=(d,)) for d in payloads]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    _good_request_works(p, pki, origin)
    events = _events(p, 61, timeout=10)
    assert len(events) >= 61
    assert p.server is not None
    deadline = time.monotonic() + 5
    while p.server.connections and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not p.server.connections
