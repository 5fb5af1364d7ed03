"""Whole-process speed of the CLI against the lab, next to a reference command (run by hand).

    python bench/bench_cli.py                 # 10 runs of each pair, medians
    python bench/bench_cli.py --runs 5 --only version,check
    python bench/bench_cli.py --baseline /tmp/old-venv/bin/python   # before/after, interleaved

Each row runs tlsdiag (A) and its reference (B) in turn, A B A B ..., after one warm-up each
(which also writes the bytecode caches), and prints the median wall time, the median CPU time
(user + system of the finished process, from ``os.wait4``) and the peak RSS of one more run
under GNU ``time -f %M`` (``/usr/bin/time``; "-" without it). The peak cannot come from
``os.wait4``: a child forked from this process (which holds the lab, ~40 MB) inherits that
high-water mark until it execs, so every command would show at least this process's size. Pairing
keeps the comparison fair when a shared machine's speed drifts during the run. The rows:

  version   ``tlsdiag --version``              vs ``python -c pass``
  check     ``tlsdiag check`` of the good case vs ``curl -s`` of the same URL
  name      ``tlsdiag check HOST:PORT`` of the good case's server by this machine's host name,
            looked up by the system resolver (hosts file), vs ``curl -sk`` of the same URL;
            only when that name resolves to loopback addresses alone (else the row is skipped)
  explain   ``tlsdiag explain "curl: (60) ..."`` (no reference)
  log       ``tlsdiag explain --file`` of a 1 MB log with one error line (no reference)
  demo      ``tlsdiag demo`` (17 lab cases; no reference)
  many      ``tlsdiag check --from FILE`` of 200 lab targets vs ``curl`` run 200 times

``--baseline PYTHON`` adds another installation of tlsdiag (run as ``PYTHON -m tlsdiag``, e.g.
the previous release installed in its own venv) as a third column, run in the same turns. Each
installation gets its own cache directory (``TLSDIAG_CACHE_DIR``), warmed by the warm-up run.

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


def one(cmd: Sequence[str], env: dict[str, str] = ENV) -> tuple[float, float]:
    """Run ``cmd`` once: wall seconds and CPU seconds of that process."""
    start = time.perf_counter()
    proc = subprocess.Popen(
        cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env
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


def peak_mib(cmd: Sequence[str] | None, env: dict[str, str] = ENV) -> str:
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
            env=env,
            check=False,
        )
        kib = out.read().strip().splitlines()[-1:]
    return f"{int(kib[0]) / 1024:.1f}MB" if kib and kib[0].isdigit() else "-"


def interleave(runs: int, commands: Sequence[Run]) -> list[list[tuple[float, float]]]:
    """One warm-up each, then ``runs`` rounds of every command in turn (A B C A B C ...)."""
    for run in commands:
        run()
    samples: list[list[tuple[float, float]]] = [[] for _ in commands]
    for _ in range(runs):
        for out, run in zip(samples, commands, strict=True):
            out.append(run())
    return samples


def loopback_hostname() -> str:
    """This machine's host name when the hosts file maps it to loopback addresses alone, else
    "" (the benchmark talks to nothing else: a name missing there would go out to DNS)."""
    import ipaddress
    import socket

    host = socket.gethostname()
    listed: set[str] = set()
    try:
        for line in Path("/etc/hosts").read_text().splitlines():
            fields = line.split("#", 1)[0].split()
            if host in fields[1:]:
                listed.add(fields[0])
    except OSError:
        return ""
    try:
        loopback = listed and all(ipaddress.ip_address(a).is_loopback for a in listed)
    except ValueError:
        return ""
    return host if loopback else ""


def fmt(samples: list[tuple[float, float]], peak: str) -> str:
    if not samples:
        return f"{'-':>10} {'-':>10} {'-':>9}"
    wall = statistics.median(s[0] for s in samples)
    cpu = statistics.median(s[1] for s in samples)
    return f"{wall * 1000:8.0f}ms {cpu * 1000:8.0f}ms {peak:>9}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--only", default="version,check,name,explain,log,demo,many")
    parser.add_argument("--names", type=int, default=200, help="targets of the 'many' row")
    parser.add_argument(
        "--baseline",
        metavar="PYTHON",
        help="also run tlsdiag with this interpreter (another installation, e.g. the previous "
        "release in its own venv) as a third column, in turn with the others",
    )
    args = parser.parse_args()
    only = set(args.only.split(","))
    curl = shutil.which("curl")
    with Lab() as lab, tempfile.TemporaryDirectory() as tmp:
        # ``python -m`` puts the working directory first on sys.path: run from an empty one,
        # so each interpreter runs its own installation, not a source tree it was started in
        os.chdir(tmp)
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

        check_args = ["check", good.target, "--resolve", good.resolve, "--cafile", root]
        many_args = ["check", "--from", str(listing), "--cafile", root, *resolves]
        curl_urls = [[*curl_cmd, "--resolve", c.resolve, f"https://{c.target}/"] for c in targets]
        # name, reference label, tlsdiag's arguments, B's commands (one, or several in a row)
        rows: list[tuple[str, str, list[str], list[list[str]] | None]] = [
            ("version", "python -c pass", ["--version"], [[sys.executable, "-c", "pass"]]),
            (
                "check",
                "curl -s, same URL",
                check_args,
                [[*curl_cmd, "--resolve", curl_resolve, url]] if curl else None,
            ),
        ]
        host = loopback_hostname()
        if host:
            by_name = f"{host}:{good.target.rsplit(':', 1)[1]}"
            curl_k = [*curl_cmd, "-k", f"https://{by_name}/"]
            rows.append(
                ("name", "curl -sk, same URL", ["check", by_name, "--cafile", root], [curl_k])
            )
        elif "name" in only:
            print("name: skipped (this machine's host name does not resolve to loopback alone)")
        rows += [
            ("explain", "", ["explain", ERROR], None),
            ("log", "", ["explain", "--file", str(log)], None),
            ("demo", "", ["demo"], None),
            ("many", f"curl x{args.names}", many_args, curl_urls if curl else None),
        ]
        # each installation keeps its own warm caches, as it would on a user's machine
        tlsdiags = [(EXE, dict(ENV, TLSDIAG_CACHE_DIR=str(Path(tmp) / "cache-a")))]
        if args.baseline:
            base_env = dict(ENV, TLSDIAG_CACHE_DIR=str(Path(tmp) / "cache-baseline"))
            tlsdiags.append(([args.baseline, "-m", "tlsdiag"], base_env))
        print(f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs, {args.runs} runs, medians")
        header = f"{'row':<8} {'A: tlsdiag wall, cpu, peak':>31}"
        if args.baseline:
            header += f"   {'baseline wall, cpu, peak':>31}"
        print(f"{header}   {'B':<20} {'B wall, cpu, peak':>31}")
        for name, ref, tail, b_cmds in rows:
            if name not in only:
                continue
            runs = max(3, args.runs // 3) if name in ("demo", "many") else args.runs
            commands: list[Run] = [functools.partial(one, [*e, *tail], env) for e, env in tlsdiags]
            if b_cmds:
                single = len(b_cmds) == 1
                commands.append(
                    functools.partial(one, b_cmds[0]) if single else functools.partial(many, b_cmds)
                )
            samples = interleave(runs, commands)
            cells = [
                fmt(samples[i], peak_mib([*e, *tail], env)) for i, (e, env) in enumerate(tlsdiags)
            ]
            line = f"{name:<8} " + "   ".join(cells) + f"   {ref:<20} "
            print(line + (fmt(samples[-1], peak_mib(b_cmds[0])) if b_cmds else ""), flush=True)


if __name__ == "__main__":
    main()
