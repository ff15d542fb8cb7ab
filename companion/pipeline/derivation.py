"""The seam between the worker and what it derives from each journal row.

The worker hands every row, strictly in journal order and inside the transaction that marks it
applied, to a ``Derivation``. A derivation that raises for a row sends that row to dead letters.
``LatestStateDerivation`` keeps the latest state per stream (its highest ``seq``), which also
lets the match derivation know, after a restart, what it has already seen.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from typing import Protocol

from companion.model import JournalRow
from companion.storage import stream_state


class Derivation(Protocol):
    """Turns journal rows into changes of the derived tables, through the storage layer.

    Within one transaction the worker calls ``begin`` once, then ``apply`` per row (it may
    buffer in memory), then ``flush`` (write what is buffered) before COMMIT. When the
    transaction (or the savepoint around a row retried alone) is rolled back, it calls
    ``discard``: the derivation goes back to where it was at ``begin``. When even that cannot be
    trusted (a COMMIT failed after rows were retried one by one), ``reset``: forget everything in
    memory and reload from the database at the next ``begin``. ``idle`` runs in its own
    transaction when the journal is caught up and quiet (closing a match after a silence).
    """

    def begin(self, conn: sqlite3.Connection, now_us: int) -> None: ...

    def apply(self, conn: sqlite3.Connection, row: JournalRow, now_us: int) -> None: ...

    def flush(self, conn: sqlite3.Connection, now_us: int) -> None: ...

    def discard(self) -> None: ...

    def reset(self) -> None: ...

    def idle(self, conn: sqlite3.Connection, now_us: int) -> None: ...


class LatestStateDerivation:
    """Keeps, per ``(source, stream)``, the row with the highest ``seq`` seen so far.

    Stale never overwrites fresh: a row whose ``seq`` is not above the stored one (a late retry,
    an interleaved older stream) leaves the state as it is. Without ``seq``, journal order decides.
    Within a batch only the winning row per stream is written.
    """

    def __init__(self) -> None:
        self._buffer: dict[tuple[str, str], JournalRow] = {}

    def begin(self, conn: sqlite3.Connection, now_us: int) -> None:
        self._buffer.clear()

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

    def reset(self) -> None:
        self._buffer.clear()

    def idle(self, conn: sqlite3.Connection, now_us: int) -> None:
        pass


class Derivations:
    """Several derivations fed the same rows in turn, as one (the order is the given one)."""

    def __init__(self, parts: Sequence[Derivation]) -> None:
        self.parts = tuple(parts)

    def begin(self, conn: sqlite3.Connection, now_us: int) -> None:
        for part in self.parts:
            part.begin(conn, now_us)

    def apply(self, conn: sqlite3.Connection, row: JournalRow, now_us: int) -> None:
        for part in self.parts:
            part.apply(conn, row, now_us)

    def flush(self, conn: sqlite3.Connection, now_us: int) -> None:
        for part in self.parts:
            part.flush(conn, now_us)

    def discard(self) -> None:
        for part in self.parts:
            part.discard()

    def reset(self) -> None:
        for part in self.parts:
            part.reset()

    def idle(self, conn: sqlite3.Connection, now_us: int) -> None:
        for part in self.parts:
            part.idle(conn, now_us)
