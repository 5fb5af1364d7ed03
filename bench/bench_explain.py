"""Benchmark of ``tlsdiag explain``: whole-process time of one explanation, plus a breakdown.

Run by hand (not part of the test suite)::

    python bench/bench_explain.py            # 20 runs per command
    python bench/bench_explain.py --runs 50

It prints, for each command, the median, min and max wall time in milliseconds of the whole
process (interpreter start-up, imports, knowledge-base load, explanation, rendering, exit),
measured from outside with ``time.perf_counter`` around ``subprocess.run``. The baselines are
``python -c pass`` and ``tlsdiag --version`` (start-up without any command). ``cold cache``
runs with ``TLSDIAG_NO_CACHE=1`` so the TOML is parsed every time. The in-process breakdown
shows where the time of a first explanation goes inside one process.
"""

from __future__ import annotations

import argparse
import json
import os
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


def _tlsdiag() -> list[str]:
    exe = shutil.which("tlsdiag")
    return [exe] if exe else [sys.executable, "-m", "tlsdiag"]


def time_command(cmd: list[str], runs: int, env: dict[str, str]) -> list[float]:
    """Wall milliseconds of ``runs`` runs after one warm-up run."""
    subprocess.run(cmd, capture_output=True, env=env, check=False)
    out = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(cmd, capture_output=True, env=env, check=False)
        out.append((time.perf_counter() - start) * 1000)
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
from tlsdiag.kb_explain import explain_kb
from tlsdiag.core.explain import explain
t3 = time.perf_counter()
explain_kb()
t4 = time.perf_counter()
explain("curl: (60) SSL certificate problem: unable to get local issuer certificate")
t5 = time.perf_counter()
import rich.console, tlsdiag.render.explain
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
    "import rich + renderer": ms(t5, t6),
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
        rows: list[tuple[str, list[float]]] = [
            ("python -c pass", time_command([sys.executable, "-c", "pass"], args.runs, env)),
            ("tlsdiag --version", time_command([*tlsdiag, "--version"], args.runs, env)),
        ]
        for name, msg in MESSAGES.items():
            rows.append(
                (f"explain {name}", time_command([*tlsdiag, "explain", msg], args.runs, env))
            )
            rows.append(
                (
                    f"explain --json {name}",
                    time_command([*tlsdiag, "explain", "--json", msg], args.runs, env),
                )
            )
        first = MESSAGES["curl 60"]
        rows.append(
            (
                "explain curl 60, cold cache",
                time_command([*tlsdiag, "explain", first], args.runs, cold),
            )
        )
    print(f"{'command':40} {'median':>8} {'min':>8} {'max':>8}   (wall ms, {args.runs} runs)")
    for name, values in rows:
        print(f"{name:40} {statistics.median(values):8.1f} {min(values):8.1f} {max(values):8.1f}")
    print("\nin-process breakdown of a first explanation (ms):")
    for step, value in breakdown().items():
        print(f"  {step:38} {value:8.2f}")


if __name__ == "__main__":
    main()
