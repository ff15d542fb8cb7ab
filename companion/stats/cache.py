"""A cache for answers computed over finished matches, valid until the next match closes.

Aggregates over a whole history (players met, careers, sessions, trends) take a scan of every
match; they only change when a match is closed (or rebuilt), which the derivation counts in
``derive_state.generation``. Reading that one number is nearly free, so handlers ask this cache
with it and recompute only when it moved.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any, TypeVar

T = TypeVar("T")


class GenerationCache:
    """Up to ``size`` answers of one generation; a newer generation empties it."""

    def __init__(self, size: int = 128) -> None:
        self._size = size
        self._generation: int | None = None
        self._values: OrderedDict[Hashable, Any] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = self.misses = 0

    def get(self, generation: int, key: Hashable, compute: Callable[[], T]) -> T:
        with self._lock:
            if generation != self._generation:
                self._values.clear()
                self._generation = generation
            if key in self._values:
                self._values.move_to_end(key)
                self.hits += 1
                value: T = self._values[key]
                return value
            self.misses += 1
        value = compute()  # outside the lock: two threads may both compute, both correctly
        with self._lock:
            if generation == self._generation:
                self._values[key] = value
                while len(self._values) > self._size:
                    self._values.popitem(last=False)
        return value
