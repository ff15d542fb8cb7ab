"""The stats pages with match data in a real browser (Debian's chromium, headless): the simulator
plays a synthesised season into the real app; every page loads without console errors (match
detail and careers too), the trend charts draw, filters work, Tab reaches every control, and the
dashboard's live score follows the simulator as it scores. Screenshots of every page go to
``artifacts/screenshots/``. Skips when chromium is absent."""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import pytest

from companion.app import CompanionApp
from companion.simulator import StatsApiServer, SynthOptions, synthesize
from companion.simulator.wire import WireMessage
from tests.browser import (
    FOCUSABLE,
    browser_missing,
    console_errors,
    make_driver,
    screenshot,
    tab_through,
)
from tests.test_stats_e2e import all_matches, app_on, settled, wait_for

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(browser_missing() is not None, reason=str(browser_missing())),
]

DAY_US = 86_400_000_000
TODAY = 4  # the newest matches stay today (the current session); the older ones go back in days


class Played:
    def __init__(self, app: CompanionApp, sim: StatsApiServer, ids: list[int]) -> None:
        self.app = app
        self.sim = sim
        self.ids = ids

    @property
    def url(self) -> str:
        return self.app.url.rstrip("/")


def _spread_over_days(database: Path, ids: list[int]) -> None:
    """Test data only: move the older matches back a day or two each, so trends have days and
    weeks to draw and the sessions page has several sessions (before anything was cached)."""
    conn = sqlite3.connect(database)
    with conn:
        older = ids[:-TODAY]
        for n, match_id in enumerate(reversed(older), start=1):
            shift = (n // 2 + 1) * DAY_US + (n % 2) * 3_600_000_000
            for table, column in (("matches", "started_at"), ("matches", "ended_at")):
                conn.execute(
                    f"UPDATE {table} SET {column} = {column} - ? WHERE id = ?", (shift, match_id)
                )
            conn.execute("UPDATE matches SET last_at = last_at - ? WHERE id = ?", (shift, match_id))
    conn.close()


@pytest.fixture(scope="module")
def played(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Played]:
    synthesis = synthesize(
        SynthOptions(seed=11, scenario="mixed", view="player", rate=4, matches=14, mode="mixed")
    )
    count = len(synthesis.truth.matches)
    folder = tmp_path_factory.mktemp("browser-data")
    with StatsApiServer(port=0) as sim, app_on(folder / "data", sim.port) as app:
        assert sim.wait_for_client(15)
        # It stays connected, like the game in its menus.
        sent = sim.play(synthesis.messages(), speed=0).sent
        matches = wait_for(lambda: settled(app, count, sent))
        assert matches, f"expected {count} matches, got {len(all_matches(app))}"
        ids = [m["id"] for m in matches]
        _spread_over_days(app.paths.database, ids)
        yield Played(app, sim, ids)


@pytest.fixture(scope="module")
def driver() -> Iterator[Any]:
    browser = make_driver()
    yield browser
    browser.quit()


def _paths(played: Played) -> list[tuple[str, str]]:
    players = httpx.get(played.url + "/api/v1/players", params={"limit": 3}).json()["players"]
    ids = [p["primary_id"] for p in players]
    detail = next(
        i
        for i in reversed(played.ids)
        if httpx.get(f"{played.url}/api/v1/matches/{i}").json()["goals"]
    )
    return [
        ("dashboard", "/"),
        ("matches", "/matches"),
        ("match-detail", f"/matches/{detail}"),
        ("trends", "/trends"),
        ("trends-day", "/trends?period=day"),
        ("players", "/players"),
        ("career", "/players/" + quote(ids[0], safe="")),
        ("compare", "/players/compare?ids=" + ",".join(quote(i, safe="") for i in ids)),
        ("sessions", "/sessions"),
        ("status", "/status"),
        ("settings", "/settings"),
        ("overlay", "/overlay"),
        ("match-not-found", "/matches/999999"),
    ]


def test_every_page_with_data_loads_without_console_errors(played: Played, driver: Any) -> None:
    console_errors(driver)
    for name, path in _paths(played):
        driver.get(played.url + path)
        assert driver.execute_script("return document.readyState") == "complete"
        if name != "overlay":
            assert driver.find_element("css selector", "main h1").text, path
        time.sleep(0.4)  # the page's scripts run a first round (a live poll, the charts)
        errors = console_errors(driver)
        if name == "match-not-found":
            errors = [e for e in errors if " 404 " not in e]
        assert errors == [], path
        screenshot(driver, f"{name}-1280")


@pytest.mark.parametrize(
    "path", ["/", "/matches", "/trends", "/players", "/sessions", "/overlay", "match"]
)
def test_phone_width(played: Played, path: str) -> None:
    if path == "match":
        path = f"/matches/{played.ids[-1]}"
    phone = make_driver(390, 844)
    try:
        phone.get(played.url + path)
        width = phone.execute_script("return document.documentElement.scrollWidth")
        assert width <= 390, f"{path} scrolls sideways on a phone ({width} px)"
        name = "dashboard" if path == "/" else path.strip("/").replace("/", "-")
        screenshot(phone, f"{name}-phone")
    finally:
        phone.quit()


def test_trend_charts_draw(played: Played, driver: Any) -> None:
    driver.get(played.url + "/trends?period=day")
    canvases = wait_for(
        lambda: (
            len(found := driver.find_elements("css selector", "#trend-charts canvas")) >= 4
            and found
        )
    )
    assert canvases
    drawn = """
        return Array.from(document.querySelectorAll('#trend-charts canvas')).map(c => {
          const px = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
          let n = 0;
          for (let i = 3; i < px.length; i += 4) if (px[i] > 0) n++;
          return n;
        });"""
    assert all(n > 500 for n in wait_for(lambda: driver.execute_script(drawn)))
    legend = " ".join(e.text for e in driver.find_elements("css selector", ".u-series"))
    assert "Win rate" in legend and "Goals" in legend and "Shooting" in legend
    # Hovering a chart shows that day's numbers in its legend.
    from selenium.webdriver.common.action_chains import ActionChains

    over = driver.find_element("css selector", '[data-chart="win_rate"] .u-over')
    ActionChains(driver).move_to_element_with_offset(over, over.size["width"] // 2 - 2, 0).perform()
    value = driver.find_elements("css selector", '[data-chart="win_rate"] .u-series .u-value')[1]
    assert wait_for(lambda: value.text.endswith("%")), value.text
    assert console_errors(driver) == []


def test_match_filters_work(played: Played, driver: Any) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    driver.get(played.url + "/matches")
    everything = len(driver.find_elements(By.CSS_SELECTOR, "[data-slot=match-list] tbody tr"))
    assert everything == len(played.ids)
    Select(driver.find_element(By.ID, "f-result")).select_by_value("loss")
    driver.find_element(By.CSS_SELECTOR, "form[role=search] button[type=submit]").click()
    assert wait_for(lambda: "result=loss" in driver.current_url)
    rows = driver.find_elements(By.CSS_SELECTOR, "[data-slot=match-list] tbody tr")
    assert 0 < len(rows) < everything
    assert all(row.get_attribute("class") == "row-loss" for row in rows)
    screenshot(driver, "matches-filtered-1280")
    # A player met, against me.
    select = Select(driver.find_element(By.ID, "f-player"))
    select.select_by_index(1)
    Select(driver.find_element(By.ID, "f-side")).select_by_value("against")
    Select(driver.find_element(By.ID, "f-result")).select_by_value("")
    driver.find_element(By.CSS_SELECTOR, "form[role=search] button[type=submit]").click()
    assert wait_for(lambda: "side=against" in driver.current_url)
    assert "player=" in driver.current_url
    assert console_errors(driver) == []


@pytest.mark.parametrize(
    "which", ["/", "/matches", "match", "/players", "career", "/sessions", "/trends", "/status"]
)
def test_tab_reaches_every_control(played: Played, driver: Any, which: str) -> None:
    path = {"match": f"/matches/{played.ids[-1]}", "career": _paths(played)[6][1]}.get(which, which)
    token = played.app.services.token
    driver.get(f"{played.url}/auth?token={token}&next={quote(path)}")
    controls = driver.execute_script(FOCUSABLE)
    assert controls
    reached = tab_through(driver, controls)
    assert reached[0].get_attribute("class") == "skip-link"
    missing = [c.get_attribute("outerHTML")[:80] for c in controls if c not in reached]
    assert missing == []


def _record(driver: Any) -> tuple[str, str]:
    return tuple(  # type: ignore[return-value]
        driver.find_element("css selector", f'[data-field="{k}"]').text for k in ("wins", "losses")
    )


def _scorer(message: WireMessage) -> str:
    """The scorer's name of a GoalScored message (empty in the echo after a replay)."""
    data = json.loads(message.raw)["Data"]
    return str((json.loads(data) if isinstance(data, str) else data)["Scorer"]["Name"])


def _cuts(messages: list[WireMessage]) -> list[int]:
    """Where each goal's message is, so a match can be played up to just before a goal."""
    return [i for i, m in enumerate(messages) if m.event == "GoalScored"]


def test_live_score_follows_the_simulator(played: Played, driver: Any) -> None:
    """Last (it leaves a new match behind): play part of a match, see its score on the
    dashboard; play on past the next goal, see the score change, without reloading."""
    synthesis = synthesize(SynthOptions(seed=21, scenario="normal", mode="2v2", rate=8))
    truth = synthesis.truth.matches[0]
    assert len(truth.goals) >= 2
    messages = list(synthesis.messages())
    goals = _cuts(messages)
    driver.get(played.url + "/")
    console_errors(driver)
    blue = driver.find_element("css selector", '[data-slot=live-match] [data-field="blue"]')
    orange = driver.find_element("css selector", '[data-slot=live-match] [data-field="orange"]')
    label = driver.find_element("css selector", '[data-field="live-label"]')

    def score_after(n: int) -> tuple[str, str]:
        scored = [g.team for g in truth.goals[:n]]
        return str(scored.count(0)), str(scored.count(1))

    real = [i for i in goals if _scorer(messages[i])]
    assert len(real) == len(truth.goals)
    # Cut halfway between goals: the scoreboard ticks around a goal may lead its event.
    first_cut = (real[0] + real[1]) // 2
    second_cut = (real[1] + real[2]) // 2 if len(real) > 2 else len(messages) - 1
    played.sim.play(messages[:first_cut], speed=0)  # one goal in, the second not yet
    shown = lambda: (label.text, blue.text, orange.text)  # noqa: E731
    assert wait_for(lambda: shown() == ("Live", *score_after(1))), (shown(), score_after(1))
    screenshot(driver, "dashboard-live-1280")
    played.sim.play(messages[first_cut:second_cut], speed=0)  # play on past the second goal
    assert wait_for(lambda: shown() == ("Live", *score_after(2))), (shown(), score_after(2))
    rows = driver.find_elements("css selector", "[data-field=live-players] tr")
    assert len(rows) == len(truth.players)
    # The overlay follows the same board, with the session's record.
    driver.get(played.url + "/overlay")
    live_row = driver.find_element("css selector", '[data-slot="overlay-live"]')
    over = lambda: tuple(  # noqa: E731
        driver.find_element("css selector", f'[data-field="{k}"]').text for k in ("blue", "orange")
    )
    assert wait_for(lambda: live_row.is_displayed() and over() == score_after(2))
    screenshot(driver, "overlay-live-1280")
    played.sim.play(messages[second_cut:], speed=0)  # the rest: the match ends
    final = tuple(str(s) for s in truth.team_scores)
    assert wait_for(lambda: not live_row.is_displayed())
    before = tuple(s) if (s := _record(driver)) else None

    def record_is_current() -> bool:
        now = httpx.get(played.url + "/api/v1/sessions/current").json()
        return _record(driver) == (str(now["wins"]), str(now["losses"])) and now["games"] > 0

    # The session's record follows the ended match without a reload.
    assert wait_for(record_is_current), (before, _record(driver))
    driver.get(played.url + "/")
    label = driver.find_element("css selector", '[data-field="live-label"]')
    assert label.text == "Last match"
    assert (
        tuple(
            driver.find_element("css selector", f'[data-slot=live-match] [data-field="{k}"]').text
            for k in ("blue", "orange")
        )
        == final
    )
    assert console_errors(driver) == []


def test_me_chosen_among_recent_players(played: Played, driver: Any) -> None:
    """After the live test: choosing "me" in the settings saves it (and puts it back)."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    services = played.app.services
    driver.get(f"{played.url}/auth?token={services.token}&next=/settings")
    select = Select(driver.find_element(By.ID, "setting-me"))
    choice = select.options[2].get_attribute("value")
    select.select_by_value(choice)
    driver.find_element(By.CSS_SELECTOR, "#settings-form button[type=submit]").click()
    assert wait_for(lambda: "Saved: me" in driver.find_element(By.ID, "settings-message").text)
    assert services.settings.me == choice
    Select(driver.find_element(By.ID, "setting-me")).select_by_value("")
    driver.find_element(By.CSS_SELECTOR, "#settings-form button[type=submit]").click()
    assert wait_for(lambda: services.settings.me == "")
    assert console_errors(driver) == []


def test_start_a_new_session_from_the_sessions_page(played: Played, driver: Any) -> None:
    """Last: the button empties the current session (the dashboard shows none running)."""
    from selenium.webdriver.common.by import By

    services = played.app.services
    driver.get(f"{played.url}/auth?token={services.token}&next=/sessions")
    driver.find_element(By.ID, "new-session-button").click()
    assert wait_for(lambda: "started=1" in driver.current_url), (
        driver.current_url,
        driver.page_source[:600],
    )
    assert "next match" in driver.find_element(By.CSS_SELECTOR, ".alert-ok").text
    screenshot(driver, "sessions-started-1280")
    driver.get(played.url + "/")
    assert wait_for(lambda: httpx.get(played.url + "/api/v1/sessions/current").json()["games"] == 0)
    driver.get(played.url + "/")
    empty = driver.find_element(By.CSS_SELECTOR, "[data-slot=current-session] .session-empty")
    assert empty.is_displayed()
    assert console_errors(driver) == []
