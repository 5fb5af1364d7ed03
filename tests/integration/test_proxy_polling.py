"""``tlsdiag proxy`` in its own process, where its loop polls before sleeping (proxy/poll.py):
real clients get every byte over keep-alive tunnels at any ``--poll-us``, and a proxy that
polled hard while busy goes back to sleep when the traffic stops."""

from __future__ import annotations

import os
import shutil
import signal
import ssl
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tlsdiag.proxy.ca import init_ca

from helpers.relay_rig import BIG, ENV, Origin, origin_pki, pattern, spawn_proxy

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    d = tmp_path_factory.mktemp("poll")
    ca = init_ca(d / "ca")
    ctx, origin_ca = origin_pki(d)
    origin = Origin(ctx)
    yield {"dir": d, "ca": ca.paths, "origin_ca": origin_ca, "port": origin.port}
    origin.close()


Proxy = tuple[subprocess.Popen[str], str]


@pytest.fixture
def start(setup: dict[str, Any]) -> Iterator[Callable[[int], Proxy]]:
    procs: list[subprocess.Popen[str]] = []

    def run(poll_us: int) -> Proxy:
        proc, url = spawn_proxy(
            *("--ca-cert", str(setup["ca"].cert), "--ca-key", str(setup["ca"].key)),
            *("--upstream-cafile", str(setup["origin_ca"])),
            *("--resolve", f"origin.test:{setup['port']}:127.0.0.1"),
            *("--poll-us", str(poll_us), "--quiet"),
            env=ENV,
        )
        procs.append(proc)
        return proc, url

    yield run
    for proc in procs:
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT)
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        if proc.stderr is not None:
            proc.stderr.close()


def _client(url: str, setup: dict[str, Any]) -> httpx.Client:
    ctx = ssl.create_default_context(cafile=str(setup["ca"].cert))
    return httpx.Client(proxy=url, verify=ctx, timeout=20)


@pytest.mark.parametrize("poll_us", [0, 100, 10000])
def test_keepalive_and_bulk_intact_at_any_poll_window(
    start: Callable[[int], Proxy], setup: dict[str, Any], poll_us: int
) -> None:
    proc, url = start(poll_us)
    base = f"https://origin.test:{setup['port']}"
    with _client(url, setup) as client:
        for i in range(200):
            r = client.get(f"{base}/echo/n{i}")
            assert r.status_code == 200 and r.text == f"reply to /echo/n{i}\n"
        assert client.get(f"{base}/big").content == pattern(BIG)
    if shutil.which("curl"):  # and curl, over one tunnel of its own, agrees
        urls = [f"{base}/echo/c{i}" for i in range(20)]
        cmd = ["curl", "-sS", "-m", "20", "-x", url, "--cacert", str(setup["ca"].cert), *urls]
        out = subprocess.run(cmd, env=ENV, capture_output=True, text=True, timeout=30)
        assert out.returncode == 0, out.stderr
        assert out.stdout == "".join(f"reply to /echo/c{i}\n" for i in range(20))
    assert proc.poll() is None


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs /proc")
def test_a_busy_proxy_stops_polling_when_traffic_thins_out_or_stops(
    start: Callable[[int], Proxy], setup: dict[str, Any]
) -> None:
    """With the largest window the option allows (10 ms), after traffic that opened it (a
    request every 5 ms: the proxy's waits are within the limit), a request every 25 ms and
    then a quiet tunnel each cost the proxy little CPU. A window that stayed open would spin
    5-10 ms after each of the sparse requests (0.2-0.4 s in all)."""
    proc, url = start(10000)
    base = f"https://origin.test:{setup['port']}"
    with _client(url, setup) as client:
        for i in range(100):
            time.sleep(0.005)
            assert client.get(f"{base}/echo/n{i}").status_code == 200
        cpu0 = _cpu_seconds(proc.pid)
        for i in range(40):  # about a second of sparse traffic
            time.sleep(0.025)
            assert client.get(f"{base}/echo/s{i}").text == f"reply to /echo/s{i}\n"
        cpu1 = _cpu_seconds(proc.pid)
        time.sleep(1.0)  # tunnel open, nothing on it
        cpu2 = _cpu_seconds(proc.pid)
    assert cpu1 - cpu0 < 0.15, f"40 sparse requests cost the proxy {cpu1 - cpu0:.2f} s of CPU"
    assert cpu2 - cpu1 < 0.2, f"the idle proxy used {cpu2 - cpu1:.2f} s of CPU in 1 s"
