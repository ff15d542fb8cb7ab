"""From Stats API messages to journal rows: tick blocks, keyframes, the echo, coalescing."""

from __future__ import annotations

import base64
import gzip
import json
from typing import Any

import orjson
import pytest

from companion.model import NewEvent
from companion.sources.feed_session import BLOCK_MAX_AGE_US, FeedSession
from companion.sources.framing import JsonFramer
from companion.storage import journal as journal_store
from companion.storage.database import connect
from companion.tickblock import (
    STAT_FIELDS,
    TICK_BLOCK_EVENT,
    MissingHeaderError,
    Tick,
    TickBlockDecoder,
    TickBlockEncoder,
    values_of,
)
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

    def blocks(self) -> list[dict[str, Any]]:
        return [orjson.loads(r.data) for r in self.rows if r.event == TICK_BLOCK_EVENT]

    def ticks(self) -> list[Tick]:
        """Every journaled tick, blocks expanded in order by one decoder (one stream here)."""
        decoder = TickBlockDecoder()
        out = []
        for row in self.rows:
            if row.event == TICK_BLOCK_EVENT:
                assert row.payload is not None
                out += decoder.expand(orjson.loads(row.data), row.payload)
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
    encoder = TickBlockEncoder()
    ticks = [state(clock=300 - n // 120, speed=40 + n * 0.37, touches=n // 10) for n in range(50)]
    ticks[7]["Players"][0].pop("Speed")  # the game omits a zero speed: 0, since bHasCar is there
    ticks[9]["Players"][0] = {  # no spectator fields at all: speed and boost unknown
        k: v for k, v in ticks[9]["Players"][0].items() if k not in ("bHasCar", "Speed", "Boost")
    }
    ticks[9]["Players"][0].pop("bOnGround")
    for n, data in enumerate(ticks):
        text = orjson.dumps(data) if n == 3 else None
        encoder.add(100 + n, 1_000_000 + n * TICK_US, values_of(data), text)
    block, payload = encoder.encode()
    assert encoder.count == 0
    assert block == {
        "v": 3,
        "first_seq": 100,
        "count": 50,
        "t0_us": 1_000_000,
        "header": True,
    }
    out = TickBlockDecoder().expand(orjson.loads(orjson.dumps(block)), payload)
    assert [t.seq for t in out] == list(range(100, 150))
    # receive times to the millisecond after the first (kept exactly)
    assert [t.received_at_us for t in out] == [
        1_000_000 + (n * TICK_US + 500) // 1000 * 1000 for n in range(50)
    ]
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
        if "bHasCar" in original["Players"][0]:
            want = original["Players"][0].get("Speed", 0)
            assert me["Speed"] == pytest.approx(want, abs=0.051)  # kept to 0.1 km/h
            assert me["Boost"] == 33
            assert me["bOnGround"] is True and me["bHasCar"] is True and "bSupersonic" not in me
        else:
            assert "Speed" not in me and "Boost" not in me and "bOnGround" not in me
    assert out[7].data["Players"][0]["Speed"] == 0
    assert "Speed" not in out[9].data["Players"][0]


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
    blocks = journal.blocks()
    assert len(blocks) == len(journal.rows)
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
    folded = sum(block.get("coalesced", 0) for block in journal.blocks())
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


# -- the block format: header elision, binary columns ------------------------------------------


def encode_blocks(
    encoder: TickBlockEncoder, runs: list[list[dict[str, Any]]], start_us: int = 0
) -> list[tuple[dict[str, Any], bytes]]:
    """Each run of ticks as one block, seqs and times consecutive across runs."""
    out = []
    seq = 1
    for run in runs:
        for data in run:
            encoder.add(seq, start_us + seq * TICK_US, values_of(data))
            seq += 1
        out.append(encoder.encode())
    return out


def test_the_header_is_written_only_when_it_changed_or_once_in_a_while() -> None:
    renamed = state()
    renamed["Players"][1]["Name"] = "Bot Kévin II"
    runs = [[state(clock=300 - n) for n in range(3)] for _ in range(3)]
    runs += [[renamed, renamed], [renamed]]
    blocks = encode_blocks(TickBlockEncoder(), runs)
    assert [b.get("header", False) for b, _ in blocks] == [True, False, False, True, False]
    with_header, without = blocks[0][1], blocks[1][1]
    assert len(without) < len(with_header) / 2, "no roster, names or ids again"

    decoder = TickBlockDecoder()
    ticks = [t for block, payload in blocks for t in decoder.expand(block, payload)]
    assert [t.seq for t in ticks] == list(range(1, 13))
    names = [[p["Name"] for p in t.data["Players"]] for t in ticks]
    assert names == [["Zoë", "Bot Kévin"]] * 9 + [["Zoë", "Bot Kévin II"]] * 3
    assert [t.data["Game"]["TimeSeconds"] for t in ticks[:9]] == [300, 299, 298] * 3
    assert ticks[5].data == ticks[2].data, "a block without a header reads like one with"

    # A decoder that has not seen the header (or the block before) says so.
    with pytest.raises(MissingHeaderError, match="needs the header"):
        TickBlockDecoder().expand(*blocks[1])
    skipping = TickBlockDecoder()
    skipping.expand(*blocks[0])
    with pytest.raises(MissingHeaderError, match="decode the stream in order"):
        skipping.expand(*blocks[2])
    # Any block with a header is a place to start again.
    late = TickBlockDecoder()
    assert [t.seq for t in late.expand(*blocks[3]) + late.expand(*blocks[4])] == [10, 11, 12]


def test_the_header_comes_again_every_sync_interval() -> None:
    encoder = TickBlockEncoder(sync_every_us=100 * TICK_US)
    runs = [[state(clock=300 - n)] * 30 for n in range(10)]
    blocks = encode_blocks(encoder, runs)
    assert [b.get("header", False) for b, _ in blocks] == [n % 4 == 0 for n in range(10)]
    decoder = TickBlockDecoder()
    assert sum(len(decoder.expand(*block)) for block in blocks) == 300


def test_binary_columns_round_trip_with_unknown_and_extreme_values() -> None:
    odd = [state(clock=c, touches=t, speed=s) for c, t, s in [(300, 0, 0.0), (5, 7, 82.8)]]
    odd += [state() for _ in range(8)]
    odd[2]["Game"]["TimeSeconds"] = None  # unknown clock
    odd[2]["Game"]["Ball"]["Speed"] = None  # unknown ball speed
    odd[3]["Players"][1]["Touches"] = 2**31 - 1  # int32's largest
    odd[4]["Players"][1]["Touches"] = -(2**31) + 1  # and smallest kept
    odd[5]["Game"]["Teams"][1]["Score"] = 2**40  # too big for a column: the tick is verbatim
    odd[6]["Players"][0]["Saves"] = 1.5  # not an integer: verbatim
    del odd[7]["Players"][1]["Demos"]  # a missing stat: None
    odd[8]["Players"][0].update(bDemolished=True, bSupersonic=True, bBoosting=True, Boost=0)
    odd[9]["Game"].update(bOvertime=True, TimeSeconds=-12)
    encoder = TickBlockEncoder()
    for n, data in enumerate(odd):
        values = values_of(data)
        assert values.exact == (n not in (5, 6))
        if not values.exact:
            with pytest.raises(ValueError, match="verbatim"):
                encoder.add(n + 1, 5_000 + n * 1_000_003, values)
        text = None if values.exact else orjson.dumps(data)
        encoder.add(n + 1, 5_000 + n * 1_000_003, values, text)
    ticks = TickBlockDecoder().expand(*encoder.encode())
    assert [t.received_at_us for t in ticks] == [5_000 + n * 1_000_000 for n in range(10)]
    assert [t.keyframe for t in ticks] == [n in (5, 6) for n in range(10)]
    assert ticks[5].data == odd[5] and ticks[6].data == odd[6], "kept exactly as sent"
    games = [t.data["Game"] for t in ticks]
    players = [t.data["Players"] for t in ticks]
    assert [g["TimeSeconds"] for g in games[:3]] == [300, 5, None]
    assert games[2]["Ball"] == {"Speed": None, "TeamNum": 255}
    assert games[1]["Ball"] == {"Speed": 12.5, "TeamNum": 255}
    assert players[0][0]["Speed"] == 0.0 and players[1][0]["Speed"] == 82.8
    assert players[1][0]["Touches"] == 7
    assert players[3][1]["Touches"] == 2**31 - 1
    assert players[4][1]["Touches"] == -(2**31) + 1
    assert players[7][1]["Demos"] is None and players[8][1]["Demos"] == 0
    me = players[8][0]
    assert {k for k, v in me.items() if v is True} == {
        "bHasCar",
        "bOnGround",
        "bDemolished",
        "bSupersonic",
        "bBoosting",
    }
    assert me["Boost"] == 0
    assert games[9]["bOvertime"] is True and games[9]["TimeSeconds"] == -12
    assert all("Speed" not in p[1] for p in players), "no spectator fields: unknown, not 0"
    for got, want in zip(ticks, odd, strict=True):
        assert got.data["Game"]["Teams"][0] == want["Game"]["Teams"][0]
        assert [p["PrimaryId"] for p in got.data["Players"]] == [
            p["PrimaryId"] for p in want["Players"]
        ]


def test_a_tick_no_block_can_hold_is_journaled_verbatim_in_order() -> None:
    journal = Journal()
    session = FeedSession("run-1", journal.emit)
    broken = {"MatchGuid": "", "Players": [1, 2], "Game": {}}
    for n, data in enumerate([state(), state(), broken, state()]):
        session.on_message(wire("UpdateState", data), n * TICK_US)
    session.close()
    assert [(r.event, r.seq) for r in journal.rows] == [
        (TICK_BLOCK_EVENT, 1),
        ("UpdateState", 3),
        (TICK_BLOCK_EVENT, 4),
    ]
    assert orjson.loads(journal.rows[1].data) == broken
    assert journal.sequence() == [1, 2, 3, 4]


# -- deferred decoding ---------------------------------------------------------------------------


def match_messages() -> list[tuple[bytes, int]]:
    """Two seconds of ticks with a score change, a replay and discrete events in between."""
    out = []
    for n in range(240):
        goals = 1 if n >= 100 else 0
        data = state(goals=goals, replay=150 <= n < 200, touches=n // 37, speed=20 + n % 50)
        out.append((wire("UpdateState", data), n * TICK_US))
        if n in (60, 99, 175):
            out.append((wire("BallHit", {"n": n}), n * TICK_US + 1))
    return out


def test_deferred_ticks_are_decoded_when_the_block_is_cut() -> None:
    journal = Journal()
    session = FeedSession("run-1", journal.emit)
    for n in range(10):
        session.on_message(wire("UpdateState", state()), n * TICK_US)
    assert session.counters.ticks == 0 and journal.rows == [], "kept as they came, not decoded"
    session.on_message(b'{"Event":"UpdateState","Data":"{broken"}', 10 * TICK_US)
    session.on_message(wire("UpdateState", state()), 11 * TICK_US)
    assert session.counters.undecodable == 0
    session.poll(11 * TICK_US + BLOCK_MAX_AGE_US)
    assert session.counters.ticks == 11
    assert [r.event for r in journal.rows] == [TICK_BLOCK_EVENT, "UpdateState", TICK_BLOCK_EVENT]
    assert orjson.loads(journal.rows[1].data) == "{broken", "journaled as the string it was"
    assert journal.sequence() == list(range(1, 13))


def test_deferred_decoding_keeps_the_keyframe_rules_of_eager_decoding() -> None:
    """The game's framing takes the deferred path; ``Data`` as an object takes the decoding
    one. Both journal the same rows, ticks and keyframes."""
    deferred, eager = Journal(), Journal()
    a = FeedSession("run-1", deferred.emit)
    b = FeedSession("run-1", eager.emit)
    for raw, at in match_messages():
        a.on_message(raw, at)
        message = orjson.loads(raw)
        message["Data"] = orjson.loads(message["Data"])
        b.on_message(orjson.dumps(message), at)
    a.close()
    b.close()
    assert [(r.event, r.seq) for r in deferred.rows] == [(r.event, r.seq) for r in eager.rows]
    ticks = deferred.ticks()
    assert [(t.seq, t.keyframe) for t in ticks] == [(t.seq, t.keyframe) for t in eager.ticks()]
    keyframes = [t.seq for t in ticks if t.keyframe]
    seq_of_tick = {n: t.seq for n, t in enumerate(ticks)}
    # the first tick, the score change, replay start and end, and about once a second
    assert {seq_of_tick[n] for n in (0, 100, 150, 200)} <= set(keyframes)
    assert len(keyframes) <= 10
    for t in ticks:
        if t.keyframe:
            assert "Speed" in t.data["Players"][0] and isinstance(
                t.data["Players"][0]["Speed"], int
            )


def test_coalescing_after_deferred_ticks_keeps_order_edges_and_counts() -> None:
    journal = Journal()
    stalled = {"now": False}
    session = FeedSession("run-1", journal.emit, lambda: stalled["now"])
    messages = match_messages()
    for i, (raw, at) in enumerate(messages):
        stalled["now"] = 60 <= i < 230  # storage falls behind with ticks pending, then recovers
        session.on_message(raw, at)
    session.close()
    ticks = journal.ticks()
    seqs = [t.seq for t in ticks]
    assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs)
    folded = sum(block.get("coalesced", 0) for block in journal.blocks())
    assert folded == session.counters.ticks_coalesced > 100
    assert len(ticks) + folded == 240, "every tick is journaled or counted as folded"
    events = [orjson.loads(r.data)["n"] for r in journal.rows if r.event == "BallHit"]
    assert events == [60, 99, 175]
    replay = [t.data["Game"]["bReplay"] for t in ticks]
    edges = [i for i in range(1, len(replay)) if replay[i] != replay[i - 1]]
    assert len(edges) == 2, "replay start and end are never folded away"
    for i in edges:
        assert ticks[i].keyframe and ticks[i].seq == ticks[i - 1].seq + 1
    # The score changed while ticks were folded: the tick kept after it is verbatim.
    scores = [t.data["Game"]["Teams"][0]["Score"] for t in ticks]
    first_goal = scores.index(1)
    assert ticks[first_goal].keyframe


# -- the journal: a real SQLite file and the journal route ---------------------------------------


def test_tick_blocks_round_trip_through_the_journal_and_its_route(
    client: Any, services: Any, db_path: Any
) -> None:
    rows: list[NewEvent] = []
    session = FeedSession("run-1", rows.extend)
    for raw, at in match_messages():
        session.on_message(raw, at)
    session.close()
    services.writer.submit(rows).result(10)
    conn = connect(db_path, readonly=True)
    stored = journal_store.read_after(conn, 0, 10_000)
    conn.close()
    assert [(r.event, r.seq, r.data, r.payload) for r in stored] == [
        (r.event, r.seq, r.data, r.payload) for r in rows
    ]
    assert all(type(r.payload) is bytes for r in stored if r.event == TICK_BLOCK_EVENT)
    assert all(r.payload is None for r in stored if r.event != TICK_BLOCK_EVENT)

    page = client.get("/api/v1/journal", params={"limit": 1000, "data": 1}).json()["rows"]
    assert len(page) == len(rows)
    decoder = TickBlockDecoder()
    from_route = []
    for entry in page:
        if entry["event"] == TICK_BLOCK_EVENT:
            assert set(entry["data"]) >= {"v", "first_seq", "count", "t0_us"}
            from_route += decoder.expand(entry["data"], base64.b64decode(entry["payload"]))
        else:
            assert entry["payload"] is None and entry["data"]["n"] in (60, 99, 175)
    in_memory = Journal()
    in_memory.rows = rows
    assert from_route == in_memory.ticks()
    assert len(from_route) == 240
    bare = client.get("/api/v1/journal", params={"limit": 1000}).json()["rows"]
    assert all(entry["payload"] is None and entry["data"] is None for entry in bare)


def test_a_damaged_or_foreign_block_is_refused_clearly() -> None:
    [(block, payload)] = encode_blocks(TickBlockEncoder(), [[state(), state()]])
    with pytest.raises(ValueError, match="version"):
        TickBlockDecoder().expand({**block, "v": 1}, payload)
    with pytest.raises(ValueError, match="count"):
        TickBlockDecoder().expand({**block, "count": 3}, payload)
    for damaged in (payload[:3], payload[:-4], payload[:5] + b"\xff" * 40):
        with pytest.raises(ValueError):
            TickBlockDecoder().expand(block, damaged)
    decoder = TickBlockDecoder()
    with pytest.raises(ValueError):
        decoder.expand(block, payload[:-4])
    assert len(decoder.expand(block, payload)) == 2, "a failed block leaves the decoder as it was"
