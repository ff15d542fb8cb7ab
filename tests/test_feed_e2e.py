"""End to end: the simulator on a loopback port, the real app connected to it as a process; a
synthesised match and a replayed capture arrive in the journal with every discrete event, in
order, and every tick accounted for."""

from __future__ import annotations

import base64
import time
from collections.abc import Iterable
from typing import Any

import httpx
import orjson
import pytest

from companion.simulator import StatsApiServer, SynthOptions, load_capture, synthesize
from companion.sources.feed_session import is_goal_echo
from companion.tickblock import TICK_BLOCK_EVENT, TickBlockDecoder
from tests.conftest import SHARED
from tests.processes import running_app

pytestmark = pytest.mark.slow

CAPTURE = SHARED / "fixtures" / "rl-stats-api" / "xentrick_spectator_1v1_cs_p_35s.wire.bin.gz"


def journal(base_url: str) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    after = 0
    while True:
        page = httpx.get(
            base_url + "/api/v1/journal", params={"after": after, "limit": 1000, "data": 1}
        ).json()
        if not page["rows"]:
            return rows
        rows += page["rows"]
        after = page["next_after"]


def expected_of(messages: Iterable[tuple[str, Any]]) -> tuple[list[tuple[str, Any]], int]:
    """The discrete events a reader must journal (in order) and the number of ticks."""
    discrete: list[tuple[str, Any]] = []
    ticks = 0
    for event, data in messages:
        if event == "UpdateState":
            ticks += 1
        elif not (event == "GoalScored" and is_goal_echo(data)):
            discrete.append((event, data))
    return discrete, ticks


def stream_contents(rows: list[dict[str, Any]], stream: str) -> tuple[list[tuple[str, Any]], int]:
    discrete: list[tuple[str, Any]] = []
    ticks = 0
    decoder = TickBlockDecoder()  # one per stream, fed its blocks in journal order
    for row in rows:
        if row["stream"] != stream:
            continue
        if row["event"] == TICK_BLOCK_EVENT:
            payload = base64.b64decode(row["payload"])
            ticks += len(decoder.expand(row["data"], payload)) + row["data"].get("coalesced", 0)
        else:
            discrete.append((row["event"], row["data"]))
    return discrete, ticks


def wait_for_stream(
    base_url: str, number: int, want: tuple[list[tuple[str, Any]], int]
) -> tuple[list[tuple[str, Any]], int]:
    deadline = time.monotonic() + 30
    while True:
        rows = [r for r in journal(base_url) if r["source"] == "statsapi"]
        streams = sorted({r["stream"] for r in rows}, key=lambda s: int(s.rsplit("-", 1)[1]))
        got = stream_contents(rows, streams[number - 1]) if len(streams) >= number else ([], 0)
        if got == want or time.monotonic() > deadline:
            return got
        time.sleep(0.2)


def test_synthesised_match_then_a_capture_reach_the_journal(tmp_path: Any) -> None:
    synthesis = synthesize(
        SynthOptions(mode="2v2", rate=60, view="player", seed=11, scenario="overtime")
    )
    want = expected_of((e.event, e.data) for e in synthesis)
    assert len(want[0]) > 50 and want[1] > 1000
    with (
        StatsApiServer(port=0) as sim,
        running_app(tmp_path / "data", "--game", "--game-port", str(sim.port)) as app,
    ):
        assert sim.wait_for_client(15)
        sim.play(synthesis.messages(), speed=0, hang_up=True)
        got = wait_for_stream(app.base_url, 1, want)
        assert got[0] == want[0]
        assert got[1] == want[1]

        if not CAPTURE.exists():
            pytest.skip("the recorded captures (../shared/fixtures) are not here")
        capture = load_capture(CAPTURE)
        want = expected_of(
            (m.event, orjson.loads(orjson.loads(m.raw)["Data"])) for m in capture.messages
        )
        assert sim.wait_for_client(15, newer_than=1), "the app reconnects after the game quit"
        sim.play(capture.messages, speed=0, hang_up=True)
        got = wait_for_stream(app.base_url, 2, want)
        assert got[0] == want[0]
        assert got[1] == want[1]
        goals = [data for event, data in got[0] if event == "GoalScored"]
        assert len(goals) == 1, "one real goal, the echo after the replay is not journaled"
        status = httpx.get(app.url("/api/v1/status")).json()
        assert status["game_feed"]["echoes_dropped"] >= 1
