"""bench_proxy's rig: the PKI, the HTTPS origin (on CPU 0) and the proxies under test (on
CPU 1): tlsdiag, mitmdump and a socat relay, each as a :class:`Proxy` the phases measure."""

from __future__ import annotations

import asyncio
import contextlib
import multiprocessing
import os
import re
import socket
import ssl
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

BODY = b"ok"
BULK = 64 * 1024 * 1024
HOSTS = [f"h{i}.bench.test" for i in range(200)]
CA_KEYS = ("ec256", "rsa2048", "rsa4096")
LEAF_KEYS = ("ec256", "rsa2048")
_fresh = iter(range(10**9))


def fresh_hosts(n: int) -> list[str]:
    """``n`` host names no proxy has seen in this run (every one costs a signature)."""
    return [f"n{next(_fresh)}.bench.test" for _ in range(n)]


CLIENT_CPU = 0
PROXY_CPU = 1


# --- PKI ---------------------------------------------------------------------------------------


def make_pki(d: Path, ca_key: str = "ec256") -> dict[str, Path]:
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from tlsdiag.core.certbuild import KeyType, build_ca, build_leaf, cert_pem, key_pem, name
    from tlsdiag.proxy.ca import create_ca

    now = datetime.now(UTC)
    start, end = now - timedelta(days=1), now + timedelta(days=2)
    root = build_ca(name("bench origin root"), not_before=start, not_after=end)
    leaf = build_leaf(
        name("bench.test"),
        issuer=root,
        not_before=start,
        not_after=end,
        names=["bench.test", "*.bench.test"],
        eku=(),
        ski=False,
    )
    paths = {"root": d / "origin-root.pem", "leaf": d / "origin.pem", "leaf_key": d / "origin.key"}
    paths["root"].write_bytes(root.cert_pem)
    paths["leaf"].write_bytes(leaf.cert_pem)
    paths["leaf_key"].write_bytes(leaf.key_pem)
    # The proxies' CA (the same for both).
    ca, signer = create_ca(now=now, machine="bench", key_type=KeyType(ca_key))
    paths["ca"] = d / "ca.pem"
    paths["ca_key"] = d / "ca-key.pem"
    paths["ca"].write_bytes(cert_pem(ca))
    paths["ca_key"].write_bytes(key_pem(signer))
    paths["ca_key"].chmod(0o600)  # the proxy refuses a CA key others can read
    conf = d / "mitm"
    conf.mkdir()
    (conf / "mitmproxy-ca.pem").write_bytes(key_pem(signer) + cert_pem(ca))
    paths["mitm_conf"] = conf
    return paths


# --- origin ------------------------------------------------------------------------------------


def origin_main(cert: str, key: str, port_q: Any) -> None:
    os.sched_setaffinity(0, {CLIENT_CPU})
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert, key)
    ctx.set_alpn_protocols(["http/1.1"])
    response = b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s" % (len(BODY), BODY)
    chunk = b"x" * (1024 * 1024)

    async def handle(r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await r.readuntil(b"\r\n\r\n")
                if not head.startswith(b"GET /bulk "):
                    w.write(response)
                    continue
                w.write(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % BULK)
                for _ in range(BULK // len(chunk)):
                    w.write(chunk)
                    await w.drain()
        except (asyncio.IncompleteReadError, ConnectionError, ssl.SSLError):
            pass
        finally:
            w.close()

    async def main() -> None:
        srv = await asyncio.start_server(handle, "127.0.0.1", 0, ssl=ctx, backlog=2048)
        port_q.put(srv.sockets[0].getsockname()[1])
        await asyncio.Event().wait()

    asyncio.run(main())


def start_origin(paths: dict[str, Path]) -> tuple[multiprocessing.Process, int, int]:
    """The origin in its own process on CPU 0: (the process, its pid, its port)."""
    q: Any = multiprocessing.Queue()
    origin = multiprocessing.Process(
        target=origin_main, args=(str(paths["leaf"]), str(paths["leaf_key"]), q), daemon=True
    )
    origin.start()
    assert origin.pid is not None  # set by start()
    return origin, origin.pid, int(q.get(timeout=20))


# --- proxies -----------------------------------------------------------------------------------


@dataclass
class Proxy:
    name: str
    proc: subprocess.Popen[bytes] | None
    port: int
    tcp_relay: bool = False  # forwards TCP to the origin: the client sends no CONNECT

    def rss_kib(self) -> int:
        if self.proc is None:
            return 0
        text = Path(f"/proc/{self.proc.pid}/status").read_text()
        m = re.search(r"VmRSS:\s+(\d+) kB", text)
        return int(m.group(1)) if m else 0

    def cpu_seconds(self) -> float:
        return 0.0 if self.proc is None else process_cpu_seconds(self.proc.pid)

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.send_signal(2)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()


def process_cpu_seconds(pid: int) -> float:
    """User + system CPU time of a running process so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_port(port: int, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
            return
        time.sleep(0.05)
    raise RuntimeError(f"nothing listens on {port}")


def start_tlsdiag(
    paths: dict[str, Path],
    events: Path,
    leaf_key: str = "ec256",
    src: Path | None = None,
    name: str = "tlsdiag",
    prefix: tuple[str, ...] = (),
    extra: tuple[str, ...] = (),
) -> Proxy:
    """Start ``python -m tlsdiag proxy``; ``src``: run the tlsdiag of that checkout instead;
    ``prefix``: a command that runs it (valgrind); ``extra``: more options of the proxy."""
    port = _free_port()
    cmd = [
        "taskset",
        "-c",
        str(PROXY_CPU),
        *prefix,
        sys.executable,
        "-m",
        "tlsdiag",
        "proxy",
        "--listen",
        f"127.0.0.1:{port}",
        "--ca-cert",
        str(paths["ca"]),
        "--ca-key",
        str(paths["ca_key"]),
        "--upstream-cafile",
        str(paths["root"]),
        "--events",
        str(events),
        "--quiet",
        "--leaf-key",
        leaf_key,
        "--max-connections",
        "8192",
        *extra,
    ]
    env = None
    if src is not None:
        env = {**os.environ, "PYTHONPATH": str(src)}
    proc = subprocess.Popen(
        cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env, cwd=src
    )
    _wait_port(port, 300 if prefix else 20)
    return Proxy(name, proc, port)


def start_mitmdump(mitmdump: str, paths: dict[str, Path]) -> Proxy:
    port = _free_port()
    cmd = [
        "taskset",
        "-c",
        str(PROXY_CPU),
        mitmdump,
        "-q",
        "--listen-host",
        "127.0.0.1",
        "--listen-port",
        str(port),
        "--set",
        f"confdir={paths['mitm_conf']}",
        "--set",
        f"ssl_verify_upstream_trusted_ca={paths['root']}",
    ]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _wait_port(port)
    return Proxy("mitmdump", proc, port)


def start_relay(socat: str, origin_port: int) -> Proxy:
    """socat on CPU 1 forwarding each connection to the origin (a process per connection)."""
    port = _free_port()
    cmd = [
        "taskset",
        "-c",
        str(PROXY_CPU),
        socat,
        f"TCP-LISTEN:{port},bind=127.0.0.1,reuseaddr,fork,backlog=2048",
        f"TCP:127.0.0.1:{origin_port},nodelay",
    ]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _wait_port(port)
    return Proxy("relay", proc, port, tcp_relay=True)
