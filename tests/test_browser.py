"""The pages in a real browser (Debian's chromium, headless): they load without console errors,
the status chart draws, Tab reaches every control, settings save through the session cookie.
Screenshots of every page go to ``artifacts/screenshots/``. Skips when chromium is absent."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from companion.gamefiles import Environment
from companion.model import JournalRow
from companion.paths import Paths
from companion.pipeline.derivation import LatestStateDerivation
from companion.pipeline.worker import Worker
from companion.pipeline.writer import Writer
from companion.services import Services
from companion.settings import Settings
from companion.storage.readers import Readers
from companion.web.pages import data as page_data
from tests.browser import (
    FOCUSABLE,
    SCREENSHOTS,
    browser_missing,
    console_errors,
    make_driver,
    screenshot,
    served,
    tab_through,
)

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(browser_missing() is not None, reason=str(browser_missing())),
]

PAGES = ("/", "/matches", "/trends", "/players", "/sessions", "/status", "/settings", "/overlay")
TOKEN = "b" * 43


class _PoisonAware(LatestStateDerivation):
    """Fails on one made-up event kind, so the status page has dead letters to show."""

    def apply(self, conn: sqlite3.Connection, row: JournalRow, now_us: int) -> None:
        if row.event == "Poison":
            raise ValueError("made-up failure for the status page's dead letters")
        super().apply(conn, row, now_us)


def wait_for(check: Callable[[], Any], timeout_s: float = 10.0) -> Any:
    deadline = time.monotonic() + timeout_s
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.05)


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Services, str]]:
    paths = Paths.resolve(tmp_path_factory.mktemp("browser") / "data")
    paths.create()
    from companion.storage.database import open_database

    open_database(paths.database)
    writer = Writer(paths.database, Worker(_PoisonAware()))
    writer.start()
    settings = Settings(port=49133, origins={"port": "flag"})
    services = Services(settings, paths, writer, Readers(paths.database), TOKEN)
    try:
        with served(services) as base_url:
            yield services, base_url
    finally:
        writer.stop()
        services.readers.close()


@pytest.fixture(scope="module")
def driver() -> Iterator[Any]:
    browser = make_driver()
    yield browser
    browser.quit()


def _post_events(base_url: str, events: list[dict[str, Any]]) -> None:
    import httpx

    response = httpx.post(base_url + "/api/v1/events", json=events, timeout=10)
    assert response.status_code == 202, response.text


def test_every_page_loads_without_console_errors(
    app: tuple[Services, str], driver: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    services, base_url = app
    # A made-up Steam install with the feed off, so the first-run help shows its dry run.
    root = tmp_path / "fs"
    ini = root / "home/player/.local/share/Steam/steamapps/common/rocketleague"
    ini = ini / "TAGame/Config/DefaultStatsAPI.ini"
    ini.parent.mkdir(parents=True)
    ini.write_bytes(b"[TAGame.MatchStatsExporter_TA]\r\nPort=49123\r\nPacketSendRate=0\r\n")
    env = Environment(platform="linux", home="/home/player", root=root)
    monkeypatch.setattr(page_data.PageData, "feed_plan", lambda self: page_data.feed_plan(env))
    _post_events(
        base_url,
        [{"source": "demo", "stream": "s", "seq": n, "event": "Ping"} for n in range(1, 40)]
        + [{"source": "demo", "stream": "s", "seq": 99, "event": "Poison", "data": {"n": 1}}],
    )
    wait_for(lambda: services.writer.status().dead_letters == 1)
    console_errors(driver)
    for path in PAGES:
        driver.get(base_url + path)
        assert driver.execute_script("return document.readyState") == "complete"
        if path != "/overlay":
            assert driver.find_element("css selector", "main h1").text
        time.sleep(0.3)  # let the page's scripts run a first round
        assert console_errors(driver) == [], path
        name = "dashboard" if path == "/" else path.strip("/")
        screenshot(driver, f"{name}-empty-1280")
    driver.get(base_url + "/no-such-page")
    assert "Page not found" in driver.find_element("css selector", "h1").text
    screenshot(driver, "not-found-1280")
    console_errors(driver)  # the 404 itself is logged


def test_status_chart_draws_on_a_canvas(app: tuple[Services, str], driver: Any) -> None:
    services, base_url = app
    driver.get(base_url + "/status")
    canvas = wait_for(lambda: driver.find_elements("css selector", "#queue-chart canvas"))[0]
    assert canvas.size["width"] > 200 and canvas.size["height"] > 100
    # Something is drawn (axes, grid, lines), and the legend names the three series.
    drawn = """
        const c = document.querySelector('#queue-chart canvas');
        const px = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
        let n = 0;
        for (let i = 3; i < px.length; i += 4) if (px[i] > 0) n++;
        return n;"""
    assert wait_for(lambda: driver.execute_script(drawn) > 500)
    legend = [e.text for e in driver.find_elements("css selector", "#queue-chart .u-series")]
    assert any("Waiting" in text for text in legend)
    # Some traffic for the picture: a queue that builds up while paused, then drains.
    services.writer.pause()
    try:
        for burst in range(6):
            events = [
                {"source": "demo", "stream": "chart", "seq": burst * 50 + n, "event": "Ping"}
                for n in range(50)
            ]
            _post_events(base_url, events)
            time.sleep(0.5)
    finally:
        services.writer.resume()
    time.sleep(2.5)
    screenshot(driver, "status-chart-1280")
    assert console_errors(driver) == []


def test_overlay_background_is_transparent(app: tuple[Services, str], driver: Any) -> None:
    """As OBS's browser source shows it: with no default backdrop, the page's pixels outside the
    widget are fully transparent (a dark colour scheme would paint them)."""
    import io

    from PIL import Image

    _, base_url = app
    driver.get(base_url + "/overlay")
    driver.execute_cdp_cmd(
        "Emulation.setDefaultBackgroundColorOverride", {"color": {"r": 0, "g": 0, "b": 0, "a": 0}}
    )
    try:
        image = Image.open(io.BytesIO(driver.get_screenshot_as_png())).convert("RGBA")
    finally:
        driver.execute_cdp_cmd("Emulation.setDefaultBackgroundColorOverride", {})
    image.save(SCREENSHOTS / "overlay-transparent.png")
    assert image.getpixel((image.width - 5, image.height - 5))[3] == 0
    widget = driver.find_element("css selector", ".overlay-widget")
    assert image.getpixel((widget.location["x"] + 5, widget.location["y"] + 5))[3] > 0


def test_dashboard_health_follows_the_queue(app: tuple[Services, str], driver: Any) -> None:
    services, base_url = app
    driver.get(base_url + "/")
    depth = driver.find_element("css selector", '[data-slot="health"] [data-field="queue_depth"]')
    services.writer.pause()
    try:
        events = [{"source": "demo", "stream": "q", "seq": n, "event": "Ping"} for n in range(7)]
        _post_events(base_url, events)
        assert wait_for(lambda: depth.text == "7")
    finally:
        services.writer.resume()
    assert wait_for(lambda: depth.text == "0")


@pytest.mark.parametrize("path", ["/", "/matches", "/status", "/settings"])
def test_tab_reaches_every_control(app: tuple[Services, str], driver: Any, path: str) -> None:
    _, base_url = app
    driver.get(f"{base_url}/auth?token={TOKEN}&next={path}")
    controls = driver.execute_script(FOCUSABLE)
    assert controls
    reached = tab_through(driver, controls)
    assert reached[0].get_attribute("class") == "skip-link"
    missing = [c.get_attribute("outerHTML")[:80] for c in controls if c not in reached]
    assert missing == []


def test_settings_save_and_refuse_in_the_browser(app: tuple[Services, str], driver: Any) -> None:
    from selenium.webdriver.common.by import By

    services, base_url = app
    driver.get(f"{base_url}/settings")
    driver.delete_all_cookies()
    driver.get(f"{base_url}/settings")
    assert driver.find_element(By.ID, "no-session").is_displayed()
    assert not driver.find_element(By.ID, "setting-session_gap_minutes").is_enabled()
    driver.get(f"{base_url}/auth?token={TOKEN}&next=/settings")
    gap = driver.find_element(By.ID, "setting-session_gap_minutes")
    gap.clear()
    gap.send_keys("45")
    driver.find_element(By.CSS_SELECTOR, "#settings-form button[type=submit]").click()
    message = wait_for(lambda: driver.find_element(By.ID, "settings-message").text)
    assert "Saved: session_gap_minutes" in message
    assert services.settings.session_gap_minutes == 45
    assert "session_gap_minutes = 45" in Path(services.paths.config_file).read_text()
    gap.clear()
    gap.send_keys("0")
    driver.find_element(By.CSS_SELECTOR, "#settings-form button[type=submit]").click()
    error = wait_for(lambda: driver.find_element(By.ID, "setting-session_gap_minutes-error").text)
    assert "0 is not allowed; use an integer from 1 to 1440" in error
    assert "session_gap_minutes" in driver.find_element(By.ID, "settings-message").text
    assert gap.get_attribute("aria-invalid") == "true"
    assert services.settings.session_gap_minutes == 45
    assert driver.find_element(By.ID, "setting-port").get_attribute("disabled")
    screenshot(driver, "settings-error-1280")
    # The refused save is the only thing the console may report.
    assert all(" 422 " in error for error in console_errors(driver))


@pytest.mark.parametrize("path", ["/", "/status", "/settings"])
def test_phone_width_screenshots(app: tuple[Services, str], path: str) -> None:
    _, base_url = app
    phone = make_driver(390, 844)
    try:
        phone.get(base_url + path)
        width = phone.execute_script("return document.documentElement.scrollWidth")
        assert width <= 390, f"{path} scrolls sideways on a phone ({width} px)"
        name = "dashboard" if path == "/" else path.strip("/")
        screenshot(phone, f"{name}-empty-phone")
    finally:
        phone.quit()
