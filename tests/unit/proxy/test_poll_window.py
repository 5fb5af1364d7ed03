"""The proxy loop's adaptive polling (proxy/poll.py): the window's rule, and a real selector
over a socket pair: it grows when events come soon, is gone after a quiet wait, and honours
the loop's timeout."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator

import pytest

from tlsdiag.proxy.poll import WINDOW_START, PollingSelector, next_window

LIMIT = 100e-6


@pytest.mark.parametrize(
    ("window", "waited", "expected"),
    [
        (0.0, 10e-6, WINDOW_START),  # an event came soon: start polling
        (WINDOW_START, 50e-6, 2 * WINDOW_START),  # still soon: poll longer
        (80e-6, 90e-6, LIMIT),  # never longer than the limit
        (LIMIT, LIMIT, LIMIT),  # exactly the limit counts as soon
        (LIMIT, 5e-3, LIMIT / 2),  # a quiet wait: poll less
        (WINDOW_START, 5e-3, 0.0),  # below the first window: no polling at all
        (0.0, 1.0, 0.0),  # idle stays idle
    ],
)
def test_next_window(window: float, waited: float, expected: float) -> None:
    assert next_window(window, waited, LIMIT) == pytest.approx(expected)


@pytest.fixture
def pair() -> Iterator[tuple[socket.socket, socket.socket, PollingSelector]]:
    a, b = socket.socketpair()
    sel = PollingSelector(LIMIT)
    sel.register(b, 1)  # EVENT_READ
    yield a, b, sel
    sel.close()
    a.close()
    b.close()


def test_window_grows_on_ready_events_and_is_gone_after_a_quiet_wait(
    pair: tuple[socket.socket, socket.socket, PollingSelector],
) -> None:
    a, b, sel = pair
    assert sel.window == 0.0
    a.send(b"x")
    ready = sel.select(1.0)  # ready at once: no wait, so polling would have caught it
    assert [key.fileobj for key, _ in ready] == [b]
    assert sel.window == pytest.approx(WINDOW_START)
    b.recv(16)
    for _ in range(3):  # a caught event leaves the window as it is
        a.send(b"y")
        assert sel.select(1.0)
        b.recv(16)
    assert sel.window == pytest.approx(WINDOW_START)
    assert sel.select(0.02) == []  # nothing for 20 ms: the loop's timeout is honoured
    assert sel.window == 0.0


def test_polling_finds_an_event_sent_while_it_waits(
    pair: tuple[socket.socket, socket.socket, PollingSelector],
) -> None:
    a, b, sel = pair
    sel.window = LIMIT
    t = threading.Timer(0.01, a.send, (b"late",))
    t.start()
    try:
        ready = sel.select(5.0)  # polls, then blocks until the event: not the 5 s timeout
    finally:
        t.join()
    assert [key.fileobj for key, _ in ready] == [b] and b.recv(16) == b"late"
    assert sel.window == pytest.approx(LIMIT / 2)  # 10 ms is a quiet wait for a 100 us limit


def test_an_idle_selector_does_not_spin() -> None:
    """Even with a 10 ms limit (the option's maximum) reached, a quiet second costs at most a
    few windows of polling, then the selector sleeps."""
    a, b = socket.socketpair()
    sel = PollingSelector(10e-3)
    sel.register(b, 1)
    sel.window = 10e-3
    try:
        cpu0, wall0 = time.process_time(), time.monotonic()
        while time.monotonic() - wall0 < 1.0:
            assert sel.select(0.05) == []
        cpu = time.process_time() - cpu0
    finally:
        sel.close()
        a.close()
        b.close()
    assert sel.window == 0.0
    assert cpu < 0.3, f"{cpu:.2f} s of CPU in 1 s of idle polling"  # spinning: about 1 s
