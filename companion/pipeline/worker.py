"""The worker: applies journal rows strictly in journal order, a batch per transaction.

``run_once`` applies at most one batch and marks it applied in the same transaction, so a crash
leaves either the whole batch applied or none of it. A row whose derivation raises is retried alone
inside a savepoint and, failing again, goes to dead letters while the batch goes on. Storage
failures (disk full, I/O errors) are not the row's fault: they abort the batch and are raised.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass

from companion.model import JournalRow
from companion.pipeline.derivation import Derivation
from companion.storage import journal
from companion.storage.database import rollback
from companion.timefmt import now_us

log = logging.getLogger(__name__)

DEFAULT_BATCH = 2000


@dataclass(frozen=True, slots=True)
class ApplyOutcome:
    applied: int = 0
    dead: int = 0
    last_id: int = 0

    @property
    def rows(self) -> int:
        return self.applied + self.dead


def is_storage_failure(exc: BaseException) -> bool:
    """True when ``exc`` says the database cannot write, rather than that the row is bad."""
    return isinstance(exc, sqlite3.Error) and not isinstance(
        exc, sqlite3.IntegrityError | sqlite3.DataError | sqlite3.ProgrammingError
    )


class Worker:
    """Applies journal rows through a ``Derivation``; driven by the writer thread."""

    def __init__(
        self,
        derivation: Derivation,
        batch_size: int = DEFAULT_BATCH,
        clock: Callable[[], int] = now_us,
    ) -> None:
        self.derivation = derivation
        self.batch_size = batch_size
        self._clock = clock
        self._through: int | None = None
        self._retried = False

    def applied_through(self, conn: sqlite3.Connection) -> int:
        if self._through is None:
            self._through = journal.applied_through(conn)
        return self._through

    def run_once(
        self, conn: sqlite3.Connection, rows: list[JournalRow] | None = None
    ) -> ApplyOutcome:
        """Apply the next batch of rows (up to ``batch_size``); return what was done.

        ``rows``, when given, must be exactly the next rows of the journal (the writer passes
        the ones it has just appended); otherwise they are read from the database.
        """
        if rows is None:
            rows = journal.read_after(conn, self.applied_through(conn), self.batch_size)
        if not rows:
            return ApplyOutcome()
        now = self._clock()
        conn.execute("BEGIN IMMEDIATE")
        try:
            outcome = self.apply_rows(conn, rows, now)
            journal.set_applied_through(conn, rows[-1].id)
            conn.execute("COMMIT")
        except BaseException:
            # After a batch, going back to its start is exact; after rows retried one by one
            # (each its own begin), only reloading from the database is.
            if self._retried:
                self.derivation.reset()
            else:
                self.derivation.discard()
            rollback(conn)
            raise
        self._through = rows[-1].id
        return outcome

    def apply_rows(
        self, conn: sqlite3.Connection, rows: list[JournalRow], now: int
    ) -> ApplyOutcome:
        """Apply ``rows`` inside the caller's transaction: as one batch; when a row raises, the
        batch is rolled back to its savepoint and the rows go again one by one, a failing one to
        dead letters. Storage failures are raised (the caller rolls back)."""
        derivation = self.derivation
        self._retried = False
        conn.execute("SAVEPOINT batch")
        try:
            derivation.begin(conn, now)
            for row in rows:
                derivation.apply(conn, row, now)
            derivation.flush(conn, now)
        except Exception as exc:
            derivation.discard()
            conn.execute("ROLLBACK TO batch")
            conn.execute("RELEASE batch")
            if is_storage_failure(exc):
                raise
            self._retried = True
            return self._apply_one_by_one(conn, rows, now)
        conn.execute("RELEASE batch")
        return ApplyOutcome(applied=len(rows), last_id=rows[-1].id)

    def _apply_one_by_one(
        self, conn: sqlite3.Connection, rows: list[JournalRow], now: int
    ) -> ApplyOutcome:
        applied = dead = 0
        for row in rows:
            conn.execute("SAVEPOINT one_row")
            try:
                self.derivation.begin(conn, now)
                self.derivation.apply(conn, row, now)
                self.derivation.flush(conn, now)
            except Exception as exc:
                self.derivation.discard()
                conn.execute("ROLLBACK TO one_row")
                conn.execute("RELEASE one_row")
                if is_storage_failure(exc):
                    raise
                error = f"{type(exc).__name__}: {exc}"
                log.warning(
                    "journal row %d (%s) moved to dead letters: %s", row.id, row.event, error
                )
                journal.add_dead_letter(conn, row.id, error[:2000], now)
                dead += 1
            else:
                conn.execute("RELEASE one_row")
                applied += 1
        return ApplyOutcome(applied=applied, dead=dead, last_id=rows[-1].id)

    def prepare(self, conn: sqlite3.Connection) -> None:
        """Let the derivation load what it keeps in memory (at start, before any row)."""
        self.derivation.begin(conn, self._clock())

    def run_idle(self, conn: sqlite3.Connection) -> None:
        """Let the derivation do its housekeeping (close a match after a silence), in its own
        transaction. Only when the journal is caught up: otherwise the rows' own times decide."""
        if journal.count_pending(conn):
            return
        now = self._clock()
        conn.execute("BEGIN IMMEDIATE")
        try:
            self.derivation.begin(conn, now)
            self.derivation.idle(conn, now)
            self.derivation.flush(conn, now)
            conn.execute("COMMIT")
        except BaseException:
            self.derivation.discard()
            rollback(conn)
            raise
