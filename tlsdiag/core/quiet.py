"""Silence a warning around one deliberate call, safely from several threads.

``warnings.catch_warnings()`` saves and restores the process-wide filter list; two threads
inside it at once restore each other's lists, so a warning silenced in one thread can escape
(or be turned into an error) in another. Every deliberate silencing in tlsdiag goes through
``quietly``, which holds one process-wide lock for the duration.
"""

from __future__ import annotations

import threading
import warnings
from collections.abc import Iterator
from contextlib import contextmanager

_LOCK = threading.RLock()


@contextmanager
def quietly(*categories: type[Warning]) -> Iterator[None]:
    """Ignore warnings of ``categories`` (all warnings when none is given) in this block.

    Args:
        categories: the warning classes to ignore.

    Yields:
        Nothing; the filters are restored on exit.
    """
    with _LOCK, warnings.catch_warnings():
        for category in categories or (Warning,):
            warnings.simplefilter("ignore", category)
        yield
