"""``check`` against the lab's ``pq-middlebox`` case, a server behind the bug of https://tldr.fail
(a ClientHello longer than one TCP segment is reset): the check's own handshake and curl
(OpenSSL 3.0: a small hello) get through, Chromium (a post-quantum key share, about 1,800
bytes) does not, and the check says so on its first line."""

from __future__ import annotations

import json
import re
import shutil
import ssl
import subprocess
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tlsdiag import codes
from tlsdiag.cli.app import app
from tlsdiag.lab.cases import Lab

from helpers import chromium
from helpers.chromium import run_chromium
from helpers.tcp_servers import connect_forwarder

pytestmark = pytest.mark.integration
runner = CliRunner()
PATH_WORDS = "between this client and the server (a middlebox, or the server's TLS stack)"


@pytest.fixture
def middlebox(lab: Lab) -> int:
    return lab.cases["pq-middlebox"].port


def _check(lab: Lab, port: int, *more: str) -> tuple[int, str]:
    host = "pq-middlebox.lab.test" if port == lab.cases["pq-middlebox"].port else "good.lab.test"
    args = ["check", f"{host}:{port}", "--resolve", f"{host}:{port}:127.0.0.1"]
    r = runner.invoke(app, [*args, "--cafile", str(lab.root_pem_path), "--noproxy", "", *more])
    return r.exit_code, r.stdout


# From OpenSSL 3.5 on, Python's own ClientHello carries X25519MLKEM768: the check's handshake is
# then as big as a browser's, and the middlebox resets it as well; the finding says why.
PQ_SSL = ssl.OPENSSL_VERSION_INFO >= (3, 5)


def test_check_names_the_middlebox(lab: Lab, middlebox: int) -> None:
    code, out = _check(lab, middlebox, "--json")
    assert code == 1, out
    doc = json.loads(out)
    (f,) = [f for f in doc["findings"] if f["severity"] == "error"]
    assert f["code"] == codes.NETWORK_RESET
    assert f["title"] == "A browser-sized ClientHello (1800 bytes) gets the connection reset"
    assert f["evidence"]["small_hello_answer"].startswith("ServerHello")
    assert doc["browser_hello"]["bytes"] == 1800
    if PQ_SSL:
        assert doc["handshake"] is None and "own handshake was reset as well" in f["detail"]
    else:
        assert doc["handshake"]["version"] == "TLSv1.3"  # the check's own handshake worked
    code, out = _check(lab, middlebox)
    first = out.splitlines()[0]
    assert first == (
        f"FAIL  pq-middlebox.lab.test:{middlebox}: A browser-sized ClientHello (1800 bytes) "
        f"gets the connection reset - the problem is {PATH_WORDS}"
    )


def test_through_a_proxy_the_hellos_take_its_tunnel(lab: Lab, middlebox: int) -> None:
    """Through an HTTP proxy (-x) the two hellos go through tunnels of their own, as the check's
    handshake does: the middlebox behind a plain CONNECT proxy is found the same way."""
    with connect_forwarder(middlebox) as fwd:
        code, out = _check(lab, middlebox, "--json", "-x", f"http://127.0.0.1:{fwd}")
        assert code == 1, out
        doc = json.loads(out)
        assert doc["endpoint"]["proxy"].startswith("via proxy http://127.0.0.1")
    (f,) = [f for f in doc["findings"] if f["severity"] == "error"]
    # the proxy passes the middlebox's reset on as a close of the tunnel
    assert f["title"] == (
        "A browser-sized ClientHello (1800 bytes) gets the connection closed unanswered"
    )
    assert doc["browser_hello"]["small_hello_answer"].startswith("ServerHello")


def test_without_the_middlebox_both_hellos_are_answered(lab: Lab) -> None:
    code, out = _check(lab, lab.cases["good"].port, "--json")
    assert code == 0, out
    doc = json.loads(out)
    assert doc["browser_hello"]["answer"].startswith("ServerHello")
    assert "small_hello_answer" not in doc["browser_hello"]  # not needed: the large one worked
    assert doc["findings"] == [] or all(f["severity"] != "error" for f in doc["findings"])


def test_no_browser_hello_skips_it(lab: Lab, middlebox: int) -> None:
    code, out = _check(lab, middlebox, "--json", "--no-browser-hello")
    assert code == (1 if PQ_SSL else 0), out
    assert "browser_hello" not in json.loads(out)


def _curl_openssl() -> tuple[int, int]:
    out = subprocess.run(["curl", "-V"], capture_output=True, text=True, check=False).stdout
    m = re.search(r"OpenSSL/(\d+)\.(\d+)", out)
    return (int(m[1]), int(m[2])) if m else (0, 0)


@pytest.mark.skipif(shutil.which("curl") is None, reason="curl not installed")
def test_curl_agrees(lab: Lab, middlebox: int) -> None:
    """curl's hello is small on OpenSSL before 3.5 (it gets through, as the check's own handshake
    does) and carries X25519MLKEM768 from 3.5 on (it is reset, as the browser-sized one is)."""
    url = f"https://pq-middlebox.lab.test:{middlebox}/"
    trust = ["--resolve", f"pq-middlebox.lab.test:{middlebox}:127.0.0.1"]
    trust += ["--cacert", str(lab.root_pem_path)]
    r = subprocess.run(
        ["curl", "-sS", "-m", "10", "-o", "/dev/null", "-w", "%{http_code}", *trust, url],
        capture_output=True,
        text=True,
        timeout=20,
        check=False,
    )
    if _curl_openssl() >= (3, 5):
        assert r.returncode == 35, (r.stdout, r.stderr)
    else:
        assert (r.returncode, r.stdout) == (0, "200"), r.stderr


@pytest.mark.skipif(not chromium.installed(), reason="headless Chromium is not installed")
def test_chromium_agrees(lab: Lab, middlebox: int, tmp_path: Path) -> None:
    """Chromium, through a plain CONNECT forwarder, reaches the certificate check of the good
    case (the lab root is not in its store) and loses the connection behind the middlebox."""

    def net_errors(port: int) -> set[str]:
        with connect_forwarder(port) as fwd:
            r = run_chromium(
                tmp_path, "--dump-dom", "https://good.lab.test/", proxy=f"http://127.0.0.1:{fwd}"
            )
        return set(re.findall(r"ERR_[A-Z_]+", r.stdout))

    assert "ERR_CERT_AUTHORITY_INVALID" in net_errors(lab.cases["good"].port)
    lost = net_errors(middlebox)
    assert lost & {"ERR_CONNECTION_CLOSED", "ERR_CONNECTION_RESET", "ERR_EMPTY_RESPONSE"}, lost
    assert "ERR_CERT_AUTHORITY_INVALID" not in lost
