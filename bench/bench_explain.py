"""Benchmark of ``tlsdiag explain``: whole-process time of one explanation, plus a breakdown.

Run by hand (not part of the test suite)::

    python bench/bench_explain.py            # 20 runs per command
    python bench/bench_explain.py --runs 50

It prints, for each command, the median, min and max wall time in milliseconds of the whole
process (interpreter start-up, imports, knowledge-base load, explanation, rendering, exit),
measured from outside with ``time.perf_counter`` around ``subprocess.run``. The baselines are
``python -c pass`` and ``tlsdiag --version`` (start-up without any command). ``cold cache``
runs with ``TLSDIAG_NO_CACHE=1`` so the TOML is parsed every time; ``--file 1 MB log`` explains
a log of 12,000 repeated lines with one curl error near its end. The in-process breakdown
shows where the time of a first explanation goes inside one process.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

MESSAGES = {
    "curl 60": "curl: (60) SSL certificate problem: unable to get local issuer certificate",
    "java pkix": (
        "javax.net.ssl.SSLHandshakeException: PKIX path building failed: "
        "sun.security.provider.certpath.SunCertPathBuilderException: unable to find valid "
        "certification path to requested target"
    ),
    "chrome": "NET::ERR_CERT_AUTHORITY_INVALID",
}

LOG_LINE = "2026-11-21T10:00:00Z INFO request served in 12 ms path=/api/v1/items status=200\n"


def _tlsdiag() -> list[str]:
    exe = shutil.which("tlsdiag")
    return [exe] if exe else [sys.executable, "-m", "tlsdiag"]


def time_once(cmd: list[str], env: dict[str, str]) -> tuple[float, float]:
    """Wall and CPU (user + system) milliseconds of one whole run of ``cmd``."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(cmd, capture_output=True, env=env, check=False)
    wall = (time.perf_counter() - start) * 1000
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime) * 1000
    return wall, cpu


def time_commands(
    commands: dict[str, tuple[list[str], dict[str, str]]], runs: int
) -> dict[str, tuple[list[float], list[float]]]:
    """Run every command once per round, interleaved (so drift hits all alike), ``runs``
    rounds after one warm-up round."""
    out: dict[str, tuple[list[float], list[float]]] = {name: ([], []) for name in commands}
    for round_ in range(runs + 1):
        for name, (cmd, env) in commands.items():
            wall, cpu = time_once(cmd, env)
            if round_:
                out[name][0].append(wall)
                out[name][1].append(cpu)
    return out


def breakdown() -> dict[str, float]:
    """Milliseconds of each step of a first explanation, in a fresh interpreter."""
    code = r"""
import json, time
t0 = time.perf_counter()
import tlsdiag.cli.app
t1 = time.perf_counter()
try:
    import typer._adapters  # typer 0.29+ coerces every option value with pydantic
except ImportError:
    pass
t2 = time.perf_counter()
from tlsdiag.kb.explain import explain_kb
from tlsdiag.core.explain.engine import explain
t3 = time.perf_counter()
explain_kb()
t4 = time.perf_counter()
explain("curl: (60) SSL certificate problem: unable to get local issuer certificate")
t5 = time.perf_counter()
import tlsdiag.render.term, tlsdiag.render.explain
t6 = time.perf_counter()
for _ in range(200):
    explain("curl: (60) SSL certificate problem: unable to get local issuer certificate")
t7 = time.perf_counter()
ms = lambda a, b: round((b - a) * 1000, 2)
print(json.dumps({
    "import tlsdiag.cli.app": ms(t0, t1),
    "typer option coercion (0.29+: pydantic)": ms(t1, t2),
    "import explain modules": ms(t2, t3),
    "load knowledge base": ms(t3, t4),
    "first explanation": ms(t4, t5),
    "import terminal writer + renderer": ms(t5, t6),
    "warm explanation (mean)": ms(t6, t7) / 200,
}))
"""
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    result: dict[str, float] = json.loads(out)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args()
    tlsdiag = _tlsdiag()
    with tempfile.TemporaryDirectory() as cache:
        env = dict(os.environ, TLSDIAG_CACHE_DIR=cache)
        cold = dict(env, TLSDIAG_NO_CACHE="1")
        commands: dict[str, tuple[list[str], dict[str, str]]] = {
            "python -c pass": ([sys.executable, "-c", "pass"], env),
            "tlsdiag --version": ([*tlsdiag, "--version"], env),
        }
        for name, msg in MESSAGES.items():
            commands[f"explain {name}"] = ([*tlsdiag, "explain", msg], env)
            commands[f"explain --json {name}"] = ([*tlsdiag, "explain", "--json", msg], env)
        log = os.path.join(cache, "app.log")
        with open(log, "w", encoding="utf-8") as fh:
            fh.write(LOG_LINE * 12000 + MESSAGES["curl 60"] + "\n" + LOG_LINE * 100)
        commands["explain --file 1 MB log"] = ([*tlsdiag, "explain", "--file", log], env)
        commands["explain curl 60, cold cache"] = (
            [*tlsdiag, "explain", MESSAGES["curl 60"]],
            cold,
        )
        results = time_commands(commands, args.runs)
    base_cpu = results["tlsdiag --version"][1]
    print(f"whole-process figures, {args.runs} interleaved runs, milliseconds")
    print(
        f"{'command':32} {'wall med':>8} {'min':>7} {'max':>7} {'cpu med':>8}"
        f" {'+cpu vs --version':>18}"
    )
    for name, (walls, cpus) in results.items():
        extra = statistics.median(c - b for c, b in zip(cpus, base_cpu, strict=True))
        print(
            f"{name:32} {statistics.median(walls):8.1f} {min(walls):7.1f} {max(walls):7.1f}"
            f" {statistics.median(cpus):8.1f} {extra:18.1f}"
        )
    print("\nin-process breakdown of a first explanation (ms):")
    for step, value in breakdown().items():
        print(f"  {step:40} {value:8.2f}")


if __name__ == "__main__":
    main()
