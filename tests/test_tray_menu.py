"""The tray menu model and its actions, without a display: real services (a real writer thread on
a real SQLite file), fakes only where the OS would open a browser or a folder."""

from __future__ import annotations

import dataclasses
import threading
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from starlette.testclient import TestClient

from companion.autostart.xdg import XdgAutostart
from companion.model import MatchSummary, NewEvent
from companion.services import Services
from companion.sources.statsapi import FeedStatus
from companion.tray.menu import Entry, TrayActions, build_menu, dashboard_url
from companion.tray.status import (
    BACKLOG_ROWS,
    TOOLTIP_MAX,
    IconState,
    Snapshot,
    last_match_text,
)

MINUTE_US = 60_000_000
NOW_US = 1_800_000_000_000_000


def summary(**changes: object) -> MatchSummary:
    base = MatchSummary(
        match_id=1,
        key="guid-1",
        state="complete",
        result="win",
        my_team=0,
        scores=(3, 2),
        mode="3v3",
        arena="Made-up Arena",
        started_at_us=NOW_US - 8 * MINUTE_US,
        ended_at_us=NOW_US - 2 * MINUTE_US,
    )
    return dataclasses.replace(base, **changes)  # type: ignore[arg-type]


def feed(state: str) -> FeedStatus:
    return FeedStatus(state, "127.0.0.1:49123", 0, 0, 0, 0.0, None, 0, 0, 0, 0, 0, None)


class Recorder:
    def __init__(self) -> None:
        self.calls: list[object] = []

    def __call__(self, *args: object) -> None:
        self.calls.append(args[0] if len(args) == 1 else args)


@pytest.fixture
def autostart(tmp_path: Path) -> XdgAutostart:
    return XdgAutostart(tmp_path / "autostart", ["/opt/companion/companion"])


@pytest.fixture
def actions(services: Services, autostart: XdgAutostart) -> tuple[TrayActions, Recorder, Recorder]:
    urls, folders = Recorder(), Recorder()
    return TrayActions(services, autostart, urls, folders), urls, folders


def texts(entries: tuple[Entry, ...]) -> list[str]:
    return [entry.text for entry in entries]


def by_key(entries: tuple[Entry, ...]) -> dict[str, Entry]:
    return {entry.key: entry for entry in entries}


def test_fresh_menu_texts_and_states(services: Services) -> None:
    entries = build_menu(Snapshot.take(services), autostart_on=False)
    assert texts(entries) == [
        "companion 0.1.0 · port 49999 · game feed off",
        "No matches yet",
        "Open dashboard",
        "Pause stats",
        "Start on login",
        "Open data folder",
        "Open logs",
        "Quit",
    ]
    items = by_key(entries)
    assert not items["status"].enabled and not items["last_match"].enabled
    assert items["open"].default and items["open"].enabled
    assert [e.key for e in entries if e.default] == ["open"]
    assert items["pause"].checked is False
    assert items["autostart"].checked is False and items["autostart"].enabled
    assert items["quit"].separator_before
    assert all(e.checked is None for e in entries if e.key not in ("pause", "autostart"))


def test_queue_line_appears_while_paused_with_pending_rows(services: Services) -> None:
    services.writer.pause()
    events = [NewEvent("test", "s", n, "Tick", "{}") for n in range(3)]
    services.writer.submit(events).result(10)
    snapshot = Snapshot.take(services)
    items = by_key(build_menu(snapshot, autostart_on=True))
    assert items["queue"].text == "Queue: 3 pending"
    assert not items["queue"].enabled
    assert items["pause"].checked is True
    assert items["autostart"].checked is True
    assert snapshot.icon_state is IconState.BACKLOG
    assert "stats paused" in items["status"].text
    assert snapshot.tooltip() == "companion: receiving, stats paused · 3 queued"


def test_no_queue_line_when_nothing_is_pending(services: Services) -> None:
    services.writer.submit([NewEvent("test", "s", 1, "Tick", "{}")]).result(10)
    deadline = threading.Event()
    for _ in range(200):
        if services.writer.queue_depth == 0:
            break
        deadline.wait(0.05)
    assert "queue" not in by_key(build_menu(Snapshot.take(services), autostart_on=False))


def test_start_on_login_is_disabled_where_unavailable(services: Services) -> None:
    item = by_key(build_menu(Snapshot.take(services), autostart_on=None))["autostart"]
    assert not item.enabled and item.checked is False


@pytest.mark.parametrize(
    ("match", "expected"),
    [
        (None, "No matches yet"),
        (summary(), "Last match: W 3\u20132 · 2 min ago"),
        (summary(my_team=1, result="loss"), "Last match: L 2\u20133 · 2 min ago"),
        (summary(result=None, my_team=None), "Last match: 3\u20132 · 2 min ago"),
        (summary(state="abandoned", result="abandoned", scores=(1, 1)), None),
        (summary(state="incomplete", result=None, ended_at_us=NOW_US - 30_000_000), None),
        (
            summary(state="live", result=None, scores=(1, 0), ended_at_us=None),
            "Live match: 1\u20130",
        ),
        (summary(ended_at_us=NOW_US - 3 * 3600 * 1_000_000), "Last match: W 3\u20132 · 3 h ago"),
        (summary(scores=(None, None)), "Last match: W · 2 min ago"),
    ],
)
def test_last_match_line(match: MatchSummary | None, expected: str | None) -> None:
    text = last_match_text(match, NOW_US)
    if expected is not None:
        assert text == expected
    elif match is not None and match.state == "abandoned":
        assert text == "Last match: abandoned 1\u20131 · 2 min ago"
    else:
        assert text == "Last match: 3\u20132 (incomplete) · just now"


def test_last_match_comes_from_services(services: Services) -> None:
    services.last_match = lambda: summary(ended_at_us=None, started_at_us=0)
    line = by_key(build_menu(Snapshot.take(services), autostart_on=False))["last_match"].text
    assert line.startswith("Last match: W 3\u20132 · ") and line.endswith(" d ago")


def test_icon_states(services: Services) -> None:
    base = Snapshot.take(services)
    assert base.icon_state is IconState.IDLE
    assert dataclasses.replace(base, feed_state="receiving").icon_state is IconState.RECEIVING
    recent = dataclasses.replace(base, last_event_at_us=base.taken_at_us - 1_000_000)
    assert recent.icon_state is IconState.RECEIVING
    stale = dataclasses.replace(base, last_event_at_us=base.taken_at_us - 60_000_000)
    assert stale.icon_state is IconState.IDLE
    assert dataclasses.replace(base, queue_depth=BACKLOG_ROWS).icon_state is IconState.BACKLOG
    assert dataclasses.replace(base, queue_depth=BACKLOG_ROWS - 1).icon_state is IconState.IDLE
    error = dataclasses.replace(base, storage_error="disk full", paused=True)
    assert error.icon_state is IconState.ERROR
    assert dataclasses.replace(base, writer_running=False).icon_state is IconState.ERROR


def test_feed_states_in_the_status_line(services: Services) -> None:
    for state, words in [
        ("disconnected", "game not running"),
        ("connected", "game connected"),
        ("receiving", "receiving"),
    ]:
        services.feed_status = lambda state=state: feed(state)  # type: ignore[misc]
        assert Snapshot.take(services).status_line().endswith("· " + words)


def test_tooltip_stays_under_the_windows_limit(services: Services) -> None:
    snapshot = dataclasses.replace(
        Snapshot.take(services), storage_error="x" * 300, queue_depth=123_456
    )
    tip = snapshot.tooltip()
    assert len(tip) <= TOOLTIP_MAX and tip.startswith("companion: cannot save: xxx")
    assert snapshot.icon_state is IconState.ERROR


def test_open_dashboard_logs_in_through_the_token_exchange(
    actions: tuple[TrayActions, Recorder, Recorder], services: Services, client: TestClient
) -> None:
    tray, urls, _ = actions
    tray.run("open_dashboard")
    (url,) = urls.calls
    assert isinstance(url, str)
    parts = urlsplit(url)
    assert f"{parts.scheme}://{parts.netloc}" == services.base_url and parts.path == "/auth"
    assert parse_qs(parts.query) == {"token": [services.token], "next": ["/"]}
    response = client.get(url, follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == "/"
    assert "companion_session=" in response.headers["set-cookie"]


def test_dashboard_url_quotes_the_token() -> None:
    assert dashboard_url("http://127.0.0.1:1", "a+b/c=") == (
        "http://127.0.0.1:1/auth?token=a%2Bb%2Fc%3D&next=/"
    )


def test_pause_toggles_the_writer(actions: tuple[TrayActions, Recorder, Recorder]) -> None:
    tray, _, _ = actions
    writer = tray._services.writer
    tray.run("toggle_pause")
    assert writer.paused and writer.status().paused
    tray.run("toggle_pause")
    assert not writer.paused


def test_start_on_login_toggles_the_real_entry(
    actions: tuple[TrayActions, Recorder, Recorder], autostart: XdgAutostart
) -> None:
    tray, _, _ = actions
    assert tray.autostart_on() is False
    tray.run("toggle_autostart")
    assert autostart.path.is_file() and tray.autostart_on() is True
    tray.run("toggle_autostart")
    assert not autostart.path.exists() and tray.autostart_on() is False


def test_open_folders(actions: tuple[TrayActions, Recorder, Recorder], services: Services) -> None:
    tray, _, folders = actions
    tray.run("open_data_folder")
    tray.run("open_logs")
    assert folders.calls == [services.paths.data_dir, services.paths.log_dir]
    assert services.paths.log_dir.is_dir()


def test_quit_asks_the_app_to_stop(actions: tuple[TrayActions, Recorder, Recorder]) -> None:
    tray, _, _ = actions
    asked = threading.Event()
    tray._services.request_quit = asked.set
    tray.run("quit")
    assert asked.is_set()


def test_a_failing_action_is_reported_not_raised(services: Services) -> None:
    notes: list[tuple[str, str]] = []

    def broken(url: str) -> None:
        raise OSError("no browser here")

    tray = TrayActions(services, None, broken, Recorder(), lambda t, m: notes.append((t, m)))
    tray.run("open_dashboard")
    assert notes == [("companion", "That did not work: no browser here")]
    tray.run("toggle_autostart")  # unavailable: nothing happens, nothing raised
    assert tray.autostart_on() is None


def test_no_display_means_no_tray_without_touching_pystray(monkeypatch: pytest.MonkeyPatch) -> None:
    from companion.tray import run

    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.setattr(run.sys, "platform", "linux")
    with pytest.raises(run.TrayUnavailable, match="no graphical display"):
        run.load_pystray()
    assert run.tray_host_present("win32") is None and run.tray_host_present("darwin") is None


def test_backend_name() -> None:
    from types import ModuleType

    from companion.tray.run import backend_name

    fake = ModuleType("pystray")
    fake.Icon = type("Icon", (), {"__module__": "pystray._appindicator"})  # type: ignore[attr-defined]
    assert backend_name(fake) == "appindicator"
