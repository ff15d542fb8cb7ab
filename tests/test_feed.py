"""From Stats API messages to journal rows: tick blocks, keyframes, the echo, coalescing."""

from __future__ import annotations

import gzip
import json
from typing import Any

import orjson
import pytest

from companion.model import NewEvent
from companion.sources.feed_session import BLOCK_MAX_AGE_US, FeedSession
from companion.sources.framing import JsonFramer
from companion.tickblock import STAT_FIELDS, TICK_BLOCK_EVENT, TickBlockBuilder, expand
from tests.conftest import SHARED

CAPTURES = SHARED / "fixtures" / "rl-stats-api"
TICK_US = 8_333  # 120 Hz


def state(
    clock: int = 300,
    replay: bool = False,
    goals: int = 0,
    speed: float | None = 41.25,
    touches: int = 0,
) -> dict[str, Any]:
    me: dict[str, Any] = {
        "Name": "Zoë",
        "PrimaryId": "Steam|76561198000000001|0",
        "Shortcut": 1,
        "TeamNum": 0,
        **dict.fromkeys(STAT_FIELDS, 0),
        "Goals": goals,
        "Touches": touches,
    }
    if speed is not None:
        me.update({"bHasCar": True, "Speed": speed, "Boost": 33, "bOnGround": True})
    other = {
        "Name": "Bot Kévin",
        "PrimaryId": "Unknown|0|0",
        "Shortcut": 2,
        "TeamNum": 1,
        **dict.fromkeys(STAT_FIELDS, 0),
    }
    return {
        "MatchGuid": "",
        "Players": [me, other],
        "Game": {
            "Teams": [
                {
                    "Name": "Blue",
                    "TeamNum": 0,
                    "Score": goals,
                    "ColorPrimary": "1873FF",
                    "ColorSecondary": "E5E5E5",
                },
                {
                    "Name": "Orange",
                    "TeamNum": 1,
                    "Score": 0,
                    "ColorPrimary": "C26418",
                    "ColorSecondary": "E5E5E5",
                },
            ],
            "TimeSeconds": clock,
            "bOvertime": False,
            "Ball": {"Speed": 12.5, "TeamNum": 255},
            "bReplay": replay,
            "bHasWinner": False,
            "Winner": "",
            "Arena": "Stadium_P",
            "bHasTarget": False,
        },
    }


def wire(event: str, data: Any) -> bytes:
    return orjson.dumps({"Event": event, "Data": orjson.dumps(data).decode()})


class Journal:
    def __init__(self) -> None:
        self.rows: list[NewEvent] = []

    def emit(self, rows: list[NewEvent]) -> None:
        self.rows += rows

    def ticks(self) -> list[Any]:
        out = []
        for row in self.rows:
            if row.event == TICK_BLOCK_EVENT:
                out += expand(orjson.loads(row.data))
        return out

    def sequence(self) -> list[int]:
        """Every message's seq, blocks expanded, in journal order."""
        out: list[int] = []
        for row in self.rows:
            if row.event == TICK_BLOCK_EVENT:
                block = orjson.loads(row.data)
                out += range(block["first_seq"], block["first_seq"] + block["count"])
            else:
                assert row.seq is not None
                out.append(row.seq)
        return out


def test_tick_block_round_trip_keeps_what_stats_need() -> None:
    builder = TickBlockBuilder()
    ticks = [state(clock=300 - n // 120, speed=40 + n * 0.37, touches=n // 10) for n in range(50)]
    ticks[7]["Players"][0].pop("Speed")  # telemetry absent for one tick: unknown, not zero
    for n, data in enumerate(ticks):
        builder.add(100 + n, 1_000_000 + n * TICK_US, data, keyframe=n == 3)
    block = builder.encode()
    assert builder.count == 0
    out = expand(orjson.loads(orjson.dumps(block)))
    assert [t.seq for t in out] == list(range(100, 150))
    assert [t.received_at_us for t in out] == [1_000_000 + n * TICK_US for n in range(50)]
    assert out[3].keyframe and out[3].data == ticks[3]
    for original, tick in zip(ticks, out, strict=True):
        me, other = tick.data["Players"]
        assert {k: me[k] for k in STAT_FIELDS} == {
            k: original["Players"][0][k] for k in STAT_FIELDS
        }
        assert "Speed" not in other and "Boost" not in other
        assert tick.data["Game"]["Teams"][0]["Score"] == original["Game"]["Teams"][0]["Score"]
        assert tick.data["Game"]["TimeSeconds"] == original["Game"]["TimeSeconds"]
        assert tick.data["Game"]["Arena"] == "Stadium_P"
        if "Speed" in original["Players"][0]:
            assert me["Speed"] == pytest.approx(original["Players"][0]["Speed"], abs=0.005)
            assert me["bOnGround"] is True and "bSupersonic" not in me
        else:
            assert "Speed" not in me


def test_discrete_events_cut_blocks_and_keep_journal_order() -> None:
    journal = Journal()
    session = FeedSession("run-1", journal.emit)
    t = 0
    messages = [wire("UpdateState", state()) for _ in range(5)]
    messages += [wire("BallHit", {"Players": [{"Name": "Zoë"}]})]
    messages += [wire("UpdateState", state()) for _ in range(3)]
    messages += [wire("StatfeedEvent", {"EventName": "Shot", "Type": "Tir cadré"})]
    for raw in messages:
        t += TICK_US
        session.on_message(raw, t)
    session.close()
    assert [r.event for r in journal.rows] == [
        TICK_BLOCK_EVENT,
        "BallHit",
        TICK_BLOCK_EVENT,
        "StatfeedEvent",
    ]
    assert journal.sequence() == list(range(1, 11))
    assert {r.source for r in journal.rows} == {"statsapi"} and {
        r.stream for r in journal.rows
    } == {"run-1"}
    assert orjson.loads(journal.rows[3].data)["Type"] == "Tir cadré"


def test_blocks_are_cut_every_250_ms_and_keyframes_follow_the_rules() -> None:
    journal = Journal()
    session = FeedSession("run-1", journal.emit)
    n_ticks = 240  # two seconds at 120 Hz
    for n in range(n_ticks):
        goals = 1 if n >= 100 else 0
        replay = 150 <= n < 200
        session.on_message(wire("UpdateState", state(goals=goals, replay=replay)), n * TICK_US)
    session.close()
    blocks = [orjson.loads(r.data) for r in journal.rows]
    assert all((b["count"] - 1) * TICK_US <= BLOCK_MAX_AGE_US + TICK_US for b in blocks)
    assert len(blocks) >= 2 * 1_000_000 // BLOCK_MAX_AGE_US
    keyframes = [t.seq - 1 for t in journal.ticks() if t.keyframe]
    # the first tick, the score change, replay start and end, and about once a second
    assert {0, 100, 150, 200} <= set(keyframes)
    assert len(keyframes) <= 8
    assert len(journal.ticks()) == n_ticks


def test_the_goal_echo_is_dropped_and_bad_messages_counted() -> None:
    journal = Journal()
    session = FeedSession("run-1", journal.emit)
    real = {"GoalSpeed": 88.1, "GoalTime": 12, "Scorer": {"Name": "Zoë", "Shortcut": 1}}
    echo = {"GoalSpeed": 0, "GoalTime": 0, "Scorer": {"Name": "", "Shortcut": 0}}
    for n, raw in enumerate(
        [
            wire("GoalScored", real),
            wire("GoalScored", echo),
            b"{nope}",
            b'{"Data": {}}',
            wire("SomethingNew", {"x": 1}),
        ]
    ):
        session.on_message(raw, n)
    assert [r.event for r in journal.rows] == ["GoalScored", "SomethingNew"]
    assert [r.seq for r in journal.rows] == [1, 5]
    assert session.counters.echoes_dropped == 1
    assert session.counters.undecodable == 2


def test_ticks_coalesce_while_storage_is_behind_but_replay_edges_stay() -> None:
    journal = Journal()
    stalled = {"now": False}
    session = FeedSession("run-1", journal.emit, lambda: stalled["now"])
    for n in range(10):
        session.on_message(wire("UpdateState", state()), n * TICK_US)
    stalled["now"] = True
    for n in range(10, 60):
        replay = n >= 40
        session.on_message(wire("UpdateState", state(replay=replay, touches=n)), n * TICK_US)
    session.on_message(wire("BallHit", {}), 61 * TICK_US)
    session.close()
    ticks = journal.ticks()
    seqs = [t.seq for t in ticks]
    assert seqs == sorted(seqs)
    assert len(ticks) < 30, "most ticks were folded"
    assert 40 in seqs and 41 in seqs, "the last tick before the replay and the first in it"
    assert seqs[-1] == 60, "the latest tick always wins"
    folded = sum(
        orjson.loads(r.data).get("coalesced", 0)
        for r in journal.rows
        if r.event == TICK_BLOCK_EVENT
    )
    assert folded == session.counters.ticks_coalesced > 0
    assert journal.rows[-1].event == "BallHit"


def test_recorded_capture_keeps_every_discrete_event_in_order() -> None:
    if not CAPTURES.is_dir():
        pytest.skip("the recorded Stats API captures (../shared/fixtures) are not here")
    for path in sorted(CAPTURES.glob("*.wire.bin.gz")):
        frames = JsonFramer().feed(gzip.decompress(path.read_bytes()))
        journal = Journal()
        session = FeedSession("run-1", journal.emit)
        for n, raw in enumerate(frames):
            session.on_message(raw, n * 16_667)
        session.close()
        events = [json.loads(f)["Event"] for f in frames]
        discrete = [(n + 1, e) for n, e in enumerate(events) if e != "UpdateState"]
        journaled = [(r.seq, r.event) for r in journal.rows if r.event != TICK_BLOCK_EVENT]
        echoes = session.counters.echoes_dropped
        assert len(journaled) == len(discrete) - echoes
        assert [e for e in journaled if e not in discrete] == []
        assert (
            sum(e == "GoalScored" for _, e in journaled)
            == sum(e == "GoalScored" for _, e in discrete) - echoes
        )
        ticks = journal.ticks()
        assert len(ticks) == events.count("UpdateState")
        last_live = [
            json.loads(json.loads(f)["Data"])
            for f in frames
            if json.loads(f)["Event"] == "UpdateState"
        ]
        last_live = [d for d in last_live if not d["Game"]["bReplay"]][-1]
        final = [t for t in ticks if not t.data["Game"]["bReplay"]][-1].data
        for want, got in zip(last_live["Players"], final["Players"], strict=True):
            assert {k: want[k] for k in STAT_FIELDS} == {k: got[k] for k in STAT_FIELDS}
