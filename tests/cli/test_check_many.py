"""``check --from`` of a long list: worker processes give the same answer as threads."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

from tlsdiag.commands.check_many import MAX_WORKERS, PER_WORKER, plan_workers, worker_count
from tlsdiag.lab.cases import Lab

# Runs the CLI as `tlsdiag` does and reports on stderr how many workers the batch forked.
_TRACED = """
import sys
import tlsdiag.commands.check_many as M

started = M.Batch._start

def traced(self):
    started(self)
    pids = [p.pid for p in self._procs]
    print(f"workers={len(pids)} distinct={len(set(pids))}", file=sys.stderr)

M.Batch._start = traced
from tlsdiag.cli.app import main

sys.argv = ["tlsdiag", *sys.argv[1:]]
main()
"""


def _run(args: list[str]) -> tuple[int, list[dict[str, Any]], str]:
    proc = subprocess.run(
        [sys.executable, "-c", _TRACED, *args],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    assert proc.returncode in (0, 1), proc.stderr[-2000:]
    return proc.returncode, json.loads(proc.stdout), proc.stderr


def _summary(docs: list[dict[str, Any]]) -> list[tuple[str, list[str]]]:
    return [(d["target"], sorted(f["code"] for f in d["findings"])) for d in docs]


def test_a_long_list_is_spread_over_processes_with_the_answer_threads_give(
    lab: Lab, tmp_path: Path
) -> None:
    names = sorted(lab.cases)
    count = 2 * PER_WORKER + 3
    order = [names[i % len(names)] for i in range(count)]
    listing = tmp_path / "targets.txt"
    listing.write_text("".join(f"{lab.cases[n].target}\n" for n in order))
    common = ["check", "--json", "--from", str(listing), "--cafile", str(lab.root_pem_path)]
    for name in names:
        common += ["--resolve", lab.cases[name].resolve]

    code, docs, err = _run([*common, "--concurrency", "8"])
    want = plan_workers(count, 8, len(os.sched_getaffinity(0)))
    if want > 1:
        assert f"workers={want} distinct={want}" in err, err
    else:
        assert "workers=" not in err, err
    assert [d["target"] for d in docs] == [lab.cases[n].target for n in order]

    one_code, one_docs, one_err = _run([*common, "--concurrency", "1"])
    assert "workers=" not in one_err, one_err  # one at a time: threads here, no fork
    assert (code, _summary(docs)) == (one_code, _summary(one_docs))
    by_name = dict(zip(order, docs, strict=True))
    assert not by_name["good"]["findings"]
    assert by_name["expired"]["findings"][0]["code"] == "server.cert_expired"
    assert all(d["machine"]["hostname"] for d in docs)  # the machine block, as on threads


def test_no_fork_while_another_thread_runs() -> None:
    """A lock held by another thread at a fork stays held in the child: threads are used."""
    stop = threading.Event()
    other = threading.Thread(target=stop.wait, daemon=True)
    other.start()
    try:
        assert worker_count(1000, 64) == 1
    finally:
        stop.set()
        other.join()


def test_how_many_workers() -> None:
    assert plan_workers(PER_WORKER * 2 - 1, 64, cores=8) == 1  # too short to pay
    assert plan_workers(PER_WORKER * 2, 64, cores=8) == 2
    assert plan_workers(1000, 64, cores=2) == 2  # one per core
    assert plan_workers(1000, 64, cores=64) == MAX_WORKERS
    assert plan_workers(1000, 3, cores=8) == 3  # never more than --concurrency
    assert plan_workers(1000, 1, cores=8) == 1
    assert plan_workers(1000, 8, cores=1) == 1
