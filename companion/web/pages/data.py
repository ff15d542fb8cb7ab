"""Where the pages get their data: one small class, so the read API can be plugged in per method.

Phase 1 serves what the running app already knows (the writer's counters, the feed's status,
dead letters, file sizes, the worker's in-memory match summaries) and a dry run of
``companion setup-game`` for the first-run help. The match-data methods
(``recent_matches``, ``current_session``, ``matches``, ``sessions``, ``players``, ``trends``)
return nothing yet: phase 2 makes them call the same functions as the read API
(``GET /api/v1/matches`` ...) and return its items as plain mappings with the API's field names,
which is what the templates read. Nothing here renders or knows about HTTP.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from companion.gamefiles import Environment, discover
from companion.gameini import DEFAULT_RATE, format_rate
from companion.gamesetup import enable, inspect, protected_folders
from companion.model import MatchSummary
from companion.services import Services
from companion.storage import journal
from companion.timefmt import now_us

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

    def __init__(self, services: Services) -> None:
        self._services = services

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

    # -- match data: phase 2 plugs in the read API here ----------------------------------------
    # Each returns what the matching route of ``companion.web.stats_api`` answers (the storage
    # functions there already give JSON-ready dicts), so a method body becomes one call with
    # ``conn = self._services.readers.get()`` and ``me = settings.me or detected_me(conn)``.

    def current_session(self) -> ApiItem | None:
        """Phase 2: as ``GET /api/v1/sessions/current`` (``stats.sessions.current(...)``)."""
        return None

    def recent_matches(self, limit: int = 10) -> list[ApiItem]:
        """Phase 2: ``match_queries.list_matches(conn, me, limit=limit, before=None,
        where=MatchFilter())[0]``, as ``GET /api/v1/matches``."""
        return []

    def matches(self, filters: Mapping[str, str]) -> list[ApiItem]:
        """Phase 2: ``GET /api/v1/matches`` with the page's filters; the form's field names are
        the API's query names (``result``, ``mode``, ``player``, ``from``, ``to``)."""
        return []

    def sessions(self) -> list[ApiItem]:
        """Phase 2: ``GET /api/v1/sessions``."""
        return []

    def players(self) -> list[ApiItem]:
        """Phase 2: ``stats_queries.players(conn, me, limit=..., search=None)``."""
        return []

    def trends(self) -> list[ApiItem]:
        """Phase 2: ``stats_queries.summary(...)`` rows, as ``GET /api/v1/summary``."""
        return []


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
