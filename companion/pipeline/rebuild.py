"""``companion rebuild``: every derived table recomputed from the journal alone, in order.

All of it happens in one transaction: until it commits, readers (and a crash) see the old
tables whole; after it, the new ones whole. Rows that went to dead letters are tried again
(derivation may have improved since), and the ones that still fail go back there. A match left
open at the end of the journal is closed if it has been silent longer than the setting, as the
running app would have done.

With ``workers`` above one and the database's path, a long journal is cut where play was quiet
and its spans are derived side by side (:mod:`companion.pipeline.parallel_rebuild`); the
tables are the same either way, and whenever that could not be assured it runs in one process.
"""

from __future__ import annotations

import logging
import sqlite3
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from companion.pipeline import parallel_rebuild
from companion.pipeline.derivation import Derivations, LatestStateDerivation
from companion.pipeline.match_derivation import DERIVATION_VERSION, MatchDerivation
from companion.pipeline.worker import Worker
from companion.storage import journal, match_queries, match_store, stream_state
from companion.storage.database import rollback
from companion.timefmt import now_us

log = logging.getLogger(__name__)

CHUNK = 2000

Progress = Callable[[int, int], None]  # (rows done, rows in all)


@dataclass(frozen=True, slots=True)
class RebuildOutcome:
    rows: int
    dead: int
    matches: int
    seconds: float
    spans: int = 1  # spans of the journal derived side by side (1: in this process)


def rebuild(
    conn: sqlite3.Connection,
    *,
    silence_us: int | None,
    progress: Progress | None = None,
    clock: Callable[[], int] = now_us,
    database: Path | None = None,
    workers: int = 1,
) -> RebuildOutcome:
    """Rebuild on ``conn`` (the only writer: the app must not be running). ``database`` (the
    path ``conn`` has open) and ``workers`` > 1 let it use several processes."""
    started = time.perf_counter()
    if workers > 1 and silence_us and database is not None:
        through = journal.last_id(conn)
        spans = parallel_rebuild.plan(conn, through, silence_us, workers)
        if len(spans) > 1:
            try:
                return _rebuild_in_spans(
                    conn, database, spans, through, silence_us, progress, clock(), started
                )
            except parallel_rebuild.Diverged as exc:
                log.warning("rebuilding in one process instead: %s", exc)
    conn.execute("BEGIN IMMEDIATE")
    try:
        through = journal.last_id(conn)
        total = journal.count_rows(conn, through)
        _clear(conn)
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
        matches = _finish(conn, through)
    except BaseException:
        rollback(conn)
        raise
    return RebuildOutcome(done, dead, matches, time.perf_counter() - started)


def _rebuild_in_spans(
    conn: sqlite3.Connection,
    database: Path,
    spans: list[parallel_rebuild.Span],
    through: int,
    silence_us: int,
    progress: Progress | None,
    now: int,
    started: float,
) -> RebuildOutcome:
    total = journal.count_rows(conn, through)
    with parallel_rebuild.spans_derived(
        database, spans, silence_us=silence_us, now_us=now, progress=progress, total=total
    ) as (outs, reports):
        conn.execute("BEGIN IMMEDIATE")
        try:
            if journal.last_id(conn) != through:
                raise parallel_rebuild.Diverged("the journal grew while it was rebuilt")
            _clear(conn)
            parallel_rebuild.join(conn, outs)
            matches = _finish(conn, through)
        except BaseException:
            rollback(conn)
            raise
    done = sum(r.rows for r in reports)
    if progress is not None:
        progress(done, total)
    dead = sum(r.dead for r in reports)
    return RebuildOutcome(done, dead, matches, time.perf_counter() - started, len(spans))


def _clear(conn: sqlite3.Connection) -> None:
    match_store.clear(conn)
    stream_state.clear(conn)
    journal.clear_dead_letters(conn)


def _finish(conn: sqlite3.Connection, through: int) -> int:
    """Mark the journal applied and the stats current, commit; the matches there are."""
    journal.set_applied_through(conn, through)
    match_store.set_derived_version(conn, DERIVATION_VERSION)
    matches = match_queries.count_matches(conn)
    conn.execute("COMMIT")
    return matches
