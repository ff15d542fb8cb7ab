"""Derivation (companion.derive): pure unit tests of each rule with small hand-built sequences,
then whole synthesised matches checked against the simulator's truth, then the real capture."""

from __future__ import annotations

import gzip
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
import pytest

import companion.derive.match as match_module
from companion.derive import (
    ABANDONED,
    COMPLETE,
    INCOMPLETE,
    LIVE,
    STAT_FIELDS,
    Item,
    MatchBundle,
    MatchDeriver,
)
from companion.simulator import MatchTruth, SynthOptions, synthesize
from companion.simulator.synth import SCENARIOS as SYNTH_SCENARIOS
from companion.sources.feed_session import is_goal_echo
from companion.sources.framing import JsonFramer

CAPTURES = Path(__file__).resolve().parents[2] / "shared" / "fixtures" / "rl-stats-api"
BASE_US = 1_790_000_000_000_000
GUID = "0123456789ABCDEF0123456789ABCDEF"
BOT = "Unknown|0|0"

# -- a tiny hand-built match ------------------------------------------------------------------


@dataclass
class P:
    """A player in a hand-built tick."""

    name: str
    primary_id: str
    shortcut: int
    team: int
    stats: list[int] = field(default_factory=lambda: [0] * 8)
    telemetry: bool = True

    def ref(self) -> dict[str, Any]:
        return {"Name": self.name, "Shortcut": self.shortcut, "TeamNum": self.team}

    def row(self) -> dict[str, Any]:
        row: dict[str, Any] = {
            "Name": self.name,
            "PrimaryId": self.primary_id,
            "Shortcut": self.shortcut,
            "TeamNum": self.team,
            **dict(zip(STAT_FIELDS, self.stats, strict=True)),
        }
        if self.telemetry:
            row.update({"bHasCar": True, "Speed": 40.0, "Boost": 33})
        return row


class Script:
    """Builds journal items for one stream: one item per call, times 100 ms apart."""

    def __init__(self, guid: str = GUID, arena: str = "Park_P", start_us: int = BASE_US) -> None:
        self.guid = guid
        self.arena = arena
        self.now = start_us
        self.seq = 0
        self.items: list[Item] = []
        self.clock = 300
        self.overtime = False
        self.scores = [0, 0]
        self.target: P | None = None

    def event(
        self, name: str, data: dict[str, Any] | None = None, *, gap_us: int = 100_000
    ) -> Item:
        self.seq += 1
        self.now += gap_us
        item = Item("test", self.seq, self.now, name, {"MatchGuid": self.guid, **(data or {})})
        self.items.append(item)
        return item

    def tick(
        self, players: list[P], *, replay: bool = False, ball_team: int = 0, **game: Any
    ) -> Item:
        data: dict[str, Any] = {
            "Teams": [
                {
                    "Name": n,
                    "TeamNum": i,
                    "Score": self.scores[i],
                    "ColorPrimary": c,
                    "ColorSecondary": "E5E5E5",
                }
                for i, (n, c) in enumerate((("Blue", "1873FF"), ("Orange", "C26418")))
            ],
            "TimeSeconds": self.clock,
            "bOvertime": self.overtime,
            "Ball": {"Speed": 10.0, "TeamNum": ball_team},
            "bReplay": replay,
            "bHasWinner": False,
            "Winner": "",
            "Arena": self.arena,
            "bHasTarget": self.target is not None and not replay,
            **game,
        }
        if self.target is not None and not replay:
            data["Target"] = self.target.ref()
        return self.event("UpdateState", {"Players": [p.row() for p in players], "Game": data})

    def clock_to(self, seconds: int, overtime: bool = False) -> None:
        self.clock, self.overtime = seconds, overtime
        self.event("ClockUpdatedSeconds", {"TimeSeconds": seconds, "bOvertime": overtime})

    def goal(self, scorer: P, assister: P | None = None, speed: float = 88.5) -> None:
        data: dict[str, Any] = {
            "GoalSpeed": speed,
            "GoalTime": 12,
            "ImpactLocation": {
                "X": 10.0,
                "Y": 5200.0 * (1 if scorer.team == 0 else -1),
                "Z": 300.0,
            },
            "Scorer": scorer.ref(),
            "BallLastTouch": {"Player": scorer.ref(), "Speed": speed},
        }
        if assister is not None:
            data["Assister"] = assister.ref()
        self.event("GoalScored", data)

    def echo(self) -> None:
        self.event(
            "GoalScored",
            {
                "GoalSpeed": 0.0,
                "GoalTime": 0,
                "ImpactLocation": {"X": 10.0, "Y": 5200.0, "Z": 300.0},
                "Scorer": {"Name": "", "Shortcut": 0, "TeamNum": 0},
            },
        )


def derive(items: Iterable[Item], **options: Any) -> tuple[MatchBundle, ...]:
    deriver = MatchDeriver(**options)
    deriver.apply_all(items)
    return deriver.snapshot()


def only(bundles: tuple[MatchBundle, ...]) -> MatchBundle:
    assert len(bundles) == 1, [b.key for b in bundles]
    return bundles[0]


ZOE = P("Zoë", "Steam|76500000000000001|0", 1, 0)
KEVIN = P("Kévin", "Epic|aa11bb22cc33dd44ee55ff6600112233|0", 2, 0)
STAR = P("星の子", "PS4|1234567890|0", 5, 1)
ROCKET = P("🚀 Rocketeer", "Switch|998877|0", 6, 1)


def two_v_two() -> tuple[Script, list[P]]:
    players = [
        P(p.name, p.primary_id, p.shortcut, p.team, telemetry=p.team == 0)
        for p in (ZOE, KEVIN, STAR, ROCKET)
    ]
    script = Script()
    script.event("MatchCreated")
    script.tick(players, ball_team=255)
    return script, players


# -- per-player finals -----------------------------------------------------------------------


def test_finals_come_from_the_last_non_replay_tick() -> None:
    script, (zoe, kevin, star, rocket) = two_v_two()
    zoe.stats = [120, 1, 2, 0, 0, 5, 1, 0]
    star.stats = [75, 0, 1, 0, 1, 4, 0, 1]
    script.scores = [1, 0]
    script.tick([zoe, kevin, star, rocket])
    # A replay shows the cars of seconds ago, with anything in its figures: it never counts.
    zoe.stats = [999, 9, 9, 9, 9, 9, 9, 9]
    script.tick([zoe, kevin, star, rocket], replay=True)
    script.tick([zoe, kevin, star, rocket], replay=True)
    bundle = only(derive(script.items))
    line = bundle.player(ZOE.primary_id)
    assert line.stats() == dict(zip(STAT_FIELDS, [120, 1, 2, 0, 0, 5, 1, 0], strict=True))
    assert line.name == "Zoë" and line.team == 0 and not line.bot
    assert bundle.player(STAR.primary_id).stats()["Demos"] == 1
    assert [t.score for t in bundle.match.teams] == [1, 0]
    assert bundle.match.state == LIVE and bundle.match.mode == "2v2"
    assert bundle.match.key == f"{GUID}-1" and bundle.match.segment == 1


def test_a_player_who_left_keeps_their_last_line() -> None:
    script, (zoe, kevin, star, rocket) = two_v_two()
    kevin.stats = [50, 0, 1, 0, 0, 3, 0, 0]
    script.tick([zoe, kevin, star, rocket])
    script.tick([zoe, star, rocket])  # Kévin left
    bundle = only(derive(script.items))
    assert bundle.player(KEVIN.primary_id).score == 50
    assert bundle.match.mode == "2v2"  # the largest teams seen at once


def test_bots_sharing_one_id_are_told_apart_and_demolitions_land_on_the_right_one() -> None:
    me = P("Łukasz", "Steam|76500000000000002|0", 1, 0)
    mate = P("Armstrong", BOT, 2, 0, [10, 0, 0, 0, 0, 1, 0, 0])
    foe1 = P("Armstrong", BOT, 5, 1, [20, 0, 0, 0, 0, 2, 0, 0])  # same name, other team
    foe2 = P("Sundown", BOT, 6, 1, [30, 0, 0, 0, 0, 3, 0, 1])
    script = Script(guid="")
    script.tick([me, mate, foe1, foe2])
    script.event(
        "StatfeedEvent",
        {
            "EventName": "Demolish",
            "Type": "Démolition",
            "MainTarget": foe2.ref(),
            "SecondaryTarget": foe1.ref(),
        },
    )
    bundle = only(derive(script.items))
    bots = [line for line in bundle.players if line.primary_id == BOT]
    assert len(bots) == 3 and len({b.player_key for b in bots}) == 3 and all(b.bot for b in bots)
    taken = {(b.name, b.team): b.demos_taken for b in bots}
    assert taken == {("Armstrong", 0): 0, ("Armstrong", 1): 1, ("Sundown", 1): 0}
    assert bundle.player(BOT, "Sundown").score == 30
    event = bundle.events[0]
    assert event.event_name == "Demolish"  # the stable name, never the localised Type
    assert event.secondary is not None and event.secondary.team == 1


# -- goals -----------------------------------------------------------------------------------


def test_goals_clock_assister_and_the_echo_is_never_a_goal() -> None:
    script, (zoe, kevin, star, rocket) = two_v_two()
    script.event(
        "BallHit",
        {
            "Players": [zoe.ref()],
            "Ball": {
                "PreHitSpeed": 0.0,
                "PostHitSpeed": 60.0,
                "Location": {"X": 0.0, "Y": 0.0, "Z": 93.0},
            },
        },
    )
    script.clock_to(299)
    script.clock_to(241)
    script.event(
        "BallHit",
        {
            "Players": [zoe.ref()],
            "Ball": {
                "PreHitSpeed": 20.0,
                "PostHitSpeed": 90.0,
                "Location": {"X": 5.0, "Y": 4400.0, "Z": 93.0},
            },
        },
    )
    script.event("StatfeedEvent", {"EventName": "Goal", "Type": "Tor", "MainTarget": zoe.ref()})
    script.scores = [1, 0]
    script.tick([zoe, kevin, star, rocket])
    script.goal(zoe, assister=kevin)
    script.tick([zoe, kevin, star, rocket], replay=True)
    script.echo()  # the reader drops it; an HTTP source may not
    script.event("CountdownBegin")
    script.tick([zoe, kevin, star, rocket], ball_team=255)
    script.event(
        "BallHit",
        {
            "Players": [star.ref(), kevin.ref()],
            "Ball": {
                "PreHitSpeed": 0.0,
                "PostHitSpeed": 70.0,
                "Location": {"X": 0.0, "Y": 0.0, "Z": 93.0},
            },
        },
    )
    bundle = only(derive(script.items))
    (goal,) = bundle.goals
    assert (goal.clock_s, goal.overtime, goal.team) == (241, False, 0)
    assert goal.scorer is not None and goal.scorer.primary_id == ZOE.primary_id
    assert goal.assister is not None and goal.assister.primary_id == KEVIN.primary_id
    assert goal.speed == 88.5 and goal.impact == (10.0, 5200.0, 300.0)
    assert goal.last_touch is not None and goal.last_touch.name == "Zoë"
    assert goal.scorer_last_hit == (5.0, 4400.0, 93.0)  # for the goal map
    assert [h.kickoff for h in bundle.ball_hits] == [True, False, True]
    assert len(bundle.ball_hits[2].players) == 2


def test_an_overtime_goal_counts_seconds_played_in_overtime() -> None:
    script, (zoe, kevin, star, rocket) = two_v_two()
    script.clock_to(0)
    script.clock, script.overtime = 0, True
    script.tick([zoe, kevin, star, rocket])
    script.clock_to(37, overtime=True)
    script.scores = [0, 1]
    script.tick([zoe, kevin, star, rocket])
    script.goal(rocket)
    script.event("MatchEnded", {"WinnerTeamNum": 1})
    bundle = only(derive(script.items))
    (goal,) = bundle.goals
    assert (goal.clock_s, goal.overtime, goal.team) == (37, True, 1)
    assert bundle.match.overtime and not bundle.match.forfeit
    assert bundle.match.played_s == 300 + 37


def test_replay_ticks_and_hits_during_a_replay_do_not_count() -> None:
    script, players = two_v_two()
    script.tick(players, replay=True)
    script.event("BallHit", {"Players": [players[0].ref()], "Ball": {"PostHitSpeed": 50.0}})
    script.event("CrossbarHit", {"BallLocation": {"X": 1.0, "Y": 5120.0, "Z": 642.8}})
    script.tick(players)
    script.event(
        "CrossbarHit",
        {
            "BallLocation": {"X": 1.0, "Y": 5120.0, "Z": 642.8},
            "BallSpeed": 80.0,
            "ImpactForce": 900.0,
            "BallLastTouch": {"Player": players[2].ref(), "Speed": 81.0},
        },
    )
    bundle = only(derive(script.items))
    assert bundle.ball_hits == ()
    (bar,) = bundle.crossbar_hits
    assert bar.location == (1.0, 5120.0, 642.8) and bar.last_touch is not None
    assert bar.last_touch.primary_id == STAR.primary_id


# -- endings, MVP, result for me -------------------------------------------------------------


def ended_match(winner: int, *, clock: int = 0) -> tuple[Script, list[P]]:
    script, (zoe, kevin, star, rocket) = two_v_two()
    script.target = zoe  # player view: my team has the SPECTATOR fields, the other does not
    zoe.stats = [300, 2, 3, 0, 0, 9, 0, 0]
    kevin.stats = [310, 0, 1, 1, 2, 9, 0, 0]  # top of the winning team
    star.stats = [500, 0, 0, 0, 5, 9, 0, 0]  # top of the match, but lost
    script.scores = [2, 0]
    script.clock_to(clock)
    script.tick([zoe, kevin, star, rocket])
    script.event("MatchEnded", {"WinnerTeamNum": winner})
    script.tick([zoe, kevin, star, rocket])  # the podium
    script.event("PodiumStart")
    script.event("MatchDestroyed")
    return script, [zoe, kevin, star, rocket]


def test_match_ended_is_complete_mvp_is_top_of_the_winners_and_result_for_me() -> None:
    script, _ = ended_match(0)
    match = only(derive(script.items, me=ZOE.primary_id)).match
    assert (match.state, match.winner_team, match.forfeit) == (COMPLETE, 0, False)
    assert match.mvp is not None and match.mvp.primary_id == KEVIN.primary_id
    assert (match.me_primary_id, match.me_source, match.result) == (
        ZOE.primary_id,
        "configured",
        "win",
    )
    assert match.ended_at_us is not None and match.duration_s is not None
    assert only(derive(script.items, me=STAR.primary_id)).match.result == "loss"
    # Not configured: in player view, the camera target outside replays is me.
    detected = only(derive(script.items)).match
    assert (detected.me_primary_id, detected.me_source, detected.result) == (
        ZOE.primary_id,
        "detected",
        "win",
    )
    assert only(derive(script.items)).player(ZOE.primary_id).is_me


def test_a_forfeit_is_a_complete_match() -> None:
    script, _ = ended_match(1, clock=132)
    match = only(derive(script.items, me=ZOE.primary_id)).match
    assert (match.state, match.forfeit, match.winner_team, match.result) == (
        COMPLETE,
        True,
        1,
        "loss",
    )
    assert match.mvp is not None and match.mvp.primary_id == STAR.primary_id


def test_destroyed_without_an_end_is_abandoned_with_the_last_figures() -> None:
    script, (zoe, kevin, star, rocket) = two_v_two()
    zoe.stats = [200, 1, 1, 0, 0, 4, 0, 0]
    script.scores = [1, 0]
    script.tick([zoe, kevin, star, rocket])
    script.event("MatchDestroyed")
    bundle = only(derive(script.items, me=ZOE.primary_id))
    match = bundle.match
    assert (match.state, match.winner_team, match.mvp, match.result) == (
        ABANDONED,
        None,
        None,
        "abandoned",
    )
    assert match.ended_at_us == script.now
    assert bundle.player(ZOE.primary_id).score == 200 and [t.score for t in match.teams] == [1, 0]


def test_neither_end_nor_destroy_is_incomplete_after_the_silence() -> None:
    script, players = two_v_two()
    last = script.now
    deriver = MatchDeriver(me=ZOE.primary_id)
    deriver.apply_all(script.items)
    assert not deriver.close_stale(last + 59_000_000, 60_000_000)
    assert deriver.snapshot()[0].match.state == LIVE
    assert deriver.close_stale(last + 61_000_000, 60_000_000)
    match = deriver.snapshot()[0].match
    assert (match.state, match.ended_at_us, match.result) == (INCOMPLETE, last, None)
    # The same silence seen between journal items (a rebuild) closes it identically.
    later = Script(start_us=last + 61_000_000)
    later.seq = script.seq
    later.tick(players)
    rebuilt = derive(script.items + later.items, me=ZOE.primary_id, silence_us=60_000_000)
    assert rebuilt[0] == deriver.snapshot()[0]
    assert rebuilt[1].match.key == f"{GUID}-2"  # what came after the silence is a new segment


def test_another_guid_closes_the_open_match_as_incomplete() -> None:
    first, players = two_v_two()
    second = Script(guid="FEDCBA9876543210FEDCBA9876543210", start_us=first.now)
    second.seq = first.seq
    second.event("MatchCreated")
    second.tick(players)
    a, b = derive(first.items + second.items)
    assert a.match.state == INCOMPLETE and b.match.state == LIVE
    assert b.match.key == "FEDCBA9876543210FEDCBA9876543210-1"


def test_a_reused_guid_after_match_destroyed_is_a_new_segment() -> None:
    first, _ = ended_match(0)
    second = Script(start_us=first.now, arena="Wasteland_P")
    second.seq = first.seq
    second.event("MatchCreated")
    second.tick([ZOE, STAR])
    a, b = derive(first.items + second.items)
    assert (a.match.key, b.match.key) == (f"{GUID}-1", f"{GUID}-2")
    assert (a.match.segment, b.match.segment) == (1, 2)
    assert (b.match.arena, b.match.mode, b.match.guid) == ("Wasteland_P", "1v1", GUID)
    assert all(line.match_key == b.key for line in b.players)


def test_a_late_event_after_match_destroyed_opens_no_phantom_segment() -> None:
    script, players = ended_match(0)
    script.clock_to(0)  # a straggler with the closed match's GUID
    script.event("BallHit", {"Players": [players[0].ref()], "Ball": {"PostHitSpeed": 5.0}})
    script.event("MatchCreated")  # a real rematch in the same lobby
    script.event("MatchDestroyed")  # ... left before it had a roster: nothing to list
    bundles = derive(script.items)
    assert [b.key for b in bundles] == [f"{GUID}-1"]
    assert len(bundles[0].ball_hits) == 0


def test_offline_keys_are_deterministic_from_start_arena_and_roster() -> None:
    def offline(start_us: int, players: list[P], arena: str = "Park_P") -> str:
        script = Script(guid="", start_us=start_us, arena=arena)
        script.event("MatchCreated")
        script.tick(players)
        return only(derive(script.items)).key

    key = offline(BASE_US, [ZOE, STAR])
    assert key.startswith(f"offline-{BASE_US + 100_000}-Park_P-")
    assert offline(BASE_US, [STAR, ZOE]) == key  # roster order does not matter
    assert offline(BASE_US + 1, [ZOE, STAR]) != key
    assert offline(BASE_US, [ZOE, ROCKET]) != key
    assert offline(BASE_US, [ZOE, STAR], arena="Wasteland_P") != key


def test_spectator_view_detects_nobody_as_me() -> None:
    script, (zoe, kevin, star, rocket) = two_v_two()
    for p in (zoe, kevin, star, rocket):
        p.telemetry = True
    script.target = star  # a spectator following a car
    script.tick([zoe, kevin, star, rocket])
    match = only(derive(script.items)).match
    assert (match.me_primary_id, match.result) == (None, None)


@pytest.mark.parametrize(
    ("playlist", "expected"),
    [(None, "1v1"), (13, "3v3"), (11, "2v2"), (27, "2v2"), (6, "1v1"), (999, "1v1")],
)
def test_mode_from_the_playlist_where_it_fixes_one_else_from_the_roster(
    playlist: int | None, expected: str
) -> None:
    script = Script()
    game = {} if playlist is None else {"PlaylistId": playlist}
    script.tick([ZOE, STAR], **game)  # one a side so far: the playlist knows better
    match = only(derive(script.items)).match
    assert (match.mode, match.playlist_id) == (expected, playlist)


# -- idempotency and transactions ------------------------------------------------------------


def test_repeats_are_skipped_and_fresh_derivations_are_identical() -> None:
    script, _ = ended_match(0)
    deriver = MatchDeriver()
    deriver.apply_all(script.items)
    once = deriver.snapshot()
    deriver.apply_all(script.items)  # the same rows again: repeats, skipped
    assert deriver.snapshot() == once
    assert deriver.counters.skipped == len(script.items)
    assert derive(script.items) == once


def test_an_item_that_raises_leaves_no_trace(monkeypatch: pytest.MonkeyPatch) -> None:
    script, (zoe, *_) = two_v_two()
    script.goal(zoe)
    deriver = MatchDeriver()
    deriver.apply_all(script.items)
    before = deriver.snapshot()

    def broken(state: match_module.MatchState, data: dict[str, Any], at_us: int) -> None:
        original(state, data, at_us)  # half done, then it fails
        raise RuntimeError("poison")

    original = match_module._HANDLERS["GoalScored"]
    monkeypatch.setitem(match_module._HANDLERS, "GoalScored", broken)
    poison = Item("test", 999, script.now + 1, "GoalScored", script.items[-1].data)
    with pytest.raises(RuntimeError):
        deriver.apply(poison)
    assert deriver.snapshot() == before
    monkeypatch.setitem(match_module._HANDLERS, "GoalScored", original)
    assert deriver.apply(poison)  # not marked as seen: it can be retried
    assert len(deriver.snapshot()[0].goals) == 2


def test_checkpoint_and_restore_undo_a_batch_that_opened_matches() -> None:
    first, players = ended_match(0)
    second = Script(start_us=first.now)  # reuses the GUID: segment 2
    second.seq = first.seq
    second.event("MatchCreated")
    second.tick(players)
    second.goal(players[0])
    head, tail = first.items[:-3], first.items[-3:] + second.items
    deriver = MatchDeriver()
    deriver.apply_all(head)
    deriver.drain()
    point = deriver.checkpoint()
    deriver.apply_all(tail)
    deriver.restore(point)
    assert deriver.drain() == ()
    deriver.apply_all(tail)  # the batch again, after the rollback: as if it ran once
    assert deriver.snapshot() == derive(head + tail)
    assert [b.key for b in deriver.drain()] == [f"{GUID}-1", f"{GUID}-2"]
    assert deriver.drain() == ()


def test_a_checkpoint_copies_every_field_of_a_match() -> None:
    """``MatchState._copy`` names its fields one by one (the compiled build has no
    ``__dict__``): a field added to the match and not to the copy would roll back wrong."""
    state = match_module.MatchState(GUID, 1, f"{GUID}-1", BASE_US)
    if not hasattr(state, "__dict__"):
        pytest.skip("a compiled build: native classes have no __dict__ to list the fields")
    for name, value in vars(state).items():
        if name in ("players", "telemetry"):
            continue  # copied deeply, checked below
        if isinstance(value, dict):
            setattr(state, name, {"marker": name})
        elif isinstance(value, list):
            setattr(state, name, [name])
        else:
            setattr(state, name, ("marker", name))
    twin = state._copy()
    fields = {name: value for name, value in vars(state).items() if name != "telemetry"}
    assert {name: value for name, value in vars(twin).items() if name != "telemetry"} == fields
    assert twin.telemetry is not state.telemetry
    for name in ("teams", "players", "team_sizes", "last_hit", "targets"):
        assert getattr(twin, name) is not getattr(state, name), name  # rolled back apart


# -- synthesised matches against the simulator's truth ----------------------------------------


def timeline_items(options: SynthOptions, *, keep_echo: bool = False) -> Iterator[Item]:
    """The synthesised timeline as journal items; the echo dropped as the reader drops it."""
    for seq, (t, event, data) in enumerate(synthesize(options), start=1):
        if event == "GoalScored" and is_goal_echo(data) and not keep_echo:
            continue
        yield Item("sim", seq, BASE_US + round(t * 1e6), event, data)


def derive_synthesis(
    options: SynthOptions, *, keep_echo: bool = False, **kwargs: Any
) -> tuple[MatchBundle, ...]:
    deriver = MatchDeriver(**kwargs)
    deriver.apply_all(timeline_items(options, keep_echo=keep_echo))
    # An incomplete last match is only closed by the silence after it.
    deriver.close_stale(BASE_US + 10**12, 60_000_000)
    return deriver.snapshot()


def assert_matches_truth(truth: MatchTruth, bundle: MatchBundle) -> None:
    match = bundle.match
    label = f"match {truth.index} ({truth.scenario}, {truth.ending})"
    # The truth tells a forfeit apart; the rules make it a complete match with ``forfeit``.
    state = COMPLETE if truth.ending == "forfeit" else truth.ending
    assert (match.state, match.forfeit) == (state, truth.ending == "forfeit"), label
    assert (match.guid, match.arena, match.mode, match.overtime) == (
        truth.guid,
        truth.arena,
        truth.mode,
        truth.overtime,
    ), label
    assert tuple(t.name for t in match.teams) == truth.team_names, label
    assert tuple(t.score for t in match.teams) == truth.team_scores, label
    assert match.winner_team == truth.winner, label
    assert match.started_at_us == BASE_US + round(truth.start_t * 1e6), label
    if truth.ending == "abandoned":
        assert match.ended_at_us == BASE_US + round(truth.end_t * 1e6), label
    mvp = None if match.mvp is None else (match.mvp.name, match.mvp.shortcut, match.mvp.primary_id)
    expected_mvp = (
        None if truth.mvp is None else (truth.mvp.name, truth.mvp.shortcut, truth.mvp.primary_id)
    )
    assert mvp == expected_mvp, label
    lines = sorted(
        (p.name, p.primary_id, p.shortcut, p.team, p.bot, p.stats()) for p in bundle.players
    )
    expected = sorted(
        (p.name, p.primary_id, p.shortcut, p.team, p.bot, p.stats) for p in truth.players
    )
    assert lines == expected, label
    goals = [
        (
            g.team,
            g.scorer and (g.scorer.name, g.scorer.primary_id),
            g.assister and (g.assister.name, g.assister.primary_id),
            g.clock_s,
            g.overtime,
            g.speed,
            g.impact,
        )
        for g in bundle.goals
    ]
    expected_goals = [
        (
            g.team,
            (g.scorer.name, g.scorer.primary_id),
            g.assister and (g.assister.name, g.assister.primary_id),
            g.clock_s,
            g.overtime,
            g.speed,
            (g.impact["X"], g.impact["Y"], g.impact["Z"]),
        )
        for g in truth.goals
    ]
    assert goals == expected_goals, label
    # Player view: "me" is detected from the camera; spectator view: nobody is me.
    assert match.me_primary_id == truth.me, label
    expected_result = None
    if truth.me is not None:
        mine = truth.player(truth.me).team
        expected_result = {
            "abandoned": "abandoned",
            "incomplete": None,
        }.get(truth.ending, "win" if mine == truth.winner else "loss")
    assert match.result == expected_result, label


# Every scenario the simulator can synthesise ("mixed" is a mix of these, tested below).
SCENARIOS = [s for s in SYNTH_SCENARIOS if s != "mixed"]


@pytest.mark.parametrize("view", ["player", "spectator"])
@pytest.mark.parametrize("scenario", SCENARIOS)
def test_synthesised_scenarios_derive_exactly_the_truth(scenario: str, view: str) -> None:
    options = SynthOptions(seed=11, scenario=scenario, view=view, rate=4, matches=2, mode="mixed")
    truth = synthesize(options).truth
    bundles = derive_synthesis(options)
    assert len(bundles) == len(truth.matches)
    for expected, bundle in zip(truth.matches, bundles, strict=True):
        assert_matches_truth(expected, bundle)
    if scenario == "guid-reuse":
        assert len({b.match.guid for b in bundles}) == 1
        assert [b.match.segment for b in bundles] == [1, 2]
        assert len({b.key for b in bundles}) == 2
    if scenario == "offline":
        assert all(b.key.startswith("offline-") and b.match.guid == "" for b in bundles)
        assert derive_synthesis(options) == bundles  # offline keys: the same on a rebuild


def test_a_mixed_season_with_echoes_kept_and_me_configured() -> None:
    options = SynthOptions(
        seed=5, scenario="mixed", view="player", rate=3, matches=14, mode="mixed"
    )
    truth = synthesize(options).truth
    me = truth.matches[0].me
    bundles = derive_synthesis(options, me=me, keep_echo=True)  # echoes fed too: still ignored
    assert len(bundles) == len(truth.matches) and len({b.key for b in bundles}) == len(bundles)
    for expected, bundle in zip(truth.matches, bundles, strict=True):
        assert_matches_truth(expected, bundle)
        assert bundle.match.me_source == "configured"
        assert [line.primary_id for line in bundle.players if line.is_me] == [me]
    scenarios = {m.scenario for m in truth.matches}
    assert len(scenarios) >= 4, scenarios  # the seed gives a real mix


def test_synthesised_statfeed_and_demolitions_received() -> None:
    options = SynthOptions(seed=2, scenario="normal", view="spectator", rate=2, mode="3v3")
    bundle = only(derive_synthesis(options))
    names = {e.event_name for e in bundle.events}
    assert {"Shot", "Goal", "Win", "MVP"} <= names
    assert all(e.main is not None and e.main.player_key is not None for e in bundle.events)
    demolished = sum(1 for e in bundle.events if e.event_name == "Demolish")
    assert sum(line.demos_taken for line in bundle.players) == demolished
    assert sum(line.demos for line in bundle.players) == demolished
    assert sum(1 for h in bundle.ball_hits if h.kickoff) == len(bundle.goals) + 1
    mvp_event = next(e for e in bundle.events if e.event_name == "MVP")
    assert bundle.match.mvp == mvp_event.main  # the game's MVP agrees with the rule


# -- the recorded capture --------------------------------------------------------------------


def capture_items(name: str) -> list[Item]:
    path = CAPTURES / name
    if not path.exists():
        pytest.skip("the recorded Stats API captures (../shared/fixtures) are not here")
    messages = JsonFramer().feed(gzip.decompress(path.read_bytes()))
    items = []
    for seq, raw in enumerate(messages, start=1):
        message = orjson.loads(raw)
        data = message["Data"]
        items.append(
            Item(
                "capture",
                seq,
                BASE_US + seq * 10_000,
                message["Event"],
                orjson.loads(data) if isinstance(data, str) else data,
            )
        )
    return items


def test_spectator_capture_one_real_goal_and_finals_from_the_last_live_tick() -> None:
    items = capture_items("xentrick_spectator_1v1_cs_p_35s.wire.bin.gz")
    assert sum(1 for i in items if i.event == "GoalScored") == 2  # the goal and its echo, fed
    bundle = only(derive(items))
    assert len(bundle.goals) == 1
    last = next(
        i.data
        for i in reversed(items)
        if i.event == "UpdateState" and not i.data["Game"]["bReplay"]
    )
    expected = sorted(
        (p["PrimaryId"], p["Name"], tuple(p[f] for f in STAT_FIELDS)) for p in last["Players"]
    )
    derived = sorted((p.primary_id, p.name, tuple(p.stats().values())) for p in bundle.players)
    assert derived == expected
    assert [t.score for t in bundle.match.teams] == [t["Score"] for t in last["Game"]["Teams"]]
    (goal,) = bundle.goals
    assert goal.scorer is not None and goal.scorer.player_key is not None
    assert [goal.team] == [t["TeamNum"] for t in last["Game"]["Teams"] if t["Score"]]
    assert bundle.match.state == LIVE and bundle.match.me_primary_id is None  # spectating
    assert {e.event_name for e in bundle.events} == {"Shot", "Goal", "Demolish"}


def test_player_capture_detects_me_from_the_camera() -> None:
    items = capture_items("xentrick_player_1v1_cs_p_7s.wire.bin.gz")
    bundle = only(derive(items))
    target = next(i.data["Game"]["Target"] for i in items if i.event == "UpdateState")
    me = next(p["PrimaryId"] for p in items[0].data["Players"] if p["Name"] == target["Name"])
    assert (bundle.match.me_primary_id, bundle.match.me_source) == (me, "detected")
    assert bundle.match.mode == "1v1" and bundle.match.arena == "cs_p"
