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
    """Turns one journal row into changes of the derived tables, through the storage layer."""

    def apply(self, conn: sqlite3.Connection, row: JournalRow, now_us: int) -> None: ...


class LatestStateDerivation:
    """Keeps, per ``(source, stream)``, the row with the highest ``seq`` seen so far.

    Stale never overwrites fresh: a row whose ``seq`` is not above the stored one (a late retry,
    an interleaved older stream) leaves the state as it is. Without ``seq``, journal order decides.
    """

    def apply(self, conn: sqlite3.Connection, row: JournalRow, now_us: int) -> None:
        current = stream_state.get(conn, row.source, row.stream)
        if (
            current is not None
            and current.seq is not None
            and row.seq is not None
            and row.seq <= current.seq
        ):
            return
        stream_state.put(conn, row, now_us)
