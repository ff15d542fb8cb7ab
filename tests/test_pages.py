"""The stats pages through the real app, parsed as HTML: frame and navigation, dashboard (first
run, health, slots), status, overlay, and the HTML 404 and 500 pages."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
from bs4 import BeautifulSoup
from starlette.testclient import TestClient

from companion.gamefiles import Environment
from companion.model import JournalRow, MatchSummary
from companion.paths import Paths
from companion.pipeline.derivation import LatestStateDerivation
from companion.pipeline.worker import Worker
from companion.pipeline.writer import Writer
from companion.services import Services
from companion.settings import Settings
from companion.storage.readers import Readers
from companion.web.app import create_app
from companion.web.pages import data as page_data
from companion.web.pages import render
from tests.conftest import BASE_URL, TEST_PORT

PAGES = ["/", "/matches", "/trends", "/players", "/sessions", "/status", "/settings"]
HTML = {"Accept": "text/html,application/xhtml+xml"}


def soup_of(client: TestClient, path: str, status: int = 200) -> BeautifulSoup:
    response = client.get(path, headers=HTML)
    assert response.status_code == status, response.text[:500]
    assert response.headers["content-type"].startswith("text/html")
    return BeautifulSoup(response.text, "html.parser")


@pytest.mark.parametrize("path", PAGES)
def test_every_page_has_the_frame(client: TestClient, path: str) -> None:
    soup = soup_of(client, path)
    assert soup.html is not None and soup.html["lang"] == "en"
    skip = soup.find("a", class_="skip-link")
    assert skip is not None and skip["href"] == "#main"
    assert soup.find("body").find("a") is skip  # the first thing Tab reaches
    main = soup.find("main", id="main")
    assert main is not None and main.find("h1").get_text(strip=True)
    nav = soup.find("nav", attrs={"aria-label": "Main"})
    links = [a["href"] for a in nav.find_all("a")]
    assert links == ["/", *PAGES[1:], "/overlay"]
    current = nav.find_all("a", attrs={"aria-current": "page"})
    assert [a["href"] for a in current] == [path]
    assert soup.find("header") and soup.find("footer")


@pytest.mark.parametrize("path", [*PAGES, "/overlay"])
def test_pages_load_nothing_from_the_network(client: TestClient, path: str) -> None:
    response = client.get(path, headers=HTML)
    assert "default-src 'self'" in response.headers["content-security-policy"]
    # Same-origin forms must carry this origin in their Origin header (no-referrer makes it null).
    assert response.headers["referrer-policy"] == "same-origin"
    soup = BeautifulSoup(response.text, "html.parser")
    assets = [tag["src"] for tag in soup.find_all("script")]
    assets += [tag["href"] for tag in soup.find_all("link")]
    assert assets and all(url.startswith("/static/") for url in assets)
    for url in assets:
        assert client.get(url).status_code == 200, url
    assert not soup.find_all("script", src=False)  # no inline scripts (the CSP forbids them)
    assert not soup.find_all(style=True)  # nor inline styles


@pytest.fixture
def linux_game(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A Steam install of the game with the feed off, found by the dashboard's dry run."""
    game = tmp_path / "fs" / "home" / "ann" / ".local" / "share" / "Steam" / "steamapps"
    ini = game / "common" / "rocketleague" / "TAGame" / "Config" / "DefaultStatsAPI.ini"
    ini.parent.mkdir(parents=True)
    ini.write_bytes(b"[TAGame.MatchStatsExporter_TA]\r\nPort=49123\r\nPacketSendRate=0\r\n")
    env = Environment(platform="linux", home="/home/ann", root=tmp_path / "fs")
    monkeypatch.setattr(page_data.PageData, "feed_plan", lambda self: page_data.feed_plan(env))
    return ini


def test_first_run_explains_the_feed_and_the_simulator(
    client: TestClient, linux_game: Path
) -> None:
    before = linux_game.read_bytes()
    soup = soup_of(client, "/")
    first = soup.find(attrs={"data-slot": "first-run"})
    assert first is not None
    commands = [code.get_text() for code in first.select("pre.command code")]
    assert "companion setup-game" in commands
    assert any(command.startswith("companion simulate") for command in commands)
    assert "companion --demo" in first.get_text()
    plan = first.find("ul", class_="plan")
    assert str(linux_game) in plan.get_text()
    diff = plan.find("pre", class_="diff").get_text()
    assert "-PacketSendRate=0" in diff and "+PacketSendRate=30" in diff
    assert linux_game.read_bytes() == before  # a dry run


def test_first_run_without_the_game_says_how_to_name_the_file(client: TestClient) -> None:
    first = soup_of(client, "/").find(attrs={"data-slot": "first-run"})
    assert "--ini PATH" in first.get_text()


def test_dashboard_health_and_phase_two_slots(client: TestClient, services: Services) -> None:
    response = client.post("/api/v1/pause", headers={"Authorization": f"Bearer {services.token}"})
    assert response.status_code == 200
    soup = soup_of(client, "/")
    health = soup.find(attrs={"data-slot": "health"})
    assert health.find(attrs={"data-field": "feed_state"}).get_text(strip=True) == "Off"
    assert health.find(attrs={"data-field": "queue_depth"}).get_text(strip=True) == "0"
    assert "stats paused" in health.get_text()
    for slot in ("current-session", "live-match", "recent-matches"):
        section = soup.find("section", attrs={"data-slot": slot})
        assert section is not None and section.find("h2")


def test_dashboard_after_the_first_match_and_a_board_ahead_of_the_database(
    client: TestClient, services: Services
) -> None:
    """The live board names a match the reader cannot see (yet): the slot says nothing runs
    rather than failing; the script fills it on its next poll."""
    live = MatchSummary(1, "k", "live", None, 0, (2, 1), "3v3", "Arena", 1, None)
    services.last_match = lambda: live
    services.live_board.publish(None, live)
    soup = soup_of(client, "/")
    assert soup.find(attrs={"data-slot": "first-run"}) is None
    slot = soup.find(attrs={"data-slot": "live-match"})
    assert slot["data-version"] == str(services.live_board.version)
    assert slot.find(class_="live-body").has_attr("hidden")
    assert not slot.find(class_="live-empty").has_attr("hidden")
    overlay = soup_of(client, "/overlay")
    assert overlay.find(attrs={"data-slot": "overlay-live"}).has_attr("hidden")


@pytest.mark.parametrize("path", ["/matches", "/trends", "/players", "/sessions"])
def test_match_pages_say_there_are_no_matches_yet(client: TestClient, path: str) -> None:
    empty = soup_of(client, path).find("main").find(class_="empty", role="status")
    assert "No matches yet" in empty.get_text()


def test_matches_filters_keep_their_values(client: TestClient) -> None:
    soup = soup_of(client, "/matches?result=win&mode=2v2&player=someone")
    form = soup.find("form", role="search")
    assert form.find("select", id="f-result").find("option", selected=True)["value"] == "win"
    assert form.find("select", id="f-mode").find("option", selected=True)["value"] == "2v2"
    assert form.find("select", id="f-player").find("option", selected=True)["value"] == "someone"
    for control in form.find_all(["input", "select"]):
        assert form.find("label", attrs={"for": control["id"]}) is not None


class _PoisonAware(LatestStateDerivation):
    def apply(self, conn: sqlite3.Connection, row: JournalRow, now_us: int) -> None:
        if row.event == "Poison":
            raise ValueError("cannot derive this one")
        super().apply(conn, row, now_us)


@pytest.fixture
def poison_services(paths: Paths, db_path: Path) -> Iterator[Services]:
    """An app whose derivation fails on "Poison" events, so there are dead letters to show."""
    writer = Writer(db_path, Worker(_PoisonAware()))
    writer.start()
    result = Services(Settings(), paths, writer, Readers(db_path), "p" * 43, port=TEST_PORT)
    yield result
    writer.stop()
    result.readers.close()


@pytest.fixture
def poison_client(poison_services: Services) -> Iterator[TestClient]:
    with TestClient(create_app(poison_services), base_url=BASE_URL) as test_client:
        yield test_client


def test_status_shows_dead_letters_storage_and_the_chart(
    poison_client: TestClient, poison_services: Services
) -> None:
    services = poison_services
    events = [
        {"source": "tool", "stream": "a", "seq": 1, "event": "Ping"},
        {"source": "tool", "stream": "a", "seq": 2, "event": "Poison"},
    ]
    assert poison_client.post("/api/v1/events", json=events).status_code == 202
    soup = _wait_for_dead_letter(poison_client)
    table = soup.find(id="dead-letters").find("table")
    [row] = table.find("tbody").find_all("tr")
    cells = {td["data-label"]: td.get_text(" ", strip=True) for td in row.find_all("td")}
    assert cells["Event"] == "Poison"
    assert "cannot derive this one" in cells["Error"]
    assert cells["Source / stream / seq"] == "tool / a / 2"
    text = soup.find("main").get_text(" ")
    assert str(services.paths.database) in text
    assert str(services.paths.data_dir) in text
    assert services.version in text
    chart = soup.find(id="queue-chart")
    assert chart["data-status-url"] == "/api/v1/status"
    assert chart["data-accepted-total"] == "2"
    scripts = [tag["src"] for tag in soup.find_all("script")]
    assert scripts == [
        "/static/vendor/uplot/uPlot.iife.min.js",
        "/static/js/health.js",
        "/static/js/status.js",
    ]


def _wait_for_dead_letter(client: TestClient) -> BeautifulSoup:
    import time

    deadline = time.monotonic() + 10
    while True:
        soup = soup_of(client, "/status")
        if soup.find(id="dead-letters").find("table") is not None:
            return soup
        assert time.monotonic() < deadline, "no dead letter in time"
        time.sleep(0.05)


def test_database_size_counts_the_write_ahead_log(tmp_path: Path) -> None:
    database = tmp_path / "companion.db"
    assert page_data.database_bytes(database) == 0
    database.write_bytes(b"x" * 100)
    (tmp_path / "companion.db-wal").write_bytes(b"y" * 20)
    assert page_data.database_bytes(database) == 120


def test_overlay_is_a_bare_transparent_page(client: TestClient) -> None:
    soup = soup_of(client, "/overlay")
    assert "overlay" in soup.body["class"]
    assert soup.find("nav") is None and soup.find(class_="skip-link") is None
    assert soup.find("meta", attrs={"name": "color-scheme"}) is None
    assert soup.find(attrs={"data-slot": "overlay-session"}) is not None
    assert soup.find(attrs={"data-slot": "overlay-live"}).has_attr("hidden")


def test_unknown_page_gets_a_helpful_html_404(client: TestClient) -> None:
    soup = soup_of(client, "/matchez", 404)
    assert soup.find("h1").get_text() == "Page not found"
    assert "/matchez" in soup.find("main").get_text()
    links = [a["href"] for a in soup.find("ul", class_="error-links").find_all("a")]
    assert "/" in links and "/matches" in links and "/docs" in links


@pytest.mark.parametrize(
    ("path", "accept"),
    [("/api/v1/nothing", "text/html"), ("/nothing", "application/json"), ("/nothing", "*/*")],
)
def test_api_and_non_browser_404s_stay_json(client: TestClient, path: str, accept: str) -> None:
    response = client.get(path, headers={"Accept": accept})
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


def test_a_crash_gets_the_html_error_page(
    services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(self: page_data.PageData) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr(page_data.PageData, "health", broken)
    with TestClient(create_app(services), base_url=BASE_URL, raise_server_exceptions=False) as c:
        soup = soup_of(c, "/", 500)
        assert soup.find("h1").get_text() == "Something went wrong"
        assert str(services.paths.log_dir) in soup.find("main").get_text()
        assert c.get("/api/v1/status").status_code == 200
        assert "boom" not in c.get("/", headers=HTML).text


def test_settings_render_from_a_fresh_settings_object(services: Services) -> None:
    services.swap_settings(
        Settings(session_gap_minutes=50, origins={"session_gap_minutes": "file"})
    )
    with TestClient(create_app(services), base_url=BASE_URL) as c:
        field = soup_of(c, "/settings").find("input", id="setting-session_gap_minutes")
        assert field["value"] == "50"


def test_values_are_worded_for_a_glance() -> None:
    assert render.human_bytes(512) == "512 bytes"
    assert render.human_bytes(4_300_000) == "4.1 MB"
    assert render.human_duration(12.7) == "12 s"
    assert render.human_duration(3725) == "1 h 2 min"
    assert render.human_duration(90_000) == "1 d 1 h"
    assert render.setting_value(False) == "off" and render.setting_value("") == "empty"
    assert render.local_from_iso(None) == "never"
    assert render.local_from_iso("not a time") == "not a time"
    moment = render.local_from_iso("2026-11-25T18:42:13.123Z")
    assert moment == render.local_time(1_795_632_133_123_000)
