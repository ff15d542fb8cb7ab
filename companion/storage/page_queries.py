"""SQL for the stats pages' small lists that the read API does not serve: the people of the
recent matches (the match history's player filter, the settings' "me" choices)."""

from __future__ import annotations

import sqlite3


def recent_people(conn: sqlite3.Connection, matches: int) -> list[tuple[str, str, int]]:
    """``(primary_id, name, games)`` of everyone (bots left out) in the newest ``matches``
    matches, most games first; the name is the one of their newest match."""
    rows = conn.execute(
        "SELECT p.primary_id, p.name, count(*) AS games, max(p.match_id) AS latest "
        "FROM (SELECT id FROM matches ORDER BY id DESC LIMIT ?) AS m "
        "JOIN match_players p ON p.match_id = m.id "
        "WHERE p.bot = 0 AND p.primary_id IS NOT NULL "
        "GROUP BY p.primary_id ORDER BY games DESC, latest DESC",
        (matches,),
    ).fetchall()
    return [(str(row[0]), str(row[1]), int(row[2])) for row in rows]
