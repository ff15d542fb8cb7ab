"""SQL for the stats pages' small lists that the read API does not serve: the people of the
recent matches (the match history's player filter, the settings' "me" choices)."""

from __future__ import annotations

import sqlite3


def recent_people(conn: sqlite3.Connection, matches: int) -> list[tuple[str, str, int]]:
    """``(primary_id, name, games)`` of everyone (bots left out) in the newest ``matches``
    matches, most games first; the name is the one of their newest match.

    Two plain range reads (the newest ids, then their players by the primary key) and the
    counting here: a GROUP BY in SQL tempts the planner into walking the whole player index."""
    row = conn.execute(
        "SELECT min(id) FROM (SELECT id FROM matches ORDER BY id DESC LIMIT ?)", (matches,)
    ).fetchone()
    if row is None or row[0] is None:
        return []
    people: dict[str, tuple[str, int, int]] = {}
    for primary_id, name, match_id in conn.execute(
        "SELECT primary_id, name, match_id FROM match_players "
        "WHERE match_id >= ? AND bot = 0 AND primary_id IS NOT NULL",
        (row[0],),
    ):
        seen = people.get(primary_id)
        if seen is None:
            people[primary_id] = (name, 1, match_id)
        else:
            newest = match_id > seen[2]
            people[primary_id] = (name if newest else seen[0], seen[1] + 1, max(match_id, seen[2]))
    ranked = sorted(people.items(), key=lambda item: (-item[1][1], -item[1][2]))
    return [(pid, name, games) for pid, (name, games, _) in ranked]
