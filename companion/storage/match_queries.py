"""SQL of the derived match tables, read side: match lists, one match whole, the live match.

Answers are plain JSON-ready dicts (times as RFC 3339 strings), shaped as the read API serves
them, so the HTTP handlers and the pages stay thin.

"Me" is decided at read time, not stored: the ``me`` argument is the PrimaryId to treat as me
(the setting, else the one detected most often, see :func:`detected_me`). In a match where
that player did not play, the player the camera followed in that match (stored when derived)
is me. So changing the setting needs no rebuild.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import orjson

from companion.storage import touches
from companion.timefmt import format_us

RECENT_FOR_DETECTION = 50

# A match row with "my" team worked out for the given :me (see the module docstring).
_WITH_ME = """
    SELECT m.*, coalesce(mine.team, m.me_team) AS my_team,
        CASE WHEN mine.match_id IS NULL THEN m.me_primary_id ELSE :me END AS my_id
    FROM matches m
    LEFT JOIN match_players mine ON mine.match_id = m.id AND mine.primary_id = :me
"""
RESULT_SQL = """
    CASE WHEN my_team IS NULL THEN NULL
         WHEN state = 'abandoned' THEN 'abandoned'
         WHEN state = 'complete' AND winner_team IS NOT NULL THEN
              CASE WHEN winner_team = my_team THEN 'win' ELSE 'loss' END
    END
"""
MATCHES_WITH_RESULT = f"SELECT *, {RESULT_SQL} AS result FROM ({_WITH_ME}) AS mm"


@dataclass(frozen=True, slots=True)
class MatchFilter:
    """What a match list may be narrowed to. ``side``: with ``player``, ``with`` (same team as
    me) or ``against``; times are microseconds, ``until_us`` exclusive."""

    result: str | None = None
    mode: str | None = None
    player: str | None = None
    side: str | None = None
    state: str | None = None
    since_us: int | None = None
    until_us: int | None = None

    def where(self, params: dict[str, Any]) -> str:
        clauses = []
        if self.result is not None:
            clauses.append("result = :result")
            params["result"] = self.result
        if self.mode is not None:
            clauses.append("mode = :mode")
            params["mode"] = self.mode
        if self.state is not None:
            clauses.append("state = :state")
            params["state"] = self.state
        if self.since_us is not None:
            clauses.append("started_at >= :since")
            params["since"] = self.since_us
        if self.until_us is not None:
            clauses.append("started_at < :until")
            params["until"] = self.until_us
        if self.player is not None:
            params["player"] = self.player
            team_rule = {"with": "AND p.team = my_team", "against": "AND p.team != my_team"}
            clauses.append(
                "EXISTS (SELECT 1 FROM match_players p WHERE p.match_id = id "
                f"AND p.primary_id = :player {team_rule.get(self.side or '', '')})"
            )
        return " AND ".join(clauses)


def detected_me(conn: sqlite3.Connection) -> str | None:
    """The PrimaryId the camera followed most often over the recent matches (player view)."""
    row = conn.execute(
        "SELECT me_primary_id, count(*) AS n FROM (SELECT me_primary_id FROM matches "
        "ORDER BY id DESC LIMIT ?) WHERE me_primary_id IS NOT NULL "
        "GROUP BY me_primary_id ORDER BY n DESC, max(rowid) DESC LIMIT 1",
        (RECENT_FOR_DETECTION,),
    ).fetchone()
    return None if row is None else str(row[0])


def _loads(text: str | None) -> Any:
    return None if text is None else orjson.loads(text)


def _player_ref(text: str | None) -> dict[str, Any] | None:
    """A stored player reference (``[name, team, primary_id, shortcut]``) as the API shows it."""
    if text is None:
        return None
    name, team, primary_id, _ = orjson.loads(text)
    return {"name": name, "primary_id": primary_id, "team": team}


def match_outline(row: Mapping[str, Any]) -> dict[str, Any]:
    """One match as lists show it."""
    teams = [
        {
            "num": team["num"],
            "name": team["name"],
            "score": team["score"],
            "color_primary": team["color_primary"],
            "color_secondary": team["color_secondary"],
        }
        for team in orjson.loads(row["teams"])
    ]
    return {
        "id": row["id"],
        "key": row["key"],
        "guid": row["guid"] or None,
        "segment": row["segment"],
        "arena": row["arena"],
        "mode": row["mode"],
        "playlist_id": row["playlist_id"],
        "started_at": format_us(row["started_at"]),
        "ended_at": format_us(row["ended_at"]),
        "duration_s": row["duration_s"],
        "played_s": row["played_s"],
        "overtime": bool(row["overtime"]),
        "state": row["state"],
        "forfeit": bool(row["forfeit"]),
        "teams": teams,
        "winner_team": row["winner_team"],
        "mvp": _player_ref(row["mvp"]),
        "me": row["my_id"],
        "my_team": row["my_team"],
        "result": row["result"],
        "telemetry_approximate": bool(row["approximate"]),
    }


def list_matches(
    conn: sqlite3.Connection,
    me: str | None,
    *,
    limit: int,
    before: int | None = None,
    where: MatchFilter | None = None,
) -> tuple[list[dict[str, Any]], int | None]:
    """Newest first; ``before`` is the cursor (a match id). Returns the page and the next
    cursor (None on the last page)."""
    params: dict[str, Any] = {"me": me, "limit": limit + 1}
    clauses = [] if where is None else [where.where(params)]
    if before is not None:
        clauses.append("id < :before")
        params["before"] = before
    condition = " AND ".join(c for c in clauses if c)
    sql = (
        f"SELECT * FROM ({MATCHES_WITH_RESULT}) "
        + (f"WHERE {condition} " if condition else "")
        + "ORDER BY id DESC LIMIT :limit"
    )
    rows = rows_of(conn, sql, params)
    page = [match_outline(row) for row in rows[:limit]]
    cursor = page[-1]["id"] if len(rows) > limit else None
    return page, cursor


def rows_of(conn: sqlite3.Connection, sql: str, params: Any = ()) -> list[dict[str, Any]]:
    """Rows by column name (connections here have no row factory: the writer's hot path
    wants plain tuples)."""
    cursor = conn.execute(sql, params)
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, values, strict=True)) for values in cursor.fetchall()]


def count_matches(conn: sqlite3.Connection) -> int:
    return int(conn.execute("SELECT count(*) FROM matches").fetchone()[0])


def get_match(
    conn: sqlite3.Connection, me: str | None, match_id: int, *, whole: bool = True
) -> dict[str, Any] | None:
    """One match whole: players, goals, statfeed events, crossbar hits and ball touches
    (without ``whole``: the match and its players only, a live scoreboard)."""
    rows = rows_of(
        conn, f"SELECT * FROM ({MATCHES_WITH_RESULT}) WHERE id = :id", {"me": me, "id": match_id}
    )
    if not rows:
        return None
    match = match_outline(rows[0])
    my_id = match["me"]
    match["players"] = [
        {
            "name": p["name"],
            "primary_id": p["primary_id"],
            "shortcut": p["shortcut"],
            "team": p["team"],
            "bot": bool(p["bot"]),
            "score": p["score"],
            "goals": p["goals"],
            "shots": p["shots"],
            "assists": p["assists"],
            "saves": p["saves"],
            "touches": p["touches"],
            "car_touches": p["car_touches"],
            "demos": p["demos"],
            "demos_taken": p["demos_taken"],
            "is_me": my_id is not None and p["primary_id"] == my_id,
            "is_mvp": match["mvp"] is not None
            and (p["name"], p["team"]) == (match["mvp"]["name"], match["mvp"]["team"]),
            "telemetry": _loads(p["telemetry"]),
        }
        for p in rows_of(
            conn,
            "SELECT * FROM match_players WHERE match_id = ? ORDER BY team, score DESC, name",
            (match_id,),
        )
    ]
    if not whole:
        return match
    match["goals"] = [
        {
            "at": format_us(g["received_at"]),
            "clock_s": g["clock_s"],
            "overtime": bool(g["overtime"]),
            "team": g["team"],
            "scorer": _player_ref(g["scorer"]),
            "assister": _player_ref(g["assister"]),
            "last_touch": _player_ref(g["last_touch"]),
            "speed_kph": g["speed"],
            "last_touch_speed_kph": g["last_touch_speed"],
            "impact": _loads(g["impact"]),
            "scorer_last_hit": _loads(g["scorer_last_hit"]),
        }
        for g in rows_of(
            conn, "SELECT * FROM match_goals WHERE match_id = ? ORDER BY idx", (match_id,)
        )
    ]
    match["events"] = [
        {
            "at": format_us(e["received_at"]),
            "event": e["event_name"],
            "player": _player_ref(e["main"]),
            "victim": _player_ref(e["secondary"]),
            "clock_s": e["clock_s"],
            "overtime": bool(e["overtime"]),
        }
        for e in rows_of(
            conn, "SELECT * FROM match_events WHERE match_id = ? ORDER BY idx", (match_id,)
        )
    ]
    match["crossbar_hits"] = [
        {
            "at": format_us(c["received_at"]),
            "location": _loads(c["location"]),
            "ball_speed_kph": c["ball_speed"],
            "last_touch": _player_ref(c["last_touch"]),
        }
        for c in rows_of(
            conn, "SELECT * FROM crossbar_hits WHERE match_id = ? ORDER BY idx", (match_id,)
        )
    ]
    match["touches"] = [
        {
            "player": t.name,
            "primary_id": t.primary_id,
            "team": t.team,
            "location": None if t.location is None else list(t.location),
            "post_speed_kph": t.post_speed,
            "kickoff": t.kickoff,
            "clock_s": t.clock_s,
        }
        for t in touches.of_match(conn, match_id)
    ]
    return match


def live_match_id(conn: sqlite3.Connection) -> int | None:
    row = conn.execute(
        "SELECT id FROM matches WHERE state = 'live' ORDER BY id DESC LIMIT 1"
    ).fetchone()
    return None if row is None else int(row[0])


def export_rows(
    conn: sqlite3.Connection, me: str | None, where: MatchFilter | None = None
) -> Iterator[dict[str, Any]]:
    """Every match (oldest first) with its players, for export; streamed in pages."""
    after = 0
    while True:
        params: dict[str, Any] = {"me": me, "after": after}
        condition = "" if where is None else where.where(params)
        rows = rows_of(
            conn,
            f"SELECT * FROM ({MATCHES_WITH_RESULT}) WHERE id > :after "
            + (f"AND {condition} " if condition else "")
            + "ORDER BY id LIMIT 200",
            params,
        )
        if not rows:
            return
        for row in rows:
            detail = get_match(conn, me, row["id"])
            if detail is not None:
                yield detail
        after = rows[-1]["id"]
