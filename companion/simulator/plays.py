"""The moments of play a planned match is made of, as :class:`Step` records.

:class:`Plays` holds a match's planning state (scoreboards, the ball, who is demolished) and the
building blocks the planner (:mod:`companion.simulator.plan`) strings together: kickoffs, the
running clock, touches, shots and saves, demolitions, crossbar hits and car bumps. Every block
writes the wire events it causes and their effect on the scoreboard in the same :class:`Step`, so
the two can never disagree.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from typing import Any

from companion.simulator.telemetry import ball_speed
from companion.simulator.truth import GoalTruth, PlayerRef
from companion.simulator.vocab import (
    POINTS,
    STAT_FIELDS,
    STAT_INDEX,
    STATFEED_LABELS,
    Player,
    TeamStyle,
)

COUNTDOWN_SECONDS = 4.0  # CountdownBegin to RoundStarted, as measured in the spectator capture
DEMOLISHED_SECONDS = 3.0  # respawn time

# Phases decide what the renderer puts in a tick (parked cars, replayed cars, no tick at all).
PRE, COUNTDOWN, LIVE, GOAL, REPLAY, ENDED, PODIUM, GONE = (
    "pre",
    "countdown",
    "live",
    "goal",
    "replay",
    "ended",
    "podium",
    "gone",
)
_SCORE = STAT_INDEX["Score"]
_TOUCHES = STAT_INDEX["Touches"]
_CAR_TOUCHES = STAT_INDEX["CarTouches"]


@dataclass(frozen=True, slots=True)
class Setup:
    """What the session decided about one match before it is planned.

    ``outcome``: ``regulation``, ``overtime``, ``forfeit``, ``abandoned`` or ``incomplete``.
    ``me``: index of the local player in ``players`` (player view), else ``None``.
    ``replay_events``: ``goal`` (GoalReplayStart/WillEnd/End, the documented names), ``short``
    (ReplayStart/ReplayWillEnd/ReplayEnd: a real build sent ``ReplayWillEnd``) or ``none`` (as in
    the April capture: only ``Game.bReplay`` tells).
    """

    index: int
    scenario: str
    outcome: str
    guid: str
    arena: str
    mode: str
    players: tuple[Player, ...]
    me: int | None
    teams: tuple[TeamStyle, TeamStyle]
    view: str
    replay_events: str
    locale: str


@dataclass(slots=True)
class Step:
    """One moment of a match: an optional wire event and the state it changes.

    ``after_tick``: sent right after the next ``UpdateState`` instead of before it. ``stats``:
    ``(player index, STAT_INDEX, delta)``. ``ball``: ``(post-hit speed, TeamNum)``, the ball's
    state from now on (speed 0 = at rest). ``clock``: ``(TimeSeconds, bOvertime)``.
    ``demolish``: ``(victim index, attacker index)``.
    """

    t: float
    event: str | None = None
    data: dict[str, Any] | None = None
    after_tick: bool = False
    stats: tuple[tuple[int, int, int], ...] = ()
    goal_team: int | None = None
    clock: tuple[int, bool] | None = None
    phase: str | None = None
    ball: tuple[float, int] | None = None
    winner: int | None = None
    demolish: tuple[int, int] | None = None


def award(player: int, name: str, stat: str | None = None) -> tuple[tuple[int, int, int], ...]:
    """The scoreboard changes for earning statfeed ``name``: its points, plus one ``stat``."""
    points = ((player, _SCORE, POINTS[name]),)
    return points if stat is None else (*points, (player, STAT_INDEX[stat], 1))


class Plays:
    """Planning state for one match plus the building blocks of live play."""

    def __init__(self, rng: random.Random, setup: Setup) -> None:
        self.rng = rng
        self.setup = setup
        self.steps: list[Step] = []
        self.refs = [p.ref() for p in setup.players]
        self.labels = STATFEED_LABELS[setup.locale]
        self.totals = [[0] * len(STAT_FIELDS) for _ in setup.players]
        self.team_score = [0, 0]
        self.goals: list[GoalTruth] = []
        self.mvp: int | None = None
        self.round_started = 0.0
        self._ball = (0.0, 0.0)  # (post-hit speed, when); speed 0 = at rest
        self._demolished_until = [0.0] * len(setup.players)

    def add(
        self, t: float, event: str | None = None, data: dict[str, Any] | None = None, **change: Any
    ) -> Step:
        """Record a step; the payload gets ``MatchGuid`` first, as every real payload has."""
        payload = None if event is None else {"MatchGuid": self.setup.guid, **(data or {})}
        step = Step(t, event, payload, **change)
        for player, stat, delta in step.stats:
            self.totals[player][stat] += delta
        if step.goal_team is not None:
            self.team_score[step.goal_team] += 1
        if step.ball is not None:
            self._ball = (step.ball[0], t)
        self.steps.append(step)
        return step

    def statfeed(
        self, t: float, name: str, main: int, secondary: int | None = None, **change: Any
    ) -> Step:
        """A ``StatfeedEvent``: stable ``EventName``, localised ``Type``."""
        data = {"EventName": name, "Type": self.labels[name], "MainTarget": self.refs[main]}
        if secondary is not None:
            data["SecondaryTarget"] = self.refs[secondary]
        return self.add(t, "StatfeedEvent", data, **change)

    def who(self, i: int) -> PlayerRef:
        p = self.setup.players[i]
        return PlayerRef(p.name, p.shortcut, p.team, p.primary_id)

    def team_of(self, team: int) -> list[int]:
        return [i for i, p in enumerate(self.setup.players) if p.team == team]

    def free_at(self, i: int, t: float) -> bool:
        """Whether player ``i`` has a car at ``t`` (not demolished)."""
        return self._demolished_until[i] <= t

    def pick(self, team: int, t: float) -> int:
        """A random player of ``team`` who has a car at ``t`` (anyone, if nobody has)."""
        members = self.team_of(team)
        free = [i for i in members if self.free_at(i, t)]
        return self.rng.choice(free or members)

    def ball_speed(self, t: float) -> float:
        post, when = self._ball
        return 0.0 if post == 0.0 else ball_speed(post, t - when)

    def hit(
        self,
        t: float,
        players: list[int],
        *,
        attack: bool = False,
        speed: tuple[float, float] = (15.0, 105.0),
    ) -> float:
        """A ``BallHit`` by ``players`` (two when both touch on one frame); returns the
        post-hit speed. ``attack``: near the goal the first player's team attacks."""
        rng = self.rng
        team = self.setup.players[players[0]].team
        side = 1.0 if team == 0 else -1.0
        y = side * rng.uniform(1500.0, 4900.0) if attack else rng.uniform(-5000.0, 5000.0)
        location = {"X": rng.uniform(-3900.0, 3900.0), "Y": y, "Z": 93.0 + rng.expovariate(1 / 250)}
        post = rng.uniform(*speed)
        ball = {"PreHitSpeed": self.ball_speed(t), "PostHitSpeed": post, "Location": location}
        stats = tuple(s for i in players for s in ((i, _TOUCHES, 1), (i, _SCORE, POINTS["Touch"])))
        refs = [self.refs[i] for i in players]
        self.add(t, "BallHit", {"Players": refs, "Ball": ball}, stats=stats, ball=(post, team))
        return post

    def kickoff(self, t: float) -> float:
        """Countdown, ``RoundStarted``, then the kickoff touch; returns when the clock restarts
        (the game's clock waits for the first touch after a kickoff)."""
        rng = self.rng
        self.add(t, "CountdownBegin", phase=COUNTDOWN, ball=(0.0, 255))
        t += COUNTDOWN_SECONDS
        self.add(t, "RoundStarted", phase=LIVE)
        self.round_started = t
        t += rng.uniform(1.8, 2.6)
        blue, orange = self.pick(0, t), self.pick(1, t)
        both = rng.random() < 0.25  # both cars reach the ball on the same frame
        first = rng.choice((blue, orange))
        self.hit(t, [blue, orange] if both else [first], speed=(60.0, 110.0))
        return t

    def live(self, t: float, start: float, end: float, *, overtime: bool, quiet: float) -> float:
        """Open play from ``start`` to ``end`` play seconds, beginning at session time ``t``:
        clock updates plus random moments, none in the last ``quiet`` seconds (kept free for a
        scripted goal or ending). Returns the session time at ``end``."""
        whole = math.floor(start) + 1
        while whole <= end:
            shown = whole if overtime else 300 - whole
            data = {"TimeSeconds": shown, "bOvertime": overtime}
            self.add(t + whole - start, "ClockUpdatedSeconds", data, clock=(shown, overtime))
            whole += 1
        n = len(self.setup.players)
        rates = (n * 0.22, 0.03, n * 0.005, 0.004, n * 0.02)  # touch, shot, demo, crossbar, bump
        total = sum(rates)
        stop = t + (end - start) - quiet
        x = t + 0.3
        while True:
            x += self.rng.expovariate(total)
            if x >= stop - 1.5:  # the longest moment (a shot and its save) takes 1.5 s
                break
            roll = self.rng.random() * total
            if roll < rates[0]:
                self.hit(x, [self.pick(self.rng.randrange(2), x)])
            elif roll < rates[0] + rates[1]:
                x = self._shot(x)
            elif roll < rates[0] + rates[1] + rates[2]:
                self._demolition(x)
            elif roll < total - rates[4]:
                x = self._crossbar(x)
            else:
                self._bump(x)
        return t + (end - start)

    def _shot(self, t: float) -> float:
        """A shot on goal, saved two times in three (sometimes an epic save)."""
        rng = self.rng
        team = rng.randrange(2)
        shooter = self.pick(team, t)
        self.hit(t, [shooter], attack=True, speed=(50.0, 115.0))
        self.statfeed(t + 0.02, "Shot", shooter, stats=award(shooter, "Shot", "Shots"))
        if rng.random() < 0.33:
            return t + 0.02
        t += rng.uniform(0.4, 1.2)
        saver = self.pick(1 - team, t)
        self.hit(t, [saver], speed=(30.0, 90.0))
        kind = "EpicSave" if rng.random() < 0.15 else "Save"
        self.statfeed(t + 0.02, kind, saver, stats=award(saver, kind, "Saves"))
        return t + 0.02

    def _demolition(self, t: float) -> None:
        rng = self.rng
        team = rng.randrange(2)
        attacker, victim = self.pick(team, t), self.pick(1 - team, t)
        if not (self.free_at(attacker, t) and self.free_at(victim, t)):
            return
        self._demolished_until[victim] = t + DEMOLISHED_SECONDS
        stats = award(attacker, "Demolish", "Demos")
        self.statfeed(t, "Demolish", attacker, victim, stats=stats, demolish=(victim, attacker))

    def _crossbar(self, t: float) -> float:
        rng = self.rng
        player = self.pick(rng.randrange(2), t)
        post = self.hit(t, [player], attack=True, speed=(60.0, 115.0))
        t += rng.uniform(0.3, 0.7)
        side = 1.0 if self.setup.players[player].team == 0 else -1.0
        location = {"X": rng.uniform(-890.0, 890.0), "Y": side * 5120.0, "Z": 642.8}
        data = {
            "BallLocation": location,
            "BallSpeed": self.ball_speed(t),
            "ImpactForce": rng.uniform(200.0, 1500.0),
            "BallLastTouch": {"Player": self.refs[player], "Speed": post},
        }
        self.add(t, "CrossbarHit", data)
        return t

    def _bump(self, t: float) -> None:
        """Two cars touch: ``CarTouches`` goes up for both, and nothing is sent."""
        a, b = self.pick(0, t), self.pick(1, t)
        self.add(t, None, stats=((a, _CAR_TOUCHES, 1), (b, _CAR_TOUCHES, 1)))
