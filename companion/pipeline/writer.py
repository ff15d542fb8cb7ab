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

import asyncio
import concurrent.futures
import contextlib
import itertools
import logging
import sqlite3
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from companion.errors import StorageUnavailableError
from companion.model import AppendResult, JournalRow, NewEvent
from companion.pipeline.worker import ApplyOutcome, Worker
from companion.storage import journal
from companion.storage.database import connect, rollback
from companion.timefmt import now_us

log = logging.getLogger(__name__)

T = TypeVar("T")

QUIET_BEFORE_APPLY_S = 0.02
MAX_APPLY_DELAY_S = 0.1
# Applying a few rows costs a commit and a write of the live match's stats: a small backlog is
# applied at most this often (the game feed's tick blocks come every 250 ms; live pages stay
# well under a second behind).
MIN_APPLY_INTERVAL_S = 0.2
RETRY_AFTER_FAILURE_S = 1.0
IDLE_EVERY_S = 5.0  # housekeeping (closing a silent match) when nothing else happens
FRESH_ROWS_LIMIT = 50_000


@dataclass(slots=True)
class _Append:
    events: Sequence[NewEvent]
    received_at_us: int
    # A thread's concurrent future, or an asyncio future with the loop it belongs to.
    future: concurrent.futures.Future[AppendResult] | asyncio.Future[AppendResult]
    loop: asyncio.AbstractEventLoop | None = None


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
        # Held while the connection is in use: by the writer thread, or by commit_now.
        self._db_lock = threading.Lock()
        self._jobs: list[_Append | _Call] = []
        self._waiting_events = 0
        self._stopping = False
        self._thread: threading.Thread | None = None
        self._conn: sqlite3.Connection | None = None
        self._paused = paused
        self._pending = 0
        # The rows accepted but not applied, in journal order, while they all fit in memory
        # (None: some are only in the database). Touched only with _db_lock held.
        self._fresh: deque[JournalRow] | None = None
        self._accepted = 0
        self._duplicates = 0
        self._applied = 0
        self._dead = 0
        self._last_event_at: int | None = None
        self._last_applied_at: int | None = None
        self._last_append_mono = 0.0
        self._last_apply_mono = 0.0
        self._apply_blocked_until = 0.0
        self._last_idle_mono = 0.0
        self._storage_error: str | None = None
        # When the sleeping writer thread wakes up by itself (monotonic), None while it is awake.
        self._wake_at: float | None = None

    # -- life cycle ---------------------------------------------------------------------------

    def start(self) -> None:
        conn = connect(self._db_path)
        self._pending = journal.count_pending(conn)
        self._fresh = deque() if self._pending == 0 else None
        self._dead = journal.count_dead_letters(conn)
        self._conn = conn
        self._last_idle_mono = time.monotonic()
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
        self._enqueue(_Append(events, received_at_us or now_us(), future))
        return future

    def submit_async(
        self, events: Sequence[NewEvent], received_at_us: int | None = None
    ) -> asyncio.Future[AppendResult]:
        """Like ``submit``, for a coroutine on a running event loop.

        The writer resolves all of a group's futures of one loop with a single wake-up of that
        loop, which is cheaper than one cross-thread hand-off per request.
        """
        loop = asyncio.get_running_loop()
        future: asyncio.Future[AppendResult] = loop.create_future()
        self._enqueue(_Append(events, received_at_us or now_us(), future, loop))
        return future

    def _enqueue(self, job: _Append | _Call) -> None:
        with self._cond:
            if self._stopping or self._thread is None:
                raise StorageUnavailableError("companion is shutting down")
            self._jobs.append(job)
            if isinstance(job, _Append):
                self._waiting_events += len(job.events)
            self._cond.notify()

    def call(self, fn: Callable[[sqlite3.Connection], T]) -> concurrent.futures.Future[T]:
        """Run ``fn(connection)`` on the writer thread, between groups (maintenance, tests)."""
        future: concurrent.futures.Future[T] = concurrent.futures.Future()
        self._enqueue(_Call(fn, future))
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

    @property
    def queue_depth(self) -> int:
        """Rows accepted but not applied, plus events waiting for their commit (lock-free read)."""
        return self._pending + self._waiting_events

    def status(self) -> PipelineStatus:
        with self._cond:
            return PipelineStatus(
                queue_depth=self.queue_depth,
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
            due = max(due, self._last_apply_mono + MIN_APPLY_INTERVAL_S, self._apply_blocked_until)
        return max(0.0, due - now)

    def _idle_wait(self, now: float) -> float:
        """Seconds until the derivation's housekeeping is due (not while paused or behind)."""
        if self._paused or self._pending:
            return IDLE_EVERY_S
        return max(0.0, self._last_idle_mono + IDLE_EVERY_S - now)

    def _idle(self, conn: sqlite3.Connection) -> None:
        try:
            with self._db_lock:
                self._worker.run_idle(conn)
        except Exception as exc:
            log.error("stats housekeeping failed: %s", exc)
        with self._cond:
            self._last_idle_mono = time.monotonic()

    def _run(self) -> None:
        assert self._conn is not None
        conn = self._conn
        try:
            with self._db_lock:
                self._worker.prepare(conn)
        except Exception:
            log.exception("the stats could not be loaded; they load again with the next rows")
        try:
            while True:
                with self._cond:
                    while not self._jobs and not self._stopping:
                        now = time.monotonic()
                        wait = self._apply_wait(now)
                        idle_in = self._idle_wait(now)
                        if wait == 0.0 or idle_in == 0.0:
                            break
                        timeout = idle_in if wait is None else min(wait, idle_in)
                        self._wake_at = now + timeout
                        self._cond.wait(timeout)
                    self._wake_at = None
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
                    now = time.monotonic()
                    due = self._apply_wait(now) == 0.0
                    idle_due = not due and self._idle_wait(now) == 0.0
                if due:
                    self._apply(conn)
                elif idle_due:
                    self._idle(conn)
        finally:
            self._fail_waiting()
            with self._db_lock:
                conn.close()

    def _commit(self, conn: sqlite3.Connection, appends: list[_Append]) -> None:
        with self._db_lock:
            outcome = self._write(conn, [(job.events, job.received_at_us) for job in appends])
        if isinstance(outcome, StorageUnavailableError):
            _settle([(job, None, outcome) for job in appends])
        else:
            _settle([(job, result, None) for job, result in zip(appends, outcome, strict=True)])

    def _write(
        self, conn: sqlite3.Connection, groups: list[tuple[Sequence[NewEvent], int]]
    ) -> list[AppendResult] | StorageUnavailableError:
        """Append ``groups`` in one transaction and update the counters (``_db_lock`` held)."""
        count = sum(len(events) for events, _ in groups)
        try:
            conn.execute("BEGIN IMMEDIATE")
            results = [journal.append(conn, events, received) for events, received in groups]
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
            return StorageUnavailableError(message)
        accepted = sum(result.accepted for result in results)
        fresh = self._fresh
        if fresh is not None:
            for result in results:
                fresh.extend(result.new_rows)
            if len(fresh) > FRESH_ROWS_LIMIT:
                self._fresh = None  # a long pause: read them back from the database later
        with self._cond:
            self._waiting_events -= count
            self._pending += accepted
            self._accepted += accepted
            self._duplicates += count - accepted
            self._storage_error = None
            if accepted:
                self._last_event_at = groups[-1][1]
            self._last_append_mono = time.monotonic()
        return results

    def commit_now(
        self, events: Sequence[NewEvent], received_at_us: int
    ) -> AppendResult | StorageUnavailableError | None:
        """Commit ``events`` on the caller's thread if the writer is idle, else return None.

        With one client, every request pays its own fsync anyway; doing it here saves the two
        thread hand-offs (measured at about a quarter of a millisecond). Only when nothing is
        queued, so arrival order is kept: a job queued later waits for the connection.
        """
        assert self._conn is not None
        with self._cond:
            if self._jobs or self._stopping or not self._db_lock.acquire(blocking=False):
                return None
            self._waiting_events += len(events)
        try:
            outcome = self._write(self._conn, [(events, received_at_us)])
        finally:
            self._db_lock.release()
        if isinstance(outcome, StorageUnavailableError):
            return outcome
        with self._cond:
            # Wake the writer only when applying is now due before it would wake anyway: a
            # wake-up per request makes the two threads trade the GIL while the answer is sent.
            wake_at = self._wake_at
            if wake_at is not None:
                now = time.monotonic()
                wait = self._apply_wait(now)
                if wait is not None and now + wait < wake_at:
                    self._cond.notify()
        return outcome[0]

    def _apply(self, conn: sqlite3.Connection) -> None:
        # The counters and the hand-off change with _db_lock still held: commit_now (another
        # thread) commits and hands its rows over under that lock, so no commit is halfway
        # (committed, its rows not yet counted) when an empty queue starts a new hand-off.
        with self._db_lock:
            try:
                fresh = self._fresh
                rows = list(itertools.islice(fresh, self._worker.batch_size)) if fresh else None
                outcome = self._worker.run_once(conn, rows)
                if fresh is not None:
                    for _ in range(outcome.rows):
                        fresh.popleft()
            except Exception as exc:
                log.error(
                    "applying journal rows failed, retrying in %.0f s: %s",
                    RETRY_AFTER_FAILURE_S,
                    exc,
                )
                with self._cond:
                    self._storage_error = f"stats could not be updated: {exc}"
                    self._apply_blocked_until = time.monotonic() + RETRY_AFTER_FAILURE_S
                return
            self._settle_apply(conn, outcome)

    def _settle_apply(self, conn: sqlite3.Connection, outcome: ApplyOutcome) -> None:
        """The counters and the hand-off after an apply (``_db_lock`` held)."""
        with self._cond:
            self._last_apply_mono = time.monotonic()
            if outcome.rows == 0:
                # The counter drifted from the table (it never should); trust the table.
                self._pending = journal.count_pending(conn)
                self._fresh = deque() if self._pending == 0 else None
                return
            self._pending -= outcome.rows
            if self._fresh is None and self._pending == 0:
                self._fresh = deque()  # caught up: from now on the new rows are all in memory
            self._applied += outcome.applied
            self._dead += outcome.dead
            self._last_applied_at = now_us()

    def _run_call(self, conn: sqlite3.Connection, job: _Call) -> None:
        try:
            with self._db_lock:
                result = job.fn(conn)
        except BaseException as exc:
            with self._db_lock:
                rollback(conn)
            job.future.set_exception(exc)
        else:
            job.future.set_result(result)

    def _fail_waiting(self) -> None:
        with self._cond:
            jobs, self._jobs = self._jobs, []
            self._stopping = True
        error = StorageUnavailableError("companion is shutting down")
        _settle([(job, None, error) for job in jobs if isinstance(job, _Append)])
        for job in jobs:
            if isinstance(job, _Call) and not job.future.done():
                job.future.set_exception(error)


_Outcome = tuple[_Append, AppendResult | None, BaseException | None]


def _settle(outcomes: list[_Outcome]) -> None:
    """Resolve the callers' futures: thread futures directly, asyncio futures once per loop."""
    by_loop: dict[asyncio.AbstractEventLoop, list[_Outcome]] = {}
    for outcome in outcomes:
        job, result, error = outcome
        if job.loop is None:
            future = job.future
            assert isinstance(future, concurrent.futures.Future)
            if error is not None:
                future.set_exception(error)
            else:
                future.set_result(result)  # type: ignore[arg-type]
        else:
            by_loop.setdefault(job.loop, []).append(outcome)
    for loop, items in by_loop.items():
        with contextlib.suppress(RuntimeError):  # a closed loop: its requests are gone
            loop.call_soon_threadsafe(_settle_on_loop, items)


def _settle_on_loop(outcomes: list[_Outcome]) -> None:
    for job, result, error in outcomes:
        future = job.future
        if future.done():  # the request was cancelled (client gone); the events are stored
            continue
        if error is not None:
            future.set_exception(error)
        else:
            future.set_result(result)  # type: ignore[arg-type]
