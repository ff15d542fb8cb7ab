"""The truth about a synthesised session: what the simulator sent, match by match.

A test (or a demo check) compares what companion derived against this: final scoreboards per player
with the game's own stat names, team scores, the winner, every real goal (the empty ``GoalScored``
echo after a goal replay is not a goal), how each match ended, and its identity (``MatchGuid``,
arena, mode). Written as JSON with :meth:`SessionTruth.write`, read back with
:meth:`SessionTruth.load`.

Endings:

* ``complete``: ``MatchEnded`` after the clock ran out (or an overtime goal);
* ``forfeit``: ``MatchEnded`` before the clock ran out;
* ``abandoned``: ``MatchDestroyed`` without ``MatchEnded``;
* ``incomplete``: neither; the stream just stops (or the next match starts).

Times (``start_t``, ``end_t``, ``GoalTruth.t``) are timeline offsets in seconds, the same clock as
the synthesised timeline (see :mod:`companion.simulator.synth`).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

ENDINGS = ("complete", "forfeit", "abandoned", "incomplete")


@dataclass(frozen=True, slots=True)
class PlayerRef:
    """Who did something: the PlayerRef the game sends, plus the PrimaryId it leaves out."""

    name: str
    shortcut: int
    team: int
    primary_id: str


@dataclass(frozen=True, slots=True)
class PlayerTruth:
    """A player's final scoreboard. ``stats`` uses the game's names: ``Score``, ``Goals``,
    ``Shots``, ``Assists``, ``Saves``, ``Touches``, ``CarTouches``, ``Demos``."""

    name: str
    primary_id: str
    shortcut: int
    team: int
    bot: bool
    stats: dict[str, int]


@dataclass(frozen=True, slots=True)
class GoalTruth:
    """One real goal. ``clock_s``: seconds left in regulation when scored; in overtime, seconds
    played in overtime (with ``overtime`` true). ``speed``: ``GoalScored.GoalSpeed`` in km/h.
    ``impact``: ``ImpactLocation`` ``{"X", "Y", "Z"}`` in Unreal units."""

    t: float
    team: int
    scorer: PlayerRef
    assister: PlayerRef | None
    speed: float
    clock_s: int
    overtime: bool
    impact: dict[str, float]


@dataclass(frozen=True, slots=True)
class MatchTruth:
    """One match as sent. ``winner`` is a team number, ``None`` when abandoned or incomplete.
    ``me`` is the local player's PrimaryId in player view, ``None`` in spectator view."""

    index: int
    scenario: str
    ending: str
    guid: str
    arena: str
    mode: str
    overtime: bool
    start_t: float
    end_t: float
    me: str | None
    team_names: tuple[str, str]
    team_scores: tuple[int, int]
    winner: int | None
    mvp: PlayerRef | None
    players: tuple[PlayerTruth, ...]
    goals: tuple[GoalTruth, ...]

    def player(self, primary_id: str, name: str | None = None) -> PlayerTruth:
        """The player with this PrimaryId (bots share one: pass ``name`` to pick among them)."""
        for p in self.players:
            if p.primary_id == primary_id and (name is None or p.name == name):
                return p
        raise KeyError(primary_id)


@dataclass(frozen=True, slots=True)
class SessionTruth:
    """Everything a synthesis sent: its settings and one :class:`MatchTruth` per match."""

    seed: int
    scenario: str
    view: str
    rate: float
    matches: tuple[MatchTruth, ...]

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready data (tuples become lists)."""
        return dataclasses.asdict(self)

    def to_json(self) -> bytes:
        """Indented UTF-8 JSON (names are kept as they are, not escaped)."""
        return orjson.dumps(self.to_dict(), option=orjson.OPT_INDENT_2)

    def write(self, path: Path) -> None:
        """Write :meth:`to_json` to ``path`` (parent folders must exist)."""
        path.write_bytes(self.to_json() + b"\n")

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SessionTruth:
        """The inverse of :meth:`to_dict`."""
        return cls(
            seed=data["seed"],
            scenario=data["scenario"],
            view=data["view"],
            rate=data["rate"],
            matches=tuple(_match_from(m) for m in data["matches"]),
        )

    @classmethod
    def load(cls, path: Path) -> SessionTruth:
        """Read a file written by :meth:`write`."""
        return cls.from_dict(orjson.loads(path.read_bytes()))


def _ref_from(data: dict[str, Any] | None) -> PlayerRef | None:
    return None if data is None else PlayerRef(**data)


def _match_from(data: dict[str, Any]) -> MatchTruth:
    fields = dict(data)
    fields["team_names"] = tuple(data["team_names"])
    fields["team_scores"] = tuple(data["team_scores"])
    fields["mvp"] = _ref_from(data["mvp"])
    fields["players"] = tuple(PlayerTruth(**p) for p in data["players"])
    fields["goals"] = tuple(
        GoalTruth(
            **{
                **g,
                "scorer": PlayerRef(**g["scorer"]),
                "assister": _ref_from(g["assister"]),
            }
        )
        for g in data["goals"]
    )
    return MatchTruth(**fields)
