"""Benchmark: tlsdiag proxy next to mitmdump, same origin, same client, same run.

Run by hand (not part of the test suite)::

    python bench/bench_proxy.py --mitmdump /tmp/mitmvenv/bin/mitmdump

Layout: the proxy under test runs on CPU 1 (taskset); the load generator and the HTTPS origin
run on CPU 0. Phases, each against direct (no proxy), tlsdiag and mitmdump:

1. requests/s over 10 established keep-alive tunnels (small responses), and how busy each core
   was meanwhile (client + origin on CPU 0, the proxy on CPU 1: the one near 100% limits it);
2. median latency of one request on an established tunnel (added = proxy - direct);
3. median time of a new connection (TCP + CONNECT + TLS + one request);
   The proxy's CPU time over the first visits of 200 new names and over the repeat visits,
   divided by 200, is its CPU per new connection (new name: one signature; known name: none);
4. new inspected connections/s, 50 concurrent clients, every connection a name not seen before
   (enough concurrency that a CPU, not the round trips, is the limit), and how busy each core
   was meanwhile, then the same with 200 rotating (known) names;
5. bulk MB/s: one 64 MiB response over one established connection (median of 3);
6. proxy RSS with 1000 idle tunnels open (per tunnel) and after they close;
7. with ``--callgrind N``: the instructions the proxy executes per new connection (new name,
   then known name), per keep-alive request (20 N requests over 10 established tunnels) and
   per MB of a bulk response, under callgrind, for tlsdiag (with ``--poll-us 0``: polling
   is waiting, not work) and ``--baseline``: unlike CPU time and MB/s, these counts hold still
   on a loaded machine.

A column ``no-poll`` (``--skip-no-poll`` to skip it) is this tlsdiag with ``--poll-us 0``: the
proxy blocks as soon as it has nothing to do, as it did before ``tlsdiag/proxy/poll.py``. Next
to the column ``tlsdiag`` it shows what polling buys (requests/s, latency) and costs (CPU).

With socat installed (``--relay``, on by default when found), a column ``relay``: socat on CPU 1
forwarding plain TCP to the origin (no CONNECT, no TLS of its own: the client's TLS goes through
to the origin), measured in phases 1, 2 and 5 only. It is the ceiling of this layout for a
proxy that sleeps whenever it has nothing to do: what a relay in C that decrypts nothing gets,
because every request now crosses between the two cores four times instead of staying on CPU 0,
and each crossing wakes a sleeping core.

Both proxies sign with the same CA (``--ca-key``: EC P-256 by default, or RSA 2048/4096) and
verify the origin against the same bench root; ``--leaf-key`` picks tlsdiag's forged leaf key
(mitmdump always forges RSA 2048 leaves).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import multiprocessing
import os
import re
import resource
import shutil
import socket
import ssl
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
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


def _origin_main(cert: str, key: str, port_q: Any) -> None:
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


# --- client ------------------------------------------------------------------------------------

CLIENT_CTX = ssl.create_default_context()
CLIENT_CTX.check_hostname = False
CLIENT_CTX.verify_mode = ssl.CERT_NONE  # the client's own cost stays small and equal for all
CLIENT_CTX.set_alpn_protocols(["http/1.1"])
REQUEST = b"GET / HTTP/1.1\r\nHost: bench.test\r\n\r\n"


async def open_conn(
    proxy: Proxy | None, origin_port: int, sni: str
) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    if proxy is None or proxy.tcp_relay:
        return await asyncio.open_connection(
            "127.0.0.1", proxy.port if proxy else origin_port, ssl=CLIENT_CTX, server_hostname=sni
        )
    r, w = await asyncio.open_connection("127.0.0.1", proxy.port)
    w.write(
        b"CONNECT 127.0.0.1:%d HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n\r\n" % (origin_port, origin_port)
    )
    head = await r.readuntil(b"\r\n\r\n")
    if not head.startswith(b"HTTP/1.1 200") and not head.startswith(b"HTTP/1.0 200"):
        raise RuntimeError(head[:80])
    await w.start_tls(CLIENT_CTX, server_hostname=sni)
    return r, w


async def request(r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
    w.write(REQUEST)
    head = await r.readuntil(b"\r\n\r\n")
    m = re.search(rb"(?i)content-length:\s*(\d+)", head)
    await r.readexactly(int(m.group(1)) if m else 0)


async def close(w: asyncio.StreamWriter) -> None:
    w.close()
    with contextlib.suppress(Exception):
        await asyncio.wait_for(w.wait_closed(), 2)


async def phase_rps(proxy: Proxy | None, port: int, seconds: float, tunnels: int = 10) -> float:
    conns = [await open_conn(proxy, port, "bench.test") for _ in range(tunnels)]
    for r, w in conns:
        await request(r, w)
    count = 0
    stop = time.perf_counter() + seconds

    async def worker(r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
        nonlocal count
        while time.perf_counter() < stop:
            await request(r, w)
            count += 1

    t0 = time.perf_counter()
    await asyncio.gather(*(worker(r, w) for r, w in conns))
    elapsed = time.perf_counter() - t0
    for _, w in conns:
        await close(w)
    return count / elapsed


async def phase_latency(proxy: Proxy | None, port: int, n: int = 2000) -> float:
    r, w = await open_conn(proxy, port, "bench.test")
    for _ in range(50):
        await request(r, w)
    samples = []
    for _ in range(n):
        t0 = time.perf_counter()
        await request(r, w)
        samples.append(time.perf_counter() - t0)
    await close(w)
    return statistics.median(samples) * 1000


async def phase_new_latency(proxy: Proxy | None, port: int) -> dict[str, float]:
    """Median time of a new connection: first visit of each of 200 new hosts, then a repeat
    visit; and the proxy's CPU per connection in each half (one connection at a time)."""
    hosts = fresh_hosts(200)
    out: dict[str, float] = {}
    for label in ("first", "repeat"):
        samples = []
        cpu0 = proxy.cpu_seconds() if proxy else 0.0
        for host in hosts:
            t0 = time.perf_counter()
            r, w = await open_conn(proxy, port, host)
            await request(r, w)
            samples.append(time.perf_counter() - t0)
            await close(w)
        key = "new_conn_first_ms" if label == "first" else "new_conn_ms"
        out[key] = statistics.median(samples) * 1000
        if proxy is not None:
            cpu_key = "cpu_new_name_ms" if label == "first" else "cpu_known_name_ms"
            out[cpu_key] = (proxy.cpu_seconds() - cpu0) * 1000 / len(hosts)
    return out


async def _one_bulk(r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
    """Ask for one bulk response on an open connection and read all of it."""
    w.write(b"GET /bulk HTTP/1.1\r\nHost: bench.test\r\n\r\n")
    await r.readuntil(b"\r\n\r\n")
    left = BULK
    while left:
        got = await r.read(min(left, 1 << 20))
        if not got:
            raise RuntimeError("bulk response cut short")
        left -= len(got)


async def phase_bulk(proxy: Proxy | None, port: int, n: int = 3) -> float:
    """MB/s of one 64 MiB response over one established connection (median of ``n``)."""
    r, w = await open_conn(proxy, port, "bench.test")
    await request(r, w)
    rates = []
    for _ in range(n):
        t0 = time.perf_counter()
        await _one_bulk(r, w)
        rates.append(BULK / 1e6 / (time.perf_counter() - t0))
    await close(w)
    return statistics.median(rates)


async def phase_new_rate(
    proxy: Proxy | None, port: int, seconds: float, workers: int = 50, distinct: bool = False
) -> float:
    count = 0
    errors = 0
    stop = time.perf_counter() + seconds
    nxt = 0

    async def worker() -> None:
        nonlocal count, errors, nxt
        while time.perf_counter() < stop:
            host = fresh_hosts(1)[0] if distinct else HOSTS[nxt % len(HOSTS)]
            nxt += 1
            try:
                r, w = await open_conn(proxy, port, host)
                await request(r, w)
                await close(w)
                count += 1
            except (OSError, ssl.SSLError, asyncio.IncompleteReadError, RuntimeError):
                errors += 1

    t0 = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(workers)))
    if errors:
        print(f"  ({errors} failed connections)", file=sys.stderr)
    return count / (time.perf_counter() - t0)


async def phase_memory(proxy: Proxy, port: int, n: int = 1000) -> dict[str, float]:
    await asyncio.sleep(1.0)
    base = proxy.rss_kib()
    sem = asyncio.Semaphore(50)
    conns: list[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = []

    async def one(i: int) -> None:
        async with sem:
            r, w = await open_conn(proxy, port, HOSTS[i % len(HOSTS)])
            await request(r, w)
            conns.append((r, w))

    await asyncio.gather(*(one(i) for i in range(n)))
    await asyncio.sleep(5.0)  # idle: let the proxy settle (both proxies get the same wait)
    opened = proxy.rss_kib()
    await asyncio.gather(*(close(w) for _, w in conns))
    conns.clear()
    await asyncio.sleep(3.0)
    after = proxy.rss_kib()
    return {
        "rss_base_kib": base,
        "rss_open_kib": opened,
        "rss_after_close_kib": after,
        "kib_per_idle_tunnel": (opened - base) / n,
    }


async def run_all(
    proxy: Proxy | None, port: int, seconds: float, origin_pid: int
) -> dict[str, float]:
    out: dict[str, float] = {}
    cpu0 = proxy.cpu_seconds() if proxy else 0.0
    # Which core limits phase 1: the proxy's (CPU 1) or the client's and origin's (CPU 0).
    t0, side0 = time.perf_counter(), process_cpu_seconds(os.getpid())
    side0 += process_cpu_seconds(origin_pid)
    out["rps_10_tunnels"] = await phase_rps(proxy, port, seconds)
    wall = time.perf_counter() - t0
    side = process_cpu_seconds(os.getpid()) + process_cpu_seconds(origin_pid) - side0
    out["rps_cpu0_busy_pct"] = 100 * side / wall
    if proxy is not None and not proxy.tcp_relay:  # socat's work is in its children
        out["rps_proxy_busy_pct"] = 100 * (proxy.cpu_seconds() - cpu0) / wall
    out["latency_ms"] = await phase_latency(proxy, port)
    if proxy is not None and proxy.tcp_relay:  # its cost per connection is a fork
        out["bulk_mb_s"] = await phase_bulk(proxy, port)
        return out
    out.update(await phase_new_latency(proxy, port))
    t0, side0 = time.perf_counter(), process_cpu_seconds(os.getpid())
    side0 += process_cpu_seconds(origin_pid)
    cpu4 = proxy.cpu_seconds() if proxy else 0.0
    out["new_conn_distinct_per_s"] = await phase_new_rate(proxy, port, seconds, distinct=True)
    wall = time.perf_counter() - t0
    side = process_cpu_seconds(os.getpid()) + process_cpu_seconds(origin_pid) - side0
    out["new_cpu0_busy_pct"] = 100 * side / wall
    if proxy is not None:
        out["new_proxy_busy_pct"] = 100 * (proxy.cpu_seconds() - cpu4) / wall
    out["new_conn_per_s"] = await phase_new_rate(proxy, port, seconds)
    if proxy is not None:
        out["proxy_cpu_s"] = proxy.cpu_seconds() - cpu0
    out["bulk_mb_s"] = await phase_bulk(proxy, port)
    return out


async def run_memory(proxy: Proxy, port: int) -> dict[str, float]:
    await phase_new_rate(proxy, port, 2.0)  # warm up: every host seen once, caches filled
    return await phase_memory(proxy, port)


async def _visit(proxy: Proxy, port: int, hosts: list[str], workers: int = 4) -> None:
    sem = asyncio.Semaphore(workers)

    async def one(host: str) -> None:
        async with sem:
            r, w = await open_conn(proxy, port, host)
            await request(r, w)
            await close(w)

    await asyncio.gather(*(one(h) for h in hosts))


def _callgrind_total(path: Path) -> int:
    for line in path.read_text(errors="replace").splitlines():
        if line.startswith(("totals:", "summary:")):
            return int(line.split()[1])
    raise RuntimeError(f"{path}: no totals line")


async def _bulk_counted(proxy: Proxy, port: int, zero: Callable[[], None], n: int = 2) -> None:
    """``n`` bulk responses over one established connection, the counters zeroed first."""
    r, w = await open_conn(proxy, port, "bench.test")
    await request(r, w)
    zero()
    for _ in range(n):
        await _one_bulk(r, w)
    await asyncio.sleep(0.5)  # the last writes' callbacks
    await close(w)


KEEPALIVE_TUNNELS = 10


async def _keepalive_counted(
    proxy: Proxy, port: int, zero: Callable[[], None], requests: int
) -> None:
    """``requests`` keep-alive requests spread over 10 established tunnels (as in phase 1),
    the counters zeroed once every tunnel is up and has carried a few requests."""
    conns = [await open_conn(proxy, port, "bench.test") for _ in range(KEEPALIVE_TUNNELS)]
    for _ in range(5):
        for r, w in conns:
            await request(r, w)
    zero()

    async def worker(r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
        for _ in range(requests // KEEPALIVE_TUNNELS):
            await request(r, w)

    await asyncio.gather(*(worker(r, w) for r, w in conns))
    await asyncio.sleep(0.5)  # the last writes' callbacks
    for _, w in conns:
        await close(w)


def callgrind_counts(
    start: Callable[[tuple[str, ...]], Proxy], port: int, n: int
) -> dict[str, float]:
    """Instructions the proxy executes per connection (user space, all of its code: Python,
    OpenSSL, libc) over the first visits of ``n`` new names, then their repeat visits, per
    keep-alive request (``20 * n`` requests over 10 established tunnels) and per MB of a bulk
    response relayed, under ``valgrind --tool=callgrind``. Unlike CPU time, requests/s and
    MB/s, the counts do not move with the load."""
    out_dir = Path(tempfile.mkdtemp(prefix="tlsdiag-callgrind-"))
    p = start(("valgrind", "--tool=callgrind", f"--callgrind-out-file={out_dir}/cg.%p"))
    assert p.proc is not None
    pid = str(p.proc.pid)
    out: dict[str, float] = {}

    def zero() -> None:
        subprocess.run(["callgrind_control", "-z", pid], capture_output=True, check=True)

    def dump() -> int:
        before = set(out_dir.glob("cg.*"))
        subprocess.run(["callgrind_control", "-d", pid], capture_output=True, check=True)
        new: set[Path] = set()
        deadline = time.monotonic() + 30
        while not new and time.monotonic() < deadline:
            time.sleep(0.2)
            new = set(out_dir.glob("cg.*")) - before
        if not new:
            raise RuntimeError("callgrind wrote no dump")
        time.sleep(0.5)  # let it finish writing
        return _callgrind_total(max(new, key=lambda q: q.stat().st_mtime))

    try:
        asyncio.run(_visit(p, port, fresh_hosts(10)))  # warm up: imports, contexts, caches
        zero()
        hosts = fresh_hosts(n)
        for key in ("ir_new_name_m", "ir_known_name_m"):
            asyncio.run(_visit(p, port, hosts))
            time.sleep(0.5)  # the last connections' callbacks
            out[key] = dump() / n / 1e6
        asyncio.run(_keepalive_counted(p, port, zero, 20 * n))
        out["ir_keepalive_m"] = dump() / (20 * n) / 1e6
        asyncio.run(_bulk_counted(p, port, zero))
        out["ir_per_mb_m"] = dump() / (2 * BULK / 1e6) / 1e6
    finally:
        p.stop()
        shutil.rmtree(out_dir, ignore_errors=True)
    return out


def median_of(rounds: list[dict[str, float]]) -> dict[str, float]:
    keys = rounds[0].keys()
    return {k: statistics.median(r[k] for r in rounds) for k in keys}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--mitmdump", help="path to mitmdump (a separate venv); omit to skip it")
    ap.add_argument("--seconds", type=float, default=5.0, help="length of the timed phases")
    ap.add_argument("--rounds", type=int, default=3, help="interleaved rounds (medians reported)")
    ap.add_argument("--no-memory", action="store_true", help="skip the 1000-tunnel phase")
    ap.add_argument("--json", type=Path, help="also write the figures as JSON here")
    ap.add_argument("--ca-key", choices=CA_KEYS, default="ec256", help="the proxies' CA key")
    ap.add_argument("--leaf-key", choices=LEAF_KEYS, default="ec256", help="tlsdiag's leaf key")
    ap.add_argument("--no-direct", action="store_true", help="skip the direct rounds")
    ap.add_argument(
        "--callgrind",
        type=int,
        default=0,
        metavar="N",
        help="also count the instructions per connection of each tlsdiag column under callgrind"
        " over N new names then N known ones, per keep-alive request (20 N requests) and per"
        " MB relayed (stable under load; needs valgrind; 0: skip)",
    )
    ap.add_argument(
        "--relay",
        default=shutil.which("socat"),
        metavar="SOCAT",
        help="socat for the 'relay' column (default: socat on PATH; '' to skip)",
    )
    ap.add_argument(
        "--skip-no-poll",
        action="store_true",
        help="skip the column 'no-poll' (this tlsdiag with --poll-us 0: never polls)",
    )
    ap.add_argument(
        "--baseline",
        type=Path,
        help="another tlsdiag checkout (e.g. main's worktree) measured as a column 'baseline'",
    )
    args = ap.parse_args()
    if shutil.which("taskset") is None or (os.cpu_count() or 1) < 2:
        sys.exit("needs taskset and at least 2 CPUs")
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, 65536), hard))
    os.sched_setaffinity(0, {CLIENT_CPU})
    tmp = Path(tempfile.mkdtemp(prefix="tlsdiag-bench-"))
    paths = make_pki(tmp, args.ca_key)
    q: Any = multiprocessing.Queue()
    origin = multiprocessing.Process(
        target=_origin_main, args=(str(paths["leaf"]), str(paths["leaf_key"]), q), daemon=True
    )
    origin.start()
    port = int(q.get(timeout=20))
    starters: dict[str, Callable[[], Proxy]] = {}
    counted: dict[str, Callable[[tuple[str, ...]], Proxy]] = {}  # tlsdiag columns (callgrind)

    def tlsdiag_column(name: str, src: Path | None, extra: tuple[str, ...] = ()) -> None:
        def start(prefix: tuple[str, ...] = ()) -> Proxy:
            events = tmp / f"events-{name}.jsonl"
            # Under callgrind this tree's proxy does not poll: polling is waiting, not work.
            more = ("--poll-us", "0") if prefix and src is None else extra
            return start_tlsdiag(
                paths, events, args.leaf_key, src=src, name=name, prefix=prefix, extra=more
            )

        starters[name] = start
        if not extra:
            counted[name] = start

    if args.baseline:
        tlsdiag_column("baseline", args.baseline.resolve())
    tlsdiag_column("tlsdiag", None)
    if not args.skip_no_poll:
        tlsdiag_column("no-poll", None, ("--poll-us", "0"))
    if args.mitmdump:
        starters["mitmdump"] = lambda: start_mitmdump(args.mitmdump, paths)
    if args.relay:
        starters["relay"] = lambda: start_relay(args.relay, port)
    rounds: dict[str, list[dict[str, float]]] = {"direct": [], **{n: [] for n in starters}}
    try:
        for i in range(args.rounds):
            if not args.no_direct:
                print(f"round {i + 1}/{args.rounds}: direct", file=sys.stderr)
                rounds["direct"].append(asyncio.run(run_all(None, port, args.seconds, origin.pid)))
            for name, start in starters.items():
                print(f"round {i + 1}/{args.rounds}: {name}", file=sys.stderr)
                p = start()
                try:
                    rounds[name].append(asyncio.run(run_all(p, port, args.seconds, origin.pid)))
                finally:
                    p.stop()
        results = {name: median_of(rs) for name, rs in rounds.items() if rs}
        if not args.no_memory:
            for name, start in starters.items():
                if name == "relay":
                    continue
                print(f"memory: {name}", file=sys.stderr)
                p = start()
                try:
                    results[name].update(asyncio.run(run_memory(p, port)))
                finally:
                    p.stop()
        if args.callgrind:
            for name, start_counted in counted.items():
                print(f"callgrind: {name}", file=sys.stderr)
                results[name].update(callgrind_counts(start_counted, port, args.callgrind))
    finally:
        origin.terminate()
    print(f"CA key {args.ca_key}, tlsdiag leaf key {args.leaf_key}, {args.rounds} rounds")
    report(results)
    if args.json:
        args.json.write_text(json.dumps({"median": results, "rounds": rounds}, indent=2) + "\n")


def report(results: dict[str, dict[str, float]]) -> None:
    d = results.get("direct", {})
    rows = [
        ("requests/s, 10 keep-alive tunnels", "rps_10_tunnels", "{:.0f}"),
        ("phase 1: client + origin CPU (% of CPU 0)", "rps_cpu0_busy_pct", "{:.0f}"),
        ("phase 1: proxy CPU (% of CPU 1)", "rps_proxy_busy_pct", "{:.0f}"),
        ("median request latency (ms)", "latency_ms", "{:.3f}"),
        ("median new connection, new host (ms)", "new_conn_first_ms", "{:.2f}"),
        ("median new connection, known host (ms)", "new_conn_ms", "{:.2f}"),
        ("proxy CPU per new connection, new name (ms)", "cpu_new_name_ms", "{:.2f}"),
        ("proxy CPU per new connection, known name (ms)", "cpu_known_name_ms", "{:.2f}"),
        ("instructions per new connection, new name (M)", "ir_new_name_m", "{:.2f}"),
        ("instructions per new connection, known name (M)", "ir_known_name_m", "{:.2f}"),
        ("instructions per keep-alive request (M)", "ir_keepalive_m", "{:.3f}"),
        ("instructions per MB of bulk relayed (M)", "ir_per_mb_m", "{:.2f}"),
        ("new connections/s, distinct names", "new_conn_distinct_per_s", "{:.0f}"),
        ("phase 4: client + origin CPU (% of CPU 0)", "new_cpu0_busy_pct", "{:.0f}"),
        ("phase 4: proxy CPU (% of CPU 1)", "new_proxy_busy_pct", "{:.0f}"),
        ("new connections/s (200 known hosts)", "new_conn_per_s", "{:.0f}"),
        ("proxy CPU in phases 1-4, one round (s)", "proxy_cpu_s", "{:.1f}"),
        ("bulk MB/s, one connection", "bulk_mb_s", "{:.0f}"),
        ("RSS idle baseline (KiB)", "rss_base_kib", "{:.0f}"),
        ("RSS with 1000 idle tunnels (KiB)", "rss_open_kib", "{:.0f}"),
        ("KiB per idle tunnel", "kib_per_idle_tunnel", "{:.1f}"),
        ("RSS after the tunnels closed (KiB)", "rss_after_close_kib", "{:.0f}"),
    ]
    names = list(results)
    print("medians of the rounds")
    print(f"{'':46}" + "".join(f"{n:>12}" for n in names))
    for label, key, fmt in rows:
        cells = [fmt.format(results[n][key]) if key in results[n] else "-" for n in names]
        print(f"{label:46}" + "".join(f"{c:>12}" for c in cells))
    t = results.get("tlsdiag")
    m = results.get("mitmdump")
    if t and d:
        print()
        others = [n for n in ("no-poll", "baseline", "mitmdump") if n in results]
        for label, key in (
            ("rps", "rps_10_tunnels"),
            ("new conn/s, distinct names", "new_conn_distinct_per_s"),
            ("bulk MB/s", "bulk_mb_s"),
        ):
            line = f"{label} / direct: tlsdiag {t[key] / d[key]:.2f}"
            for n in others:
                line += f", {n} {results[n][key] / d[key]:.2f}"
            print(line)
    r = results.get("relay")
    if t and d and r:
        print()
        print(
            f"relay (socat, TCP only) / direct: rps {r['rps_10_tunnels'] / d['rps_10_tunnels']:.2f}"
            f", bulk {r['bulk_mb_s'] / d['bulk_mb_s']:.2f}"
            f"; added latency per request {r['latency_ms'] - d['latency_ms']:.3f} ms"
        )
        print(
            f"tlsdiag / relay: rps {t['rps_10_tunnels'] / r['rps_10_tunnels']:.2f}"
            f", bulk {t['bulk_mb_s'] / r['bulk_mb_s']:.2f}"
        )
    if t and d:
        print()
        print(f"tlsdiag rps / direct: {t['rps_10_tunnels'] / d['rps_10_tunnels']:.2f}")
        print(f"tlsdiag added latency per request: {t['latency_ms'] - d['latency_ms']:.3f} ms")
        print(
            "tlsdiag added time per new connection: "
            f"{t['new_conn_first_ms'] - d['new_conn_first_ms']:.2f} ms (new host), "
            f"{t['new_conn_ms'] - d['new_conn_ms']:.2f} ms (known host)"
        )
    if t and m and d:
        print(f"rps tlsdiag / mitmdump: {t['rps_10_tunnels'] / m['rps_10_tunnels']:.1f}x")
        print(f"new conn/s tlsdiag / mitmdump: {t['new_conn_per_s'] / m['new_conn_per_s']:.1f}x")
        print(f"mitmdump added latency per request: {m['latency_ms'] - d['latency_ms']:.3f} ms")
        print(
            "mitmdump added time per new connection: "
            f"{m['new_conn_first_ms'] - d['new_conn_first_ms']:.2f} ms (new host), "
            f"{m['new_conn_ms'] - d['new_conn_ms']:.2f} ms (known host)"
        )


if __name__ == "__main__":
    main()
