"""The proxy's event loop: poll a short, adaptive window before the CPU is put to sleep.

When the loop has nothing to do it blocks in ``epoll_wait`` and the kernel idles its CPU; the
next packet then pays for waking that CPU (an interrupt to another core, a halt exit in a
virtual machine: tens of microseconds each way of a relayed request). Like Linux's haltpoll
idle governor and HAProxy's ``busy-polling``, the loop first polls without blocking for a
window, and blocks only when nothing came. The window adapts as haltpoll's does: it doubles
(from ``WINDOW_START``) when the wait ended within ``limit`` (polling that long would have
caught the event) and halves when a wait lasted longer (a quiet proxy), down to no polling at
all. An idle proxy therefore does not spin: after one quiet period the window is gone, and
only a steady stream of events less than ``limit`` apart keeps it.

Only for a loop that has its process to itself (``tlsdiag proxy``): while it polls it holds
the interpreter lock, which other threads of the process would wait for.
"""

from __future__ import annotations

import selectors
import sys
from collections.abc import Coroutine
from time import perf_counter
from typing import Any

WINDOW_START = 20e-6  # seconds: the first window after a wait that polling would have caught


def next_window(window: float, waited: float, limit: float) -> float:
    """The poll window after a wait of ``waited`` seconds (polling included) that the
    window did not catch: longer if a window of ``limit`` would have, else shorter."""
    if waited <= limit:
        return min(limit, max(WINDOW_START, window * 2))
    half = window / 2
    return half if half >= WINDOW_START else 0.0


class PollingSelector(selectors.DefaultSelector):
    """The platform's selector, polling up to ``window`` seconds before each blocking wait."""

    def __init__(self, limit: float) -> None:
        super().__init__()
        self.limit = limit
        self.window = 0.0

    def select(self, timeout: float | None = None) -> list[tuple[selectors.SelectorKey, int]]:
        if timeout is not None and timeout <= 0:
            return super().select(timeout)
        start = perf_counter()
        if self.window > 0:
            end = start + (self.window if timeout is None else min(self.window, timeout))
            while True:
                ready = super().select(0)
                if ready:
                    return ready  # caught by polling: the window stays
                if perf_counter() >= end:
                    break
            if timeout is not None:
                timeout = max(0.0, timeout - (perf_counter() - start))
        ready = super().select(timeout)
        self.window = next_window(self.window, perf_counter() - start, self.limit)
        return ready


def run(main: Coroutine[Any, Any, None], limit_us: int) -> None:
    """``asyncio.run(main)`` on a loop that polls up to ``limit_us`` microseconds before it
    sleeps (0, or Windows, whose default loop is not selector-based: plain ``asyncio.run``)."""
    import asyncio

    if limit_us <= 0 or sys.platform == "win32":
        asyncio.run(main)
        return
    limit = limit_us / 1e6
    with asyncio.Runner(
        loop_factory=lambda: asyncio.SelectorEventLoop(PollingSelector(limit))
    ) as r:
        r.run(main)
