"""Where the pages get their data: one small class, so the read API can be plugged in per method.

What the running app knows (the writer's counters, the feed's status, dead letters, file sizes,
the worker's in-memory match summaries), a dry run of ``companion setup-game`` for the first-run
help, and the match data: the same reads as the JSON read API (one shared ``StatsReader``, so
the same "me" and the same cache), as plain mappings with the API's field names, which is what
the templates read. Nothing here renders or knows about HTTP.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from companion.errors import InvalidParameterError
from companion.gamefiles import Environment, discover
from companion.gameini import DEFAULT_RATE, format_rate
from companion.gamesetup import enable, inspect, protected_folders
from companion.model import MatchSummary, NewEvent
from companion.pipeline.match_derivation import CONTROL_SOURCE, NEW_SESSION_EVENT
from companion.services import Services
from companion.storage import journal, page_queries
from companion.timefmt import now_us
from companion.web import stats_api
from companion.web.pages import pitch
from companion.web.stats_reader import StatsReader

# A row of the read API (a match, a session, a player, a day of trends): field names as in its
# JSON answers, so the templates can be written against the API's documented shapes.
ApiItem = Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class Health:
    """The line every page can show: is the feed connected, is the queue draining."""

    feed_state: str  # off, disconnected, connected, receiving
    feed_address: str
    queue_depth: int
    paused: bool
    dead_letters: int
    storage_error: str | None
    last_event_at_us: int | None

    @property
    def feed_connected(self) -> bool:
        return self.feed_state in ("connected", "receiving")


@dataclass(frozen=True, slots=True)
class DeadLetterRow:
    """One journal row set aside because its derivation failed."""

    id: int
    event: str
    source: str
    stream: str
    seq: int | None
    received_at_us: int
    failed_at_us: int
    error: str


@dataclass(frozen=True, slots=True)
class StatusFacts:
    """Everything the status page shows besides dead letters."""

    health: Health
    feed: Mapping[str, Any]
    accepted_total: int
    applied_total: int
    duplicates_total: int
    last_applied_at_us: int | None
    version: str
    started_at_us: int
    uptime_s: float
    port: int
    data_dir: Path
    database: Path
    database_bytes: int
    config_file: Path
    log_dir: Path


class PageData:
    """Reads for the pages; one per app, safe to call from any request thread."""

    def __init__(self, services: Services, reader: StatsReader | None = None) -> None:
        self._services = services
        self._reader = reader or StatsReader(services)

    # -- what the running app knows (phase 1) --------------------------------------------------

    def health(self) -> Health:
        snap = self._services.writer.status()
        feed = self._services.feed_status()
        return Health(
            feed_state=feed.state,
            feed_address=feed.address,
            queue_depth=snap.queue_depth,
            paused=snap.paused,
            dead_letters=snap.dead_letters,
            storage_error=snap.storage_error,
            last_event_at_us=snap.last_event_at_us,
        )

    def status(self) -> StatusFacts:
        services = self._services
        snap = services.writer.status()
        paths = services.paths
        return StatusFacts(
            health=self.health(),
            feed=services.feed_status().as_dict(),
            accepted_total=snap.accepted_total,
            applied_total=snap.applied_total,
            duplicates_total=snap.duplicates_total,
            last_applied_at_us=snap.last_applied_at_us,
            version=services.version,
            started_at_us=services.started_at_us,
            uptime_s=(now_us() - services.started_at_us) / 1e6,
            port=services.port,
            data_dir=paths.data_dir,
            database=paths.database,
            database_bytes=database_bytes(paths.database),
            config_file=paths.config_file,
            log_dir=paths.log_dir,
        )

    def dead_letters(self, limit: int = 50) -> tuple[list[DeadLetterRow], int]:
        """The newest dead letters (at most ``limit``) and how many there are in all."""
        conn = self._services.readers.get()
        rows = [
            DeadLetterRow(
                id=item["row"].id,
                event=item["row"].event,
                source=item["row"].source,
                stream=item["row"].stream,
                seq=item["row"].seq,
                received_at_us=item["row"].received_at_us,
                failed_at_us=item["failed_at_us"],
                error=item["error"],
            )
            for item in journal.list_dead_letters(conn, limit)
        ]
        return rows, journal.count_dead_letters(conn)

    def live_match(self) -> MatchSummary | None:
        return self._services.live_match()

    def feed_plan(self) -> FeedPlan:
        """For the first-run help: what ``companion setup-game`` would change on this machine."""
        return feed_plan()

    def has_matches(self) -> bool:
        """False until the first match was seen: the dashboard then shows its first-run help."""
        return self._services.last_match() is not None

    # -- match data: the read API's answers (the same StatsReader, so the same "me" and cache) --

    def current_session(self) -> ApiItem:
        """As ``GET /api/v1/sessions/current``."""
        return self._reader.current_session()

    def recent_matches(self, limit: int = 10) -> list[ApiItem]:
        """As ``GET /api/v1/matches?limit=...``: the newest matches."""
        return list(self._reader.matches(limit=limit)[0])

    def matches(self, filters: Mapping[str, str], limit: int = 50) -> MatchListing:
        """As ``GET /api/v1/matches`` with the page's filters (the form's field names are the
        API's query names: ``result``, ``mode``, ``player``, ``side``, ``from``, ``to``,
        ``before``). A value the API would refuse is reported, and the list is left empty."""
        limit = max(1, min(limit, 500))
        try:
            where = stats_api.match_filter_of(
                filters.get("result"),
                filters.get("mode"),
                filters.get("player"),
                filters.get("side"),
                None,
                filters.get("from"),
                filters.get("to"),
            )
            before = _cursor(filters.get("before"))
        except InvalidParameterError as exc:
            return MatchListing([], None, exc.message)
        page, cursor = self._reader.matches(limit=limit, before=before, where=where)
        return MatchListing(list(page), cursor, None)

    def match(self, match_id: int) -> ApiItem | None:
        """As ``GET /api/v1/matches/{id}`` (None: no such match)."""
        return self._reader.match(match_id)

    def sessions(self, limit: int = 100) -> tuple[list[ApiItem], ApiItem]:
        """As ``GET /api/v1/sessions`` (newest first) and ``GET /api/v1/sessions/current``."""
        found, current = self._reader.sessions_and_current(limit)
        return list(found), current

    def players(self, search: str | None = None, limit: int = 200) -> list[ApiItem]:
        """As ``GET /api/v1/players?q=...``: everyone met, most games first."""
        return list(self._reader.players(limit, search or None))

    def career(self, primary_id: str) -> ApiItem | None:
        """As ``GET /api/v1/players/{primary_id}`` (None: never met), with what its drawings
        need worked out once per generation (a long career has tens of thousands of touches):
        ``heat`` (heatmap cells), ``halves`` (touches in their own half and the other),
        ``arrows`` (the newest goals for the goal map) and ``fastest`` (km/h or None)."""
        career = self._reader.career(primary_id)
        if career is None:
            return None
        conn = self._services.readers.get()
        return self._reader.cached(conn, ("career-view", primary_id), lambda: _drawn(career))

    def trends(self, period: str = "day", mode: str | None = None) -> list[ApiItem]:
        """As ``GET /api/v1/summary?period=...&mode=...``, oldest first."""
        return list(self._reader.summary(period=period, mode=mode))

    def live_board(self) -> LiveBoardView:
        """As ``GET /api/v1/live``: the version to poll from, whether a match is live, and the
        live match (or, between matches, the last one) with its players."""
        version, last, live = self._services.live_board.snapshot()
        shown = live or last
        match = None if shown is None else self._reader.match(shown.match_id, whole=False)
        return LiveBoardView(version, live is not None, match)

    async def start_new_session(self) -> None:
        """As ``POST /api/v1/sessions/new``: journal the mark; the next match opens a session."""
        event = NewEvent(CONTROL_SOURCE, "control", None, NEW_SESSION_EVENT, "{}")
        await self._services.writer.submit_async([event], now_us())

    def me(self) -> tuple[str | None, str | None]:
        """Who "me" is and why: ``(primary_id, "configured" | "detected" | None)``."""
        return self._reader.me_source()

    def recent_people(self, matches: int = 300) -> list[ApiItem]:
        """Everyone (bots left out) in the newest matches, me included, most games first, as
        ``{"primary_id", "name", "games"}``: the match history's player filter and the choices
        for the ``me`` setting (cheap at any history size, unlike all players met)."""
        conn = self._services.readers.get()
        return [
            {"primary_id": pid, "name": name, "games": games}
            for pid, name, games in page_queries.recent_people(conn, matches)
        ]


@dataclass(frozen=True, slots=True)
class LiveBoardView:
    version: int
    live: bool
    match: ApiItem | None


@dataclass(frozen=True, slots=True)
class MatchListing:
    """One page of the match history: the matches, the cursor to the next page (None on the
    last) and what was wrong with the filters (None when they were fine)."""

    matches: list[ApiItem]
    next_before: int | None
    problem: str | None


GOALS_DRAWN = 200  # the newest goals on a career's goal map (all are counted)


def _drawn(career: ApiItem) -> ApiItem:
    goals = career["goals"]
    speeds = [g["speed_kph"] for g in goals if g["speed_kph"] is not None]
    return {
        **career,
        "heat": pitch.heatmap(career["touches"]),
        "halves": pitch.halves(career["touches"]),
        "arrows": pitch.goal_arrows(goals[-GOALS_DRAWN:]),
        "fastest": max(speeds) if speeds else None,
    }


def _cursor(value: str | None) -> int | None:
    if not value:
        return None
    if not value.isdigit() or int(value) < 1:
        raise InvalidParameterError("before: must be a match id (a whole number from 1)")
    return int(value)


@dataclass(frozen=True, slots=True)
class PlannedFile:
    """One ini file and what the command would do to it."""

    path: str
    where: str
    status: str  # would-change, already, missing, failed
    diff: tuple[str, ...]
    error: str | None
    needs_admin: bool


@dataclass(frozen=True, slots=True)
class FeedPlan:
    """The dry run's outcome: the files found (or looked for) and the rate it would set."""

    rate: str
    files: tuple[PlannedFile, ...]

    @property
    def found(self) -> tuple[PlannedFile, ...]:
        return tuple(item for item in self.files if item.status != "missing")

    @property
    def feed_enabled(self) -> bool:
        """True when every file found already has the feed on."""
        return bool(self.found) and all(item.status == "already" for item in self.found)


def feed_plan(env: Environment | None = None) -> FeedPlan:
    """What ``companion setup-game`` would change here: a dry run of the same code (it reads the
    game's Stats API ini files where they are usually found and writes nothing). ``env``
    replaces this machine's environment in tests."""
    env = env or Environment.current()
    protected = protected_folders(env)
    stamp = time.strftime("%Y%m%dT%H%M%S")
    files = []
    for location in discover(env).locations:
        state = inspect(location, protected)
        outcome = enable(state, DEFAULT_RATE, dry_run=True, stamp=stamp)
        files.append(
            PlannedFile(
                path=str(location.ini),
                where=location.where,
                status=outcome.status,
                diff=tuple(outcome.diff),
                error=outcome.error,
                needs_admin=state.protected and outcome.status == "would-change",
            )
        )
    return FeedPlan(rate=format_rate(DEFAULT_RATE), files=tuple(files))


def database_bytes(database: Path) -> int:
    """The database's size on disk, its write-ahead log included (what a player would back up)."""
    total = 0
    for suffix in ("", "-wal"):
        with contextlib.suppress(OSError):  # no WAL file while nothing is open
            total += database.with_name(database.name + suffix).stat().st_size
    return total
