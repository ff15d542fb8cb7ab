"""The outbox between a source thread and the writer: ordered, never blocking, retrying.

A source (the Stats API reader) must never wait on the database. It puts journal rows here and
goes on reading. The outbox keeps one submission in flight at a time, so rows reach the journal in
the order they were put, and a failed submission (a full disk) is retried first, after a pause,
with everything that arrived meanwhile behind it. ``stalled`` tells the source that storage is
behind, so it can coalesce what may be coalesced.
"""

from __future__ import annotations

import concurrent.futures
import logging
import threading
import time
from collections.abc import Callable, Sequence

from companion.model import AppendResult, NewEvent

log = logging.getLogger(__name__)

Submit = Callable[[Sequence[NewEvent]], "concurrent.futures.Future[AppendResult]"]

STALL_AFTER_S = 1.0
RETRY_AFTER_S = 1.0


class JournalOutbox:
    """Ordered hand-off of rows to ``submit`` (the writer's), one batch in flight at a time."""

    def __init__(self, submit: Submit, clock: Callable[[], float] = time.monotonic) -> None:
        self._submit = submit
        self._clock = clock
        self._lock = threading.Lock()
        self._idle = threading.Condition(self._lock)
        self._queued: list[NewEvent] = []
        self._in_flight: list[NewEvent] = []
        self._in_flight_since: float | None = None
        self._retry_at = 0.0
        self.committed_rows = 0
        self.failed_submissions = 0

    def put(self, rows: Sequence[NewEvent]) -> None:
        with self._lock:
            self._queued.extend(rows)
        self.pump()

    @property
    def pending_rows(self) -> int:
        with self._lock:
            return len(self._queued) + len(self._in_flight)

    @property
    def stalled(self) -> bool:
        """True while storage is behind: a submission waits for over a second, or failed."""
        with self._lock:
            now = self._clock()
            if now < self._retry_at:
                return True
            since = self._in_flight_since
            return since is not None and now - since > STALL_AFTER_S

    def pump(self) -> None:
        """Submit what is queued if nothing is in flight (and no retry pause is running)."""
        with self._lock:
            if self._in_flight or not self._queued or self._clock() < self._retry_at:
                return
            batch, self._queued = self._queued, []
            self._in_flight = batch
            self._in_flight_since = self._clock()
        try:
            future = self._submit(batch)
        except Exception as exc:  # the writer is stopping or gone
            self._failed(batch, exc)
            return
        future.add_done_callback(lambda done: self._done(batch, done))

    def _done(self, batch: list[NewEvent], future: concurrent.futures.Future[AppendResult]) -> None:
        error = future.exception()
        if error is not None:
            self._failed(batch, error)
            return
        with self._lock:
            self._in_flight = []
            self._in_flight_since = None
            self.committed_rows += len(batch)
            self._idle.notify_all()
        self.pump()

    def _failed(self, batch: list[NewEvent], error: BaseException) -> None:
        log.warning("could not journal %d game feed rows, retrying: %s", len(batch), error)
        with self._lock:
            self._queued[:0] = batch  # first in line again: order is kept
            self._in_flight = []
            self._in_flight_since = None
            self._retry_at = self._clock() + RETRY_AFTER_S
            self.failed_submissions += 1
            self._idle.notify_all()

    def drain(self, timeout: float) -> bool:
        """Submit everything and wait until it is committed; False if time ran out."""
        deadline = time.monotonic() + timeout
        with self._lock:
            self._retry_at = 0.0
        while True:
            self.pump()
            with self._lock:
                if not self._queued and not self._in_flight:
                    return True
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._idle.wait(min(remaining, 0.05))
