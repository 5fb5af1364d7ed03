"""Benchmark: what the proxy's poll window (``tlsdiag/proxy/poll.py``) catches and what it costs.

Run by hand (not part of the test suite)::

    python bench/poll_trace.py

It starts bench_proxy's origin (CPU 0) and ``tlsdiag proxy --poll-us 0`` (CPU 1), with a hook
that records how long each of the proxy's blocking waits lasted, and drives it with
bench_proxy's client through two workloads: new connections one at a time (200 new names, then
their repeat visits) and 10 keep-alive tunnels for ``--seconds``. Then it replays the recorded
waits through the window rule (tlsdiag's own ``next_window``, and for comparison a rule that
drops the window to 0 after any long wait) at several limits, and prints, per workload, the
share of waits the window would have caught and the CPU spent polling, per connection or per
second. ``wake`` subtracts a wake-up latency from each recorded wait (a blocked wait also
includes the time the kernel takes to wake the process; polling does not pay it).

A replay, not a measurement of polling itself: it shows where the rule spends CPU, which the
loaded, shared machine's CPU times are too noisy to show (bench_proxy.py measures the real
thing: columns ``tlsdiag`` and ``no-poll``).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import proxy_load
import proxy_rig

from tlsdiag.proxy.poll import next_window

HOOK = """
import atexit, os, selectors, time
_waits = []
_select = selectors.DefaultSelector.select
def _timed(self, timeout=None):
    if timeout is not None and timeout <= 0:
        return _select(self, timeout)
    t = time.perf_counter()
    ready = _select(self, timeout)
    _waits.append(time.perf_counter() - t)
    return ready
selectors.DefaultSelector.select = _timed
@atexit.register
def _dump():
    with open(os.environ["TLSDIAG_POLL_TRACE"], "w") as f:
        f.write("".join(f"{w:.9f}\\n" for w in _waits))
"""

Rule = Callable[[float, float, float], float]


def reset_rule(window: float, waited: float, limit: float) -> float:
    """The alternative: grow as tlsdiag's rule does, but drop to 0 after any long wait."""
    return next_window(window, waited, limit) if waited <= limit else 0.0


def replay(waits: list[float], rule: Rule, limit: float, wake: float) -> tuple[float, float]:
    """(share of waits caught by polling, seconds spent polling) over a recorded trace."""
    window = spent = 0.0
    caught = 0
    for recorded in waits:
        arrival = max(0.0, recorded - wake)
        if window > 0 and arrival <= window:
            spent += arrival
            caught += 1
            continue
        spent += window
        window = rule(window, arrival, limit)
    return caught / max(1, len(waits)), spent


def record(workload: str, paths: dict[str, Path], port: int, tmp: Path, seconds: float) -> Any:
    """Run one workload through a hooked, non-polling proxy; return (waits, its result)."""
    hook_dir = tmp / "hook"
    hook_dir.mkdir(exist_ok=True)
    (hook_dir / "sitecustomize.py").write_text(HOOK)
    trace = tmp / f"{workload}.txt"
    env = ("env", f"PYTHONPATH={hook_dir}", f"TLSDIAG_POLL_TRACE={trace}")
    proxy = proxy_rig.start_tlsdiag(
        paths, tmp / "events.jsonl", prefix=env, extra=("--poll-us", "0")
    )
    try:
        if workload == "new connections":
            result: Any = asyncio.run(proxy_load.phase_new_latency(proxy, port))
        else:
            result = asyncio.run(proxy_load.phase_rps(proxy, port, seconds))
    finally:
        proxy.stop()
    return [float(line) for line in trace.read_text().split()], result


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seconds", type=float, default=3.0, help="length of the keep-alive phase")
    args = ap.parse_args()
    os.sched_setaffinity(0, {proxy_rig.CLIENT_CPU})
    tmp = Path(tempfile.mkdtemp(prefix="tlsdiag-polltrace-"))
    paths = proxy_rig.make_pki(tmp)
    origin, _pid, port = proxy_rig.start_origin(paths)
    try:
        traces = {
            w: record(w, paths, port, tmp, args.seconds) for w in ("new connections", "keep-alive")
        }
    finally:
        origin.terminate()
    rules: dict[str, Rule] = {"tlsdiag (halve)": next_window, "drop to 0": reset_rule}
    for workload, (waits, result) in traces.items():
        if workload == "new connections":
            per, unit = 400.0, "ms per connection"  # 200 first visits + 200 repeat visits
        else:
            per, unit = args.seconds, "ms per second"
            print(f"\nkeep-alive without polling: {result:.0f} requests/s")
        short = sum(w <= 100e-6 for w in waits) / len(waits)
        print(
            f"\n{workload}: {len(waits)} blocking waits, median"
            f" {statistics.median(waits) * 1e6:.1f} µs, {short:.0%} of them within 100 µs"
        )
        print(f"  {'rule':16}{'limit':>8}{'wake':>7}{'caught':>9}  polling CPU ({unit})")
        for name, rule in rules.items():
            for limit_us in (50, 100, 200):
                for wake_us in (0, 20):
                    share, spent = replay(waits, rule, limit_us / 1e6, wake_us / 1e6)
                    cells = f"{limit_us:>6}µs{wake_us:>5}µs{share:>9.1%}"
                    print(f"  {name:16}{cells}  {spent * 1000 / per:.3f}")


if __name__ == "__main__":
    main()
