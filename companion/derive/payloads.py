"""Reading Stats API payloads defensively: typed views of ``UpdateState`` and PlayerRefs.

This module owns the knowledge of field names and their quirks (``docs/stats-api.md`` §1.6-1.8):
``false`` flags omitted, SPECTATOR fields absent for the other team in player view, the empty
``GoalScored`` echo. Everything here is a pure function of one payload; a malformed field reads
as ``None`` rather than raising, because one odd field must not cost a whole match.

It must not import storage, web, sources or pipeline code: derivation reads only what the
journal holds, whoever wrote it.
"""

from __future__ import annotations

from typing import Any, Final, NamedTuple

from companion.derive.records import STAT_FIELDS, Location
from companion.tickblock import FLAG_FIELDS

# Fields the game sends only to spectators, or for the local player's own team (false flags
# and zero numbers are omitted, so any one of them present means the player has them all).
_SPECTATOR_FIELDS: Final = frozenset(("Speed", "Boost", *FLAG_FIELDS))


def as_dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def as_int(value: Any) -> int | None:
    # bool is an int in Python; a flag is never a count or a number here.
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return None


def as_float(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def as_str(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def location(value: Any) -> Location | None:
    data = as_dict(value)
    x, y, z = (as_float(data.get(axis)) for axis in ("X", "Y", "Z"))
    if x is None or y is None or z is None:
        return None
    return (x, y, z)


class Ref(NamedTuple):
    """A PlayerRef as sent: ``{Name, Shortcut, TeamNum}``, no PrimaryId."""

    name: str
    shortcut: int | None
    team: int | None


def ref(value: Any) -> Ref | None:
    """The PlayerRef in ``value``, or ``None`` when absent or the game's empty placeholder."""
    data = as_dict(value)
    name = as_str(data.get("Name"))
    if not name:
        return None
    return Ref(name, as_int(data.get("Shortcut")), as_int(data.get("TeamNum")))


def is_goal_echo(data: dict[str, Any]) -> bool:
    """The empty ``GoalScored`` the game repeats after a goal replay: no scorer, no speed, no
    time. The reader drops it already; derivation checks again because HTTP sources forward
    the game's messages unchanged."""
    return (
        ref(data.get("Scorer")) is None and not data.get("GoalSpeed") and not data.get("GoalTime")
    )


class PlayerRow(NamedTuple):
    """One entry of ``UpdateState.Players``. ``stats``: the eight cumulative figures in
    :data:`STAT_FIELDS` order, ``None`` where missing. ``telemetry``: whether the SPECTATOR
    fields were present. ``raw``: the entry itself, read by :mod:`companion.derive.telemetry`
    only when ``telemetry`` (no copy: one row per player per tick)."""

    name: str
    primary_id: str | None
    shortcut: int | None
    team: int | None
    stats: tuple[int | None, ...]
    telemetry: bool
    raw: dict[str, Any]


class TeamRow(NamedTuple):
    num: int
    name: str | None
    score: int | None
    color_primary: str | None
    color_secondary: str | None


class TickView(NamedTuple):
    """What derivation needs from one ``UpdateState`` (verbatim or expanded from a tick block).

    Named tuples rather than frozen dataclasses here: one is built per player per tick, up to
    120 ticks a second, and a tuple is several times cheaper to make."""

    guid: str | None
    replay: bool
    players: tuple[PlayerRow, ...]
    teams: tuple[TeamRow, ...]
    clock: int | None
    overtime: bool
    arena: str | None
    playlist_id: int | None
    target: Ref | None
    ball_team: int | None
    winner_name: str | None

    @property
    def player_view(self) -> bool:
        """Whether this is the local player's view: some team has nobody with SPECTATOR fields
        (the game sends them for everyone to a spectator, else for the player's own team)."""
        seen: dict[int | None, bool] = {}
        for p in self.players:
            seen[p.team] = seen.get(p.team, False) or p.telemetry
        return len(seen) >= 2 and not all(seen.values())


# One C-level lookup per player per tick: identity first, then the eight stats.
_ROW_FIELDS: Final = ("Name", "PrimaryId", "Shortcut", "TeamNum", *STAT_FIELDS)
_INT_ONLY: Final = {int}


def read_tick(data: dict[str, Any]) -> TickView:
    """A :class:`TickView` of ``UpdateState`` data. Raises nothing on odd input."""
    game = as_dict(data.get("Game"))
    players = []
    for entry in data.get("Players") or ():
        # The hot path (every player of up to 120 ticks a second): values of the usual type
        # pass as they are (``type(x) is int`` also turns a bool away, as ``as_int`` does);
        # anything else goes through the careful readers.
        if not isinstance(entry, dict):
            continue
        values = tuple(map(entry.get, _ROW_FIELDS))
        name, primary_id, shortcut, team = values[:4]
        if type(name) is not str:
            name = as_str(name)
            if name is None:
                continue
        if type(primary_id) is not str:
            primary_id = as_str(primary_id)
        if type(shortcut) is not int:
            shortcut = as_int(shortcut)
        if type(team) is not int:
            team = as_int(team)
        stats = values[4:]
        if set(map(type, stats)) != _INT_ONLY:
            stats = tuple(map(as_int, stats))
        telemetry = not _SPECTATOR_FIELDS.isdisjoint(entry)
        players.append(PlayerRow(name, primary_id, shortcut, team, stats, telemetry, entry))
    teams = []
    for position, entry in enumerate(game.get("Teams") or ()):
        if not isinstance(entry, dict):
            continue
        num = as_int(entry.get("TeamNum"))
        teams.append(
            TeamRow(
                num=position if num is None else num,
                name=as_str(entry.get("Name")),
                score=as_int(entry.get("Score")),
                color_primary=as_str(entry.get("ColorPrimary")),
                color_secondary=as_str(entry.get("ColorSecondary")),
            )
        )
    # Target is present exactly when bHasTarget; trust the flag when both disagree.
    target = ref(game.get("Target")) if game.get("bHasTarget", True) else None
    winner = as_str(game.get("Winner")) if game.get("bHasWinner") else None
    return TickView(
        guid=as_str(data.get("MatchGuid")),
        replay=bool(game.get("bReplay")),
        players=tuple(players),
        teams=tuple(sorted(teams, key=lambda t: t.num)),
        clock=as_int(game.get("TimeSeconds")),
        overtime=bool(game.get("bOvertime")),
        arena=as_str(game.get("Arena")),
        playlist_id=as_int(game.get("PlaylistId")),
        target=target,
        ball_team=as_int(as_dict(game.get("Ball")).get("TeamNum")),
        winner_name=winner or None,
    )
