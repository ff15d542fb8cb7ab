"""Plan one match: every discrete event, with its time, payload and effect on the scoreboard.

The planner decides what happens (kickoffs, touches, shots, saves, demolitions, crossbar hits,
goals and their replays, overtime, forfeits, abandonment) and writes it down as a sorted list of
:class:`Step`. Each step may carry a wire event and the state changes it causes; the tick renderer
(:mod:`companion.simulator.synth`) applies the same changes as it walks the steps, so the
scoreboards in ``UpdateState`` always agree with the events and with the truth computed here.

Ordering rules taken from real captures (``docs/stats-api.md`` §1.8): statfeed ``Goal`` (and
``Assist``) first, then an ``UpdateState`` with the new score, then ``GoalScored``
(``after_tick``); ``ClockUpdatedSeconds`` just before the first tick with the new time; after a
kickoff the clock only resumes at the first touch; the empty ``GoalScored`` echo comes when the
goal replay ends, right before ``CountdownBegin``.
"""

from __future__ import annotations

import itertools
import math
import random
from dataclasses import dataclass
from typing import Any

from companion.simulator.plays import (
    ENDED,
    GOAL,
    GONE,
    PODIUM,
    PRE,
    REPLAY,
    Plays,
    Setup,
    Step,
    award,
)
from companion.simulator.truth import GoalTruth, MatchTruth, PlayerTruth
from companion.simulator.vocab import STAT_FIELDS, STAT_INDEX

REGULATION_SECONDS = 300

_REPLAY_NAMES = {
    "goal": ("GoalReplayStart", "GoalReplayWillEnd", "GoalReplayEnd"),
    "short": ("ReplayStart", "ReplayWillEnd", "ReplayEnd"),
}
_ECHO_SCORER = {"Name": "", "Shortcut": 0, "TeamNum": 0}


@dataclass(slots=True)
class MatchPlan:
    """A planned match: sorted steps (session times), when ticks stop, and the truth."""

    setup: Setup
    start_t: float
    end_t: float
    steps: list[Step]
    truth: MatchTruth
    telemetry_seed: int


class Planner(Plays):
    """Builds one :class:`MatchPlan`; use :func:`plan_match`."""

    def run(self, start: float) -> MatchPlan:
        setup, rng = self.setup, self.rng
        t = start
        self.add(t, "MatchCreated", phase=PRE)
        t += rng.uniform(1.5, 3.0)
        self.add(t, "MatchInitialized")
        goals, cut = self._schedule()
        t = self.kickoff(t)
        played = 0.0
        for at, team in goals:
            t = self.live(t, played, at, overtime=False, quiet=3.2)
            t = self.goal(t, team, clock_s=REGULATION_SECONDS - math.floor(at), overtime=False)
            played = at
        ending, overtime, winner = "complete", False, None
        if cut is not None:
            t = self.live(t, played, cut, overtime=False, quiet=1.0)
            if setup.outcome == "forfeit":
                ending = "forfeit"
                blue, orange = self.team_score
                winner = rng.randrange(2) if blue == orange else int(orange > blue)
                t = self.finish(t, winner)
            elif setup.outcome == "abandoned":
                ending = "abandoned"
                self.add(t, "MatchDestroyed", phase=GONE)
            else:
                ending = "incomplete"
                self.add(t, None, phase=GONE)
        else:
            t = self.live(t, played, REGULATION_SECONDS, overtime=False, quiet=0.8)
            t += rng.uniform(0.3, 1.5)  # the match ends when the ball next touches the ground
            if self.team_score[0] == self.team_score[1]:
                overtime = True
                self.add(t, None, clock=(0, True), phase=GOAL)
                t = self.kickoff(t + rng.uniform(2.0, 3.0))
                at = rng.randrange(3, 150) + rng.uniform(0.1, 0.9)
                t = self.live(t, 0.0, at, overtime=True, quiet=3.2)
                winner = rng.randrange(2)
                t = self.goal(t, winner, clock_s=math.floor(at), overtime=True, final=True)
                t = self.finish(t + rng.uniform(1.2, 2.0), winner)
            else:
                winner = int(self.team_score[1] > self.team_score[0])
                t = self.finish(t, winner)
        self.steps.sort(key=lambda s: s.t)  # stable: same-time steps keep their planned order
        return MatchPlan(
            setup,
            start,
            t,
            self.steps,
            self._truth(start, t, ending, overtime, winner),
            rng.getrandbits(64),
        )

    def _schedule(self) -> tuple[list[tuple[float, int]], float | None]:
        """Regulation goals as (play seconds, team), and where play is cut short (if it is)."""
        rng, outcome = self.rng, self.setup.outcome
        weights = (14, 24, 24, 18, 11, 6, 3)
        while True:
            blue, orange = (rng.choices(range(7), weights=weights)[0] for _ in range(2))
            if outcome == "overtime":
                orange = blue
            if outcome != "regulation" or blue != orange:
                break
        cut: float | None = None
        if outcome == "forfeit":
            cut = rng.uniform(90.0, 250.0)
        elif outcome in ("abandoned", "incomplete"):
            cut = rng.uniform(20.0, 280.0)
        times = _spread(rng, blue + orange, 4.0, 296.0, gap=8.0)
        teams = [0] * blue + [1] * orange
        rng.shuffle(teams)
        goals = [(at, team) for at, team in zip(times, teams, strict=True)]
        if cut is not None:
            goals = [(at, team) for at, team in goals if at < cut - 2.0]
        return goals, cut

    def finish(self, t: float, winner: int) -> float:
        """``MatchEnded``, the Win and MVP statfeed, podium, ``MatchDestroyed``."""
        self.add(t, "MatchEnded", {"WinnerTeamNum": winner}, winner=winner, phase=ENDED)
        team = [i for i, p in enumerate(self.setup.players) if p.team == winner]
        for i in team:
            self.statfeed(t, "Win", i)
        score = STAT_INDEX["Score"]
        self.mvp = max(team, key=lambda i: self.totals[i][score])
        self.statfeed(t, "MVP", self.mvp)
        t += self.rng.uniform(2.5, 4.0)
        self.add(t, "PodiumStart", phase=PODIUM)
        t += self.rng.uniform(5.0, 8.0)
        self.add(t, "MatchDestroyed", phase=GONE)
        return t

    def goal(
        self, t: float, team: int, *, clock_s: int, overtime: bool, final: bool = False
    ) -> float:
        """A goal at ``t``: the build-up, statfeed, ``GoalScored``, then (unless it ends the
        match) the replay, the echo and the next kickoff. Returns when play resumes."""
        rng, refs = self.rng, self.refs
        scorer = self.pick(team, t - 1.5)
        pass_t = t - rng.uniform(1.8, 3.0)
        mates = [i for i in self.team_of(team) if i != scorer and self.free_at(i, pass_t)]
        assister = rng.choice(mates) if mates and rng.random() < 0.55 else None
        if assister is not None:
            self.hit(pass_t, [assister], attack=True)
        shot_t = t - rng.uniform(0.4, 1.4)
        post = self.hit(shot_t, [scorer], attack=True, speed=(55.0, 120.0))
        self.statfeed(shot_t + 0.02, "Shot", scorer, stats=award(scorer, "Shot", "Shots"))
        # The ball explodes: at rest (speed 0) until the next kickoff; the clock stops.
        goal = award(scorer, "Goal", "Goals")
        self.statfeed(t, "Goal", scorer, stats=goal, goal_team=team, phase=GOAL, ball=(0.0, team))
        if assister is not None:
            self.statfeed(t, "Assist", assister, stats=award(assister, "Assist", "Assists"))
        side = 1 if team == 0 else -1  # blue scores in the orange goal at +Y
        impact = {
            "X": rng.uniform(-860.0, 860.0),
            "Y": side * rng.uniform(5125.0, 5240.0),
            "Z": rng.uniform(93.0, 600.0),
        }
        speed = post * rng.uniform(0.95, 1.08)
        last_touch = {"Player": refs[scorer], "Speed": post}
        data: dict[str, Any] = {
            "GoalSpeed": speed,
            "GoalTime": int(t - self.round_started),
            "ImpactLocation": impact,
            "Scorer": refs[scorer],
        }
        if assister is not None:
            data["Assister"] = refs[assister]
        data["BallLastTouch"] = last_touch
        self.add(t, "GoalScored", data, after_tick=True)
        self.goals.append(
            GoalTruth(
                t,
                team,
                self.who(scorer),
                None if assister is None else self.who(assister),
                speed,
                clock_s,
                overtime,
                impact,
            )
        )
        if final:
            return t
        start, will_end, end = _REPLAY_NAMES.get(self.setup.replay_events, (None, None, None))
        t += rng.uniform(3.3, 3.8)
        self.add(t, start, phase=REPLAY)
        skipped = rng.random() < 0.2  # everyone voted to skip: short, and no WillEnd
        t += rng.uniform(1.2, 2.4) if skipped else rng.uniform(4.8, 5.4)
        if will_end is not None and not skipped:
            self.add(t - 1.0, will_end)
        if end is not None:
            self.add(t, end)
        echo = {"GoalSpeed": 0.0, "GoalTime": 0, "ImpactLocation": impact}
        self.add(t, "GoalScored", {**echo, "Scorer": _ECHO_SCORER, "BallLastTouch": last_touch})
        return self.kickoff(t)

    def _truth(
        self, start: float, end: float, ending: str, overtime: bool, winner: int | None
    ) -> MatchTruth:
        setup = self.setup
        players = tuple(
            PlayerTruth(
                p.name,
                p.primary_id,
                p.shortcut,
                p.team,
                p.bot,
                dict(zip(STAT_FIELDS, self.totals[i], strict=True)),
            )
            for i, p in enumerate(setup.players)
        )
        me = None if setup.me is None else setup.players[setup.me].primary_id
        return MatchTruth(
            index=setup.index,
            scenario=setup.scenario,
            ending=ending,
            guid=setup.guid,
            arena=setup.arena,
            mode=setup.mode,
            overtime=overtime,
            start_t=start,
            end_t=end,
            me=me,
            team_names=(setup.teams[0].name, setup.teams[1].name),
            team_scores=(self.team_score[0], self.team_score[1]),
            winner=winner,
            mvp=None if self.mvp is None else self.who(self.mvp),
            players=players,
            goals=tuple(self.goals),
        )


def plan_match(rng: random.Random, setup: Setup, start: float) -> MatchPlan:
    """Plan the match described by ``setup``, its first message (``MatchCreated``) at ``start``."""
    return Planner(rng, setup).run(start)


def _spread(rng: random.Random, n: int, low: float, high: float, gap: float) -> list[float]:
    """``n`` sorted random times in [low, high], at least ``gap`` apart, never whole seconds
    (so a goal never coincides with a clock tick-over)."""
    for _ in range(100):
        times = sorted(rng.uniform(low, high) for _ in range(n))
        if all(b - a >= gap for a, b in itertools.pairwise(times)):
            break
    else:
        step = (high - low) / max(n, 1)
        times = [low + step * (i + 0.5) for i in range(n)]
    return [x + 0.25 if x == math.floor(x) else x for x in times]
