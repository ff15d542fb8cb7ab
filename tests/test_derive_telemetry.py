"""Telemetry (companion.derive.telemetry): pure unit tests of each rule with hand-built ticks,
then synthesised matches, fed through tick blocks as the journal keeps them, against what the
simulator sent, then the recorded captures."""

from __future__ import annotations

import gzip
from collections.abc import Iterator
from dataclasses import astuple
from pathlib import Path
from typing import Any

import orjson
import pytest

from companion.derive import (
    Item,
    MatchBundle,
    MatchDeriver,
    PlayerLine,
    TelemetryRecord,
    is_coalesced,
)
from companion.simulator import SynthOptions, synthesize
from companion.sources.feed_session import is_goal_echo
from companion.sources.framing import JsonFramer
from companion.tickblock import TickBlockDecoder, TickBlockEncoder, values_of

CAPTURES = Path(__file__).resolve().parents[2] / "shared" / "fixtures" / "rl-stats-api"
BASE_US = 1_790_000_000_000_000
GUID = "FEDCBA9876543210FEDCBA9876543210"
ME = "Steam|76500000000000009|0"
MATE = "Epic|0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f|0"
THEM = "PS4|5550001|0"


def car(speed: float = 0.0, boost: int = 0, *flags: str) -> dict[str, Any]:
    """A player's spectator fields as the game sends them: false flags and zeros omitted."""
    fields: dict[str, Any] = {"bHasCar": True}
    if speed:
        fields["Speed"] = speed
    if boost:
        fields["Boost"] = boost
    fields.update(dict.fromkeys(flags, True))
    return fields


class Feed:
    """Journal items for one match: ticks with explicit receive times (ms from the start)."""

    def __init__(self, guid: str = GUID) -> None:
        self.guid = guid
        self.seq = 0
        self.items: list[Item] = []

    def event(self, ms: float, name: str, data: dict[str, Any] | None = None) -> None:
        self.seq += 1
        payload = {"MatchGuid": self.guid, **(data or {})}
        self.items.append(Item("t", self.seq, BASE_US + round(ms * 1000), name, payload))

    def tick(
        self,
        ms: float,
        me: dict[str, Any] | None,
        mate: dict[str, Any] | None = None,
        *,
        replay: bool = False,
        ball_team: int = 0,
    ) -> None:
        """``me`` / ``mate``: spectator fields (``None``: the feed gave none); the opponent
        never has any (player view)."""
        players = []
        for name, primary_id, team, fields in (
            ("Me", ME, 0, me),
            ("Mate", MATE, 0, mate),
            ("Them", THEM, 1, None),
        ):
            row: dict[str, Any] = {"Name": name, "PrimaryId": primary_id, "TeamNum": team}
            row.update(Shortcut=len(players) + 1, Score=0, Goals=0, Shots=0, Assists=0)
            row.update(Saves=0, Touches=0, CarTouches=0, Demos=0, **(fields or {}))
            players.append(row)
        game = {
            "Teams": [{"Name": "Blue", "TeamNum": 0, "Score": 0}, {"Name": "Orange", "TeamNum": 1}],
            "TimeSeconds": 300,
            "bOvertime": False,
            "Ball": {"Speed": 0.0, "TeamNum": ball_team},
            "bReplay": replay,
            "Arena": "Park_P",
        }
        self.event(ms, "UpdateState", {"Players": players, "Game": game})


def derive(items: list[Item], *, coalesced: frozenset[int] = frozenset()) -> MatchBundle:
    deriver = MatchDeriver()
    for item in items:
        deriver.apply(item, coalesced=item.seq in coalesced)
    (bundle,) = deriver.snapshot()
    return bundle


def line(bundle: MatchBundle, primary_id: str) -> PlayerLine:
    return bundle.player(primary_id)


def telemetry(bundle: MatchBundle, primary_id: str) -> TelemetryRecord:
    record = bundle.player(primary_id).telemetry
    assert record is not None
    return record


# -- unit rules -------------------------------------------------------------------------------


def test_absent_spectator_fields_are_none_and_a_carless_player_has_no_figures() -> None:
    feed = Feed()
    feed.tick(0, car(10.0, 50, "bOnGround"), {"bDemolished": True})
    feed.tick(100, car(30.0, 40, "bOnGround"), {"Boost": 20})  # fields, but no car
    bundle = derive(feed.items)
    assert line(bundle, THEM).telemetry is None  # the other team, in player view
    assert telemetry(bundle, MATE) == TelemetryRecord(
        0.0, None, None, None, None, None, None, None, None, None, None, None, False
    )
    mine = telemetry(bundle, ME)
    assert (mine.seconds, mine.top_speed, mine.boost_used) == (0.1, 30.0, 10.0)


def test_time_weighting_by_receive_time_with_shared_times_split_evenly() -> None:
    feed = Feed()
    feed.tick(0, car(99.0, 100))  # the first receive time: nothing to measure from
    feed.tick(100, car(20.0, 100, "bOnGround"))  # 0.1 s
    for _ in range(3):  # one socket read, three ticks: 0.3 s / 3 each
        feed.tick(400, car(80.0, 50, "bSupersonic", "bBoosting"))
    feed.tick(500, car(40.0, 0, "bOnGround", "bOnWall"))  # 0.1 s, on the wall
    record = telemetry(derive(feed.items), ME)
    assert record.seconds == 0.5
    assert record.avg_speed == round((20 * 0.1 + 80 * 0.3 + 40 * 0.1) / 0.5, 1)
    assert record.top_speed == 99.0  # every counted tick, whatever its weight
    assert (record.supersonic_share, record.boosting_share) == (0.6, 0.6)
    assert (record.ground_share, record.wall_share, record.air_share) == (0.2, 0.2, 0.6)
    assert record.avg_boost == round((100 * 0.1 + 50 * 0.3) / 0.5, 1)
    assert (record.zero_boost_s, record.full_boost_s) == (0.1, 0.1)
    assert record.boost_used == 100.0
    assert record.approximate is False


def test_a_gap_over_a_second_counts_as_the_last_ordinary_spacing() -> None:
    paused, steady = Feed(), Feed()
    for feed, late in ((paused, 60_000), (steady, 300)):
        feed.tick(0, car(10.0, 10, "bOnGround"))
        feed.tick(100, car(10.0, 10, "bOnGround"))
        feed.tick(200, car(10.0, 10, "bOnGround"))
        feed.tick(late, car(70.0, 10))  # after a minute's pause: 0.1 s, not 59.8 s
    assert telemetry(derive(paused.items), ME) == telemetry(derive(steady.items), ME)
    assert telemetry(derive(paused.items), ME).air_share == round(1 / 3, 3)


def test_replay_ticks_are_ignored_but_take_time() -> None:
    with_replay, without = Feed(), Feed()
    for feed in (with_replay, without):
        feed.tick(0, car(10.0, 80, "bOnGround"))
        feed.tick(100, car(10.0, 60, "bOnGround"))
    for ms in range(200, 800, 100):  # the replay repeats old cars: fast, boosting, full
        with_replay.tick(ms, car(82.0, 100, "bSupersonic", "bBoosting"), replay=True)
    with_replay.tick(800, car(30.0, 33, "bOnGround"))
    without.event(700, "ClockUpdatedSeconds", {"TimeSeconds": 300})
    without.tick(800, car(30.0, 33, "bOnGround"))
    record = telemetry(derive(with_replay.items), ME)
    # 0.1 s at 10 km/h, then 0.1 s at 30 (the time since the last replay tick)
    assert (record.seconds, record.avg_speed, record.top_speed) == (0.2, 20.0, 30.0)
    assert (record.supersonic_share, record.boosting_share, record.full_boost_s) == (0.0, 0.0, 0.0)
    assert record.boost_used == 20.0  # 80 -> 60; the kickoff's 33 after the replay is no use
    # Without the replay's ticks the last tick stands for all 0.7 s since the one before.
    assert telemetry(derive(without.items), ME).seconds == 0.8


def test_boost_used_sums_decreases_ignores_refills_and_breaks_at_resets() -> None:
    feed = Feed()
    boosts = [100, 70, 40, 52, 20]  # -30 -30 (+12 a pad) -32
    for i, boost in enumerate(boosts):
        feed.tick(i * 100, car(50.0, boost, "bOnGround"))
    feed.tick(500, {"bHasCar": True, "bDemolished": True, "Boost": 20})
    feed.tick(600, car(0.0, 33, "bOnGround"))  # respawned on 33: no use
    feed.tick(700, car(40.0, 13, "bOnGround"))  # -20
    feed.tick(800, car(0.0, 80, "bOnGround"))  # a big pad
    feed.event(850, "CountdownBegin")
    feed.tick(900, car(0.0, 33, "bOnGround"), ball_team=255)  # kickoff pads: no use
    feed.tick(1000, car(60.0, 23, "bOnGround"), ball_team=255)  # -10 on the kickoff
    feed.tick(1100, car(60.0, 100, "bOnGround"), ball_team=0)
    feed.tick(1200, car(0.0, 33, "bOnGround"), ball_team=255)  # reset, no CountdownBegin seen
    record = telemetry(derive(feed.items), ME)
    assert record.boost_used == 30 + 30 + 32 + 20 + 10


def test_coalesced_ticks_mark_the_match_approximate() -> None:
    feed = Feed()
    for i in range(5):
        feed.tick(i * 100, car(50.0, 50, "bOnGround"), car(20.0, 10))
    exact = derive(feed.items)
    approximate = derive(feed.items, coalesced=frozenset({3}))
    assert not any(p.telemetry and p.telemetry.approximate for p in exact.players)
    assert telemetry(approximate, ME).approximate and telemetry(approximate, MATE).approximate
    assert line(approximate, THEM).telemetry is None
    assert is_coalesced({"v": 2, "coalesced": 4}) and not is_coalesced({"v": 2})


def many_ticks(feed: Feed, start_ms: int, count: int) -> None:
    for i in range(count):
        ms = start_ms + 50 * (i // 3)  # three ticks to a read: groups split at a checkpoint
        boost = (100 - 7 * i) % 101
        flags = ("bOnGround",) if i % 4 else ("bBoosting", "bSupersonic")
        replay = i % 17 in (15, 16)
        feed.tick(ms, car(10.0 + i % 70, boost, *flags), car(5.0 + i % 9, i % 3), replay=replay)


def test_checkpoint_and_restore_cover_the_telemetry_sums() -> None:
    feed = Feed()
    many_ticks(feed, 0, 200)
    half = 100  # the middle of a receive-time group
    whole = derive(feed.items)
    deriver = MatchDeriver()
    deriver.apply_all(feed.items[:half])
    point = deriver.checkpoint()
    deriver.apply_all(feed.items[half:])
    assert deriver.snapshot() == (whole,)
    deriver.restore(point)
    deriver.apply_all(feed.items[half : half + 37])
    deriver.restore(point)  # twice: the checkpoint stays valid
    deriver.apply_all(feed.items[half:])
    assert deriver.snapshot() == (whole,)
    assert telemetry(whole, ME).seconds > 0


def test_a_live_view_counts_the_open_group_and_changes_nothing() -> None:
    feed = Feed()
    many_ticks(feed, 0, 31)
    deriver = MatchDeriver()
    deriver.apply_all(feed.items)
    first = deriver.live
    assert first is not None and first == deriver.live  # reading it twice changes nothing
    assert telemetry(first, ME).seconds == pytest.approx(0.5, abs=0.05)


# -- synthesised matches against what the simulator sent ----------------------------------------

BLOCK_US = 250_000  # the reader cuts a tick block at least every 250 ms
KEYFRAME_US = 1_000_000  # and keeps about one tick a second verbatim


def journal_items(options: SynthOptions) -> Iterator[Item]:
    """The timeline as the worker gets it: the echo dropped, ticks packed into tick blocks and
    expanded again (speeds to 0.1 km/h, receive times to the ms, keyframes verbatim)."""
    encoder, decoder = TickBlockEncoder(), TickBlockDecoder()
    last_keyframe = -KEYFRAME_US
    pending: list[Item] = []

    def cut() -> Iterator[Item]:
        if encoder.count:
            block, payload = encoder.encode()
            for tick in decoder.expand(block, payload):
                yield Item("sim", tick.seq, tick.received_at_us, "UpdateState", tick.data)

    for seq, (t, event, data) in enumerate(synthesize(options), start=1):
        at = BASE_US + round(t * 1e6)
        if event != "UpdateState":
            yield from cut()
            if not (event == "GoalScored" and is_goal_echo(data)):
                yield Item("sim", seq, at, event, data)
            continue
        values = values_of(data)
        if encoder.count and (not encoder.fits(seq, at, values) or at - encoder.t0_us >= BLOCK_US):
            yield from cut()
        keyframe = None
        if at - last_keyframe >= KEYFRAME_US or not values.exact:
            keyframe, last_keyframe = orjson.dumps(data), at
        encoder.add(seq, at, values, keyframe)
    yield from pending
    yield from cut()


def sent_telemetry(options: SynthOptions) -> dict[str, dict[str, float]]:
    """What the simulator sent, per player name, worked out plainly from its exact values: each
    non-replay tick in which the player has a car stands for ``1 / rate`` seconds."""
    dt = 1.0 / options.rate
    sums: dict[str, dict[str, float]] = {}
    previous: dict[str, int | None] = {}
    untouched = True
    for _, event, data in synthesize(options):
        if event == "CountdownBegin":
            previous = dict.fromkeys(previous)
        if event != "UpdateState":
            continue
        game = data["Game"]
        if game["bReplay"]:
            previous = dict.fromkeys(previous)
            continue
        if game["Ball"]["TeamNum"] == 255 and not untouched:
            previous = dict.fromkeys(previous)
        untouched = game["Ball"]["TeamNum"] == 255
        for p in data["Players"]:
            if "bHasCar" not in p:
                continue
            s = sums.setdefault(p["Name"], dict.fromkeys(SUMS, 0.0))
            if p.get("bDemolished"):
                previous[p["Name"]] = None
                continue
            speed, boost = p.get("Speed", 0.0), p.get("Boost", 0)
            s["seconds"] += dt
            s["speed"] += speed * dt
            s["top"] = max(s["top"], speed)
            s["sonic"] += dt * bool(p.get("bSupersonic"))
            s["wall"] += dt * bool(p.get("bOnWall"))
            s["air"] += dt * (not p.get("bOnWall") and not p.get("bOnGround"))
            s["boosting"] += dt * bool(p.get("bBoosting"))
            s["boost"] += boost * dt
            s["zero"] += dt * (boost == 0)
            s["full"] += dt * (boost == 100)
            before = previous.get(p["Name"])
            s["used"] += max(0, before - boost) if before is not None else 0
            previous[p["Name"]] = boost
    return sums


SUMS = ("seconds", "speed", "top", "sonic", "wall", "air", "boosting", "boost", "zero", "full")
SUMS += ("used",)


@pytest.mark.parametrize("view", ["spectator", "player"])
def test_synthesised_telemetry_matches_what_the_simulator_sent(view: str) -> None:
    options = SynthOptions(seed=3, scenario="normal", view=view, rate=60, mode="2v2")
    sent = sent_telemetry(options)
    deriver = MatchDeriver()
    deriver.apply_all(journal_items(options))
    (bundle,) = deriver.snapshot()
    for player in bundle.players:
        if player.name not in sent:
            assert view == "player" and player.telemetry is None, player.name
            continue
        s, got = sent[player.name], player.telemetry
        assert got is not None and not got.approximate
        seconds = s["seconds"]
        # Tolerances: receive times are kept to the ms and the first tick counts no time
        # (seconds, shares); speeds to 0.1 km/h and rounded to 0.1 (speeds); boost is exact.
        assert got.seconds == pytest.approx(seconds, abs=0.1)
        assert got.avg_speed == pytest.approx(s["speed"] / seconds, abs=0.1)
        assert got.top_speed == pytest.approx(s["top"], abs=0.1)
        for name, share in (
            ("sonic", got.supersonic_share),
            ("wall", got.wall_share),
            ("air", got.air_share),
            ("boosting", got.boosting_share),
        ):
            assert share == pytest.approx(s[name] / seconds, abs=0.005), name
        ground = 1 - (s["wall"] + s["air"]) / seconds
        assert got.ground_share == pytest.approx(ground, abs=0.005)
        assert got.avg_boost == pytest.approx(s["boost"] / seconds, abs=0.2)
        assert got.boost_used == s["used"]
        assert got.zero_boost_s == pytest.approx(s["zero"], abs=0.2)
        assert got.full_boost_s == pytest.approx(s["full"], abs=0.2)
        assert 0 < got.air_share < 0.5 and got.ground_share > 0.5  # plausible, not degenerate
    expected = 4 if view == "spectator" else 2
    assert sum(1 for p in bundle.players if p.telemetry is not None) == expected


def test_rebuilding_gives_equal_telemetry() -> None:
    options = SynthOptions(seed=4, scenario="normal", view="spectator", rate=10, mode="1v1")
    first, second = MatchDeriver(), MatchDeriver()
    first.apply_all(journal_items(options))
    second.apply_all(journal_items(options))
    assert first.snapshot() == second.snapshot()
    (bundle,) = first.snapshot()
    for player in bundle.players:
        assert player.telemetry is not None
        assert all(isinstance(v, float | bool) for v in astuple(player.telemetry))


# -- the recorded captures ---------------------------------------------------------------------


def capture_items(name: str) -> list[Item]:
    path = CAPTURES / name
    if not path.exists():
        pytest.skip("the recorded Stats API captures (../shared/fixtures) are not here")
    items = []
    for seq, raw in enumerate(JsonFramer().feed(gzip.decompress(path.read_bytes())), start=1):
        message = orjson.loads(raw)
        data = message["Data"]
        data = orjson.loads(data) if isinstance(data, str) else data
        items.append(Item("capture", seq, BASE_US + seq * 16_000, message["Event"], data))
    return items


def test_captures_give_telemetry_where_the_feed_has_it() -> None:
    spectated = derive(capture_items("xentrick_spectator_1v1_cs_p_35s.wire.bin.gz"))
    for player in spectated.players:
        record = player.telemetry
        assert record is not None and record.seconds > 5, player.name
        assert record.top_speed is not None and 0 < record.top_speed <= 83.0
    played = derive(capture_items("xentrick_player_1v1_cs_p_7s.wire.bin.gz"))
    have = {p.is_me: p.telemetry is not None for p in played.players}
    assert have == {True: True, False: False}  # me, not the opponent
