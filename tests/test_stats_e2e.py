"""End to end: the simulator plays synthesised matches into the real app (in this process, on
real loopback sockets: the game feed reader, the writer and worker, uvicorn), and the read API
answers exactly the simulator's truth."""

from __future__ import annotations

import csv
import io
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest

from companion.app import CompanionApp
from companion.paths import Paths
from companion.settings import Settings
from companion.simulator import StatsApiServer, SynthOptions, load_capture, synthesize
from companion.simulator.truth import MatchTruth
from companion.web import stats_models as models
from tests.conftest import SHARED


@contextmanager
def app_on(data_dir: Path, game_port: int, **settings: Any) -> Iterator[CompanionApp]:
    app = CompanionApp(Settings(port=0, game_port=game_port, **settings), Paths.resolve(data_dir))
    app.start()
    try:
        yield app
    finally:
        app.stop()


def wait_for(check: Callable[[], Any], timeout: float = 20.0) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(0.1)


def get(app: CompanionApp, path: str, **params: Any) -> Any:
    answer = httpx.get(app.url + path, params=params, timeout=10)
    assert answer.status_code == 200, answer.text
    return answer.json()


def all_matches(app: CompanionApp) -> list[dict[str, Any]]:
    return list(reversed(get(app, "/api/v1/matches", limit=500)["matches"]))


def settled(app: CompanionApp, count: int, sent: int | None = None) -> list[dict[str, Any]] | None:
    """The matches, once there are ``count`` and nothing waits to be applied; with ``sent``
    (messages the simulator sent this app), only once the feed has read them all and what it
    read is journaled and applied, and stays so: a fast app is otherwise caught up with half
    a stream (a block of ticks is handed over within a quarter of a second, or at the end)."""

    def idle() -> dict[str, Any] | None:
        status: dict[str, Any] = get(app, "/api/v1/status")
        feed = status["game_feed"]
        if status["queue_depth"] or (sent is not None and feed["pending_rows"]):
            return None
        return status

    status = idle()
    if status is None or (sent is not None and status["game_feed"]["messages"] < sent):
        return None
    if sent is not None:
        time.sleep(0.4)
        again = idle()
        if again is None or again["accepted_total"] != status["accepted_total"]:
            return None
    matches = all_matches(app)
    return matches if len(matches) == count else None


def assert_detail_is_truth(detail: dict[str, Any], truth: MatchTruth) -> None:
    label = f"match {truth.index} ({truth.scenario}, {truth.ending})"
    models.MatchDetail.model_validate(detail)  # the documented shape holds
    state = "complete" if truth.ending == "forfeit" else truth.ending
    assert (detail["state"], detail["forfeit"]) == (state, truth.ending == "forfeit"), label
    assert (detail["guid"] or "", detail["arena"], detail["mode"], detail["overtime"]) == (
        truth.guid,
        truth.arena,
        truth.mode,
        truth.overtime,
    ), label
    assert tuple(t["name"] for t in detail["teams"]) == truth.team_names, label
    assert tuple(t["score"] for t in detail["teams"]) == truth.team_scores, label
    assert detail["winner_team"] == truth.winner, label
    mvp = detail["mvp"] and (detail["mvp"]["name"], detail["mvp"]["primary_id"])
    assert mvp == (truth.mvp and (truth.mvp.name, truth.mvp.primary_id)), label
    stats = ("score", "goals", "shots", "assists", "saves", "touches", "car_touches", "demos")
    got = sorted(
        (p["name"], p["primary_id"], p["team"], p["bot"], tuple(p[s] for s in stats))
        for p in detail["players"]
    )
    truth_stats = ("Score", "Goals", "Shots", "Assists", "Saves", "Touches", "CarTouches", "Demos")
    want = sorted(
        (p.name, p.primary_id, p.team, p.bot, tuple(p.stats[s] for s in truth_stats))
        for p in truth.players
    )
    assert got == want, label
    goals = [
        (
            g["team"],
            g["scorer"]["name"],
            g["assister"] and g["assister"]["name"],
            g["clock_s"],
            g["overtime"],
            g["speed_kph"],
            g["impact"],
        )
        for g in detail["goals"]
    ]
    expected_goals = [
        (
            g.team,
            g.scorer.name,
            g.assister and g.assister.name,
            g.clock_s,
            g.overtime,
            g.speed,
            [g.impact["X"], g.impact["Y"], g.impact["Z"]],
        )
        for g in truth.goals
    ]
    assert goals == expected_goals, label
    assert detail["me"] == truth.me, label
    expected_result = None
    if truth.me is not None:
        mine = truth.player(truth.me).team
        expected_result = {"abandoned": "abandoned", "incomplete": None}.get(
            truth.ending, "win" if mine == truth.winner else "loss"
        )
    assert detail["result"] == expected_result, label
    me_lines = [p["primary_id"] for p in detail["players"] if p["is_me"]]
    assert me_lines == ([truth.me] if truth.me else []), label


def test_a_season_played_into_the_app_reads_back_as_the_truth(tmp_path: Path) -> None:
    synthesis = synthesize(
        SynthOptions(seed=5, scenario="mixed", view="player", rate=4, matches=8, mode="mixed")
    )
    truth = synthesis.truth
    with StatsApiServer(port=0) as sim, app_on(tmp_path / "data", sim.port) as app:
        assert sim.wait_for_client(15)
        sent = sim.play(synthesis.messages(), speed=0, hang_up=True).sent
        matches = wait_for(lambda: settled(app, len(truth.matches), sent))
        assert matches, f"expected {len(truth.matches)} matches, got {all_matches(app)}"
        for listed, expected in zip(matches, truth.matches, strict=True):
            models.Match.model_validate(listed)
            assert_detail_is_truth(get(app, f"/api/v1/matches/{listed['id']}"), expected)

        # The live board for polling pages: between matches, the last one; 204 when unchanged.
        board = get(app, "/api/v1/live")
        models.LiveScoreboard.model_validate(board)
        assert board["live"] is False and board["match"]["id"] == matches[-1]["id"]
        unchanged = httpx.get(app.url + "/api/v1/live", params={"since": board["version"]})
        assert unchanged.status_code == 204 and not unchanged.content

        # Filters: by result for me, by mode, by a player met, with a cursor.
        me = truth.matches[0].me
        assert get(app, "/api/v1/me") == {"primary_id": me, "source": "detected"}
        wins = get(app, "/api/v1/matches", result="win")["matches"]
        assert [m["id"] for m in wins] == [
            m["id"] for m in reversed(matches) if m["result"] == "win"
        ]
        first_page = get(app, "/api/v1/matches", limit=3)
        second_page = get(app, "/api/v1/matches", limit=3, before=first_page["next_before"])
        assert [m["id"] for m in first_page["matches"] + second_page["matches"]] == [
            m["id"] for m in reversed(matches)
        ][:6]
        modes = {m["mode"] for m in matches}
        for mode in modes:
            assert {m["mode"] for m in get(app, "/api/v1/matches", mode=mode)["matches"]} == {mode}

        # Sessions: everything arrived within the gap, so one session of all the matches.
        sessions = get(app, "/api/v1/sessions")["sessions"]
        assert len(sessions) == 1
        results = [m["result"] for m in matches]
        assert sessions[0]["games"] == len(matches)
        assert (sessions[0]["wins"], sessions[0]["losses"]) == (
            results.count("win"),
            results.count("loss"),
        )
        current = get(app, "/api/v1/sessions/current")
        assert current["match_ids"] == [m["id"] for m in matches]

        # Players met: everyone but me and the bots, with games together and against.
        met = {p["primary_id"]: p for p in get(app, "/api/v1/players", limit=1000)["players"]}
        people = {
            p.primary_id
            for m in truth.matches
            for p in m.players
            if not p.bot and p.primary_id != me
        }
        assert set(met) == people
        # Trends and export.
        summary = get(app, "/api/v1/summary", period="week")
        models.Summary.model_validate(summary)
        assert sum(row["games"] for row in summary["rows"]) == len(matches)
        assert sum(row["wins"] for row in summary["rows"]) == results.count("win")
        exported = get(app, "/api/v1/export.json")
        assert [m["id"] for m in exported["matches"]] == [m["id"] for m in matches]
        csv_text = httpx.get(app.url + "/api/v1/export.csv").text
        lines = list(csv.DictReader(io.StringIO(csv_text)))
        assert len(lines) == sum(len(m.players) for m in truth.matches)
        assert {(line["match_id"], line["name"]) for line in lines} == {
            (str(m["id"]), p["name"]) for m in exported["matches"] for p in m["players"]
        }

        some = next(iter(people))
        career = get(app, f"/api/v1/players/{some}")
        models.Career.model_validate(career)
        assert career["games"] == met[some]["games"]
        assert career["games"] == sum(
            1 for m in truth.matches if any(p.primary_id == some for p in m.players)
        )


def test_a_new_session_cuts_and_survives_a_restart(tmp_path: Path) -> None:
    first = synthesize(SynthOptions(seed=3, scenario="normal", rate=4, matches=1, mode="1v1"))
    second = synthesize(SynthOptions(seed=4, scenario="normal", rate=4, matches=1, mode="1v1"))
    with StatsApiServer(port=0) as sim:
        with app_on(tmp_path / "data", sim.port) as app:
            assert sim.wait_for_client(15)
            sent = sim.play(first.messages(), speed=0, hang_up=True).sent
            assert wait_for(lambda: settled(app, 1, sent))
            token = app.services.token
            answer = httpx.post(
                app.url + "/api/v1/sessions/new", headers={"Authorization": f"Bearer {token}"}
            )
            assert answer.status_code == 202, answer.text
            refused = httpx.post(app.url + "/api/v1/sessions/new")
            assert refused.status_code == 401
            assert wait_for(lambda: get(app, "/api/v1/sessions/current")["games"] == 0)
            assert sim.wait_for_client(15, newer_than=1)
            sent += sim.play(second.messages(), speed=0, hang_up=True).sent
            assert wait_for(lambda: settled(app, 2, sent))
        with app_on(tmp_path / "data", sim.port) as app:
            sessions = get(app, "/api/v1/sessions")["sessions"]
            assert [s["games"] for s in sessions] == [1, 1]


@pytest.mark.parametrize("bad", [{"result": "draw"}, {"mode": "5v5"}, {"from": "yesterday"}])
def test_bad_filters_are_named(tmp_path: Path, bad: dict[str, str]) -> None:
    with StatsApiServer(port=0) as sim, app_on(tmp_path / "data", sim.port) as app:
        answer = httpx.get(app.url + "/api/v1/matches", params=bad)
        assert answer.status_code == 422
        error = answer.json()["error"]
        assert error["code"] == "invalid_parameter"
        assert next(iter(bad)) in error["message"]
        missing = httpx.get(app.url + "/api/v1/matches/999")
        assert missing.status_code == 404 and missing.json()["error"]["code"] == "not_found"


CAPTURES = SHARED / "fixtures" / "rl-stats-api"
STAT_NAMES = ("Score", "Goals", "Shots", "Assists", "Saves", "Touches", "CarTouches", "Demos")
STAT_KEYS = ("score", "goals", "shots", "assists", "saves", "touches", "car_touches", "demos")


def test_a_recorded_capture_one_real_goal_and_the_last_live_scoreboard(tmp_path: Path) -> None:
    path = CAPTURES / "xentrick_spectator_1v1_cs_p_35s.wire.bin.gz"
    if not path.exists():
        pytest.skip("the recorded Stats API captures (../shared/fixtures) are not here")
    capture = load_capture(path)
    decoded = [orjson.loads(m.raw) for m in capture.messages]
    ticks = [
        orjson.loads(d["Data"]) if isinstance(d["Data"], str) else d["Data"]
        for d in decoded
        if d["Event"] == "UpdateState"
    ]
    last = next(t for t in reversed(ticks) if not t["Game"].get("bReplay"))
    with StatsApiServer(port=0) as sim, app_on(tmp_path / "data", sim.port) as app:
        assert sim.wait_for_client(15)
        sent = sim.play(capture.messages, speed=0, hang_up=True).sent
        assert wait_for(lambda: settled(app, 1, sent))
        (listed,) = all_matches(app)
        detail = get(app, f"/api/v1/matches/{listed['id']}")
    assert len(detail["goals"]) == 1, "the echo after the replay is not a second goal"
    got = sorted((p["name"], tuple(p[k] for k in STAT_KEYS)) for p in detail["players"])
    want = sorted((p["Name"], tuple(p.get(f, 0) for f in STAT_NAMES)) for p in last["Players"])
    assert got == want
    assert [t["score"] for t in detail["teams"]] == [t["Score"] for t in last["Game"]["Teams"]]
