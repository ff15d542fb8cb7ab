"""The live board: what changed in the stats, as a version number, for pages that poll.

The worker publishes the newest and the live match summaries after every commit that changed a
match; a page asks ``GET /api/v1/live?since=<version>`` a few times a second and gets an empty
answer at once (no database) while nothing changed. Thread-safe: published from the writer
thread, read from request threads.
"""

from __future__ import annotations

import threading

from companion.model import MatchSummary


class LiveBoard:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._version = 0
        self._last: MatchSummary | None = None
        self._live: MatchSummary | None = None

    def publish(self, last: MatchSummary | None, live: MatchSummary | None) -> None:
        with self._lock:
            self._version += 1
            self._last, self._live = last, live

    def snapshot(self) -> tuple[int, MatchSummary | None, MatchSummary | None]:
        with self._lock:
            return self._version, self._last, self._live

    @property
    def version(self) -> int:
        return self._version
