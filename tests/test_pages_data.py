"""The stats pages with match data, parsed as HTML: the simulator plays a synthesised season into
the real app (as in ``test_stats_e2e``), and what the pages show equals the simulator's truth."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from bs4 import BeautifulSoup

from companion.app import CompanionApp
from companion.simulator import StatsApiServer, SynthOptions, synthesize
from companion.simulator.truth import MatchTruth, SessionTruth
from companion.web.pages.render import make_environment
from tests.test_stats_e2e import all_matches, app_on, settled, wait_for

HTML = {"Accept": "text/html"}


class Season:
    """The app with the season played in, its truth, and the match ids in truth's order."""

    def __init__(self, app: CompanionApp, truth: SessionTruth, ids: list[int]) -> None:
        self.app = app
        self.truth = truth
        self.ids = ids

    def soup(self, path: str, status: int = 200) -> BeautifulSoup:
        answer = httpx.get(self.app.url + path, headers=HTML, timeout=10)
        assert answer.status_code == status, answer.text[:800]
        return BeautifulSoup(answer.text, "html.parser")

    @property
    def pairs(self) -> list[tuple[int, MatchTruth]]:
        return list(zip(self.ids, self.truth.matches, strict=True))


@pytest.fixture(scope="module")
def season(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Season]:
    synthesis = synthesize(
        SynthOptions(seed=5, scenario="mixed", view="player", rate=4, matches=8, mode="mixed")
    )
    truth = synthesis.truth
    folder = tmp_path_factory.mktemp("pages-data")
    with StatsApiServer(port=0) as sim, app_on(folder / "data", sim.port) as app:
        assert sim.wait_for_client(15)
        sent = sim.play(synthesis.messages(), speed=0, hang_up=True).sent
        matches = wait_for(lambda: settled(app, len(truth.matches), sent))
        assert matches, f"expected {len(truth.matches)} matches, got {all_matches(app)}"
        yield Season(app, truth, [m["id"] for m in matches])


def expected_result(truth: MatchTruth) -> str | None:
    if truth.me is None:
        return None
    mine = truth.player(truth.me).team
    return {"abandoned": "abandoned", "incomplete": None}.get(
        truth.ending, "win" if mine == truth.winner else "loss"
    )


def text(node: Any) -> str:
    return str(node.get_text(" ", strip=True))


def test_match_history_lists_every_match_with_its_result(season: Season) -> None:
    soup = season.soup("/matches")
    rows = soup.select("[data-slot=match-list] tbody tr")
    assert [int(r["data-match-id"]) for r in rows] == list(reversed(season.ids))
    for row, (match_id, truth) in zip(rows, reversed(season.pairs), strict=True):
        assert row.find("a")["href"] == f"/matches/{match_id}"
        score = row.find(class_="score")
        blue, orange = truth.team_scores
        assert text(score.find(class_="team-blue")) == str(blue)
        assert text(score.find(class_="team-orange")) == str(orange)
        result = expected_result(truth)
        if result in ("win", "loss"):
            assert row.find(class_=f"result-{result}") is not None, match_id
        assert text(row.find("td", attrs={"data-label": "Mode"})) == truth.mode


def test_filters_narrow_the_history(season: Season) -> None:
    wins = [i for i, t in season.pairs if expected_result(t) == "win"]
    soup = season.soup("/matches?result=win")
    got = [int(r["data-match-id"]) for r in soup.select("[data-slot=match-list] tbody tr")]
    assert got == list(reversed(wins))
    mode = season.truth.matches[0].mode
    soup = season.soup(f"/matches?mode={mode}")
    got = [int(r["data-match-id"]) for r in soup.select("[data-slot=match-list] tbody tr")]
    assert got == [i for i, t in reversed(season.pairs) if t.mode == mode]
    # With or against a player met: a recurring teammate of me.
    me = season.truth.matches[0].me
    assert me is not None
    mate = next(
        p
        for t in season.truth.matches
        for p in t.players
        if t.me and not p.bot and p.primary_id != me and p.team == t.player(me).team
    )
    soup = season.soup(f"/matches?player={quote(mate.primary_id)}&side=with")
    got = [int(r["data-match-id"]) for r in soup.select("[data-slot=match-list] tbody tr")]
    expected = [
        i
        for i, t in reversed(season.pairs)
        if t.me
        and any(
            p.primary_id == mate.primary_id and p.team == t.player(t.me).team for p in t.players
        )
    ]
    assert got == expected and got
    chosen = soup.find("select", id="f-player").find("option", selected=True)
    assert chosen["value"] == mate.primary_id and mate.name in text(chosen)
    bad = season.soup("/matches?result=maybe", 422)
    assert "result" in text(bad.find(role="alert"))


def test_history_pages_with_a_cursor(season: Season) -> None:
    seen: list[int] = []
    path = "/matches?limit=3"
    while path:
        soup = season.soup(path)
        seen += [int(r["data-match-id"]) for r in soup.select("[data-slot=match-list] tbody tr")]
        older = soup.find("a", rel="next")
        path = older["href"] if older else ""
        if older:
            assert "limit=3" in path and "before=" in path
    assert seen == list(reversed(season.ids))


def test_match_detail_is_the_truth(season: Season) -> None:
    for match_id, truth in season.pairs:
        soup = season.soup(f"/matches/{match_id}")
        label = f"match {match_id} ({truth.ending})"
        for team in (0, 1):
            table = soup.find("table", attrs={"data-team": str(team)})
            got = {
                row["data-player"]: int(text(row.find(attrs={"data-stat": "goals"})))
                for row in table.find("tbody").find_all("tr")
            }
            want = {p.name: p.stats["Goals"] for p in truth.players if p.team == team}
            assert got == want, label
        mvp_rows = soup.select("table.scoreboard tr.is-mvp")
        if truth.mvp is None:
            assert mvp_rows == [], label
        else:
            assert [r["data-player"] for r in mvp_rows] == [truth.mvp.name], label
            assert mvp_rows[0].find(class_="tag-mvp") is not None
        me_rows = soup.select("table.scoreboard tr.is-me")
        want_me = [truth.player(truth.me).name] if truth.me else []
        assert [r["data-player"] for r in me_rows] == want_me, label
        # The timeline's goals: scorer, in order, with assister and speed.
        goals = soup.select("[data-slot=timeline] li[data-kind=goal]")
        assert [text(g.find(class_="moment-text")) for g in goals] == [
            f"Goal: {g.scorer.name}" for g in truth.goals
        ], label
        for line, goal in zip(goals, truth.goals, strict=True):
            detail = text(line)
            assert f"{goal.speed:.0f} km/h" in detail
            if goal.assister:
                assert f"assist {goal.assister.name}" in detail
        # One mark per goal on the goal map, with a text alternative.
        goal_map = soup.find("svg", id="goal-map")
        assert len(goal_map.select("circle.impact")) == len(truth.goals), label
        assert goal_map.find("desc").get_text().startswith(f"{len(truth.goals)} goals")
        assert soup.find("svg", id="touch-map").find("title") is not None


def test_match_detail_telemetry_shows_unknown_as_a_dash(season: Season) -> None:
    match_id = next(i for i, t in season.pairs if t.ending == "complete")
    detail = httpx.get(f"{season.app.url}/api/v1/matches/{match_id}").json()
    soup = season.soup(f"/matches/{match_id}")
    known = any(p["telemetry"] for p in detail["players"])
    assert (soup.find("table", class_="telemetry") is not None) == known
    # Rendered with telemetry for one player (some of it unknown) and none for the others.
    detail["players"][0]["telemetry"] = {
        "seconds": 300.0, "avg_speed": 1234.4, "top_speed": None, "supersonic_share": 0.125,
        "ground_share": None, "wall_share": 0.0, "air_share": 0.1, "boosting_share": None,
        "avg_boost": 40.2, "boost_used": None, "zero_boost_s": 0.0, "full_boost_s": None,
        "approximate": False,
    }  # fmt: skip
    for player in detail["players"][1:]:
        player["telemetry"] = None
    html = (
        make_environment()
        .get_template("match.html")
        .render(match=detail, request_path="/", current="/matches")
    )
    table = BeautifulSoup(html, "html.parser").find("table", class_="telemetry")
    rows = table.find("tbody").find_all("tr")
    cells = [{td["data-label"]: text(td) for td in row.find_all("td")} for row in rows]
    assert cells[0]["Avg speed"] == "1234" and cells[0]["Top speed"] == "—"
    assert cells[0]["Supersonic"] == "12%" and cells[0]["Ground"] == "—"
    assert cells[0]["Wall"] == "0%" and cells[0]["At 0 boost"] == "0 s"
    assert cells[0]["At 100"] == "—"
    for other in cells[1:]:
        assert set(other.values()) == {"—"}  # unknown is never shown as 0


def test_a_missing_match_gets_a_clear_404(season: Season) -> None:
    for path in ("/matches/999999", "/matches/nope"):
        soup = season.soup(path, 404)
        assert text(soup.find("h1")) == "Match not found"
        assert soup.find("a", href="/matches") is not None


def test_dashboard_session_recent_and_live_board(season: Season) -> None:
    soup = season.soup("/")
    assert soup.find(attrs={"data-slot": "first-run"}) is None
    session = soup.find(attrs={"data-slot": "current-session"})
    results = [expected_result(t) for t in season.truth.matches]
    assert text(session.find(attrs={"data-field": "games"})) == str(len(results))
    assert text(session.find(attrs={"data-field": "wins"})) == str(results.count("win"))
    assert text(session.find(attrs={"data-field": "losses"})) == str(results.count("loss"))
    recent = soup.select("[data-slot=recent-matches] tbody tr")
    assert [int(r["data-match-id"]) for r in recent] == list(reversed(season.ids))[:10]
    live = soup.find(attrs={"data-slot": "live-match"})
    assert live["data-live-url"] == "/api/v1/live"
    last = season.truth.matches[-1]
    assert text(live.find(attrs={"data-field": "live-label"})) == "Last match"
    assert text(live.find(attrs={"data-field": "blue"})) == str(last.team_scores[0])
    names = {text(r.find("th")).removesuffix(" me") for r in live.select("tbody tr")}
    assert names == {p.name for p in last.players}
    overlay = season.soup("/overlay")
    assert text(overlay.find(attrs={"data-field": "wins"})) == str(results.count("win"))
    assert overlay.find(attrs={"data-slot": "overlay-live"}).has_attr("hidden")


def test_sessions_page_and_new_session_button(season: Season) -> None:
    soup = season.soup("/sessions")
    rows = soup.select("[data-slot=session-list] tbody tr")
    assert len(rows) == 1
    assert text(rows[0].find(attrs={"data-stat": "games"})) == str(len(season.ids))
    assert soup.find("form", action="/sessions/new").find("button")
    refused = httpx.post(season.app.url + "/sessions/new", headers=HTML)
    assert refused.status_code == 401
    assert "Not started" in text(BeautifulSoup(refused.text, "html.parser").find(role="alert"))


def test_players_careers_and_comparison(season: Season) -> None:
    soup = season.soup("/players")
    rows = soup.select("[data-slot=player-list] tbody tr")
    assert rows
    me = season.truth.matches[0].me
    ids = [row["data-player"] for row in rows]
    assert me not in ids  # everyone met, not me
    first = ids[0]
    played = [t for t in season.truth.matches if any(p.primary_id == first for p in t.players)]
    counted = [t for t in played if t.ending != "live"]
    assert text(rows[0].find(attrs={"data-stat": "games"})) == str(len(counted))
    career = season.soup("/players/" + quote(first, safe=""))
    assert text(career.find(attrs={"data-field": "games"})) == str(len(counted))
    goals = sum(p.stats["Goals"] for t in counted for p in t.players if p.primary_id == first)
    assert len(career.select("#career-goal-map circle.impact")) == goals
    assert career.select("#heatmap rect.heat")
    assert len(career.select(".form-chips li")) <= 10
    searched = season.soup("/players?q=" + quote(text(rows[0].find("a"))[:3]))
    assert first in [r["data-player"] for r in searched.select("tbody tr")]
    both = season.soup(f"/players/compare?ids={quote(ids[0])},{quote(ids[1])}")
    heads = [text(th) for th in both.select("[data-slot=compare] thead th")][1:]
    assert len(heads) == 2
    assert season.soup("/players/nobody%7C0", 404).find("h1").get_text() == "Player not found"


def test_trends_table_counts_my_finished_matches(season: Season) -> None:
    soup = season.soup("/trends?period=day")
    rows = soup.select("[data-slot=trend-table] tbody tr")
    api = httpx.get(season.app.url + "/api/v1/summary", params={"period": "day"}).json()["rows"]
    assert [r["data-period"] for r in rows] == [r["period"] for r in api]
    assert sum(int(text(r.find(attrs={"data-stat": "games"}))) for r in rows) == sum(
        1 for t in season.truth.matches if t.me and t.ending != "live"
    )
    charts = soup.find(id="trend-charts")
    assert {c["data-chart"] for c in charts.select("[data-chart]")} >= {"win_rate", "per_game"}


def test_settings_offer_me_among_recent_players(season: Season) -> None:
    soup = season.soup("/settings")
    select = soup.find("select", id="setting-me")
    values = [o["value"] for o in select.find_all("option")]
    me = season.truth.matches[0].me
    assert values[0] == "" and me in values
    assert "Detected now" in text(soup.find(id="setting-me-detected"))
    status = season.soup("/status")
    links = [a["href"] for a in status.select("[data-slot=export] a")]
    assert links == ["/api/v1/export.csv", "/api/v1/export.json"]


def test_new_session_with_the_dashboard_session(season: Season, tmp_path: Path) -> None:
    """Last: it empties the current session."""
    app = season.app
    token = app.services.token
    with httpx.Client(base_url=app.url, timeout=10) as client:
        client.get(f"/auth?token={token}&next=/sessions")
        answer = client.post("/sessions/new", headers={"Origin": app.url.rstrip("/")})
        assert answer.status_code == 303 and answer.headers["location"] == "/sessions?started=1"
    soup = wait_for(
        lambda: (s := season.soup("/")).find(attrs={"data-field": "games"}).get_text() == "0" and s
    )
    assert soup, "the current session did not restart"
