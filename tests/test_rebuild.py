"""Idempotency of the stats: a rebuild gives the tables the live app built, twice the same; events
received twice count once; a restart in the middle of a match goes on with the same match."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest

from companion.cli import EXIT_ALREADY_RUNNING
from companion.pipeline import rebuild as rebuild_module
from companion.simulator import StatsApiServer, SynthOptions, synthesize
from companion.storage.database import connect
from companion.storage.match_store import DERIVED_TABLES
from tests.test_stats_e2e import (
    all_matches,
    app_on,
    assert_detail_is_truth,
    get,
    settled,
    wait_for,
)


def companion(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "companion", *args], capture_output=True, text=True, timeout=120
    )


def derived_tables(db: Path) -> dict[str, list[tuple[Any, ...]]]:
    conn = sqlite3.connect(db)
    try:
        tables = {t: sorted(conn.execute(f"SELECT * FROM {t}").fetchall()) for t in DERIVED_TABLES}
        tables["dead_letters"] = conn.execute("SELECT journal_id FROM dead_letters").fetchall()
        tables["stream_state"] = conn.execute(
            "SELECT source, stream, seq, journal_id FROM stream_state ORDER BY 1, 2"
        ).fetchall()
        return tables
    finally:
        conn.close()


def test_rebuild_gives_what_the_live_app_built_and_again_the_same(tmp_path: Path) -> None:
    data = tmp_path / "data"
    synthesis = synthesize(
        SynthOptions(seed=9, scenario="mixed", view="spectator", rate=4, matches=5, mode="mixed")
    )
    with StatsApiServer(port=0) as sim, app_on(data, sim.port) as app:
        assert sim.wait_for_client(15)
        sent = sim.play(synthesis.messages(), speed=0, hang_up=True).sent
        assert wait_for(lambda: settled(app, len(synthesis.truth.matches), sent))
        busy = companion("--data-dir", str(data), "rebuild")
        assert busy.returncode == EXIT_ALREADY_RUNNING
        assert "quit it first" in busy.stderr
    live = derived_tables(data / "companion.db")
    assert len(live["matches"]) == len(synthesis.truth.matches)
    telemetry = [orjson.loads(row[-1]) for row in live["match_players"] if not row[6]]
    assert telemetry and all(t["seconds"] > 0 for t in telemetry)  # spectator view: everyone

    done = companion("--data-dir", str(data), "rebuild")
    assert done.returncode == 0, done.stderr
    assert f"rebuilt the stats of {len(synthesis.truth.matches)} matches" in done.stdout
    assert "rebuilding stats: 100%" in done.stderr
    assert derived_tables(data / "companion.db") == live
    assert companion("--data-dir", str(data), "rebuild").returncode == 0
    assert derived_tables(data / "companion.db") == live


def test_an_interrupted_rebuild_leaves_the_old_tables(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = tmp_path / "data"
    synthesis = synthesize(SynthOptions(seed=2, rate=4, matches=2, mode="1v1"))
    with StatsApiServer(port=0) as sim, app_on(data, sim.port) as app:
        assert sim.wait_for_client(15)
        sent = sim.play(synthesis.messages(), speed=0, hang_up=True).sent
        assert wait_for(lambda: settled(app, 2, sent))
    before = derived_tables(data / "companion.db")
    monkeypatch.setattr(rebuild_module, "CHUNK", 100)
    seen: list[int] = []

    def interrupt(done: int, total: int) -> None:
        seen.append(done)
        if done > total // 2:
            raise KeyboardInterrupt  # Ctrl+C half-way

    conn = connect(data / "companion.db")
    with pytest.raises(KeyboardInterrupt):
        rebuild_module.rebuild(conn, silence_us=None, progress=interrupt)
    conn.close()
    assert len(seen) > 2
    assert derived_tables(data / "companion.db") == before


def game_envelopes(messages: list[tuple[str, Any]], stream: str) -> list[dict[str, Any]]:
    """The game's own envelope, as a plugin forwards it, with our stream and seq beside it."""
    return [
        {"Event": event, "Data": orjson.dumps(data).decode(), "stream": stream, "seq": seq}
        for seq, (event, data) in enumerate(messages, start=1)
    ]


def test_events_posted_twice_over_http_count_once(tmp_path: Path) -> None:
    synthesis = synthesize(SynthOptions(seed=7, rate=2, matches=2, mode="2v2", view="player"))
    items = game_envelopes([(e.event, e.data) for e in synthesis], "plugin-1")
    with StatsApiServer(port=0) as sim, app_on(tmp_path / "data", sim.port, game=False) as app:
        for attempt in range(2):
            for start in range(0, len(items), 400):
                answer = httpx.post(app.url + "/api/v1/events", json=items[start : start + 400])
                assert answer.status_code == 202, answer.text
                if attempt:
                    assert answer.json()["duplicates"] == len(items[start : start + 400])
        matches = wait_for(lambda: settled(app, len(synthesis.truth.matches)))
        assert matches, all_matches(app)
        for listed, truth in zip(matches, synthesis.truth.matches, strict=True):
            assert_detail_is_truth(get(app, f"/api/v1/matches/{listed['id']}"), truth)


def test_a_restart_in_the_middle_of_a_match_goes_on_with_it(tmp_path: Path) -> None:
    synthesis = synthesize(SynthOptions(seed=8, rate=8, matches=1, mode="3v3", view="player"))
    messages = list(synthesis.messages())
    half = len(messages) // 2
    data = tmp_path / "data"
    with StatsApiServer(port=0) as sim, app_on(data, sim.port) as app:
        assert sim.wait_for_client(15)
        sim.play(messages[:half], speed=0, hang_up=True)
        live = wait_for(lambda: get(app, "/api/v1/matches/live")["match"])
        assert live and live["state"] == "live"
        board = get(app, "/api/v1/live")
        assert board["live"] is True and board["match"]["id"] == live["id"]
        assert sorted(p["name"] for p in board["match"]["players"]) == sorted(
            p.name for p in synthesis.truth.matches[0].players
        )
        assert wait_for(lambda: get(app, "/api/v1/status")["queue_depth"] == 0)
        assert app.services.last_match() is not None
    # A game of its own for the second run: the first app may have left a connection behind.
    with StatsApiServer(port=0) as sim, app_on(data, sim.port) as app:
        assert wait_for(app.services.last_match)  # known before anything arrives
        resumed = app.services.live_match()
        assert resumed is not None and resumed.match_id == live["id"]
        assert sim.wait_for_client(15)
        sent = sim.play(messages[half:], speed=0, hang_up=True).sent
        matches = wait_for(lambda: settled(app, 1, sent) and all_matches(app)[0]["state"] != "live")
        assert matches, [(m["state"], m["teams"]) for m in all_matches(app)]
        assert_detail_is_truth(
            get(app, f"/api/v1/matches/{all_matches(app)[0]['id']}"), synthesis.truth.matches[0]
        )
        assert app.services.live_match() is None
        last = app.services.last_match()
        assert last is not None and last.state == "complete"
