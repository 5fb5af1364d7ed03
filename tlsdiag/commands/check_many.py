"""``check`` of many targets: spread over worker processes where that is safe and pays.

Threads overlap the network waits, but each check also spends about 10 ms of CPU in Python
(parsing certificates, building and judging the path), and threads share one interpreter lock:
from a few dozen targets on, one core is saturated while the others idle. So on Linux a list of
at least ``PER_WORKER`` targets per worker is dealt out round-robin to forked workers, one per
core (at most ``MAX_WORKERS``, never more than ``--concurrency``), each running its share on
threads; together they still check at most ``concurrency`` targets at once. Each report comes
back over a pipe as soon as it is made, so progress is live and the order of the answer is
the order of the targets. A worker's exception ends the run as it would on threads.

Workers are forked only while this process runs no other thread (a lock held by another thread
at the fork would stay held in the child); callers start the batch before any status display.
Elsewhere (macOS and Windows, where fork is unsafe or missing), for short lists, or with
``--concurrency 1``, the checks run on threads in this process (``run_checks``).
"""

from __future__ import annotations

import os
import sys
import threading
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, cast

from tlsdiag.commands.check import (
    CheckOptions,
    check_reports,
    checks_as_done,
    root_sets,
    run_checks,
)
from tlsdiag.model import Report, Target

if TYPE_CHECKING:
    from multiprocessing.connection import Connection
    from multiprocessing.process import BaseProcess

PER_WORKER = 16
"""Fewest targets per worker: below this, a fork and its own caches do not pay."""
MAX_WORKERS = 4


def plan_workers(targets: int, concurrency: int, cores: int) -> int:
    """Workers worth forking for ``targets`` on ``cores`` (1: none, threads here)."""
    return max(1, min(cores, MAX_WORKERS, concurrency, targets // PER_WORKER))


def worker_count(targets: int, concurrency: int) -> int:
    """How many worker processes a batch uses here and now: none but on Linux, and none
    while another thread runs."""
    if not sys.platform.startswith("linux") or threading.active_count() != 1:
        return 1
    return plan_workers(targets, concurrency, len(os.sched_getaffinity(0)))


class Batch:
    """Checks of ``targets``, started at once: ``reports()`` collects them."""

    def __init__(self, targets: Sequence[Target], opts: CheckOptions, *, concurrency: int) -> None:
        self.targets = list(targets)
        self.opts = opts
        self.concurrency = concurrency
        self.workers = worker_count(len(self.targets), concurrency)
        self._procs: list[BaseProcess] = []
        self._pipes: list[Connection] = []
        if self.workers > 1:
            self._start()

    def _start(self) -> None:
        import multiprocessing

        root_sets(self.opts.cafile)  # parsed once here, inherited by every worker
        ctx = multiprocessing.get_context("fork")
        per = -(-self.concurrency // self.workers)
        for k in range(self.workers):
            share = [(i, self.targets[i]) for i in range(k, len(self.targets), self.workers)]
            reader, writer = ctx.Pipe(duplex=False)
            proc = ctx.Process(
                target=_work, args=(share, self.opts, per, writer), name=f"tlsdiag-check-{k}"
            )
            proc.daemon = True
            proc.start()
            writer.close()
            self._procs.append(proc)
            self._pipes.append(reader)

    def reports(self, on_done: Callable[[object], None] | None = None) -> list[Report]:
        """The reports in the order of the targets, each with this machine's block; ``on_done``
        is called in this thread as each finishes."""
        if self.workers == 1:
            outcomes = run_checks(
                self.targets, self.opts, concurrency=self.concurrency, on_done=on_done
            )
            return check_reports(outcomes)
        try:
            got = self._collect(on_done)
        except BaseException:
            self._stop(force=True)
            raise
        self._stop(force=False)
        from tlsdiag.stores.machine import attach_machine

        return attach_machine(got)

    def _collect(self, on_done: Callable[[object], None] | None) -> list[Report]:
        from multiprocessing.connection import wait

        slots: list[Report | None] = [None] * len(self.targets)
        open_pipes = list(self._pipes)
        while open_pipes:
            for ready in wait(open_pipes):
                pipe = cast("Connection", ready)
                try:
                    message = pipe.recv()
                except EOFError:
                    open_pipes.remove(pipe)
                    continue
                index, result = message
                if isinstance(result, BaseException):
                    raise result
                slots[index] = result
                if on_done is not None:
                    on_done(result)
        missing = [self.targets[i].display for i, r in enumerate(slots) if r is None]
        if missing:
            codes = sorted({p.exitcode for p in self._procs if p.exitcode})
            raise RuntimeError(
                f"a check worker ended early (exit status {codes}); not checked: "
                + ", ".join(missing[:5])
                + (" ..." if len(missing) > 5 else "")
            )
        return [r for r in slots if r is not None]

    def _stop(self, *, force: bool) -> None:
        """Reap the workers: after their last report they are exiting; ``force`` ends them."""
        for proc in self._procs:
            if not force:
                proc.join(5)
            if proc.is_alive():
                proc.terminate()
                proc.join(5)
        for pipe in self._pipes:
            pipe.close()


def _work(
    share: list[tuple[int, Target]], opts: CheckOptions, concurrency: int, out: Connection
) -> None:
    """A worker: check ``share`` on threads and send ``(index, Report)`` as each finishes;
    an exception is sent instead and ends the run in the parent, as it would on threads."""
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent handles Ctrl-C and stops us
    signal.signal(signal.SIGTERM, signal.SIG_DFL)  # not the CLI's handler: just end
    targets = [t for _, t in share]
    try:
        for k, outcome in checks_as_done(targets, opts, concurrency=concurrency):
            _send(out, (share[k][0], outcome.report))
    except Exception as exc:
        _send(out, (-1, exc))
    out.close()


def _send(out: Connection, message: tuple[int, Any]) -> None:
    """Send a report or an exception; one that cannot be pickled goes as its text."""
    try:
        out.send(message)
    except Exception as exc:  # pickling an exception with a custom __init__ can fail
        index, original = message
        out.send((index, RuntimeError(f"{type(original).__name__}: {original} ({exc})")))
