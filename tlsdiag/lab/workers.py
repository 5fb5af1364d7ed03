"""Reusable daemon threads for the lab's connections.

Starting a thread per connection costs a scheduler round trip each time (the starter waits
until the new thread runs), and a ``demo`` opens some forty lab connections one after the
other. :class:`Workers` keeps finished threads waiting for the next connection instead. Unlike
``concurrent.futures.ThreadPoolExecutor`` the threads are daemons, so a client that keeps a
connection open never delays the exit of ``lab serve``.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable

log = logging.getLogger(__name__)

Task = Callable[[], object]


class Workers:
    """Daemon threads running submitted tasks; a new thread only when none is idle."""

    def __init__(self, name: str) -> None:
        self._name = name
        self._lock = threading.Lock()
        self._tasks: queue.SimpleQueue[Task | None] = queue.SimpleQueue()
        self._idle = 0
        self._threads = 0
        self._closed = False

    def submit(self, task: Task) -> None:
        """Run ``task`` on an idle thread, or on a new one."""
        with self._lock:
            if self._closed:
                raise RuntimeError(f"{self._name}: closed")
            if self._idle:
                self._idle -= 1
                self._tasks.put(task)
                return
            self._threads += 1
            number = self._threads
        thread = threading.Thread(
            target=self._work, args=(task,), name=f"{self._name}-{number}", daemon=True
        )
        thread.start()

    def close(self) -> None:
        """Let every thread end once its current task is done (does not wait)."""
        with self._lock:
            self._closed = True
            threads = self._threads
        for _ in range(threads):
            self._tasks.put(None)

    def _work(self, task: Task | None) -> None:
        while task is not None:
            try:
                task()
            except Exception:  # a task's own failure must not end the thread
                log.exception("%s: task failed", self._name)
            with self._lock:
                if self._closed:
                    return
                self._idle += 1
            task = self._tasks.get()
