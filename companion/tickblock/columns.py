"""What a tick block keeps of one tick, both ways: the header and column values of an
``UpdateState`` (``values_of``) and an ``UpdateState`` rebuilt from them (``tick_data``).

The column layout is described in the package docstring (``companion.tickblock``).
"""

from __future__ import annotations

import sys
from array import array
from dataclasses import dataclass
from itertools import chain
from operator import itemgetter
from typing import Any, Final

STAT_FIELDS: Final = (
    "Score",
    "Goals",
    "Shots",
    "Assists",
    "Saves",
    "Touches",
    "CarTouches",
    "Demos",
)
FLAG_FIELDS: Final = (
    "bHasCar",
    "bBoosting",
    "bOnGround",
    "bOnWall",
    "bPowersliding",
    "bDemolished",
    "bSupersonic",
)
HAS_TELEMETRY: Final = 1 << 7  # the player's spectator fields were present at all
UNKNOWN: Final = -(1 << 31)  # int32's minimum; numbers above it, up to int32's maximum, are kept
INT32_MAX: Final = (1 << 31) - 1
_GAME_HEADER_FIELDS: Final = ("Arena", "bHasWinner", "Winner", "bHasTarget", "Target", "PlaylistId")
_FLAG_BITS: Final = {name: 1 << bit for bit, name in enumerate(FLAG_FIELDS)}
# Single flag bits, by name, for the readers of the flags column.
FLAG_CAR: Final = _FLAG_BITS["bHasCar"]
FLAG_BOOSTING: Final = _FLAG_BITS["bBoosting"]
FLAG_ON_GROUND: Final = _FLAG_BITS["bOnGround"]
FLAG_ON_WALL: Final = _FLAG_BITS["bOnWall"]
FLAG_DEMOLISHED: Final = _FLAG_BITS["bDemolished"]
FLAG_SUPERSONIC: Final = _FLAG_BITS["bSupersonic"]
ANY_FLAG: Final = (1 << len(FLAG_FIELDS)) - 1  # every FLAG_FIELDS bit, not HAS_TELEMETRY
_SPECTATOR: Final = ("Speed", "Boost", *FLAG_FIELDS)  # the player's spectator fields
GAME_COLUMNS: Final = 4  # clock, game bits, ball speed, ball team
PER_PLAYER: Final = 3  # speed, boost, flags
_OVERTIME: Final = 1
_REPLAY: Final = 2
_MAX_FAST_PLAYERS: Final = 64
_TELEMETRY_KEYS: Final = tuple((key,) * _MAX_FAST_PLAYERS for key in _SPECTATOR)
_stats_of = itemgetter(*STAT_FIELDS)
_score_of = itemgetter("Score")
_roster_of = itemgetter("Name", "PrimaryId", "Shortcut", "TeamNum")
_team_of = itemgetter("Name", "TeamNum", "ColorPrimary", "ColorSecondary")


class Unpackable(ValueError):
    """A tick whose shape a block cannot hold (``Players`` not a list of objects, …)."""


@dataclass(frozen=True, slots=True)
class TickValues:
    """What a block keeps of one tick: its header (as a comparable key) and its column values
    (without the time). ``exact`` is False when some value could not be kept as it was."""

    header: tuple[Any, ...]
    values: list[int]
    packed: bytes  # the values as little-endian int32
    players: int
    exact: bool

    @property
    def replay(self) -> bool:
        return bool(self.values[1] & _REPLAY)

    @property
    def scoreboard(self) -> bytes:
        """Team scores and every player's stats (packed): a change makes a keyframe."""
        return self.packed[4 * (GAME_COLUMNS + PER_PLAYER * self.players) :]


def _pack(values: list[int]) -> bytes:
    packed = array("i", values)  # OverflowError beyond int32, TypeError for non-integers
    if sys.byteorder == "big":
        packed.byteswap()
    return packed.tobytes()


def values_of(data: dict[str, Any]) -> TickValues:
    """The header key and column values of one tick; raises ``Unpackable``."""
    try:
        return _values_fast(data)
    except (KeyError, TypeError, ValueError, OverflowError, AttributeError):
        return _values_slow(data)


def _values_fast(data: dict[str, Any]) -> TickValues:
    # The hot path, once per tick: lookups go through ``map`` (C loops, not bytecode per field).
    game = data["Game"]
    ball = game["Ball"]
    players = data["Players"]
    teams = game["Teams"]
    if len(players) > _MAX_FAST_PLAYERS:
        raise ValueError("more players than the fast path takes")
    values = [
        game["TimeSeconds"],
        (_OVERTIME if game["bOvertime"] else 0) | (_REPLAY if game["bReplay"] else 0),
        round(ball["Speed"] * 10),
        ball["TeamNum"],
    ]
    get = dict.get
    for speed, boost, car, boosting, ground, wall, slide, demolished, supersonic in zip(
        *[map(get, players, keys) for keys in _TELEMETRY_KEYS], strict=True
    ):
        if (
            speed is None
            and boost is None
            and car is None
            and boosting is None
            and ground is None
            and wall is None
            and slide is None
            and demolished is None
            and supersonic is None
        ):
            values += (0, 0, 0)  # no spectator fields: unknown
        else:
            values += (
                round(speed * 10) if speed else 0,
                boost or 0,
                HAS_TELEMETRY
                | (1 if car else 0)
                | (2 if boosting else 0)
                | (4 if ground else 0)
                | (8 if wall else 0)
                | (16 if slide else 0)
                | (32 if demolished else 0)
                | (64 if supersonic else 0),
            )
    values += map(_score_of, teams)
    values += chain.from_iterable(map(_stats_of, players))
    packed = _pack(values)
    if min(values) == UNKNOWN:
        raise ValueError("a number that reads as unknown")
    header = (
        data.get("MatchGuid"),
        list(map(_roster_of, players)),
        list(map(_team_of, teams)),
        list(map(game.get, _GAME_HEADER_FIELDS, _ABSENT)),
    )
    return TickValues(header, values, packed, len(players), True)


class _Absent:
    """A game header field that was not there (distinct from null)."""


_ABSENT: Final = (_Absent,) * len(_GAME_HEADER_FIELDS)


def _exact(value: Any) -> int | None:
    if type(value) is int and UNKNOWN < value <= INT32_MAX:
        return value
    return None


def _tenths(value: Any) -> int | None:
    if type(value) in (int, float) and abs(value) < 2e8:
        return round(float(value) * 10)
    return None


def _values_slow(data: dict[str, Any]) -> TickValues:
    """Like ``_values_fast``, value by value: a missing or null number is ``UNKNOWN``, and so is
    one the columns cannot hold exactly, which also makes the tick inexact (kept verbatim)."""
    game = data.get("Game")
    players = data.get("Players")
    if not isinstance(game, dict) or not isinstance(players, list):
        raise Unpackable("an UpdateState without a Game object and a Players list")
    teams = game.get("Teams")
    if teams is None:
        teams = []
    if not isinstance(teams, list) or not all(isinstance(t, dict) for t in teams + players):
        raise Unpackable("an UpdateState team or player is not an object")
    ball = game.get("Ball")
    exact = ball is None or isinstance(ball, dict)
    if not isinstance(ball, dict):
        ball = {}

    def keep(value: Any, convert: Any = _exact) -> int:
        nonlocal exact
        if value is None:
            return UNKNOWN
        number: int | None = convert(value)
        if number is None:
            exact = False
            return UNKNOWN
        return number

    values = [
        keep(game.get("TimeSeconds")),
        (_OVERTIME if game.get("bOvertime") else 0) | (_REPLAY if game.get("bReplay") else 0),
        keep(ball.get("Speed"), _tenths),
        keep(ball.get("TeamNum")),
    ]
    for p in players:
        if all(p.get(key) is None for key in _SPECTATOR):
            values += (0, 0, 0)
        else:
            flags = HAS_TELEMETRY
            for name, bit in _FLAG_BITS.items():
                if p.get(name):
                    flags |= bit
            values += (keep(p.get("Speed", 0), _tenths), keep(p.get("Boost", 0)), flags)
    values += [keep(t.get("Score")) for t in teams]
    for p in players:
        values += [keep(p.get(name)) for name in STAT_FIELDS]
    header = (
        data.get("MatchGuid"),
        [tuple(p.get(k) for k in ("Name", "PrimaryId", "Shortcut", "TeamNum")) for p in players],
        [
            tuple(t.get(k) for k in ("Name", "TeamNum", "ColorPrimary", "ColorSecondary"))
            for t in teams
        ],
        [game.get(key, _Absent) for key in _GAME_HEADER_FIELDS],
    )
    return TickValues(header, values, _pack(values), len(players), exact)


def header_json(header: tuple[Any, ...]) -> dict[str, Any]:
    guid, roster, teams, game = header
    return {
        "MatchGuid": guid,
        "Roster": [list(p) for p in roster],
        "Teams": [list(t) for t in teams],
        "Game": {
            key: value
            for key, value in zip(_GAME_HEADER_FIELDS, game, strict=True)
            if value is not _Absent
        },
    }


def _known(value: int) -> int | None:
    return None if value == UNKNOWN else value


def tick_data(header: dict[str, Any], row: list[int]) -> dict[str, Any]:
    """One tick from its column values (time first) and the block's header."""
    roster = header["Roster"]
    n = len(roster)
    at = 1 + GAME_COLUMNS
    scores_at = at + PER_PLAYER * n
    stats_at = scores_at + len(header["Teams"])
    players = []
    for k, (name, primary_id, shortcut, team) in enumerate(roster):
        player: dict[str, Any] = {
            "Name": name,
            "PrimaryId": primary_id,
            "Shortcut": shortcut,
            "TeamNum": team,
        }
        stats = row[stats_at + k * len(STAT_FIELDS) : stats_at + (k + 1) * len(STAT_FIELDS)]
        for field_name, value in zip(STAT_FIELDS, stats, strict=True):
            player[field_name] = _known(value)
        speed, boost, flags = row[at + k * PER_PLAYER : at + (k + 1) * PER_PLAYER]
        if flags & HAS_TELEMETRY:
            for bit, flag in enumerate(FLAG_FIELDS):
                if flags & (1 << bit):
                    player[flag] = True
            if speed != UNKNOWN:
                player["Speed"] = speed / 10
            if boost != UNKNOWN:
                player["Boost"] = boost
        players.append(player)
    teams = [
        {
            "Name": name,
            "TeamNum": number,
            "Score": _known(row[scores_at + k]),
            "ColorPrimary": primary,
            "ColorSecondary": secondary,
        }
        for k, (name, number, primary, secondary) in enumerate(header["Teams"])
    ]
    clock, bits, ball_speed, ball_team = row[1 : 1 + GAME_COLUMNS]
    game: dict[str, Any] = {
        "Teams": teams,
        "TimeSeconds": _known(clock),
        "bOvertime": bool(bits & _OVERTIME),
        "Ball": {
            "Speed": None if ball_speed == UNKNOWN else ball_speed / 10,
            "TeamNum": _known(ball_team),
        },
        "bReplay": bool(bits & _REPLAY),
        **header["Game"],
    }
    return {"MatchGuid": header["MatchGuid"], "Players": players, "Game": game}
