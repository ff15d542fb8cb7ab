"""SQL of the derived tables for aggregates: sessions' inputs, players met, careers, trends.

All but the live part of sessions count finished matches only, so their answers may be cached
until the next match closes (:mod:`companion.stats.cache`).

"Me" is the ``me`` argument, applied at read time as in :mod:`companion.storage.match_queries`.
Trends group by the machine's local date (SQLite's ``localtime``), weeks from Monday.
"""

from __future__ import annotations

import sqlite3
from typing import Any

import orjson

from companion.stats.sessions import SessionMatch
from companion.storage import touches
from companion.storage.match_queries import MATCHES_WITH_RESULT, rows_of
from companion.timefmt import format_us

STATS = ("score", "goals", "shots", "assists", "saves", "touches", "demos")
TOUCH_LIMIT = 30_000  # the newest touches of a career heatmap


def session_matches(conn: sqlite3.Connection, me: str | None, *, live: bool) -> list[SessionMatch]:
    """The finished matches (or, with ``live``, the live ones), oldest first, with my result
    and figures."""
    rows = conn.execute(
        f"SELECT mm.id, mm.started_at, COALESCE(mm.ended_at, mm.last_at), mm.result, "
        f"p.goals, p.saves, p.shots, p.assists FROM ({MATCHES_WITH_RESULT}) AS mm "
        "LEFT JOIN match_players p ON p.match_id = mm.id AND p.primary_id = mm.my_id "
        f"WHERE mm.state {'=' if live else '!='} 'live' "
        "GROUP BY mm.id ORDER BY mm.started_at, mm.id",
        {"me": me},
    ).fetchall()
    return [
        SessionMatch(row[0], row[1], row[2], row[3], None if row[4] is None else tuple(row[4:8]))
        for row in rows
    ]


def session_marks(conn: sqlite3.Connection) -> list[int]:
    return [row[0] for row in conn.execute("SELECT at FROM session_marks ORDER BY at")]


def _rate(wins: int | None, decided: int | None) -> float | None:
    return round(wins / decided, 3) if wins is not None and decided else None


def players(
    conn: sqlite3.Connection, me: str | None, *, limit: int, search: str | None = None
) -> list[dict[str, Any]]:
    """Everyone met in finished matches (bots and me left out), most games first, with my win
    rate with them and against them. ``search``: part of a name (any case) or a whole
    PrimaryId.

    Two plain scans added up here, not one GROUP BY over a join: joining every player line to
    its match's "me" took SQLite most of a second at 10,000 matches; this takes a tenth."""
    matches = {
        match_id: (started_at, my_team, my_id, result)
        for match_id, started_at, my_team, my_id, result in conn.execute(
            f"SELECT id, started_at, my_team, my_id, result FROM ({MATCHES_WITH_RESULT}) "
            "WHERE state != 'live'",
            {"me": me},
        )
    }
    met: dict[str, list[Any]] = {}
    for match_id, primary_id, name, team in conn.execute(
        "SELECT match_id, primary_id, name, team FROM match_players "
        "WHERE bot = 0 AND primary_id IS NOT NULL ORDER BY match_id"
    ):
        match = matches.get(match_id)
        if match is None or primary_id == match[2]:
            continue  # a live match, or me
        started_at, my_team, _, result = match
        # name, games, with, against, wins with, decided with, wins against, decided against,
        # last played
        entry = met.get(primary_id)
        if entry is None:
            entry = met[primary_id] = [name, 0, 0, 0, 0, 0, 0, 0, started_at]
        entry[0] = name  # in match order: the latest name wins
        entry[1] += 1
        entry[8] = max(entry[8], started_at)
        if my_team is None or team is None:
            continue
        decided = result in ("win", "loss")
        if team == my_team:
            entry[2] += 1
            entry[4] += result == "win"
            entry[5] += decided
        else:
            entry[3] += 1
            entry[6] += result == "win"
            entry[7] += decided
    if search:
        needle = search.casefold()
        met = {pid: e for pid, e in met.items() if pid == search or needle in e[0].casefold()}
    ranked = sorted(met.items(), key=lambda item: (-item[1][1], -item[1][8]))[:limit]
    return [
        {
            "primary_id": primary_id,
            "name": e[0],
            "games": e[1],
            "games_with": e[2],
            "games_against": e[3],
            "win_rate_with": _rate(e[4], e[5]),
            "win_rate_against": _rate(e[6], e[7]),
            "last_played": format_us(e[8]),
        }
        for primary_id, e in ranked
    ]


def career(conn: sqlite3.Connection, me: str | None, primary_id: str) -> dict[str, Any] | None:
    """One player's record, averages against the field, form, touches and goals."""
    lines = rows_of(
        conn,
        f"SELECT p.*, mm.state, mm.winner_team, mm.started_at, mm.mode, mm.my_team, mm.my_id "
        f"FROM match_players p JOIN ({MATCHES_WITH_RESULT}) AS mm ON mm.id = p.match_id "
        "WHERE p.primary_id = :pid AND p.bot = 0 AND mm.state != 'live' "
        "ORDER BY mm.started_at, mm.id",
        {"me": me, "pid": primary_id},
    )
    if not lines:
        return None
    outcomes = [_outcome(line) for line in lines]
    wins, losses = outcomes.count("win"), outcomes.count("loss")
    averages = {s: round(sum(line[s] for line in lines) / len(lines), 2) for s in STATS}
    field = rows_of(
        conn,
        "SELECT " + ", ".join(f"avg(f.{s}) AS {s}" for s in STATS) + " FROM match_players f "
        "WHERE f.bot = 0 AND f.match_id IN (SELECT match_id FROM match_players "
        "WHERE primary_id = :pid) AND f.primary_id IS NOT :pid",
        {"pid": primary_id},
    )[0]
    shots = sum(line["shots"] for line in lines)
    goals = sum(line["goals"] for line in lines)
    is_me = lines[-1]["my_id"] == primary_id
    return {
        "primary_id": primary_id,
        "name": lines[-1]["name"],
        "is_me": is_me,
        "games": len(lines),
        "wins": wins,
        "losses": losses,
        "abandoned": outcomes.count("abandoned"),
        "win_rate": _rate(wins, wins + losses),
        "shooting_pct": round(100 * goals / shots, 1) if shots else None,
        "per_game": averages,
        "field_per_game": {s: None if field[s] is None else round(field[s], 2) for s in STATS},
        "form": [o for o in outcomes if o in ("win", "loss")][-10:],
        "first_played": format_us(lines[0]["started_at"]),
        "last_played": format_us(lines[-1]["started_at"]),
        "touches": _touches(conn, primary_id),
        "goals": _goals(conn, primary_id),
    }


def _outcome(line: dict[str, Any]) -> str | None:
    """The result of a match for this player's team (not for me)."""
    if line["state"] == "abandoned":
        return "abandoned"
    if line["state"] == "complete" and line["winner_team"] is not None:
        return "win" if line["winner_team"] == line["team"] else "loss"
    return None


def _oriented(team: int | None, x: float, y: float) -> tuple[float, float]:
    """Rotate so the player always attacks towards +Y (blue, team 0, does already)."""
    return (-x, -y) if team == 1 else (x, y)


def _touches(conn: sqlite3.Connection, primary_id: str) -> list[list[float]]:
    return [
        list(_oriented(team, x, y))
        for team, x, y in touches.points_of_player(conn, primary_id, TOUCH_LIMIT)
    ]


def _goals(conn: sqlite3.Connection, primary_id: str) -> list[dict[str, Any]]:
    goals = []
    for match_id, team, speed, impact, struck in conn.execute(
        "SELECT match_id, team, speed, impact, scorer_last_hit FROM match_goals "
        "WHERE scorer_primary_id = ? ORDER BY match_id, idx",
        (primary_id,),
    ):
        entry: dict[str, Any] = {"match_id": match_id, "speed_kph": speed}
        for name, text in (("impact", impact), ("struck_from", struck)):
            point = None if text is None else orjson.loads(text)
            entry[name] = None if point is None else [*_oriented(team, *point[:2]), point[2]]
        goals.append(entry)
    return goals


def summary(
    conn: sqlite3.Connection,
    me: str | None,
    *,
    since_us: int | None,
    until_us: int | None,
    period: str = "day",
    mode: str | None = None,
) -> list[dict[str, Any]]:
    """My figures per local day (or week, from Monday), oldest first."""
    bucket = "date(mm.started_at / 1000000, 'unixepoch', 'localtime')"
    if period == "week":
        bucket = f"date({bucket}, 'weekday 0', '-6 days')"
    clauses = ["mm.my_id IS NOT NULL", "mm.state != 'live'"]
    params: dict[str, Any] = {"me": me}
    for clause, name, value in (
        ("mm.started_at >= :since", "since", since_us),
        ("mm.started_at < :until", "until", until_us),
        ("mm.mode = :mode", "mode", mode),
    ):
        if value is not None:
            clauses.append(clause)
            params[name] = value
    rows = rows_of(
        conn,
        f"SELECT {bucket} AS period, count(*) AS games, "
        "sum(mm.result = 'win') AS wins, sum(mm.result = 'loss') AS losses, "
        "sum(p.goals) AS goals, sum(p.shots) AS shots, sum(p.saves) AS saves, "
        "sum(p.assists) AS assists, sum(p.score) AS score, count(p.match_id) AS lines "
        f"FROM ({MATCHES_WITH_RESULT}) AS mm "
        "LEFT JOIN match_players p ON p.match_id = mm.id AND p.primary_id = mm.my_id "
        f"WHERE {' AND '.join(clauses)} GROUP BY period ORDER BY period",
        params,
    )
    out = []
    for r in rows:
        n = r["lines"] or 0
        decided = (r["wins"] or 0) + (r["losses"] or 0)
        out.append(
            {
                "period": r["period"],
                "games": r["games"],
                "wins": r["wins"] or 0,
                "losses": r["losses"] or 0,
                "win_rate": _rate(r["wins"] or 0, decided),
                **{
                    f"{s}_per_game": round((r[s] or 0) / n, 2) if n else None
                    for s in ("goals", "shots", "saves", "assists", "score")
                },
                "shooting_pct": round(100 * r["goals"] / r["shots"], 1) if r["shots"] else None,
            }
        )
    return out
