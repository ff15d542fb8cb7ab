"""The stats reads shared by the JSON read API and the pages: who "me" is and the cache of
answers over finished matches, so a page and the API always give the same answer (and share
one cache, emptied when a match closes).

No SQL here: the storage modules answer; this only decides "me", the session gap and caching.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Hashable
from typing import Any, TypeVar

from companion.services import Services
from companion.stats import sessions as grouping
from companion.stats.cache import GenerationCache
from companion.storage import match_queries, match_store, stats_queries
from companion.storage.match_queries import MatchFilter
from companion.timefmt import now_us

T = TypeVar("T")


class StatsReader:
    """One per app; safe to call from any request thread (each gets its own reader connection)."""

    def __init__(self, services: Services) -> None:
        self._services = services
        self.cache = GenerationCache()

    def conn(self) -> sqlite3.Connection:
        return self._services.readers.get()

    def me(self, conn: sqlite3.Connection) -> str | None:
        """The ``me`` setting, else the player the camera followed most often (detected)."""
        return self._services.settings.me or match_queries.detected_me(conn)

    def me_source(self) -> tuple[str | None, str | None]:
        """``(primary_id, "configured" | "detected" | None)``."""
        if self._services.settings.me:
            return self._services.settings.me, "configured"
        detected = match_queries.detected_me(self.conn())
        return detected, detected and "detected"

    def cached(self, conn: sqlite3.Connection, key: Hashable, compute: Callable[[], T]) -> T:
        return self.cache.get(match_store.generation(conn), key, compute)

    # -- matches -------------------------------------------------------------------------------

    def matches(
        self, *, limit: int, before: int | None = None, where: MatchFilter | None = None
    ) -> tuple[list[dict[str, Any]], int | None]:
        conn = self.conn()
        return match_queries.list_matches(
            conn, self.me(conn), limit=limit, before=before, where=where
        )

    def match(self, match_id: int, *, whole: bool = True) -> dict[str, Any] | None:
        conn = self.conn()
        return match_queries.get_match(conn, self.me(conn), match_id, whole=whole)

    def live_match(self) -> dict[str, Any] | None:
        conn = self.conn()
        match_id = match_queries.live_match_id(conn)
        return None if match_id is None else match_queries.get_match(conn, self.me(conn), match_id)

    # -- sessions ------------------------------------------------------------------------------

    def all_sessions(self) -> tuple[list[grouping.Session], list[int], int]:
        conn = self.conn()
        who = self.me(conn)
        marks = stats_queries.session_marks(conn)
        gap = self._services.settings.session_gap_minutes * 60_000_000
        finished = self.cached(
            conn,
            ("sessions", who),
            lambda: stats_queries.session_matches(conn, who, live=False),
        )
        matches = finished + stats_queries.session_matches(conn, who, live=True)
        return grouping.group(matches, marks, gap), marks, gap

    def sessions(self, limit: int) -> list[dict[str, Any]]:
        found, _, _ = self.all_sessions()
        return [s.summary() for s in reversed(found[-limit:])]

    def current_session(self) -> dict[str, Any]:
        found, marks, gap = self.all_sessions()
        return grouping.current(found, marks, gap, now_us()).summary()

    def sessions_and_current(self, limit: int) -> tuple[list[dict[str, Any]], dict[str, Any]]:
        """``sessions(limit)`` and ``current_session()`` from one grouping."""
        found, marks, gap = self.all_sessions()
        now = grouping.current(found, marks, gap, now_us()).summary()
        return [s.summary() for s in reversed(found[-limit:])], now

    # -- players and trends --------------------------------------------------------------------

    def players(self, limit: int, search: str | None = None) -> list[dict[str, Any]]:
        conn = self.conn()
        who = self.me(conn)
        return self.cached(
            conn,
            ("players", who, limit, search),
            lambda: stats_queries.players(conn, who, limit=limit, search=search),
        )

    def career(self, primary_id: str) -> dict[str, Any] | None:
        conn = self.conn()
        who = self.me(conn)
        return self.cached(
            conn, ("career", who, primary_id), lambda: stats_queries.career(conn, who, primary_id)
        )

    def summary(
        self,
        *,
        since_us: int | None = None,
        until_us: int | None = None,
        period: str = "day",
        mode: str | None = None,
    ) -> list[dict[str, Any]]:
        conn = self.conn()
        who = self.me(conn)
        return self.cached(
            conn,
            ("summary", who, since_us, until_us, period, mode),
            lambda: stats_queries.summary(
                conn, who, since_us=since_us, until_us=until_us, period=period, mode=mode
            ),
        )

    def export_rows(self, where: MatchFilter | None = None) -> Any:
        conn = self.conn()
        return match_queries.export_rows(conn, self.me(conn), where)
