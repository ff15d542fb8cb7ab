"""Render a planned match into its timeline: the planned events interleaved with ``UpdateState``
ticks at the chosen rate.

The renderer walks the plan's steps in order and applies each step's changes (scoreboards, clock,
phase, ball, winner, demolitions) before the next tick, so every tick shows the state the events
so far have produced. Cars and ball move with :mod:`companion.simulator.telemetry`, driven by a
generator seeded from the plan, so rendering the same plan twice gives the same ticks. It is a
generator: a 5-minute match at 120 Hz is about 40,000 ticks (goals and replays add time),
produced one at a time.

What a tick looks like follows the real captures (``docs/stats-api.md`` §1.6): player fields in the
game's order; SPECTATOR fields (``bHasCar``, ``Speed``, ``Boost``, ``b*``) only for the local
player's team in player view and for everyone in spectator view; ``false`` booleans omitted, and
``Speed``/``Boost`` omitted when zero, as real builds do; ``Attacker`` while demolished;
``Game.bHasTarget``/``Target`` = the local player in player view outside replays; replay ticks
(``bReplay`` true) repeat the cars' telemetry from the seconds before the goal.
"""

from __future__ import annotations

import random
from collections import deque
from collections.abc import Iterator
from typing import Any

from companion.simulator.plan import MatchPlan
from companion.simulator.plays import COUNTDOWN, ENDED, GOAL, GONE, LIVE, PODIUM, PRE, REPLAY, Step
from companion.simulator.telemetry import (
    BOOSTING,
    ON_GROUND,
    ON_WALL,
    POWERSLIDING,
    STILL,
    SUPERSONIC,
    Car,
    CarSample,
    ball_speed,
)
from companion.simulator.wire import TimelineEvent

_MOVING = frozenset((LIVE, GOAL, ENDED))
_PARKED = frozenset((PRE, COUNTDOWN, PODIUM))
_REPLAY_SECONDS = 6.0  # how much of the run-up to a goal its replay shows


class _State:
    """Everything a tick shows that events change."""

    def __init__(self, plan: MatchPlan) -> None:
        n = len(plan.setup.players)
        self.stats = [[0] * 8 for _ in range(n)]
        self.team_score = [0, 0]
        self.clock, self.overtime = 300, False
        self.phase = PRE
        self.ball = (0.0, plan.start_t)  # (post-hit speed, when); speed 0 = at rest
        self.ball_team = 255
        self.winner = ""
        self.demolished_until = [float("-inf")] * n
        self.attacker: list[dict[str, Any] | None] = [None] * n
        self.goal_scored = False  # set by a goal step: grab the replay frames at the next tick

    def apply(self, step: Step, plan: MatchPlan) -> None:
        for player, stat, delta in step.stats:
            self.stats[player][stat] += delta
        if step.goal_team is not None:
            self.team_score[step.goal_team] += 1
            self.goal_scored = True
        if step.clock is not None:
            self.clock, self.overtime = step.clock
        if step.phase is not None:
            self.phase = step.phase
        if step.ball is not None:
            self.ball = (step.ball[0], step.t)
            self.ball_team = step.ball[1]
        if step.winner is not None:
            self.winner = plan.setup.teams[step.winner].name
        if step.demolish is not None:
            victim, attacker = step.demolish
            self.demolished_until[victim] = step.t + 3.0
            self.attacker[victim] = plan.setup.players[attacker].ref()


def render_match(plan: MatchPlan, rate: float) -> Iterator[TimelineEvent]:
    """The plan's events interleaved with ``UpdateState`` ticks every ``1 / rate`` seconds, from
    ``MatchCreated`` until ``MatchDestroyed`` (or the cut of an incomplete match)."""
    setup = plan.setup
    players = setup.players
    state = _State(plan)
    rng = random.Random(plan.telemetry_seed)
    cars = [Car() for _ in players]
    me = setup.me
    my_team = None if me is None else players[me].team
    visible = [setup.view == "spectator" or p.team == my_team for p in players]
    target = None if me is None else players[me].ref()
    statics = [(p.name, p.primary_id, p.shortcut, p.team) for p in players]
    teams = [(style.name, i, style.primary, style.secondary) for i, style in enumerate(setup.teams)]
    history: deque[tuple[list[CarSample], float]] = deque(maxlen=int(_REPLAY_SECONDS * rate) + 1)
    frames: list[tuple[list[CarSample], float]] = []
    replay_at = 0
    dt = 1.0 / rate
    steps, i, n_steps = plan.steps, 0, len(plan.steps)
    now = plan.start_t
    parked_phase = ""

    def tick(tk: float) -> TimelineEvent:
        nonlocal replay_at, frames, parked_phase
        phase = state.phase
        if state.goal_scored:
            state.goal_scored = False
            frames = list(history) or [([STILL] * len(players), 0.0)]
            replay_at = 0
        if phase == REPLAY:
            samples, ball = frames[replay_at % len(frames)]
            replay_at += 1
        elif phase in _PARKED:
            if parked_phase != phase:  # respawned on the kickoff pads (or the podium)
                for car in cars:
                    car.kickoff()
                parked_phase = phase
            samples, ball = [STILL] * len(players), 0.0
        else:
            parked_phase = ""
            samples = [
                car.step(rng, dt) if until <= tk else car.wreck()
                for car, until in zip(cars, state.demolished_until, strict=True)
            ]
            post, when = state.ball
            ball = 0.0 if post == 0.0 else ball_speed(post, tk - when)
            if phase == LIVE:
                history.append((samples, ball))
        rows = []
        for j, (name, primary_id, shortcut, team) in enumerate(statics):
            s = state.stats[j]
            row: dict[str, Any] = {
                "Name": name,
                "PrimaryId": primary_id,
                "Shortcut": shortcut,
                "TeamNum": team,
                "Score": s[0],
                "Goals": s[1],
                "Shots": s[2],
                "Assists": s[3],
                "Saves": s[4],
                "Touches": s[5],
                "CarTouches": s[6],
                "Demos": s[7],
            }
            demolished = phase in _MOVING and state.demolished_until[j] > tk
            if visible[j]:
                _spectator_fields(row, samples[j], demolished)
            if demolished:
                row["Attacker"] = state.attacker[j]
            rows.append(row)
        replay = phase == REPLAY
        game: dict[str, Any] = {
            "Teams": [
                {
                    "Name": name,
                    "TeamNum": num,
                    "Score": state.team_score[num],
                    "ColorPrimary": primary,
                    "ColorSecondary": secondary,
                }
                for name, num, primary, secondary in teams
            ],
            "TimeSeconds": state.clock,
            "bOvertime": state.overtime,
            "Ball": {"Speed": ball, "TeamNum": state.ball_team},
            "bReplay": replay,
            "bHasWinner": state.winner != "",
            "Winner": state.winner,
            "Arena": setup.arena,
            "bHasTarget": target is not None and not replay,
        }
        if target is not None and not replay:
            game["Target"] = target
        return TimelineEvent(
            tk, "UpdateState", {"MatchGuid": setup.guid, "Players": rows, "Game": game}
        )

    k = 0
    while True:
        tk = plan.start_t + k * dt
        ticked = False
        while i < n_steps and steps[i].t <= tk:
            step = steps[i]
            i += 1
            if step.after_tick and not ticked:
                yield tick(tk)
                ticked = True
                now = tk
            state.apply(step, plan)
            if step.event is not None and step.data is not None:
                now = max(now, step.t)
                yield TimelineEvent(now, step.event, step.data)
        if state.phase == GONE:
            return
        if not ticked:
            yield tick(tk)
            now = tk
        k += 1


def _spectator_fields(row: dict[str, Any], sample: CarSample, demolished: bool) -> None:
    """The SPECTATOR fields, in the game's order; false flags and zero Speed/Boost omitted."""
    speed, boost, flags = sample
    if demolished:
        row["bDemolished"] = True
        row["bHasCar"] = True
        if boost:
            row["Boost"] = boost
        return
    if flags & ON_WALL:
        row["bOnWall"] = True
    if flags & ON_GROUND:
        row["bOnGround"] = True
    if flags & POWERSLIDING:
        row["bPowersliding"] = True
    row["bHasCar"] = True
    if speed:
        row["Speed"] = speed
    if boost:
        row["Boost"] = boost
    if flags & BOOSTING:
        row["bBoosting"] = True
    if flags & SUPERSONIC:
        row["bSupersonic"] = True
