"""The derivation's output: plain frozen records, what the storage layer upserts.

This module owns the shapes only (no logic beyond trivial properties). Everything here is
immutable, hashable where it can be, and built from JSON-ready values (str, int, float, bool,
None, tuples), so two derivations of the same journal compare equal with ``==``.

It must not import storage, web, sources or pipeline code (nor anything else in companion but
its own package): records flow out of derivation, never back in.

Times are integer microseconds since the Unix epoch (the journal's ``received_at``), speeds are
km/h as the game sends them, locations are ``(X, Y, Z)`` in Unreal units.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, NamedTuple

# The game's cumulative stats, in the order the tick blocks keep them.
from companion.tickblock import STAT_FIELDS as STAT_FIELDS

# Match states, as the read API names them. A forfeit is ``complete`` (with ``forfeit`` true).
LIVE, COMPLETE, ABANDONED, INCOMPLETE = "live", "complete", "abandoned", "incomplete"

Location = tuple[float, float, float]


class Item(NamedTuple):
    """One journal row as derivation sees it. A tick block is expanded by the caller into one
    ``Item`` per tick, with ``event="UpdateState"`` and ``data`` shaped like ``UpdateState``.

    ``seq`` may be ``None`` (an HTTP event without one): such an item is never skipped as stale.
    """

    stream: str
    seq: int | None
    received_at_us: int
    event: str
    data: Any


@dataclass(frozen=True, slots=True)
class Who:
    """A player an event refers to: the PlayerRef the game sent, resolved against the roster.

    ``player_key`` and ``primary_id`` are ``None`` when the reference matched nobody (a player
    who was never in a non-replay tick, or the game's empty placeholder)."""

    name: str
    shortcut: int | None
    team: int | None
    player_key: str | None
    primary_id: str | None


@dataclass(frozen=True, slots=True)
class TeamRecord:
    num: int
    name: str | None
    color_primary: str | None
    color_secondary: str | None
    score: int | None


@dataclass(frozen=True, slots=True)
class MatchRecord:
    """One match. ``key`` is stable across rebuilds: ``<GUID>-<segment>`` online (``segment``
    counts the lobby's reuses of the GUID from 1), ``offline-<start µs>-<arena>-<roster hash>``
    offline. ``state``: ``live``, ``complete``, ``abandoned`` or ``incomplete``. ``forfeit``:
    ``MatchEnded`` came while regulation time was left. ``duration_s``: wall time from the
    match's first message to its end; ``played_s``: game seconds played (regulation used plus
    overtime), from the clock. ``me_source``: ``configured`` or ``detected`` (camera target in
    player view). ``result`` (for me): ``win``, ``loss``, ``abandoned`` or ``None``."""

    key: str
    guid: str
    segment: int | None
    arena: str | None
    mode: str | None
    playlist_id: int | None
    started_at_us: int
    ended_at_us: int | None
    duration_s: float | None
    played_s: int | None
    overtime: bool
    state: str
    forfeit: bool
    teams: tuple[TeamRecord, ...]
    winner_team: int | None
    mvp: Who | None
    me_primary_id: str | None
    me_source: str | None
    result: str | None
    last_at_us: int


@dataclass(frozen=True, slots=True)
class TelemetryRecord:
    """A player's telemetry in a match (rules: :mod:`companion.derive.telemetry`), over the
    ``seconds`` of non-replay ticks in which they had a car. Speeds in km/h (0.1), shares of
    those seconds (0.001: ground, wall and air add up to 1), boost 0-100 (0.1), ``boost_used``
    the sum of boost decreases, ``zero_boost_s`` / ``full_boost_s`` seconds at 0 / 100 (0.1).
    A figure is ``None`` when no tick could give it (no counted tick, or no time to weight).
    ``approximate``: some of the match's ticks were coalesced while storage was behind."""

    seconds: float
    avg_speed: float | None
    top_speed: float | None
    supersonic_share: float | None
    ground_share: float | None
    wall_share: float | None
    air_share: float | None
    boosting_share: float | None
    avg_boost: float | None
    boost_used: float | None
    zero_boost_s: float | None
    full_boost_s: float | None
    approximate: bool


@dataclass(frozen=True, slots=True)
class PlayerLine:
    """A player's final line in a match: the cumulative stats of the last non-replay
    ``UpdateState`` that listed them, plus demolitions received (statfeed ``Demolish``).
    ``telemetry``: ``None`` when the feed never gave this player's spectator fields (an
    opponent in player view)."""

    match_key: str
    player_key: str
    name: str
    primary_id: str | None
    shortcut: int | None
    team: int | None
    bot: bool
    score: int
    goals: int
    shots: int
    assists: int
    saves: int
    touches: int
    car_touches: int
    demos: int
    demos_taken: int
    is_me: bool
    telemetry: TelemetryRecord | None = None

    def stats(self) -> dict[str, int]:
        """The eight cumulative stats under the game's names."""
        values = (
            self.score,
            self.goals,
            self.shots,
            self.assists,
            self.saves,
            self.touches,
            self.car_touches,
            self.demos,
        )
        return dict(zip(STAT_FIELDS, values, strict=True))


@dataclass(frozen=True, slots=True)
class GoalRecord:
    """A real goal (never the empty echo). ``clock_s``: seconds left in regulation; in overtime,
    seconds played in overtime (``overtime`` true). ``team``: the team credited (the scorer's; on
    an own goal the game names a scorer on the benefiting team). ``scorer_last_hit``: where the
    scorer last touched the ball before the goal (their last ``BallHit``)."""

    match_key: str
    index: int
    received_at_us: int
    clock_s: int | None
    overtime: bool
    team: int | None
    scorer: Who | None
    assister: Who | None
    speed: float | None
    impact: Location | None
    last_touch: Who | None
    last_touch_speed: float | None
    goal_time: int | None
    scorer_last_hit: Location | None


@dataclass(frozen=True, slots=True)
class StatfeedRecord:
    """A statfeed event by its stable ``EventName`` (the localised ``Type`` is not kept)."""

    match_key: str
    index: int
    received_at_us: int
    event_name: str
    main: Who | None
    secondary: Who | None
    clock_s: int | None
    overtime: bool


@dataclass(frozen=True, slots=True)
class BallHitRecord:
    """A ``BallHit``: everyone who touched the ball that frame. ``kickoff``: the first touch of
    a round (after a countdown, or while the ball was untouched)."""

    match_key: str
    index: int
    received_at_us: int
    players: tuple[Who, ...]
    pre_speed: float | None
    post_speed: float | None
    location: Location | None
    kickoff: bool
    clock_s: int | None
    overtime: bool


@dataclass(frozen=True, slots=True)
class CrossbarRecord:
    match_key: str
    index: int
    received_at_us: int
    location: Location | None
    ball_speed: float | None
    impact_force: float | None
    last_touch: Who | None
    last_touch_speed: float | None


@dataclass(frozen=True, slots=True)
class MatchBundle:
    """Everything derived for one match, as of now."""

    match: MatchRecord
    players: tuple[PlayerLine, ...]
    goals: tuple[GoalRecord, ...]
    events: tuple[StatfeedRecord, ...]
    ball_hits: tuple[BallHitRecord, ...]
    crossbar_hits: tuple[CrossbarRecord, ...]

    @property
    def key(self) -> str:
        return self.match.key

    def player(self, primary_id: str, name: str | None = None) -> PlayerLine:
        """The line of the player with this PrimaryId (bots share one: pass ``name``)."""
        for line in self.players:
            if line.primary_id == primary_id and (name is None or line.name == name):
                return line
        raise KeyError(primary_id)
