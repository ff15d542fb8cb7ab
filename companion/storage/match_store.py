"""SQL of the derived match tables, write side: upsert what the derivation says a match is now.

A match's records only ever grow while it is open (goals, statfeed events, touches and crossbar
hits are appended with an index), so a :class:`MatchWriter` remembers how many of each it has
written per match and inserts only the new ones; the match row and its few player lines are
replaced whole. After a rolled-back transaction the caller calls :meth:`MatchWriter.forget`, and
the next write of each match rewrites it whole, which is always correct.

Every function runs inside the caller's transaction (the worker's).
"""

from __future__ import annotations

import dataclasses
import sqlite3
from collections.abc import Iterable, Mapping
from typing import Any

import orjson

from companion.derive.records import MatchBundle, PlayerLine, TeamRecord, TelemetryRecord, Who
from companion.storage import touches

_MATCH_COLUMNS = (
    "key, guid, segment, arena, mode, playlist_id, started_at, ended_at, last_at, duration_s, "
    "played_s, overtime, state, forfeit, winner_team, mvp, me_primary_id, me_team, teams, "
    "approximate"
)
_UPSERT_MATCH = (
    f"INSERT INTO matches ({_MATCH_COLUMNS}) VALUES ({', '.join('?' * 20)}) "
    "ON CONFLICT (key) DO UPDATE SET "
    + ", ".join(f"{c} = excluded.{c}" for c in _MATCH_COLUMNS.split(", ")[1:])
    + " RETURNING id"
)
_INSERT_PLAYER = (
    "INSERT OR REPLACE INTO match_players (match_id, player_key, name, primary_id, shortcut, "
    "team, bot, score, goals, shots, assists, saves, touches, car_touches, demos, demos_taken, "
    "telemetry) VALUES (" + ", ".join("?" * 17) + ")"
)
_INSERT_GOAL = (
    "INSERT OR REPLACE INTO match_goals (match_id, idx, received_at, clock_s, overtime, team, "
    "scorer, assister, last_touch, scorer_primary_id, speed, last_touch_speed, goal_time, impact, "
    "scorer_last_hit) VALUES (" + ", ".join("?" * 15) + ")"
)
_INSERT_EVENT = (
    "INSERT OR REPLACE INTO match_events (match_id, idx, received_at, event_name, main, "
    "secondary, clock_s, overtime) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
)
_INSERT_CROSSBAR = (
    "INSERT OR REPLACE INTO crossbar_hits (match_id, idx, received_at, location, ball_speed, "
    "impact_force, last_touch, last_touch_speed) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
)
# Every table that belongs to a match, children first.
MATCH_CHILD_TABLES = (
    "match_players",
    "match_goals",
    "match_events",
    "match_touches",
    "crossbar_hits",
)
DERIVED_TABLES = (*MATCH_CHILD_TABLES, "matches", "session_marks")


def _json(value: Any) -> str | None:
    return None if value is None else orjson.dumps(value).decode()


def who_json(who: Who | None) -> str | None:
    """A player reference, compact (statfeed events have thousands a season):
    ``[name, team, primary_id, shortcut]``."""
    if who is None:
        return None
    return _json([who.name, who.team, who.primary_id, who.shortcut])


_TELEMETRY_FIELDS = tuple(f.name for f in dataclasses.fields(TelemetryRecord))
_TEAM_FIELDS = tuple(f.name for f in dataclasses.fields(TeamRecord))


def _telemetry(line: PlayerLine) -> dict[str, Any] | None:
    # Not dataclasses.asdict: it deep-copies field by field, and this runs for every player
    # every time the live match is written (a few times a second).
    telemetry = line.telemetry
    if telemetry is None:
        return None
    return {name: getattr(telemetry, name) for name in _TELEMETRY_FIELDS}


def _match_row(bundle: MatchBundle) -> tuple[Any, ...]:
    m = bundle.match
    me_team = next(
        (p.team for p in bundle.players if m.me_primary_id and p.primary_id == m.me_primary_id),
        None,
    )
    teams = [{name: getattr(team, name) for name in _TEAM_FIELDS} for team in m.teams]
    approximate = any(
        line.telemetry is not None and line.telemetry.approximate for line in bundle.players
    )
    return (
        m.key,
        m.guid,
        m.segment,
        m.arena,
        m.mode,
        m.playlist_id,
        m.started_at_us,
        m.ended_at_us,
        m.last_at_us,
        m.duration_s,
        m.played_s,
        m.overtime,
        m.state,
        m.forfeit,
        m.winner_team,
        who_json(m.mvp),
        m.me_primary_id,
        me_team,
        _json(teams),
        approximate,
    )


class MatchWriter:
    """Upserts match bundles; remembers what it wrote so an open match costs only its news."""

    def __init__(self) -> None:
        # key -> (match id, goals, events, hits, crossbar hits) written so far
        self._written: dict[str, tuple[int, int, int, int, int]] = {}
        self._packers: dict[str, touches.Packer] = {}  # the touches of the matches above

    def forget(self) -> None:
        """After a rollback: what was written is unknown, so rewrite each match whole next."""
        self._written.clear()
        self._packers.clear()

    def forget_match(self, key: str) -> None:
        """A closed match will not change again: stop remembering it."""
        self._written.pop(key, None)
        self._packers.pop(key, None)

    def write(self, conn: sqlite3.Connection, bundles: Iterable[MatchBundle]) -> dict[str, int]:
        """Upsert each bundle; return ``{key: match id}``."""
        ids: dict[str, int] = {}
        for bundle in bundles:
            ids[bundle.key] = self._write_one(conn, bundle)
        return ids

    def _write_one(self, conn: sqlite3.Connection, bundle: MatchBundle) -> int:
        (match_id,) = conn.execute(_UPSERT_MATCH, _match_row(bundle)).fetchone()
        known = self._written.get(bundle.key)
        if known is None or known[0] != match_id:
            for table in MATCH_CHILD_TABLES:
                conn.execute(f"DELETE FROM {table} WHERE match_id = ?", (match_id,))
            known = (match_id, 0, 0, 0, 0)
        _, goals, events, hits, crossbars = known
        conn.executemany(_INSERT_PLAYER, [_player_row(match_id, p) for p in bundle.players])
        conn.executemany(_INSERT_GOAL, [_goal_row(match_id, g) for g in bundle.goals[goals:]])
        conn.executemany(_INSERT_EVENT, [_event_row(match_id, e) for e in bundle.events[events:]])
        if len(bundle.ball_hits) != hits:
            packer = self._packers.get(bundle.key)
            if packer is None or packer.hits != hits:
                packer = self._packers[bundle.key] = touches.Packer()
            packer.add(bundle.ball_hits[packer.hits :])
            touches.write(conn, match_id, packer)
        conn.executemany(
            _INSERT_CROSSBAR,
            [_crossbar_row(match_id, c) for c in bundle.crossbar_hits[crossbars:]],
        )
        self._written[bundle.key] = (
            match_id,
            len(bundle.goals),
            len(bundle.events),
            len(bundle.ball_hits),
            len(bundle.crossbar_hits),
        )
        return int(match_id)


def _player_row(match_id: int, p: PlayerLine) -> tuple[Any, ...]:
    return (
        match_id,
        p.player_key,
        p.name,
        p.primary_id,
        p.shortcut,
        p.team,
        p.bot,
        p.score,
        p.goals,
        p.shots,
        p.assists,
        p.saves,
        p.touches,
        p.car_touches,
        p.demos,
        p.demos_taken,
        _json(_telemetry(p)),
    )


def _goal_row(match_id: int, g: Any) -> tuple[Any, ...]:
    return (
        match_id,
        g.index,
        g.received_at_us,
        g.clock_s,
        g.overtime,
        g.team,
        who_json(g.scorer),
        who_json(g.assister),
        who_json(g.last_touch),
        g.scorer.primary_id if g.scorer is not None else None,
        g.speed,
        g.last_touch_speed,
        g.goal_time,
        _json(g.impact),
        _json(g.scorer_last_hit),
    )


def _event_row(match_id: int, e: Any) -> tuple[Any, ...]:
    return (
        match_id,
        e.index,
        e.received_at_us,
        e.event_name,
        who_json(e.main),
        who_json(e.secondary),
        e.clock_s,
        e.overtime,
    )


def _crossbar_row(match_id: int, c: Any) -> tuple[Any, ...]:
    return (
        match_id,
        c.index,
        c.received_at_us,
        _json(c.location),
        c.ball_speed,
        c.impact_force,
        who_json(c.last_touch),
        c.last_touch_speed,
    )


# -- derivation bookkeeping ------------------------------------------------------------------


def add_session_mark(conn: sqlite3.Connection, journal_id: int, at_us: int) -> None:
    conn.execute(
        "INSERT OR REPLACE INTO session_marks (journal_id, at) VALUES (?, ?)", (journal_id, at_us)
    )


def open_from(conn: sqlite3.Connection) -> int | None:
    """The journal id where the match open at the last commit began (None: none was open)."""
    row = conn.execute("SELECT open_from FROM derive_state WHERE singleton = 1").fetchone()
    return None if row is None else row[0]


def set_open_from(conn: sqlite3.Connection, journal_id: int | None) -> None:
    conn.execute("UPDATE derive_state SET open_from = ? WHERE singleton = 1", (journal_id,))


def has_matches(conn: sqlite3.Connection) -> bool:
    return conn.execute("SELECT 1 FROM matches LIMIT 1").fetchone() is not None


def derived_version(conn: sqlite3.Connection) -> int:
    row = conn.execute("SELECT version FROM derive_state WHERE singleton = 1").fetchone()
    return 0 if row is None else int(row[0])


def set_derived_version(conn: sqlite3.Connection, version: int) -> None:
    conn.execute("UPDATE derive_state SET version = ? WHERE singleton = 1", (version,))


def bump_generation(conn: sqlite3.Connection) -> None:
    conn.execute("UPDATE derive_state SET generation = generation + 1 WHERE singleton = 1")


def generation(conn: sqlite3.Connection) -> int:
    row = conn.execute("SELECT generation FROM derive_state WHERE singleton = 1").fetchone()
    return 0 if row is None else int(row[0])


def segments(conn: sqlite3.Connection, *, exclude_live: bool = False) -> Mapping[str, int]:
    """The highest segment used per GUID by the stored matches (``exclude_live``: leave out
    live ones, when the open match is about to be replayed and take its segment again)."""
    where = " AND state != 'live'" if exclude_live else ""
    rows = conn.execute(
        "SELECT guid, MAX(segment) FROM matches WHERE guid != '' AND segment IS NOT NULL"
        f"{where} GROUP BY guid"
    ).fetchall()
    return {guid: segment for guid, segment in rows}


def stream_seqs(conn: sqlite3.Connection) -> dict[str, int]:
    """The highest applied seq per ``source/stream`` (kept by the latest-state table)."""
    rows = conn.execute(
        "SELECT source, stream, seq FROM stream_state WHERE seq IS NOT NULL"
    ).fetchall()
    return {f"{source}/{stream}": seq for source, stream, seq in rows}


def newest_summary_row(conn: sqlite3.Connection) -> tuple[Any, ...] | None:
    """The newest match: ``(id, key, state, winner_team, me_primary_id, me_team, teams JSON,
    mode, arena, started_at, ended_at)``."""
    row: tuple[Any, ...] | None = conn.execute(
        "SELECT id, key, state, winner_team, me_primary_id, me_team, teams, mode, arena, "
        "started_at, ended_at FROM matches ORDER BY id DESC LIMIT 1"
    ).fetchone()
    return row


def team_of(conn: sqlite3.Connection, match_id: int, primary_id: str) -> int | None:
    row = conn.execute(
        "SELECT team FROM match_players WHERE match_id = ? AND primary_id = ? LIMIT 1",
        (match_id, primary_id),
    ).fetchone()
    return None if row is None else row[0]


def clear(conn: sqlite3.Connection) -> None:
    """Empty every derived table (inside the caller's transaction)."""
    for table in DERIVED_TABLES:
        conn.execute(f"DELETE FROM {table}")
    set_open_from(conn, None)
