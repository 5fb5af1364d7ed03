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
import json
import os
import resource
import shutil
import statistics
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

from proxy_callgrind import callgrind_counts
from proxy_load import run_all, run_memory
from proxy_rig import (
    CA_KEYS,
    CLIENT_CPU,
    LEAF_KEYS,
    Proxy,
    make_pki,
    start_mitmdump,
    start_origin,
    start_relay,
    start_tlsdiag,
)


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
    origin, origin_pid, port = start_origin(paths)
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
                rounds["direct"].append(asyncio.run(run_all(None, port, args.seconds, origin_pid)))
            for name, start in starters.items():
                print(f"round {i + 1}/{args.rounds}: {name}", file=sys.stderr)
                p = start()
                try:
                    rounds[name].append(asyncio.run(run_all(p, port, args.seconds, origin_pid)))
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
    report_paired(rounds)
    if args.json:
        args.json.write_text(json.dumps({"median": results, "rounds": rounds}, indent=2) + "\n")


RATIOS = (
    ("rps", "rps_10_tunnels"),
    ("new conn/s, distinct names", "new_conn_distinct_per_s"),
    ("bulk MB/s", "bulk_mb_s"),
)


def report_paired(rounds: dict[str, list[dict[str, float]]]) -> None:
    """Each column's round i against direct's round i, run in the same round (a minute or two
    apart): a machine that speeds up or slows down between rounds moves both sides of each
    ratio, where a ratio of medians can pair a fast direct round with a slow proxy round."""
    direct = rounds.get("direct", [])
    if len(direct) < 2:
        return
    print()
    print("paired rounds / direct: median (lowest-highest) of each round's ratio")
    for label, key in RATIOS:
        cells = []
        for name, rs in rounds.items():
            ratios = sorted(r[key] / d[key] for r, d in zip(rs, direct, strict=False) if key in r)
            if name != "direct" and ratios:
                median = statistics.median(ratios)
                cells.append(f"{name} {median:.2f} ({ratios[0]:.2f}-{ratios[-1]:.2f})")
        print(f"{label}: " + ", ".join(cells))


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
        for label, key in RATIOS:
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
