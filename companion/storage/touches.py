"""Ball touches, packed: one row per match with every touch in a small binary record.

A match has hundreds of touches and a season hundreds of thousands; a row per touch cost about
150 bytes each (with its index), a season of them most of the database. Packed, a touch takes
14 bytes, a match's touches one row, read whole by the match page and by a career heatmap.

Record (little-endian, ``<BBhhhHHh``): the toucher's index in the row's ``players`` list, flags
(1 kickoff, 2 overtime, 4 location known), x, y, z (game units, rounded), speed before and after
the hit (0.1 km/h; 0xFFFF unknown), the clock (seconds; -1 unknown). ``players`` is JSON:
``[[player_key, primary_id, name, team], ...]`` in order of first touch.
"""

from __future__ import annotations

import sqlite3
import struct
from collections.abc import Iterable, Iterator
from typing import Any, NamedTuple

import orjson

from companion.derive.records import BallHitRecord

_RECORD = struct.Struct("<BBhhhHHh")
_KICKOFF, _OVERTIME, _LOCATED = 1, 2, 4
_UNKNOWN_SPEED = 0xFFFF
_INT16 = (-32768, 32767)


class Touch(NamedTuple):
    player_key: str
    primary_id: str | None
    name: str
    team: int | None
    location: tuple[int, int, int] | None
    pre_speed: float | None
    post_speed: float | None
    kickoff: bool
    overtime: bool
    clock_s: int | None


def _clamp(value: float) -> int:
    return max(_INT16[0], min(_INT16[1], round(value)))


def _speed(value: float | None) -> int:
    if value is None or value < 0:
        return _UNKNOWN_SPEED
    return min(_UNKNOWN_SPEED - 1, round(value * 10))


class Packer:
    """A match's touches packed so far; :meth:`add` appends the hits that came since, so a live
    match costs only its new hits each time it is written."""

    def __init__(self) -> None:
        self.players: list[list[Any]] = []
        self._index: dict[str, int] = {}
        self.data = bytearray()
        self.count = 0
        self.hits = 0  # hits packed so far

    def add(self, hits: Iterable[BallHitRecord]) -> None:
        out, index, players = self.data, self._index, self.players
        for hit in hits:
            self.hits += 1
            flags = (_KICKOFF if hit.kickoff else 0) | (_OVERTIME if hit.overtime else 0)
            x = y = z = 0
            if hit.location is not None:
                flags |= _LOCATED
                x, y, z = (_clamp(v) for v in hit.location)
            clock = -1 if hit.clock_s is None else _clamp(hit.clock_s)
            for who in hit.players:
                key = who.player_key or f"?{who.name}"
                if key not in index:
                    if len(players) >= 255:
                        continue  # a byte of index: more tourists than any match has
                    index[key] = len(players)
                    players.append([key, who.primary_id, who.name, who.team])
                out += _RECORD.pack(
                    index[key],
                    flags,
                    x,
                    y,
                    z,
                    _speed(hit.pre_speed),
                    _speed(hit.post_speed),
                    clock,
                )
                self.count += 1


def unpack(players_json: str, data: bytes) -> Iterator[Touch]:
    players = orjson.loads(players_json)
    for who, flags, x, y, z, pre, post, clock in _RECORD.iter_unpack(data):
        key, primary_id, name, team = players[who]
        yield Touch(
            key,
            primary_id,
            name,
            team,
            (x, y, z) if flags & _LOCATED else None,
            None if pre == _UNKNOWN_SPEED else pre / 10,
            None if post == _UNKNOWN_SPEED else post / 10,
            bool(flags & _KICKOFF),
            bool(flags & _OVERTIME),
            None if clock < 0 else clock,
        )


def write(conn: sqlite3.Connection, match_id: int, packer: Packer) -> None:
    conn.execute(
        "INSERT OR REPLACE INTO match_touches (match_id, count, players, data) VALUES (?, ?, ?, ?)",
        (match_id, packer.count, orjson.dumps(packer.players).decode(), bytes(packer.data)),
    )


def of_match(conn: sqlite3.Connection, match_id: int) -> list[Touch]:
    row = conn.execute(
        "SELECT players, data FROM match_touches WHERE match_id = ?", (match_id,)
    ).fetchone()
    return [] if row is None else list(unpack(row[0], row[1]))


def points_of_player(
    conn: sqlite3.Connection, primary_id: str, limit: int
) -> list[tuple[int | None, int, int]]:
    """``(team, x, y)`` of the player's located touches, newest matches first, at most
    ``limit``: a heatmap's input, read without making a :class:`Touch` of everyone's."""
    found: list[tuple[int | None, int, int]] = []
    for players_json, data in conn.execute(
        "SELECT t.players, t.data FROM match_touches t WHERE t.match_id IN "
        "(SELECT match_id FROM match_players WHERE primary_id = ?) ORDER BY t.match_id DESC",
        (primary_id,),
    ):
        players = orjson.loads(players_json)
        mine = {k: p[3] for k, p in enumerate(players) if p[1] == primary_id}
        if not mine:
            continue
        found += (
            (mine[who], x, y)
            for who, flags, x, y, _z, _pre, _post, _clock in _RECORD.iter_unpack(data)
            if who in mine and flags & _LOCATED
        )
        if len(found) >= limit:
            return found[:limit]
    return found
