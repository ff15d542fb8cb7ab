"""The writer thread: the only owner of the write connection.

It does two jobs, in one thread so they never contend for the database:

- **Group commit.** Appends from every source wait in one queue; the thread takes all that are
  waiting, inserts them in arrival order in one transaction, commits (WAL, synchronous=FULL) and
  only then resolves each caller's future. Durability costs one fsync per group, not per request.
- **Worker pacing.** Between groups it lets the worker apply journal rows. Applying also commits,
  and an fsync per tiny apply batch would slow ingest, so it waits for a quiet moment (or a while
  since the last apply, or a big backlog) before applying.

The thread survives any exception: a failed group fails its callers with StorageUnavailableError
and the loop goes on.
"""

from __future__ import annotations

import concurrent.futures
import logging
import sqlite3
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from companion.errors import StorageUnavailableError
from companion.model import AppendResult, NewEvent
from companion.pipeline.worker import Worker
from companion.storage import journal
from companion.storage.database import connect, rollback
from companion.timefmt import now_us

log = logging.getLogger(__name__)

T = TypeVar("T")

QUIET_BEFORE_APPLY_S = 0.02
MAX_APPLY_DELAY_S = 0.1
RETRY_AFTER_FAILURE_S = 1.0


@dataclass(slots=True)
class _Append:
    events: Sequence[NewEvent]
    received_at_us: int
    future: concurrent.futures.Future[AppendResult]


@dataclass(slots=True)
class _Call:
    fn: Callable[[sqlite3.Connection], Any]
    future: concurrent.futures.Future[Any]


@dataclass(frozen=True, slots=True)
class PipelineStatus:
    """A consistent snapshot of the pipeline's counters (the status route and the tray read it)."""

    queue_depth: int
    accepted_total: int
    duplicates_total: int
    applied_total: int
    dead_letters: int
    paused: bool
    running: bool
    last_event_at_us: int | None
    last_applied_at_us: int | None
    storage_error: str | None


class Writer:
    """Owns the write connection on its own thread; see the module docstring."""

    def __init__(self, db_path: Path, worker: Worker, *, paused: bool = False) -> None:
        self._db_path = db_path
        self._worker = worker
        self._cond = threading.Condition()
        self._jobs: list[_Append | _Call] = []
        self._waiting_events = 0
        self._stopping = False
        self._thread: threading.Thread | None = None
        self._conn: sqlite3.Connection | None = None
        self._paused = paused
        self._pending = 0
        self._accepted = 0
        self._duplicates = 0
        self._applied = 0
        self._dead = 0
        self._last_event_at: int | None = None
        self._last_applied_at: int | None = None
        self._last_append_mono = 0.0
        self._last_apply_mono = 0.0
        self._apply_blocked_until = 0.0
        self._storage_error: str | None = None

    # -- life cycle ---------------------------------------------------------------------------

    def start(self) -> None:
        conn = connect(self._db_path)
        self._pending = journal.count_pending(conn)
        self._dead = journal.count_dead_letters(conn)
        self._conn = conn
        self._thread = threading.Thread(target=self._run, name="companion-writer", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        """Commit what is waiting, stop applying, close the connection."""
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
        if self._thread is not None:
            self._thread.join(timeout)
            if self._thread.is_alive():
                log.error("the writer thread did not stop within %.0f s", timeout)

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive() and not self._stopping

    # -- what other threads call --------------------------------------------------------------

    def submit(
        self, events: Sequence[NewEvent], received_at_us: int | None = None
    ) -> concurrent.futures.Future[AppendResult]:
        """Queue ``events`` for the next group commit; the future resolves after the COMMIT."""
        future: concurrent.futures.Future[AppendResult] = concurrent.futures.Future()
        job = _Append(events, received_at_us or now_us(), future)
        with self._cond:
            if self._stopping or self._thread is None:
                raise StorageUnavailableError("companion is shutting down")
            self._jobs.append(job)
            self._waiting_events += len(events)
            self._cond.notify()
        return future

    def call(self, fn: Callable[[sqlite3.Connection], T]) -> concurrent.futures.Future[T]:
        """Run ``fn(connection)`` on the writer thread, between groups (maintenance, tests)."""
        future: concurrent.futures.Future[T] = concurrent.futures.Future()
        with self._cond:
            if self._stopping or self._thread is None:
                raise StorageUnavailableError("companion is shutting down")
            self._jobs.append(_Call(fn, future))
            self._cond.notify()
        return future

    def pause(self) -> None:
        """Stop applying rows; ingest goes on accepting and journaling."""
        with self._cond:
            self._paused = True

    def resume(self) -> None:
        with self._cond:
            self._paused = False
            self._cond.notify()

    @property
    def paused(self) -> bool:
        return self._paused

    def status(self) -> PipelineStatus:
        with self._cond:
            return PipelineStatus(
                queue_depth=self._pending + self._waiting_events,
                accepted_total=self._accepted,
                duplicates_total=self._duplicates,
                applied_total=self._applied,
                dead_letters=self._dead,
                paused=self._paused,
                running=self.running,
                last_event_at_us=self._last_event_at,
                last_applied_at_us=self._last_applied_at,
                storage_error=self._storage_error,
            )

    # -- the thread ---------------------------------------------------------------------------

    def _apply_wait(self, now: float) -> float | None:
        """Seconds until applying is due (0 = now), or None when there is nothing to apply."""
        if self._paused or self._pending == 0:
            return None
        if self._pending >= self._worker.batch_size:
            due = self._apply_blocked_until
        else:
            due = min(
                self._last_append_mono + QUIET_BEFORE_APPLY_S,
                self._last_apply_mono + MAX_APPLY_DELAY_S,
            )
            due = max(due, self._apply_blocked_until)
        return max(0.0, due - now)

    def _run(self) -> None:
        assert self._conn is not None
        conn = self._conn
        try:
            while True:
                with self._cond:
                    while not self._jobs and not self._stopping:
                        wait = self._apply_wait(time.monotonic())
                        if wait == 0.0:
                            break
                        self._cond.wait(wait)
                    jobs, self._jobs = self._jobs, []
                    stopping = self._stopping
                appends = [job for job in jobs if isinstance(job, _Append)]
                if appends:
                    self._commit(conn, appends)
                for job in jobs:
                    if isinstance(job, _Call):
                        self._run_call(conn, job)
                if stopping:
                    with self._cond:
                        if not self._jobs:
                            break
                    continue
                with self._cond:
                    due = self._apply_wait(time.monotonic()) == 0.0
                if due:
                    self._apply(conn)
        finally:
            self._fail_waiting()
            conn.close()

    def _commit(self, conn: sqlite3.Connection, appends: list[_Append]) -> None:
        count = sum(len(job.events) for job in appends)
        try:
            conn.execute("BEGIN IMMEDIATE")
            results = [journal.append(conn, job.events, job.received_at_us) for job in appends]
            conn.execute("COMMIT")
        except Exception as exc:
            try:
                rollback(conn)
            except Exception:
                log.exception("rollback after a failed group commit failed")
            message = f"the journal could not be written: {exc}"
            log.error("group commit of %d events failed: %s", count, exc)
            with self._cond:
                self._waiting_events -= count
                self._storage_error = message
            for job in appends:
                job.future.set_exception(StorageUnavailableError(message))
            return
        accepted = sum(result.accepted for result in results)
        with self._cond:
            self._waiting_events -= count
            self._pending += accepted
            self._accepted += accepted
            self._duplicates += count - accepted
            self._storage_error = None
            if accepted:
                self._last_event_at = appends[-1].received_at_us
            self._last_append_mono = time.monotonic()
        for job, result in zip(appends, results, strict=True):
            job.future.set_result(result)

    def _apply(self, conn: sqlite3.Connection) -> None:
        try:
            outcome = self._worker.run_once(conn)
        except Exception as exc:
            log.error(
                "applying journal rows failed, retrying in %.0f s: %s", RETRY_AFTER_FAILURE_S, exc
            )
            with self._cond:
                self._storage_error = f"stats could not be updated: {exc}"
                self._apply_blocked_until = time.monotonic() + RETRY_AFTER_FAILURE_S
            return
        with self._cond:
            self._last_apply_mono = time.monotonic()
            if outcome.rows == 0:
                # The counter drifted from the table (it never should); trust the table.
                self._pending = journal.count_pending(conn)
                return
            self._pending -= outcome.rows
            self._applied += outcome.applied
            self._dead += outcome.dead
            self._last_applied_at = now_us()

    def _run_call(self, conn: sqlite3.Connection, job: _Call) -> None:
        try:
            result = job.fn(conn)
        except BaseException as exc:
            rollback(conn)
            job.future.set_exception(exc)
        else:
            job.future.set_result(result)

    def _fail_waiting(self) -> None:
        with self._cond:
            jobs, self._jobs = self._jobs, []
            self._stopping = True
        for job in jobs:
            if not job.future.done():
                job.future.set_exception(StorageUnavailableError("companion is shutting down"))
