"""``-x`` / HTTPS_PROXY for check: through the embedded proxy, and proxies that refuse."""

from __future__ import annotations

import contextlib
import json
import re
import shutil
import socket
import subprocess
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from typer.testing import CliRunner

from tlsdiag.cli.app import app
from tlsdiag.lab.cases import Lab
from tlsdiag.proxy.ca import CaMaterial, CaPaths, create_ca
from tlsdiag.proxy.listener import ProxyConfig, ResolveTo, RunningProxy
from tlsdiag.proxy.policy import default_policy

from helpers.tcp_servers import serve_each

pytestmark = pytest.mark.integration
runner = CliRunner()  # the suite sets NO_PROXY=*: --noproxy '' overrides it, as in curl
PAGE = b"<html><head><title>Access Denied by Example Gateway</title></head><body>no</body></html>"


def _refusing_proxy(status: bytes) -> contextlib.AbstractContextManager[int]:
    """A proxy that answers every request with ``status`` and an HTML page."""

    def answer(conn: socket.socket) -> None:
        with conn:
            conn.recv(4096)
            conn.sendall(
                b"HTTP/1.1 " + status + b"\r\nContent-Type: text/html\r\n"
                b"Content-Length: " + str(len(PAGE)).encode() + b"\r\n\r\n" + PAGE
            )

    return serve_each(answer)


@pytest.fixture
def embedded(lab: Lab, tmp_path) -> Iterator[tuple[RunningProxy, str]]:
    cert, key = create_ca(now=datetime.now(UTC), machine="test")
    pem = tmp_path / "ca.pem"
    from tlsdiag.core.certbuild import cert_pem

    pem.write_bytes(cert_pem(cert) + lab.root_pem_path.read_bytes())
    cases = [lab.cases["good"], lab.cases["expired"]]
    config = ProxyConfig(
        ca=CaMaterial(cert, key, CaPaths(pem, tmp_path / "k.pem")),
        policy=default_policy(),
        port=0,
        upstream_cafiles=(lab.root_pem_path,),
        resolve=tuple(ResolveTo(c.spec.host, c.port, ("127.0.0.1",)) for c in cases),
    )
    with RunningProxy(config) as proxy:
        yield proxy, str(pem)


def test_check_through_the_embedded_proxy(lab: Lab, embedded: tuple[RunningProxy, str]) -> None:
    proxy, pem = embedded
    case = lab.cases["good"]
    r = runner.invoke(
        app,
        [
            "check",
            case.target,
            "-x",
            proxy.url,
            "--noproxy",
            "",
            "--cafile",
            pem,
            "--json",
            "--no-revocation",
        ],
    )
    assert r.exit_code == 0, r.output
    doc = json.loads(r.stdout)
    assert doc["endpoint"]["proxy"] == f"via proxy {proxy.url} (from -x)"
    assert "tlsdiag inspection CA" in doc["chain"][0]["issuer"]


@pytest.mark.skipif(shutil.which("curl") is None, reason="curl not installed")
def test_block_page_title_is_in_the_verdict_line(
    lab: Lab, embedded: tuple[RunningProxy, str]
) -> None:
    """The proxy refuses the expired server's certificate with a block page: the first line
    quotes the page's title, the one curl gets through the same proxy."""
    proxy, pem = embedded
    case = lab.cases["expired"]
    curl = ["curl", "-sS", "-m", "10", "-x", proxy.url, "--noproxy", "", "--cacert", pem]
    got = subprocess.run(
        [*curl, f"https://{case.target}/"],
        capture_output=True,
        text=True,
        timeout=20,
        check=False,
    )
    (title,) = re.findall(r"<title>(.*?)</title>", got.stdout) or [got.stderr]
    assert title == "Invalid server certificate", got.stdout
    args = ["check", case.target, "-x", proxy.url, "--noproxy", "", "--cafile", pem]
    r = runner.invoke(app, [*args, "--no-revocation"])
    assert r.exit_code == 1, r.output
    first = r.stdout.splitlines()[0]
    assert first == (
        f"FAIL  {case.target}: The inspecting proxy blocked the connection: "
        f"'{title}' - the problem is in the inspection path"
    )


def test_https_proxy_from_the_environment(
    lab: Lab, embedded: tuple[RunningProxy, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    proxy, pem = embedded
    monkeypatch.setenv("HTTPS_PROXY", proxy.url)
    monkeypatch.setenv("NO_PROXY", "example.invalid")
    case = lab.cases["good"]
    r = runner.invoke(app, ["probe", case.target, "--cafile", pem, "--json"])
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)["endpoint"]["proxy"].endswith("(from HTTPS_PROXY)")
    monkeypatch.setenv("NO_PROXY", "lab.test")  # curl's suffix match: now direct
    r = runner.invoke(app, ["probe", case.target, "--resolve", case.resolve, "--json"])
    assert "proxy" not in json.loads(r.stdout)["endpoint"]


@pytest.mark.parametrize(
    ("status", "words"),
    [
        (b"407 Proxy Authentication Required", "asks for authentication"),
        (b"403 Forbidden", "refused CONNECT"),
    ],
)
def test_refusing_proxy_is_policy_blocked(lab: Lab, status: bytes, words: str) -> None:
    with _refusing_proxy(status) as port:
        r = runner.invoke(
            app,
            ["check", "good.lab.test:443", "-x", f"127.0.0.1:{port}", "--noproxy", "", "--json"],
        )
    assert r.exit_code == 1, r.output
    doc = json.loads(r.stdout)
    (f,) = [f for f in doc["findings"] if f["severity"] == "error"]
    assert f["code"] == "policy.blocked"
    assert words in f["evidence"]["error"]
    assert "Access Denied by Example Gateway" in f["evidence"]["detail"]


def test_unreachable_proxy_is_a_clear_error() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    r = runner.invoke(
        app, ["check", "good.lab.test", "-x", f"http://127.0.0.1:{port}", "--noproxy", ""]
    )
    assert r.exit_code == 3
    assert "cannot connect to the proxy http://127.0.0.1" in r.output
    assert "Traceback" not in r.output


def test_bad_proxy_url_is_a_usage_error() -> None:
    r = runner.invoke(app, ["check", "good.lab.test", "-x", "socks5://127.0.0.1:1"])
    assert r.exit_code == 2 and "only http://" in r.output
