"""``companion rebuild``: every derived table recomputed from the journal alone, in order.

All of it happens in one transaction: until it commits, readers (and a crash) see the old
tables whole; after it, the new ones whole. Rows that went to dead letters are tried again
(derivation may have improved since), and the ones that still fail go back there. A match left
open at the end of the journal is closed if it has been silent longer than the setting, as the
running app would have done.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable
from dataclasses import dataclass

from companion.pipeline.derivation import Derivations, LatestStateDerivation
from companion.pipeline.match_derivation import DERIVATION_VERSION, MatchDerivation
from companion.pipeline.worker import Worker
from companion.storage import journal, match_queries, match_store, stream_state
from companion.storage.database import rollback
from companion.timefmt import now_us

CHUNK = 2000

Progress = Callable[[int, int], None]  # (rows done, rows in all)


@dataclass(frozen=True, slots=True)
class RebuildOutcome:
    rows: int
    dead: int
    matches: int
    seconds: float


def rebuild(
    conn: sqlite3.Connection,
    *,
    silence_us: int | None,
    progress: Progress | None = None,
    clock: Callable[[], int] = now_us,
) -> RebuildOutcome:
    """Rebuild on ``conn`` (the only writer: the app must not be running)."""
    started = time.perf_counter()
    conn.execute("BEGIN IMMEDIATE")
    try:
        through = journal.last_id(conn)
        total = journal.count_rows(conn, through)
        match_store.clear(conn)
        stream_state.clear(conn)
        journal.clear_dead_letters(conn)
        derivation = Derivations([LatestStateDerivation(), MatchDerivation(silence_us=silence_us)])
        worker = Worker(derivation, clock=clock)
        done = dead = 0
        after = 0
        while after < through:
            rows = [row for row in journal.read_after(conn, after, CHUNK) if row.id <= through]
            if not rows:
                break
            outcome = worker.apply_rows(conn, rows, clock())
            done += len(rows)
            dead += outcome.dead
            after = rows[-1].id
            if progress is not None:
                progress(done, total)
        now = clock()
        derivation.begin(conn, now)
        derivation.idle(conn, now)
        derivation.flush(conn, now)
        journal.set_applied_through(conn, through)
        match_store.set_derived_version(conn, DERIVATION_VERSION)
        matches = match_queries.count_matches(conn)
        conn.execute("COMMIT")
    except BaseException:
        rollback(conn)
        raise
    return RebuildOutcome(done, dead, matches, time.perf_counter() - started)
