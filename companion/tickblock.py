"""Tick blocks: how ``UpdateState`` ticks are kept in the journal, compactly.

The game sends up to 120 ``UpdateState`` snapshots a second, a few kilobytes each. Kept verbatim
that is gigabytes a season; kept as a tick block it is a few megabytes an hour. A block holds a run
of consecutive ticks of one connection (the reader cuts a block at every other message, so journal
order stays exact, and at least every 250 ms):

- a *header* with what stays put for the run: match GUID, arena, team names and colours, the
  roster (name, PrimaryId, shortcut, team), camera target, winner, playlist;
- per tick, in columns, what stats and telemetry need: clock, overtime, replay flag, ball speed
  and team, team scores; per player the cumulative stats, speed, boost and the ``b*`` flags.
  Speeds are kept to 0.01 km/h. A player without the spectator fields has ``None``, not zero;
- *keyframes*: some ticks verbatim (the reader keeps one at every scoreboard change, at replay
  start and end, and about once a second), so nothing the game sent is ever only approximated.

Columns are delta-encoded, the block is JSON, compressed with zlib, and stored base64-encoded in
the journal row's data: ``{"v": 1, "first_seq", "count", "t0_us", "z"}``. ``expand`` turns a
block back into ticks shaped like ``UpdateState`` data, so derivation reads both the same way.
Tick sequence numbers are consecutive within a block, from ``first_seq``.
"""

from __future__ import annotations

import base64
import zlib
from dataclasses import dataclass
from typing import Any

import orjson

TICK_BLOCK_EVENT = "TickBlock"
FORMAT_VERSION = 1

STAT_FIELDS = ("Score", "Goals", "Shots", "Assists", "Saves", "Touches", "CarTouches", "Demos")
FLAG_FIELDS = (
    "bHasCar",
    "bBoosting",
    "bOnGround",
    "bOnWall",
    "bPowersliding",
    "bDemolished",
    "bSupersonic",
)
_HAS_TELEMETRY = 1 << len(FLAG_FIELDS)  # the player's spectator fields were present at all
_GAME_HEADER_FIELDS = ("Arena", "bHasWinner", "Winner", "bHasTarget", "Target", "PlaylistId")


@dataclass(frozen=True, slots=True)
class Tick:
    """One ``UpdateState`` as derivation sees it; ``keyframe`` when ``data`` is verbatim."""

    seq: int
    received_at_us: int
    data: dict[str, Any]
    keyframe: bool


def header_of(data: dict[str, Any]) -> dict[str, Any]:
    """What a tick shares with the other ticks of its block."""
    game = data.get("Game") or {}
    return {
        "MatchGuid": data.get("MatchGuid"),
        "Roster": [
            [p.get("Name"), p.get("PrimaryId"), p.get("Shortcut"), p.get("TeamNum")]
            for p in data.get("Players") or []
        ],
        "Teams": [
            [t.get("Name"), t.get("TeamNum"), t.get("ColorPrimary"), t.get("ColorSecondary")]
            for t in game.get("Teams") or []
        ],
        "Game": {key: game[key] for key in _GAME_HEADER_FIELDS if key in game},
    }


def _centi(value: Any) -> int | None:
    return round(value * 100) if isinstance(value, int | float) else None


def _delta(values: list[Any]) -> list[Any]:
    """First value, then differences (None stays None; a value after None is absolute)."""
    out: list[Any] = []
    previous: Any = None
    for value in values:
        if isinstance(value, int) and isinstance(previous, int):
            out.append(value - previous)
        else:
            out.append(value if value is None else [value])  # [v]: absolute restart
        previous = value
    return out


def _undelta(values: list[Any]) -> list[Any]:
    out: list[Any] = []
    previous: Any = None
    for value in values:
        if value is None:
            current = None
        elif isinstance(value, list):
            current = value[0]
        else:
            current = previous + value
        out.append(current)
        previous = current
    return out


class TickBlockBuilder:
    """Collects consecutive ticks sharing one header; ``encode`` makes the journal data."""

    def __init__(self) -> None:
        self._reset()

    def _reset(self) -> None:
        self.header: dict[str, Any] | None = None
        self.first_seq = 0
        self.t0_us = 0
        self.count = 0
        self._times: list[int] = []
        self._game: dict[str, list[Any]] = {}
        self._players: list[dict[str, list[Any]]] = []
        self._keyframes: dict[str, dict[str, Any]] = {}

    def fits(self, seq: int, data: dict[str, Any]) -> bool:
        """Whether the tick can join this block (empty, next seq, same header)."""
        if self.count == 0:
            return True
        return seq == self.first_seq + self.count and header_of(data) == self.header

    def add(self, seq: int, received_at_us: int, data: dict[str, Any], keyframe: bool) -> None:
        if self.count == 0:
            self.header = header_of(data)
            self.first_seq = seq
            self.t0_us = received_at_us
            self._game = {k: [] for k in ("clock", "ot", "replay", "ball", "ball_team", "scores")}
            self._players = [
                {"stats": [], "speed": [], "boost": [], "flags": []} for _ in self.header["Roster"]
            ]
        elif not self.fits(seq, data):
            raise ValueError("the tick does not belong to this block; encode it first")
        game = data.get("Game") or {}
        ball = game.get("Ball") or {}
        columns = self._game
        columns["clock"].append(game.get("TimeSeconds"))
        columns["ot"].append(int(bool(game.get("bOvertime"))))
        columns["replay"].append(int(bool(game.get("bReplay"))))
        columns["ball"].append(_centi(ball.get("Speed")))
        columns["ball_team"].append(ball.get("TeamNum"))
        columns["scores"].append([t.get("Score") for t in game.get("Teams") or []])
        for player, out in zip(data.get("Players") or [], self._players, strict=True):
            out["stats"].append([player.get(name) for name in STAT_FIELDS])
            out["speed"].append(_centi(player.get("Speed")))
            out["boost"].append(player.get("Boost"))
            flags = _HAS_TELEMETRY if "bHasCar" in player or "Speed" in player else 0
            for bit, name in enumerate(FLAG_FIELDS):
                if player.get(name):
                    flags |= 1 << bit
            out["flags"].append(flags)
        self._times.append(received_at_us - self.t0_us)
        if keyframe:
            self._keyframes[str(self.count)] = data
        self.count += 1

    def encode(self) -> dict[str, Any]:
        """The journal data of this block; the builder is empty again afterwards."""
        players = [
            {
                "stats": [_delta(list(col)) for col in zip(*p["stats"], strict=True)]
                if p["stats"] and p["stats"][0]
                else [],
                "speed": _delta(p["speed"]),
                "boost": _delta(p["boost"]),
                "flags": p["flags"],
            }
            for p in self._players
        ]
        game = {key: _delta(values) for key, values in self._game.items() if key != "scores"}
        game["scores"] = [_delta(list(col)) for col in zip(*self._game["scores"], strict=True)]
        payload = {
            "header": self.header,
            "dt_us": _delta(self._times),
            "game": game,
            "players": players,
            "keyframes": self._keyframes,
        }
        block = {
            "v": FORMAT_VERSION,
            "first_seq": self.first_seq,
            "count": self.count,
            "t0_us": self.t0_us,
            "z": base64.b64encode(zlib.compress(orjson.dumps(payload), 6)).decode("ascii"),
        }
        self._reset()
        return block


def expand(block: dict[str, Any]) -> list[Tick]:
    """The ticks of a block, in order, each as ``UpdateState``-shaped data."""
    if block.get("v") != FORMAT_VERSION:
        raise ValueError(f"unknown tick block version {block.get('v')!r}")
    payload = orjson.loads(zlib.decompress(base64.b64decode(block["z"])))
    count: int = block["count"]
    header = payload["header"]
    times = _undelta(payload["dt_us"])
    game = {key: _undelta(values) for key, values in payload["game"].items() if key != "scores"}
    score_columns = [_undelta(col) for col in payload["game"]["scores"]]
    players = []
    for p in payload["players"]:
        stats = [_undelta(col) for col in p["stats"]]
        players.append((stats, _undelta(p["speed"]), _undelta(p["boost"]), p["flags"]))
    keyframes = payload["keyframes"]
    ticks: list[Tick] = []
    for i in range(count):
        seq = block["first_seq"] + i
        received = block["t0_us"] + times[i]
        if str(i) in keyframes:
            ticks.append(Tick(seq, received, keyframes[str(i)], True))
            continue
        ticks.append(
            Tick(seq, received, _tick_data(header, game, score_columns, players, i), False)
        )
    return ticks


def _tick_data(
    header: dict[str, Any],
    game: dict[str, list[Any]],
    score_columns: list[list[Any]],
    players: list[tuple[list[list[Any]], list[Any], list[Any], list[int]]],
    i: int,
) -> dict[str, Any]:
    out_players = []
    for (name, primary_id, shortcut, team), (stats, speed, boost, flags) in zip(
        header["Roster"], players, strict=True
    ):
        player: dict[str, Any] = {
            "Name": name,
            "PrimaryId": primary_id,
            "Shortcut": shortcut,
            "TeamNum": team,
        }
        for field_name, column in zip(STAT_FIELDS, stats, strict=False):
            player[field_name] = column[i]
        if flags[i] & _HAS_TELEMETRY:
            if speed[i] is not None:
                player["Speed"] = speed[i] / 100
            if boost[i] is not None:
                player["Boost"] = boost[i]
            for bit, flag in enumerate(FLAG_FIELDS):
                if flags[i] & (1 << bit):
                    player[flag] = True
        out_players.append(player)
    teams = [
        {
            "Name": t[0],
            "TeamNum": t[1],
            "Score": score_columns[n][i] if n < len(score_columns) else None,
            "ColorPrimary": t[2],
            "ColorSecondary": t[3],
        }
        for n, t in enumerate(header["Teams"])
    ]
    ball_speed = game["ball"][i]
    game_data: dict[str, Any] = {
        "Teams": teams,
        "TimeSeconds": game["clock"][i],
        "bOvertime": bool(game["ot"][i]),
        "Ball": {
            "Speed": None if ball_speed is None else ball_speed / 100,
            "TeamNum": game["ball_team"][i],
        },
        "bReplay": bool(game["replay"][i]),
        **header["Game"],
    }
    return {"MatchGuid": header["MatchGuid"], "Players": out_players, "Game": game_data}
