"""The seam between the worker and what it derives from each journal row.

The worker hands every row, strictly in journal order and inside the transaction that marks it
applied, to a ``Derivation``. A derivation that raises for a row sends that row to dead letters.
``LatestStateDerivation`` keeps the latest state per stream until the match stats replace it.
"""

from __future__ import annotations

import sqlite3
from typing import Protocol

from companion.model import JournalRow
from companion.storage import stream_state


class Derivation(Protocol):
    """Turns journal rows into changes of the derived tables, through the storage layer.

    ``apply`` may buffer its changes in memory; ``flush`` writes them (the worker calls it before
    every COMMIT and after every single row it retries alone); ``discard`` forgets what was
    buffered since the last flush, after the worker rolled back.
    """

    def apply(self, conn: sqlite3.Connection, row: JournalRow, now_us: int) -> None: ...

    def flush(self, conn: sqlite3.Connection, now_us: int) -> None: ...

    def discard(self) -> None: ...


class LatestStateDerivation:
    """Keeps, per ``(source, stream)``, the row with the highest ``seq`` seen so far.

    Stale never overwrites fresh: a row whose ``seq`` is not above the stored one (a late retry,
    an interleaved older stream) leaves the state as it is. Without ``seq``, journal order decides.
    Within a batch only the winning row per stream is written.
    """

    def __init__(self) -> None:
        self._buffer: dict[tuple[str, str], JournalRow] = {}

    def apply(self, conn: sqlite3.Connection, row: JournalRow, now_us: int) -> None:
        key = (row.source, row.stream)
        buffered = self._buffer.get(key)
        current_seq = buffered.seq if buffered is not None else stream_state.current_seq(conn, *key)
        if current_seq is not None and row.seq is not None and row.seq <= current_seq:
            return
        self._buffer[key] = row

    def flush(self, conn: sqlite3.Connection, now_us: int) -> None:
        if self._buffer:
            stream_state.put_many(conn, list(self._buffer.values()), now_us)
            self._buffer.clear()

    def discard(self) -> None:
        self._buffer.clear()
