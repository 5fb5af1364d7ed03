"""bench_proxy's load: the client (on CPU 0) and the phases it times through a proxy or direct."""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import ssl
import statistics
import sys
import time

from proxy_rig import BULK, HOSTS, Proxy, fresh_hosts, process_cpu_seconds

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


async def one_bulk(r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
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
        await one_bulk(r, w)
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


async def visit(proxy: Proxy, port: int, hosts: list[str], workers: int = 4) -> None:
    sem = asyncio.Semaphore(workers)

    async def one(host: str) -> None:
        async with sem:
            r, w = await open_conn(proxy, port, host)
            await request(r, w)
            await close(w)

    await asyncio.gather(*(one(h) for h in hosts))
