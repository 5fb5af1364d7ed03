"""bench_proxy's instruction counts: the proxy under ``valgrind --tool=callgrind``."""

from __future__ import annotations

import asyncio
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from proxy_load import close, one_bulk, open_conn, request, visit
from proxy_rig import BULK, Proxy, fresh_hosts


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
        await one_bulk(r, w)
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
        asyncio.run(visit(p, port, fresh_hosts(10)))  # warm up: imports, contexts, caches
        zero()
        hosts = fresh_hosts(n)
        for key in ("ir_new_name_m", "ir_known_name_m"):
            asyncio.run(visit(p, port, hosts))
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
