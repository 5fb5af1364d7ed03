"""Answers about objects that are costly to hash (a tuple of certificates, a root set),
remembered by the object's identity for the rest of the process."""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

K = TypeVar("K")
V = TypeVar("V")


class IdentityMemo(Generic[K, V]):
    """At most ``limit`` answers, each keyed by ``id(obj)`` and a variant. The object is kept
    alive with its answer, so its id cannot be given to another object meanwhile; past the
    limit (many ``--cafile`` sets in one process) it starts over."""

    def __init__(self, limit: int) -> None:
        self._limit = limit
        self._entries: dict[tuple[int, Hashable], tuple[K, V]] = {}

    def get(self, obj: K, make: Callable[[K], V], variant: Hashable = None) -> V:
        """The answer for ``obj`` (and ``variant``), made by ``make(obj)`` the first time."""
        slot = (id(obj), variant)
        entry = self._entries.get(slot)
        if entry is not None and entry[0] is obj:
            return entry[1]
        value = make(obj)
        if len(self._entries) >= self._limit:
            self._entries.clear()
        self._entries[slot] = (obj, value)
        return value
