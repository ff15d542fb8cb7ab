"""Synthesise whole sessions of Rocket League matches as the Stats API would send them.

Pure and deterministic: everything random comes from ``random.Random(seed)``; no global random
state, no wall clock. The same :class:`SynthOptions` always give the same timeline, byte for byte.

Usage::

    synthesis = synthesize(SynthOptions(seed=7, scenario="mixed", matches=5, rate=60))
    synthesis.truth                      # SessionTruth: what was sent, match by match
    for t, event, data in synthesis:     # lazily, as often as you like
        ...
    for message in synthesis.messages(): # the same as WireMessage (t, event, exact bytes)
        ...

Scenarios (``SynthOptions.scenario``): ``normal`` (ends when the clock runs out, never tied),
``overtime`` (tied after regulation; the clock counts up with ``bOvertime`` until a goal),
``forfeit`` (``MatchEnded`` before the clock ran out), ``abandoned`` (``MatchDestroyed`` without
``MatchEnded``), ``incomplete`` (the stream stops mid-match), ``offline`` (empty ``MatchGuid``,
bots), ``bots`` (online, opponents are bots with PrimaryId ``Unknown|0|0``), ``guid-reuse``
(private lobby: every match reuses the first one's ``MatchGuid`` after ``MatchDestroyed``; at
least two matches) and ``mixed`` (a season-like variety of all of these, modes too).

The local player ("me") is the same person in every match of a session (player view), with a
couple of recurring teammates, so sessions, teammates and "my" results can be derived.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass, replace

from companion.simulator.plan import MatchPlan, plan_match
from companion.simulator.plays import Setup
from companion.simulator.render import render_match
from companion.simulator.truth import SessionTruth
from companion.simulator.vocab import (
    ARENAS,
    BOT_ID,
    BOT_NAMES,
    CLUB_TEAMS,
    DEFAULT_TEAMS,
    GAMER_TAGS,
    STATFEED_LABELS,
    Player,
    match_guid,
    platform_id,
)
from companion.simulator.wire import TimelineEvent, WireMessage, encode_timeline

MODES = {"1v1": 1, "2v2": 2, "3v3": 3, "4v4": 4}
SCENARIOS = (
    "normal",
    "overtime",
    "forfeit",
    "abandoned",
    "incomplete",
    "offline",
    "bots",
    "guid-reuse",
    "mixed",
)
VIEWS = ("player", "spectator")
REPLAY_EVENTS = ("goal", "short", "none", "random")
MAX_RATE = 120.0  # the game caps PacketSendRate at 120

_OUTCOMES = ("overtime", "forfeit", "abandoned", "incomplete")  # else: ends in regulation
# A season: mostly ordinary matches, some of every oddity.
_MIXED = {
    "normal": 50,
    "overtime": 14,
    "forfeit": 8,
    "abandoned": 5,
    "incomplete": 2,
    "offline": 6,
    "bots": 5,
    "guid-reuse": 10,
}
_MIXED_MODES = {"1v1": 20, "2v2": 35, "3v3": 45}


@dataclass(frozen=True, slots=True)
class SynthOptions:
    """What to synthesise. ``mode``: ``1v1`` … ``4v4``, or ``mixed`` (varies per match).
    ``rate``: ``UpdateState`` ticks per second (the game's ``PacketSendRate``, 1-120).
    ``view``: ``player`` (SPECTATOR fields for my team only) or ``spectator`` (for everyone).
    ``gap``: seconds of silence between matches (menus, queue). ``replay_events``: which
    goal-replay events the simulated build sends (``random``: one of the three, per session).
    ``locale``: language of the statfeed ``Type`` text."""

    seed: int = 0
    scenario: str = "normal"
    mode: str = "3v3"
    view: str = "player"
    rate: float = 30.0
    matches: int = 1
    gap: float = 8.0
    replay_events: str = "random"
    locale: str = "en"

    def __post_init__(self) -> None:
        checks = (
            (self.scenario in SCENARIOS, f"scenario must be one of {', '.join(SCENARIOS)}"),
            (
                self.mode in MODES or self.mode == "mixed",
                "mode must be 1v1, 2v2, 3v3, 4v4 or mixed",
            ),
            (self.view in VIEWS, "view must be player or spectator"),
            (1.0 <= self.rate <= MAX_RATE, "rate must be between 1 and 120 ticks per second"),
            (self.matches >= 1, "matches must be at least 1"),
            (self.gap >= 0.0, "gap must not be negative"),
            (
                self.replay_events in REPLAY_EVENTS,
                "replay_events must be goal, short, none or random",
            ),
            (self.locale in STATFEED_LABELS, f"locale must be one of {', '.join(STATFEED_LABELS)}"),
        )
        for ok, problem in checks:
            if not ok:
                raise ValueError(problem)


class Synthesis:
    """A synthesised session: the truth at once, the timeline lazily and repeatably.

    Iterating yields :class:`TimelineEvent` ``(t, event, data)`` in sending order, ``t`` in
    seconds from the first message. Each iteration renders afresh (a 3v3 match at 120 Hz is
    ~40,000 ticks), with identical results every time.
    """

    def __init__(self, options: SynthOptions, plans: list[MatchPlan]) -> None:
        self.options = options
        self.plans = plans
        self.truth = SessionTruth(
            seed=options.seed,
            scenario=options.scenario,
            view=options.view,
            rate=options.rate,
            matches=tuple(plan.truth for plan in plans),
        )

    @property
    def duration(self) -> float:
        """Seconds from the first message to the last."""
        return self.plans[-1].end_t

    def __iter__(self) -> Iterator[TimelineEvent]:
        for plan in self.plans:
            yield from render_match(plan, self.options.rate)

    def messages(self, *, data_as_string: bool = True) -> Iterator[WireMessage]:
        """The timeline encoded for the wire (``Data`` as a JSON string unless told otherwise)."""
        return encode_timeline(self, data_as_string=data_as_string)

    def wire_bytes(self, *, data_as_string: bool = True) -> bytes:
        """The whole stream as one byte string (tests; mind the size at high rates)."""
        return b"".join(m.raw for m in self.messages(data_as_string=data_as_string))


def synthesize(options: SynthOptions | None = None) -> Synthesis:
    """Plan a session of matches; rendering happens when the result is iterated."""
    options = options or SynthOptions()
    rng = random.Random(options.seed)
    replay_events = options.replay_events
    if replay_events == "random":
        replay_events = rng.choice(("goal", "short", "none"))
    people = _People(rng)
    count = max(options.matches, 2) if options.scenario == "guid-reuse" else options.matches
    plans: list[MatchPlan] = []
    start = 0.0
    previous: Setup | None = None
    for index in range(count):
        scenario = options.scenario
        if scenario == "mixed":
            scenario = rng.choices(list(_MIXED), weights=list(_MIXED.values()))[0]
        if scenario == "guid-reuse" and previous is not None and previous.guid:
            # A private-lobby rematch: same lobby, same GUID, same people, maybe a new arena.
            arena = rng.choice(ARENAS)
            setup = replace(
                previous, index=index, scenario=scenario, outcome="regulation", arena=arena
            )
        else:
            if scenario == "guid-reuse" and options.scenario == "mixed":
                scenario = "normal"  # nothing to reuse yet
            setup = _new_setup(rng, options, people, index, scenario, replay_events)
        plan = plan_match(random.Random(rng.getrandbits(64)), setup, start)
        plans.append(plan)
        previous = setup if plan.truth.ending != "incomplete" else None
        start = plan.end_t + options.gap
    return Synthesis(options, plans)


class _People:
    """The session's cast: me, two friends who often queue with me, and strangers."""

    def __init__(self, rng: random.Random) -> None:
        names = list(GAMER_TAGS)
        rng.shuffle(names)
        self.rng = rng
        self.ids = {name: platform_id(rng) for name in names}
        self.me, self.friends, self.strangers = names[0], names[1:3], names[3:]

    def lineup(self, per_team: int, view: str, bots: str) -> tuple[list[str], list[str], int]:
        """Names for (my team, the other team) and my team's number. ``bots``: ``none``,
        ``opponents`` or ``all`` (everyone but me)."""
        rng = self.rng
        humans = rng.sample(self.strangers, 2 * per_team)
        robots = rng.sample(BOT_NAMES, 2 * per_team)
        mine = [] if view == "spectator" else [self.me]
        if bots != "all":
            mine = (mine + [f for f in self.friends if rng.random() < 0.6])[:per_team]
        fill = robots if bots == "all" else humans
        mine += fill[: per_team - len(mine)]
        theirs = (humans if bots == "none" else robots)[per_team : 2 * per_team]
        return mine, theirs, rng.randrange(2)

    def player(self, name: str, shortcut: int, team: int) -> Player:
        if name in self.ids:
            return Player(name, self.ids[name], shortcut, team)
        return Player(name, BOT_ID, shortcut, team, bot=True)


def _new_setup(
    rng: random.Random,
    options: SynthOptions,
    people: _People,
    index: int,
    scenario: str,
    replay_events: str,
) -> Setup:
    mode = options.mode
    if mode == "mixed":
        mode = rng.choices(list(_MIXED_MODES), weights=list(_MIXED_MODES.values()))[0]
    per_team = MODES[mode]
    bots = {"offline": "all", "bots": "opponents"}.get(scenario, "none")
    mine, theirs, my_team = people.lineup(per_team, options.view, bots)
    by_team = (mine, theirs) if my_team == 0 else (theirs, mine)
    players = [
        people.player(name, team * 4 + slot + 1, team)  # shortcuts 1-4 blue, 5-8 orange
        for team, names in enumerate(by_team)
        for slot, name in enumerate(names)
    ]
    rng.shuffle(players)
    me = None
    if options.view == "player":
        me = next(i for i, p in enumerate(players) if p.name == people.me)
    teams = DEFAULT_TEAMS
    if options.scenario == "mixed" and rng.random() < 0.05:
        first = rng.randrange(0, len(CLUB_TEAMS), 2)  # two clubs with colours that differ
        teams = (CLUB_TEAMS[first], CLUB_TEAMS[first + 1])
    return Setup(
        index=index,
        scenario=scenario,
        outcome=scenario if scenario in _OUTCOMES else "regulation",
        guid="" if scenario == "offline" else match_guid(rng),
        arena=rng.choice(ARENAS),
        mode=mode,
        players=tuple(players),
        me=me,
        teams=teams,
        view=options.view,
        replay_events=replay_events,
        locale=options.locale,
    )
