"""Whole-process speed of the CLI against the lab, next to a reference command (run by hand).

    python bench/bench_cli.py                 # 10 runs of each pair, medians
    python bench/bench_cli.py --runs 5 --only version,check

Each row runs tlsdiag (A) and its reference (B) in turn, A B A B ..., after one warm-up each
(which also writes the bytecode caches), and prints the median wall time, the median CPU time
(user + system of the finished process, from ``os.wait4``) and the peak RSS of one more run
under GNU ``time -f %M`` (``/usr/bin/time``; "-" without it). The peak cannot come from
``os.wait4``: a child forked from this process (which holds the lab, ~40 MB) inherits that
high-water mark until it execs, so every command would show at least this process's size. Pairing
keeps the comparison fair when a shared machine's speed drifts during the run. The rows:

  version   ``tlsdiag --version``              vs ``python -c pass``
  check     ``tlsdiag check`` of the good case vs ``curl -s`` of the same URL
  explain   ``tlsdiag explain "curl: (60) ..."`` (no reference)
  log       ``tlsdiag explain --file`` of a 1 MB log with one error line (no reference)
  demo      ``tlsdiag demo`` (17 lab cases; no reference)
  many      ``tlsdiag check --from FILE`` of 200 lab targets vs ``curl`` run 200 times

Only the standard library and curl are needed; tlsdiag is run as ``python -m tlsdiag`` with the
interpreter running this script.
"""

from __future__ import annotations

import argparse
import functools
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from tlsdiag.lab.cases import CASE_NAMES, Lab

# Users' Python writes bytecode caches; a sandbox that disables them would time compilation.
ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
EXE = [sys.executable, "-m", "tlsdiag"]
ERROR = "curl: (60) SSL certificate problem: unable to get local issuer certificate"

Run = Callable[[], tuple[float, float]]  # wall s, cpu s
GNU_TIME = "/usr/bin/time"


def one(cmd: Sequence[str]) -> tuple[float, float]:
    """Run ``cmd`` once: wall seconds and CPU seconds of that process."""
    start = time.perf_counter()
    proc = subprocess.Popen(
        cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=ENV
    )
    _, _, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    proc.returncode = 0  # reaped above
    return wall, usage.ru_utime + usage.ru_stime


def many(cmds: Sequence[Sequence[str]]) -> tuple[float, float]:
    """Run the commands one after the other: total wall and CPU."""
    start = time.perf_counter()
    cpu = 0.0
    for cmd in cmds:
        cpu += one(cmd)[1]
    return time.perf_counter() - start, cpu


def peak_mib(cmd: Sequence[str] | None) -> str:
    """The peak RSS of one run of ``cmd``, measured by GNU time (its own small process forks
    the command, so the figure is the command's alone)."""
    if cmd is None or not os.access(GNU_TIME, os.X_OK):
        return "-"
    with tempfile.NamedTemporaryFile("r") as out:
        subprocess.run(
            [GNU_TIME, "-f", "%M", "-o", out.name, *cmd],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env=ENV,
            check=False,
        )
        kib = out.read().strip().splitlines()[-1:]
    return f"{int(kib[0]) / 1024:.1f}MB" if kib and kib[0].isdigit() else "-"


def pair(
    runs: int, a: Run, b: Run | None
) -> tuple[list[tuple[float, ...]], list[tuple[float, ...]]]:
    a()
    if b:
        b()
    out_a: list[tuple[float, ...]] = []
    out_b: list[tuple[float, ...]] = []
    for _ in range(runs):
        out_a.append(a())
        if b:
            out_b.append(b())
    return out_a, out_b


def fmt(samples: list[tuple[float, ...]], peak: str) -> str:
    if not samples:
        return f"{'-':>10} {'-':>10} {'-':>9}"
    wall = statistics.median(s[0] for s in samples)
    cpu = statistics.median(s[1] for s in samples)
    return f"{wall * 1000:8.0f}ms {cpu * 1000:8.0f}ms {peak:>9}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--only", default="version,check,explain,log,demo,many")
    parser.add_argument("--names", type=int, default=200, help="targets of the 'many' row")
    args = parser.parse_args()
    only = set(args.only.split(","))
    curl = shutil.which("curl")
    with Lab() as lab, tempfile.TemporaryDirectory() as tmp:
        root = str(lab.root_pem_path)
        good = lab.cases["good"]
        url = f"https://{good.target}/"
        curl_resolve = good.resolve  # host:port:address, curl's own syntax
        names = [n for n in CASE_NAMES if n != "reset"]
        log = Path(tmp) / "app.log"
        noise = "2026-11-21T10:00:00Z INFO request served in 12 ms path=/api/v1/items status=200\n"
        log.write_text(noise * 12000 + ERROR + "\n" + noise * 100)
        listing = Path(tmp) / "targets.txt"
        targets = [lab.cases[names[i % len(names)]] for i in range(args.names)]
        listing.write_text("".join(f"{c.target}\n" for c in targets))
        resolves = [arg for n in names for arg in ("--resolve", lab.cases[n].resolve)]

        curl_cmd = [curl or "curl", "-s", "-o", "/dev/null", "--max-time", "5", "--cacert", root]

        check_cmd = [*EXE, "check", good.target, "--resolve", good.resolve, "--cafile", root]
        many_cmd = [*EXE, "check", "--from", str(listing), "--cafile", root, *resolves]
        curl_urls = [[*curl_cmd, "--resolve", c.resolve, f"https://{c.target}/"] for c in targets]
        # name, reference label, A's command, B's commands (one, or several run in a row)
        rows: list[tuple[str, str, list[str], list[list[str]] | None]] = [
            ("version", "python -c pass", [*EXE, "--version"], [[sys.executable, "-c", "pass"]]),
            (
                "check",
                "curl -s, same URL",
                check_cmd,
                [[*curl_cmd, "--resolve", curl_resolve, url]] if curl else None,
            ),
            ("explain", "", [*EXE, "explain", ERROR], None),
            ("log", "", [*EXE, "explain", "--file", str(log)], None),
            ("demo", "", [*EXE, "demo"], None),
            ("many", f"curl x{args.names}", many_cmd, curl_urls if curl else None),
        ]
        print(f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs, {args.runs} runs, medians")
        print(
            f"{'row':<8} {'A: tlsdiag wall, cpu, peak':>31}   {'B':<20} {'B wall, cpu, peak':>31}"
        )
        for name, ref, a_cmd, b_cmds in rows:
            if name not in only:
                continue
            runs = max(3, args.runs // 3) if name in ("demo", "many") else args.runs
            a: Run = functools.partial(one, a_cmd)
            b: Run | None = None
            if b_cmds:
                b = (
                    functools.partial(one, b_cmds[0])
                    if len(b_cmds) == 1
                    else functools.partial(many, b_cmds)
                )
            sa, sb = pair(runs, a, b)
            line = f"{name:<8} {fmt(sa, peak_mib(a_cmd))}   {ref:<20} "
            print(line + (fmt(sb, peak_mib(b_cmds[0])) if b_cmds else ""), flush=True)


if __name__ == "__main__":
    main()
