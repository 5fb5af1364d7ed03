"""Speed of the CLI and of `check` against the lab (run by hand; not part of the test suite).

    python bench/bench_check.py            # starts the lab, prints the commands and their timings

It measures, with the standard library only (best and median of N runs of the whole process):
  1. `tlsdiag --version`                     (startup; target < 150 ms)
  2. `tlsdiag check` on one lab case         (target < 300 ms wall)
  3. `tlsdiag check` on 50 lab targets       (target < 3 s wall)
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time

from tlsdiag.lab.cases import CASE_NAMES, Lab

RUNS = 7
# Users' Python writes bytecode caches; a sandbox that disables them would time compilation.
ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


def timed(cmd: list[str]) -> list[float]:
    subprocess.run(cmd, capture_output=True, check=False, env=ENV)  # warm-up (writes .pyc)
    out = []
    for _ in range(RUNS):
        start = time.perf_counter()
        subprocess.run(cmd, capture_output=True, check=False, env=ENV)
        out.append(time.perf_counter() - start)
    return out


def report(label: str, cmd: list[str]) -> None:
    times = timed(cmd)
    print(
        f"{label:<34} best {min(times) * 1000:7.0f} ms   median "
        f"{statistics.median(times) * 1000:7.0f} ms"
    )


def main() -> None:
    exe = [sys.executable, "-m", "tlsdiag"]
    with Lab() as lab:
        good = lab.cases["good"]
        one = [
            *exe,
            "check",
            good.target,
            "--resolve",
            good.resolve,
            "--cafile",
            str(lab.root_pem_path),
        ]
        names = [n for n in CASE_NAMES if n not in ("reset",)]
        fifty: list[str] = [*exe, "check", "--cafile", str(lab.root_pem_path)]
        for i in range(50):
            case = lab.cases[names[i % len(names)]]
            fifty += [case.target]
        for name in names:
            fifty += ["--resolve", lab.cases[name].resolve]
        print("commands (copy them to time with other tools):")
        print("  " + " ".join(one))
        report("tlsdiag --version", [*exe, "--version"])
        report("check, one lab case", one)
        report("check, 50 lab targets", fifty)


if __name__ == "__main__":
    main()
