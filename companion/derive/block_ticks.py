"""Ticks of a tick block read straight from its column values into :class:`TickView`.

Expanding a block into ``UpdateState`` dicts (``TickBlockDecoder.expand``) and parsing them
back (:func:`companion.derive.payloads.read_tick`) was most of the cost of deriving a match: a
dict per player per tick built only to be taken apart. Here the roster, teams and game fields
of a block's header are read once per header, and each tick costs only its numbers. Inexact
keyframes (ticks kept verbatim because the columns cannot hold them) still go through
``read_tick``; an exact one is read by its columns like any tick (its speeds to 0.1 km/h, as
every other tick's), which spares parsing its JSON.

The views are equal to ``read_tick(tick_data(header, row))`` for every row (a test holds them
to it), so live derivation and ``companion rebuild`` agree whichever way a tick came.

It must not import storage, web, sources or pipeline code.
"""

from __future__ import annotations

from typing import Any, Final

from companion.derive.payloads import (
    PlayerRow,
    TeamRow,
    TickView,
    as_int,
    as_str,
    read_tick,
    ref,
)
from companion.derive.players import player_key
from companion.tickblock import (
    ANY_FLAG,
    FLAG_BOOSTING,
    FLAG_CAR,
    FLAG_DEMOLISHED,
    FLAG_FIELDS,
    FLAG_ON_GROUND,
    FLAG_ON_WALL,
    FLAG_SUPERSONIC,
    GAME_COLUMNS,
    HAS_TELEMETRY,
    PER_PLAYER,
    STAT_FIELDS,
    UNKNOWN,
    DecodedBlock,
)

_N_STATS: Final = len(STAT_FIELDS)
_OVERTIME, _REPLAY = 1, 2
_FLAG_BITS: Final = tuple((1 << bit, name) for bit, name in enumerate(FLAG_FIELDS))


class _Header:
    """What one header fixes for every tick of its blocks."""

    __slots__ = (
        "arena",
        "guid",
        "identities",
        "keys",
        "players_at",
        "playlist_id",
        "stats_at",
        "target",
        "teams",
        "teams_at",
        "winner",
    )

    def __init__(self, header: dict[str, Any]) -> None:
        game = header.get("Game") or {}
        self.guid = as_str(header.get("MatchGuid"))
        self.keys: list[str] | None = None  # player keys, worked out when first needed
        self.identities = [
            (as_str(name), as_str(primary_id), as_int(shortcut), as_int(team))
            for name, primary_id, shortcut, team in header["Roster"]
        ]
        self.teams = [
            (_team_number(number, position), as_str(name), as_str(c1), as_str(c2))
            for position, (name, number, c1, c2) in enumerate(header["Teams"])
        ]
        self.arena = as_str(game.get("Arena"))
        self.playlist_id = as_int(game.get("PlaylistId"))
        self.target = ref(game.get("Target")) if game.get("bHasTarget", True) else None
        winner = as_str(game.get("Winner")) if game.get("bHasWinner") else None
        self.winner = winner or None
        self.players_at = 1 + GAME_COLUMNS
        self.teams_at = self.players_at + PER_PLAYER * len(self.identities)
        self.stats_at = self.teams_at + len(self.teams)


class TickColumns:
    """One tick block by columns, for deriving its ticks without a view per tick:
    ``times`` (receive µs), ``bits`` (1 overtime, 2 replay), ``clock`` and ``ball_team``
    (``UNKNOWN`` where unknown), and per player ``(key, speeds, boosts, flags)`` in
    ``telemetry`` (keys from ``player_key``, given by the caller's ``keys``). ``view(i)`` is
    tick ``i``'s full view (as :meth:`BlockTicks.views` gives it)."""

    __slots__ = (
        "_block",
        "_header",
        "ball_team",
        "bits",
        "clock",
        "guid",
        "has_players",
        "telemetry",
        "times",
    )

    def __init__(self, header: _Header, block: DecodedBlock, keys: list[str]) -> None:
        # Column c of the block is the slice values[c::width].
        values, width, t0 = block.values, block.width, block.t0_us
        self.times = [t0 + ms * 1000 for ms in values[0::width]]
        # After the time: clock, game bits, ball speed (not needed here), ball team.
        self.clock, self.bits, self.ball_team = values[1::width], values[2::width], values[4::width]
        at = header.players_at
        named = [k for k, identity in enumerate(header.identities) if identity[0] is not None]
        self.telemetry: list[tuple[str, list[int], list[int], list[int]]] = []
        for k in named:
            speed = at + k * PER_PLAYER  # then boost and flags
            speeds, boosts = values[speed::width], values[speed + 1 :: width]
            self.telemetry.append((keys[k], speeds, boosts, values[speed + 2 :: width]))
        self.guid = header.guid
        self.has_players = bool(named)
        self._header = header
        self._block = block

    def view(self, index: int) -> TickView:
        return _view_of(self._header, self._block.row(index))

    def board(self, index: int) -> tuple[object, ...]:
        """What :meth:`view` of tick ``index`` tells a scoreboard: equal for two ticks (of
        this block or another of its stream) whose views give the same teams, scores, stats,
        roster and camera, and say the same of the player view; cheaper than the view."""
        block = self._block
        width = block.width
        end = (index + 1) * width
        present = tuple(
            bool(flags[index] & HAS_TELEMETRY)
            and (
                speeds[index] != UNKNOWN
                or boosts[index] != UNKNOWN
                or bool(flags[index] & ANY_FLAG)
            )
            for _key, speeds, boosts, flags in self.telemetry
        )
        return (self._header, block.values[end - width + self._header.teams_at : end], present)

    @staticmethod
    def fields(speed: int, boost: int, flags: int) -> tuple[Any, ...] | None:
        """The eight spectator fields the telemetry reads, as ``tick_data`` would give them
        (absent: ``None``), or ``None`` when the player had none in this tick."""
        if not flags & HAS_TELEMETRY:
            return None
        known_speed = speed != UNKNOWN
        known_boost = boost != UNKNOWN
        if not (known_speed or known_boost or flags & ANY_FLAG):
            return None  # no spectator field at all (as ``bool(raw)`` in _view_of)
        return (
            speed / 10 if known_speed else None,
            boost if known_boost else None,
            flags & FLAG_CAR or None,
            flags & FLAG_DEMOLISHED or None,
            flags & FLAG_SUPERSONIC or None,
            flags & FLAG_ON_GROUND or None,
            flags & FLAG_ON_WALL or None,
            flags & FLAG_BOOSTING or None,
        )


class BlockTicks:
    """Turns decoded blocks into tick views; one per stream (it remembers the last header)."""

    def __init__(self) -> None:
        self._header: dict[str, Any] | None = None
        self._view: _Header | None = None

    def _header_of(self, block: DecodedBlock) -> _Header:
        if block.header is not self._header:
            self._header, self._view = block.header, _Header(block.header)
        assert self._view is not None
        return self._view

    def columns(self, block: DecodedBlock) -> TickColumns:
        """The block by columns (see :class:`TickColumns`)."""
        header = self._header_of(block)
        if header.keys is None:
            header.keys = [
                player_key(PlayerRow(name or "", pid, shortcut, team, (), False, {}))
                for name, pid, shortcut, team in header.identities
            ]
        return TickColumns(header, block, header.keys)

    def views(self, block: DecodedBlock) -> list[tuple[int, int, TickView]]:
        """``(seq, receive time, view)`` per tick of the block, in order."""
        header = self._header_of(block)
        first, t0, keyframes = block.first_seq, block.t0_us, block.keyframes
        out = []
        for i in range(block.count):
            row = block.row(i)
            view = read_tick(keyframes[i]) if i in keyframes else _view_of(header, row)
            out.append((first + i, t0 + row[0] * 1000, view))
        return out


def _team_number(number: Any, position: int) -> int:
    value = as_int(number)
    return position if value is None else value


def _known(value: int) -> int | None:
    return None if value == UNKNOWN else value


def _view_of(header: _Header, row: list[int]) -> TickView:
    players = []
    at, stats_at = header.players_at, header.stats_at
    for k, (name, primary_id, shortcut, team) in enumerate(header.identities):
        if name is None:
            continue  # read_tick skips a player without a name
        stats: tuple[int | None, ...] = tuple(
            row[stats_at + k * _N_STATS : stats_at + (k + 1) * _N_STATS]
        )
        if UNKNOWN in stats:
            stats = tuple(None if v == UNKNOWN else v for v in stats)
        speed, boost, flags = row[at + k * PER_PLAYER : at + (k + 1) * PER_PLAYER]
        raw: dict[str, Any] = {}
        if flags & HAS_TELEMETRY:
            # The same entries tick_data would give the player (the telemetry reads these).
            for bit, field in _FLAG_BITS:
                if flags & bit:
                    raw[field] = True
            if speed != UNKNOWN:
                raw["Speed"] = speed / 10
            if boost != UNKNOWN:
                raw["Boost"] = boost
        telemetry = bool(raw)  # as read_tick: any spectator field present
        players.append(PlayerRow(name, primary_id, shortcut, team, stats, telemetry, raw))
    scores_at = header.teams_at
    teams = sorted(
        (
            TeamRow(num, name, _known(row[scores_at + k]), c1, c2)
            for k, (num, name, c1, c2) in enumerate(header.teams)
        ),
        key=lambda team: team.num,
    )
    clock, bits, _ball_speed, ball_team = row[1 : 1 + GAME_COLUMNS]
    return TickView(
        guid=header.guid,
        replay=bool(bits & _REPLAY),
        players=tuple(players),
        teams=tuple(teams),
        clock=_known(clock),
        overtime=bool(bits & _OVERTIME),
        arena=header.arena,
        playlist_id=header.playlist_id,
        target=header.target,
        ball_team=_known(ball_team),
        winner_name=header.winner,
    )
