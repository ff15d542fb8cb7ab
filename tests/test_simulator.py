"""The game simulator: deterministic synthesis, every scenario's lifecycle, ticks that agree with
the events and the truth, the wire format, the TCP server end to end (speeds, disconnects,
reconnects, replacement), byte-exact replay of the recorded captures, and the CLI."""

from __future__ import annotations

import argparse
import gzip
import itertools
import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from companion.cli import build_parser
from companion.simulator import (
    StatsApiServer,
    SynthOptions,
    TimelineEvent,
    WireMessage,
    decode_message,
    encode_message,
    load_capture,
    split_stream,
    synthesize,
)
from companion.simulator import cli as simulator_cli
from companion.simulator.truth import MatchTruth, SessionTruth

FIXTURES = Path(__file__).resolve().parents[2] / "shared" / "fixtures" / "rl-stats-api"
SPECTATOR_FIELDS = {
    "bHasCar",
    "Speed",
    "Boost",
    "bBoosting",
    "bOnGround",
    "bOnWall",
    "bPowersliding",
    "bDemolished",
    "bSupersonic",
}
STATS = ("Score", "Goals", "Shots", "Assists", "Saves", "Touches", "CarTouches", "Demos")
Event = tuple[str, dict[str, Any]]
# A season whose 10 matches cover every scenario and every ending.
SEASON: dict[str, Any] = {"seed": 99, "scenario": "mixed", "mode": "mixed", "matches": 10}


@cache
def _timeline(**options: Any) -> tuple[TimelineEvent, ...]:
    """A synthesised timeline, cached: several tests look at the same sessions."""
    return tuple(synthesize(SynthOptions(**{"rate": 10.0, "mode": "2v2", **options})))


@cache
def _truth(**options: Any) -> SessionTruth:
    return synthesize(SynthOptions(**{"rate": 10.0, "mode": "2v2", **options})).truth


def _matches(events: tuple[TimelineEvent, ...]) -> list[list[TimelineEvent]]:
    """The timeline cut at every MatchCreated."""
    out: list[list[TimelineEvent]] = []
    for event in events:
        if event.event == "MatchCreated":
            out.append([])
        out[-1].append(event)
    return out


def _names(events: list[TimelineEvent]) -> list[str]:
    return [e.event for e in events if e.event not in ("UpdateState", "BallHit")]


def _decode_stream(stream: bytes) -> list[Event]:
    """What a reader does: raw_decode message after message, then Data a second time."""
    decoder = json.JSONDecoder()
    text, pos, out = stream.decode("utf-8"), 0, []
    while pos < len(text):
        message, pos = decoder.raw_decode(text, pos)
        data = message["Data"]
        out.append((message["Event"], json.loads(data) if isinstance(data, str) else data))
    return out


def _read_all(port: int, *, limit: int | None = None, timeout: float = 15.0) -> bytes:
    """Connect and read until the server hangs up (or ``limit`` bytes, then close)."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        received = bytearray()
        while limit is None or len(received) < limit:
            chunk = sock.recv(65536 if limit is None else min(65536, limit - len(received)))
            if not chunk:
                break
            received += chunk
        return bytes(received)


# -- synthesis ------------------------------------------------------------------------------


def test_the_same_seed_gives_the_same_bytes_and_another_seed_does_not() -> None:
    options = SynthOptions(seed=11, scenario="mixed", mode="mixed", matches=2, rate=5)
    first = synthesize(options)
    again = synthesize(options)
    assert first.wire_bytes() == again.wire_bytes() == first.wire_bytes()  # re-iterable too
    assert first.truth == again.truth
    other = synthesize(SynthOptions(seed=12, scenario="mixed", mode="mixed", matches=2, rate=5))
    assert other.wire_bytes() != first.wire_bytes()


def test_messages_are_back_to_back_json_with_data_as_a_string_or_an_object() -> None:
    synthesis = synthesize(SynthOptions(seed=5, matches=3, scenario="mixed", rate=5))
    stream = synthesis.wire_bytes()
    assert b"\n" not in stream and b"\x00" not in stream
    assert stream.startswith(b'{"Event":"MatchCreated","Data":"{\\"MatchGuid\\":')
    assert not stream.isascii()  # made-up names such as "Zoë" travel as raw UTF-8
    decoded = _decode_stream(stream)
    assert decoded == [(e.event, e.data) for e in synthesis]
    as_object = synthesis.wire_bytes(data_as_string=False)
    assert json.loads(split_stream(as_object)[0][1])["Data"] == {
        "MatchGuid": decoded[0][1]["MatchGuid"]
    }
    assert _decode_stream(as_object) == decoded


@pytest.mark.parametrize(
    ("scenario", "expected"),
    [
        ("normal", ["MatchCreated", "MatchInitialized", "CountdownBegin", "RoundStarted"]),
        ("overtime", ["MatchEnded", "PodiumStart", "MatchDestroyed"]),
        ("forfeit", ["MatchEnded", "PodiumStart", "MatchDestroyed"]),
    ],
)
def test_complete_matches_run_the_whole_lifecycle(scenario: str, expected: list[str]) -> None:
    names = _names(list(_timeline(seed=3, scenario=scenario)))
    lifecycle = [n for n in names if n.startswith(("Match", "Countdown", "Round", "Podium"))]
    assert lifecycle[:4] == ["MatchCreated", "MatchInitialized", "CountdownBegin", "RoundStarted"]
    assert lifecycle[-3:] == ["MatchEnded", "PodiumStart", "MatchDestroyed"]
    assert all(n in names for n in expected)


def test_a_normal_match_ends_when_the_clock_runs_out() -> None:
    events = list(_timeline(seed=3, scenario="normal"))
    clock = [e.data["TimeSeconds"] for e in events if e.event == "ClockUpdatedSeconds"]
    assert clock == list(range(299, -1, -1))
    ended = next(i for i, e in enumerate(events) if e.event == "MatchEnded")
    assert events[ended - 1].data["Game"]["TimeSeconds"] == 0
    truth = _truth(seed=3, scenario="normal").matches[0]
    assert truth.ending == "complete" and not truth.overtime
    assert truth.team_scores[0] != truth.team_scores[1]
    assert truth.winner == events[ended].data["WinnerTeamNum"]


def test_overtime_counts_the_clock_up_until_a_goal_ends_the_match() -> None:
    events = list(_timeline(seed=4, scenario="overtime"))
    ot_clock = [
        e.data["TimeSeconds"]
        for e in events
        if e.event == "ClockUpdatedSeconds" and e.data["bOvertime"]
    ]
    assert ot_clock and ot_clock == list(range(1, len(ot_clock) + 1))
    ticks = [e.data["Game"] for e in events if e.event == "UpdateState"]
    assert any(g["bOvertime"] and g["TimeSeconds"] > 0 for g in ticks)
    truth = _truth(seed=4, scenario="overtime").matches[0]
    assert truth.overtime and truth.goals[-1].overtime
    assert truth.goals[-1].clock_s == ot_clock[-1]
    assert truth.winner == truth.goals[-1].team
    # The overtime goal ends the match: no replay, no echo, MatchEnded soon after.
    last_goal = max(i for i, e in enumerate(events) if e.event == "GoalScored")
    assert events[last_goal].data["Scorer"]["Name"]
    assert "MatchEnded" in [e.event for e in events[last_goal:]]


def test_a_forfeit_ends_the_match_before_the_clock_runs_out() -> None:
    events = list(_timeline(seed=5, scenario="forfeit"))
    ended = next(i for i, e in enumerate(events) if e.event == "MatchEnded")
    assert events[ended - 1].data["Game"]["TimeSeconds"] > 0
    truth = _truth(seed=5, scenario="forfeit").matches[0]
    assert truth.ending == "forfeit" and truth.winner == events[ended].data["WinnerTeamNum"]


def test_an_abandoned_match_is_destroyed_without_ending() -> None:
    names = _names(list(_timeline(seed=6, scenario="abandoned")))
    assert names[-1] == "MatchDestroyed" and "MatchEnded" not in names
    assert "PodiumStart" not in names
    truth = _truth(seed=6, scenario="abandoned").matches[0]
    assert truth.ending == "abandoned" and truth.winner is None and truth.mvp is None


def test_an_incomplete_match_just_stops() -> None:
    events = list(_timeline(seed=6, scenario="incomplete"))
    names = _names(events)
    assert "MatchEnded" not in names and "MatchDestroyed" not in names
    assert events[-1].event == "UpdateState"
    assert _truth(seed=6, scenario="incomplete").matches[0].ending == "incomplete"


def test_offline_matches_have_no_guid_and_bots_share_one_id() -> None:
    events = _timeline(seed=8, scenario="offline")
    assert {e.data["MatchGuid"] for e in events} == {""}
    truth = _truth(seed=8, scenario="offline").matches[0]
    ids = Counter(p.primary_id for p in truth.players)
    assert ids["Unknown|0|0"] == 3 and truth.me is not None and ids[truth.me] == 1
    assert all(p.bot for p in truth.players if p.primary_id == "Unknown|0|0")


def test_bots_play_online_as_opponents() -> None:
    truth = _truth(seed=9, scenario="bots").matches[0]
    me = next(p for p in truth.players if p.primary_id == truth.me)
    assert truth.guid and re.fullmatch(r"[0-9A-F]{32}", truth.guid)
    assert all(p.primary_id == "Unknown|0|0" for p in truth.players if p.team != me.team)


def test_a_private_lobby_reuses_the_guid_after_match_destroyed() -> None:
    events = list(_timeline(seed=10, scenario="guid-reuse"))
    lifecycle = [(e.event, e.data["MatchGuid"]) for e in events if e.event.startswith("Match")]
    guids = {guid for _, guid in lifecycle}
    assert len(guids) == 1 and "" not in guids
    created = [i for i, (name, _) in enumerate(lifecycle) if name == "MatchCreated"]
    assert len(created) == 2 and lifecycle[created[1] - 1][0] == "MatchDestroyed"


def test_every_tick_and_event_of_a_mixed_season_agrees_with_the_truth() -> None:
    truth = _truth(**SEASON)
    matches = _matches(_timeline(**SEASON))
    assert len(matches) == len(truth.matches) == 10
    assert {m.ending for m in truth.matches} == {"complete", "forfeit", "abandoned", "incomplete"}
    assert len({m.scenario for m in truth.matches}) == 8
    for events, match in zip(matches, truth.matches, strict=True):
        ticks = [e for e in events if e.event == "UpdateState"]
        ended = [i for i, e in enumerate(events) if e.event == "MatchEnded"]
        final = (
            [e for e in events[: ended[0]] if e.event == "UpdateState"][-1] if ended else ticks[-1]
        )
        assert not final.data["Game"]["bReplay"]
        _assert_scoreboard(final.data, match)
        _assert_events_add_up(events, match)
        assert {e.data["MatchGuid"] for e in events} == {match.guid}
        assert {t.data["Game"]["Arena"] for t in ticks} == {match.arena}


def _assert_scoreboard(tick: dict[str, Any], match: MatchTruth) -> None:
    by_seat = {(p.name, p.shortcut): p for p in match.players}
    for row in tick["Players"]:
        player = by_seat[(row["Name"], row["Shortcut"])]
        assert row["PrimaryId"] == player.primary_id and row["TeamNum"] == player.team
        assert {k: row[k] for k in STATS} == player.stats
    assert tuple(t["Score"] for t in tick["Game"]["Teams"]) == match.team_scores


def _assert_events_add_up(events: list[TimelineEvent], match: MatchTruth) -> None:
    """Cumulative stats equal what the events said, player by player."""
    feed: Counter[tuple[str, str]] = Counter()
    touches: Counter[str] = Counter()
    for e in events:
        if e.event == "StatfeedEvent":
            feed[(e.data["MainTarget"]["Name"], e.data["EventName"])] += 1
        elif e.event == "BallHit":
            touches.update(p["Name"] for p in e.data["Players"])
    for p in match.players:
        s = p.stats
        assert s["Goals"] == feed[(p.name, "Goal")] and s["Shots"] == feed[(p.name, "Shot")]
        assert s["Assists"] == feed[(p.name, "Assist")]
        assert s["Saves"] == feed[(p.name, "Save")] + feed[(p.name, "EpicSave")]
        assert s["Demos"] == feed[(p.name, "Demolish")] and s["Touches"] == touches[p.name]


def test_a_season_sends_every_kind_of_event() -> None:
    events = _timeline(**SEASON)
    kinds = {e.event for e in events}
    assert {"BallHit", "CrossbarHit", "ClockUpdatedSeconds", "PodiumStart", "MatchEnded"} <= kinds
    feed = {e.data["EventName"] for e in events if e.event == "StatfeedEvent"}
    assert feed == {"Shot", "Save", "EpicSave", "Goal", "Assist", "Demolish", "MVP", "Win"}
    crossbar = next(e for e in events if e.event == "CrossbarHit")
    assert set(crossbar.data) >= {"BallLocation", "BallSpeed", "ImpactForce", "BallLastTouch"}
    two = [e for e in events if e.event == "BallHit" and len(e.data["Players"]) == 2]
    assert two and all(e.data["Ball"]["PostHitSpeed"] > 0 for e in two)


@pytest.mark.parametrize(
    ("replay_events", "locale", "names", "goal_label"),
    [
        ("goal", "en", {"GoalReplayStart", "GoalReplayWillEnd", "GoalReplayEnd"}, "Goal"),
        ("short", "de", {"ReplayStart", "ReplayWillEnd", "ReplayEnd"}, "Tor"),
        ("none", "fr", set(), "But"),
    ],
)
def test_replay_event_names_and_statfeed_language_follow_the_options(
    replay_events: str, locale: str, names: set[str], goal_label: str
) -> None:
    events = _timeline(seed=3, rate=2.0, replay_events=replay_events, locale=locale)
    assert {e.event for e in events if "Replay" in e.event} == names
    labels = {e.data["Type"] for e in events if e.data.get("EventName") == "Goal"}
    assert labels == {goal_label}


def test_four_versus_four_uses_every_shortcut() -> None:
    truth = _truth(seed=1, mode="4v4", rate=2.0).matches[0]
    assert sorted(p.shortcut for p in truth.players) == [1, 2, 3, 4, 5, 6, 7, 8]
    assert all(p.team == (p.shortcut > 4) for p in truth.players)


def test_goals_in_the_truth_are_the_real_goal_scored_events_and_not_the_echo() -> None:
    events = list(_timeline(**SEASON))
    truth = _truth(**SEASON)
    scored = [e for e in events if e.event == "GoalScored"]
    real = [e for e in scored if e.data["Scorer"]["Name"]]
    goals = [g for m in truth.matches for g in m.goals]
    assert len(real) == len(goals) > 5
    for event, goal in zip(real, goals, strict=True):
        assert event.data["Scorer"] == {
            "Name": goal.scorer.name,
            "Shortcut": goal.scorer.shortcut,
            "TeamNum": goal.team,
        }
        assert event.data["GoalSpeed"] == goal.speed and event.data["ImpactLocation"] == goal.impact
        assert abs(event.data["ImpactLocation"]["Y"]) > 5100
        assert ("Assister" in event.data) == (goal.assister is not None)
    echoes = [e for e in scored if not e.data["Scorer"]["Name"]]
    assert len(echoes) == len([g for g in goals if not g.overtime])
    for echo in echoes:
        original = next(e for e in reversed(real) if e.t < echo.t)
        assert echo.data["Scorer"] == {"Name": "", "Shortcut": 0, "TeamNum": 0}
        assert echo.data["GoalSpeed"] == 0.0 and echo.data["GoalTime"] == 0
        assert echo.data["ImpactLocation"] == original.data["ImpactLocation"]


def test_around_a_goal_statfeed_comes_first_then_the_new_score_then_goal_scored() -> None:
    events = list(_timeline(seed=3, scenario="normal"))
    for i, e in enumerate(events):
        if e.event == "GoalScored" and e.data["Scorer"]["Name"]:
            before = events[i - 1]
            assert before.event == "UpdateState"
            feed = [x.data["EventName"] for x in events[i - 4 : i] if x.event == "StatfeedEvent"]
            assert "Goal" in feed
            scorer = next(
                p for p in before.data["Players"] if p["Name"] == e.data["Scorer"]["Name"]
            )
            previous = next(x for x in reversed(events[: i - 1]) if x.event == "UpdateState")
            mine = next(p for p in previous.data["Players"] if p["Name"] == scorer["Name"])
            assert scorer["Goals"] == mine["Goals"] + 1


def test_replay_ticks_follow_each_goal_and_repeat_old_telemetry() -> None:
    events = list(_timeline(seed=3, scenario="normal", view="spectator"))
    replay = [e for e in events if e.event == "UpdateState" and e.data["Game"]["bReplay"]]
    live_speeds = {
        p.get("Speed")
        for e in events
        if e.event == "UpdateState" and not e.data["Game"]["bReplay"]
        for p in e.data["Players"]
    }
    assert replay
    replayed = [p["Speed"] for e in replay for p in e.data["Players"] if "Speed" in p]
    assert replayed and set(replayed) <= live_speeds
    assert not any(e.data["Game"]["bHasTarget"] for e in replay)


def test_player_view_hides_the_other_teams_car_fields() -> None:
    events = _timeline(seed=3, scenario="normal", mode="3v3")
    truth = _truth(seed=3, scenario="normal", mode="3v3").matches[0]
    me = next(p for p in truth.players if p.primary_id == truth.me)
    for e in events:
        if e.event != "UpdateState":
            continue
        for row in e.data["Players"]:
            fields = SPECTATOR_FIELDS & row.keys()
            assert (row["TeamNum"] == me.team) == ("bHasCar" in fields)
            if row["TeamNum"] != me.team:
                assert not fields
            assert not any(v is False for v in row.values())  # false booleans are omitted
        game = e.data["Game"]
        if not game["bReplay"]:
            assert game["bHasTarget"]
            assert game["Target"] == {"Name": me.name, "Shortcut": me.shortcut, "TeamNum": me.team}


def test_spectator_view_shows_every_car_and_no_target() -> None:
    for e in _timeline(seed=3, scenario="normal", view="spectator"):
        if e.event == "UpdateState":
            assert all("bHasCar" in row for row in e.data["Players"])
            assert not e.data["Game"]["bHasTarget"] and "Target" not in e.data["Game"]
    assert _truth(seed=3, scenario="normal", view="spectator").matches[0].me is None


def test_a_demolished_car_shows_it_with_its_attacker() -> None:
    events = list(_timeline(seed=3, scenario="normal", mode="3v3", view="spectator", rate=5.0))
    demos = [i for i, e in enumerate(events) if e.data.get("EventName") == "Demolish"]
    assert demos
    for i in demos:
        victim, attacker = events[i].data["SecondaryTarget"], events[i].data["MainTarget"]
        assert victim["TeamNum"] != attacker["TeamNum"]
        tick = next(e for e in events[i:] if e.event == "UpdateState")
        row = next(p for p in tick.data["Players"] if p["Name"] == victim["Name"])
        assert row["bDemolished"] is True and row["Attacker"] == attacker and "Speed" not in row


def test_ticks_come_at_the_rate_and_the_clock_event_precedes_its_tick() -> None:
    events = list(_timeline(seed=3, scenario="normal", rate=24.0))
    times = [e.t for e in events if e.event == "UpdateState"]
    gaps = {round(b - a, 6) for a, b in itertools.pairwise(times)}
    assert gaps == {round(1 / 24, 6)}
    assert all(b.t >= a.t for a, b in itertools.pairwise(events))
    for i, e in enumerate(events):
        if e.event == "ClockUpdatedSeconds":
            tick = next(x for x in events[i:] if x.event == "UpdateState")
            assert tick.data["Game"]["TimeSeconds"] == e.data["TimeSeconds"]


def test_options_are_checked() -> None:
    for bad in ({"rate": 121.0}, {"rate": 0.5}, {"mode": "5v5"}, {"scenario": "x"}, {"matches": 0}):
        with pytest.raises(ValueError):
            SynthOptions(**bad)


def test_the_truth_round_trips_through_json(tmp_path: Path) -> None:
    truth = _truth(**SEASON)
    truth.write(tmp_path / "truth.json")
    assert SessionTruth.load(tmp_path / "truth.json") == truth
    text = (tmp_path / "truth.json").read_text("utf-8")
    assert all(p.name in text for m in truth.matches for p in m.players)  # UTF-8, unescaped


# -- wire helpers -------------------------------------------------------------------------


def test_split_stream_gives_back_exact_bytes_and_refuses_broken_ones() -> None:
    messages = [encode_message("Demo", {"Name": name}) for name in ("Zoë", "🚀", "plain")]
    stream = messages[0] + b" \n" + messages[1] + messages[2]
    pieces = split_stream(stream)
    assert b"".join(raw for _, raw in pieces) == stream
    assert [decode_message(raw)[1]["Name"] for _, raw in pieces] == ["Zoë", "🚀", "plain"]
    with pytest.raises(ValueError):
        split_stream(stream[:-1])
    with pytest.raises(ValueError):
        split_stream(b"[1]")


# -- the TCP server -----------------------------------------------------------------------


def _small() -> list[WireMessage]:
    return list(synthesize(SynthOptions(seed=2, mode="1v1", rate=5, scenario="forfeit")).messages())


def test_the_server_streams_a_whole_match_to_a_plain_socket_client() -> None:
    synthesis = synthesize(SynthOptions(seed=2, mode="3v3", rate=8))
    with StatsApiServer(port=0) as server:
        assert server.port != 0
        playback = server.play_async(synthesis.messages(), speed=0, hang_up=True)
        received = _read_all(server.port)
        result = playback.wait_result(timeout=10)
    assert result.completed and result.connections == 1 and result.dropped == 0
    assert result.bytes_sent == len(received)
    assert _decode_stream(received) == [(e.event, e.data) for e in synthesis]


def test_the_server_can_send_data_as_an_object_in_small_writes() -> None:
    messages = [
        WireMessage(m.t, m.event, encode_message(*decode_message(m.raw), data_as_string=False))
        for m in _small()[:300]
    ]
    with StatsApiServer(port=0, max_write=100) as server:
        server.play_async(messages, speed=0, hang_up=True)
        received = _read_all(server.port)
    assert received == b"".join(m.raw for m in messages)
    assert isinstance(json.loads(split_stream(received)[0][1])["Data"], dict)


def test_real_speed_paces_messages_by_their_times() -> None:
    timeline = [WireMessage(t, "Tick", encode_message("Tick", {"T": t})) for t in (0, 0.3, 0.6)]
    with StatsApiServer(port=0) as server:
        playback = server.play_async(timeline, speed=1.0, hang_up=True)
        began = time.monotonic()
        assert len(split_stream(_read_all(server.port))) == 3
        assert time.monotonic() - began >= 0.5
        assert playback.wait_result(timeout=10).completed


def _suffix_at(full: list[bytes], received: bytes) -> int:
    """Where ``received`` starts in ``full``: it must be whole messages running to the end."""
    pieces = [raw for _, raw in split_stream(received)]
    start = len(full) - len(pieces)
    assert pieces == full[start:]
    return start


def test_disconnect_mid_message_then_reconnect_resumes_at_a_message_boundary() -> None:
    messages = list(synthesize(SynthOptions(seed=3, mode="2v2", rate=10)).messages())
    full = [m.raw for m in messages]
    stream = b"".join(full)
    with StatsApiServer(port=0, on_disconnect="wait") as server:
        playback = server.play_async(messages, speed=0, hang_up=True)
        first = _read_all(server.port, limit=len(full[0]) + len(full[1]) // 2)  # mid-message
        assert stream.startswith(first)
        assert not playback.wait(0.3)  # the timeline waits for someone to come back
        second = _read_all(server.port)
        result = playback.wait_result(timeout=10)
    resumed = _suffix_at(full, second)
    assert 1 <= resumed < len(full) and result.completed
    assert result.connections == 2 and result.dropped == 0


def test_with_stop_a_disconnect_ends_the_playback() -> None:
    messages = list(synthesize(SynthOptions(seed=3, mode="2v2", rate=10)).messages())
    with StatsApiServer(port=0, on_disconnect="stop") as server:
        playback = server.play_async(messages, speed=0)
        _read_all(server.port, limit=5000)
        result = playback.wait_result(timeout=10)
    assert not result.completed and not result.stopped and result.sent < len(messages)


def test_with_drop_messages_sent_while_nobody_listens_are_lost() -> None:
    messages = list(synthesize(SynthOptions(seed=3, mode="2v2", rate=10)).messages())
    with StatsApiServer(port=0, on_disconnect="drop") as server:
        playback = server.play_async(messages, speed=0)
        _read_all(server.port, limit=5000)
        result = playback.wait_result(timeout=10)
    assert result.completed and result.dropped > 0
    assert result.sent + result.dropped == len(messages)


def test_a_new_connection_replaces_the_old_one() -> None:
    messages = list(synthesize(SynthOptions(seed=3, mode="1v1", rate=30)).messages())[:400]
    full = [m.raw for m in messages]
    kinds: list[str] = []
    with StatsApiServer(port=0, on_client=lambda kind, peer: kinds.append(kind)) as server:
        playback = server.play_async(messages, speed=20.0, hang_up=True)
        old = socket.create_connection(("127.0.0.1", server.port), timeout=10)
        assert old.recv(4096)
        assert server.wait_for_client(5, newer_than=0)
        second = _read_all(server.port)
        old_rest = bytearray()
        while chunk := old.recv(65536):  # the old connection is shut down: EOF, no hang
            old_rest += chunk
        old.close()
        assert playback.wait_result(timeout=10).completed
    assert _suffix_at(full, second) > 0
    assert kinds == ["connected", "replaced", "connected", "disconnected"]


def test_stop_ends_a_playback_waiting_for_a_client() -> None:
    server = StatsApiServer(port=0)
    server.start()
    playback = server.play_async(_small(), speed=1.0)
    server.stop()
    result = playback.wait_result(timeout=5)
    assert result.stopped and not result.completed and result.sent == 0


# -- recorded captures --------------------------------------------------------------------


def _captures() -> Iterator[Path]:
    if not FIXTURES.is_dir():
        pytest.skip(f"no recorded captures at {FIXTURES}")
    yield from sorted(FIXTURES.glob("*.wire.bin.gz"))
    yield from sorted(FIXTURES.glob("*.frames.ndjson.gz"))


def test_replaying_the_recorded_captures_sends_exactly_their_bytes() -> None:
    paths = list(_captures())
    assert len(paths) >= 4
    for path in paths:
        stem = path.name.split(".")[0]
        original = gzip.decompress((FIXTURES / f"{stem}.wire.bin.gz").read_bytes())
        capture = load_capture(path)
        assert capture.timed and capture.duration > 5
        with StatsApiServer(port=0) as server:
            playback = server.play_async(capture.messages, speed=0, hang_up=True)
            assert _read_all(server.port) == original
            assert playback.wait_result(timeout=10).completed


# -- the command line ---------------------------------------------------------------------


def test_simulate_options_never_overwrite_the_main_settings() -> None:
    args = build_parser().parse_args(["simulate", "--port", "5000", "--rate", "60"])
    assert args.sim_port == 5000 and args.sim_rate == 60.0 and args.port is None
    option_dests = {a.dest for a in _subparser("simulate")._actions if a.dest != "help"}
    assert option_dests and all(dest.startswith("sim_") for dest in option_dests)


def _subparser(name: str) -> argparse.ArgumentParser:
    parser = build_parser()
    commands = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    choice: argparse.ArgumentParser = commands.choices[name]
    choice.format_help()  # a command's options are added when it is first used
    return choice


@pytest.mark.parametrize(
    "argv",
    [
        ["--rate", "500"],
        ["--replay", "x.wire.bin", "--truth", "t.json"],
        ["--replay", "missing.wire.bin.gz"],
        ["--speed", "-1"],
    ],
)
def test_bad_options_exit_with_2(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    args = build_parser().parse_args(["simulate", *argv])
    assert simulator_cli.run(args) == 2
    assert "companion simulate:" in capsys.readouterr().err


def test_a_busy_port_exits_with_2() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        args = build_parser().parse_args(["simulate", "--port", str(taken.getsockname()[1])])
        assert simulator_cli.run(args) == 2


def _start_cli(*argv: str) -> tuple[subprocess.Popen[str], int]:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "companion", "simulate", "--port", "0", *argv],
        stdout=subprocess.PIPE,
        text=True,
        encoding="utf-8",
        env=env,
    )
    assert proc.stdout is not None
    for line in proc.stdout:
        if match := re.search(r"listening on 127\.0\.0\.1:(\d+)", line):
            return proc, int(match.group(1))
    raise AssertionError(f"no 'listening on' line; exit code {proc.wait()}")


def test_the_cli_serves_once_prints_progress_and_writes_the_truth(tmp_path: Path) -> None:
    truth = tmp_path / "truth.json"
    proc, port = _start_cli("--once", "--speed", "0", "--seed", "4", "--scenario", "overtime",
                            "--rate", "5", "--truth", str(truth))  # fmt: skip
    received = threading.Thread(target=_read_all, args=(port,))
    received.start()
    out, _ = proc.communicate(timeout=20)
    received.join(timeout=5)
    assert proc.returncode == 0
    assert "match 1 of 1: created" in out and "goal by" in out and "ended" in out
    assert re.search(r"done: [\d,]+ messages", out)
    assert SessionTruth.load(truth).matches[0].overtime


def test_ctrl_c_stops_the_cli_cleanly() -> None:
    proc, _ = _start_cli("--seed", "1")
    proc.send_signal(signal.SIGINT)
    out, _ = proc.communicate(timeout=10)
    assert proc.returncode == 0 and "stopped" in out
