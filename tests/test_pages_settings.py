"""Changing settings: ``config.toml`` edited in place, the new frozen settings swapped in, pinned
values refused; ``PATCH /api/v1/settings`` and the settings page's form, both guarded."""

from __future__ import annotations

import tomllib
from pathlib import Path
from urllib.parse import urlencode

import pytest
from bs4 import BeautifulSoup
from starlette.testclient import TestClient

from companion.services import Services
from companion.settings import SPECS, Settings, load_settings
from companion.settings_file import (
    SettingsChangeError,
    SettingsWriteError,
    apply_changes,
    toml_value,
    write_config,
)
from companion.web.security import SESSION_COOKIE, session_value
from tests.conftest import BASE_URL

FORM = {"Content-Type": "application/x-www-form-urlencoded", "Accept": "text/html"}


# --- the file ----------------------------------------------------------------------------------


def test_writing_keeps_comments_order_and_line_endings(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_bytes(
        b"# mine\r\nport = 50000  # my port\r\n\r\n# gap\r\nsession_gap_minutes = 30\r\n"
    )
    write_config(config, {"session_gap_minutes": 45, "me": 'Steam|1|0 "quoted" \\ é'})
    text = config.read_bytes().decode()
    assert text.startswith("# mine\r\nport = 50000  # my port\r\n\r\n# gap\r\n")
    assert "session_gap_minutes = 45\r\n" in text
    assert tomllib.loads(text) == {
        "port": 50000,
        "session_gap_minutes": 45,
        "me": 'Steam|1|0 "quoted" \\ é',
    }
    assert [p.name for p in tmp_path.iterdir()] == ["config.toml"]  # no temporary file left


def test_a_missing_file_is_created_and_reads_back(tmp_path: Path) -> None:
    config = tmp_path / "sub" / "config.toml"
    write_config(config, {"notifications": False, "log_level": "debug"})
    settings = load_settings(config, {}, {})
    assert (settings.notifications, settings.log_level) == (False, "debug")
    assert settings.origin("notifications") == "file"


def test_a_value_that_cannot_be_edited_in_place_rewrites_the_file(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text('me = """two\nlines"""\nport = 1\n', encoding="utf-8")
    write_config(config, {"me": "one"})
    assert tomllib.loads(config.read_text(encoding="utf-8")) == {"me": "one", "port": 1}


def test_a_broken_file_is_left_alone(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text("port = = 1\n", encoding="utf-8")
    with pytest.raises(SettingsWriteError, match="not valid TOML"):
        write_config(config, {"port": 2})
    assert config.read_text(encoding="utf-8") == "port = = 1\n"


@pytest.mark.parametrize("text", ["", "tab\tand\nnewline", "del\x7fchar", "emoji 🎮", "a'b\"c"])
def test_strings_round_trip_through_toml(text: str) -> None:
    assert tomllib.loads(f"me = {toml_value(text)}")["me"] == text


def test_changes_are_checked_before_anything_is_written(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    current = Settings(port=5, origins={"port": "env"})
    with pytest.raises(SettingsChangeError) as caught:
        apply_changes(
            current,
            {"port": 6, "session_gap_minutes": 0, "colour": "red", "me": "x"},
            config,
        )
    problems = {item["field"]: item["problem"] for item in caught.value.problems}
    assert "COMPANION_PORT" in problems["port"]
    assert problems["session_gap_minutes"] == "0 is not allowed; use an integer from 1 to 1440"
    assert problems["colour"] == "no such setting"
    assert "me" not in problems
    assert not config.exists()


def test_apply_gives_a_new_frozen_object_and_says_what_needs_a_restart(tmp_path: Path) -> None:
    current = Settings(origins={"port": "flag"})
    change = apply_changes(
        current, {"game_port": "49200", "port": 49133, "me": " id "}, tmp_path / "c.toml"
    )
    assert change.changed == ("game_port", "me")
    assert change.restart_required == ("game_port",)
    assert change.settings is not current and current.game_port == 49123
    assert (change.settings.game_port, change.settings.me) == (49200, "id")
    assert change.settings.origin("game_port") == "file"
    assert change.settings.origin("port") == "flag"


# --- PATCH /api/v1/settings --------------------------------------------------------------------


def _bearer(services: Services) -> dict[str, str]:
    return {"Authorization": f"Bearer {services.token}"}


def test_patch_saves_and_swaps(client: TestClient, services: Services) -> None:
    response = client.patch(
        "/api/v1/settings",
        json={"session_gap_minutes": 40, "game_port": 49124},
        headers=_bearer(services),
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["changed"] == ["game_port", "session_gap_minutes"]
    assert body["restart_required"] == ["game_port"]
    items = {item["name"]: item for item in body["settings"]}
    assert items["session_gap_minutes"]["value"] == 40
    assert items["session_gap_minutes"]["origin"] == "file"
    assert services.settings.session_gap_minutes == 40
    saved = tomllib.loads(services.paths.config_file.read_text(encoding="utf-8"))
    assert saved == {"session_gap_minutes": 40, "game_port": 49124}
    assert client.get("/api/v1/settings").json()["settings"] == body["settings"]


def test_get_lists_every_setting(client: TestClient) -> None:
    items = client.get("/api/v1/settings").json()["settings"]
    assert [item["name"] for item in items] == [spec.name for spec in SPECS]


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"session_gap_minutes": "soon"}, "session_gap_minutes"),
        ({"notifications": 1}, "notifications"),
        ({"log_level": "loud"}, "log_level"),
        ({"nope": 1}, "nope"),
    ],
)
def test_patch_refuses_bad_values_naming_the_field(
    client: TestClient, services: Services, changes: dict[str, object], field: str
) -> None:
    before = services.settings
    response = client.patch("/api/v1/settings", json=changes, headers=_bearer(services))
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "invalid_parameter"
    assert error["message"].startswith(field + ":")
    assert error["details"][0]["field"] == field
    assert services.settings is before
    assert not services.paths.config_file.exists()


def test_patch_refuses_a_pinned_value(client: TestClient, services: Services) -> None:
    services.swap_settings(Settings(me="pinned", origins={"me": "env"}))
    response = client.patch("/api/v1/settings", json={"me": "other"}, headers=_bearer(services))
    assert response.status_code == 422
    assert "COMPANION_ME" in response.json()["error"]["details"][0]["problem"]


def test_patch_needs_the_token_or_a_same_origin_session(
    client: TestClient, services: Services
) -> None:
    body = {"session_gap_minutes": 41}
    assert client.patch("/api/v1/settings", json=body).status_code == 401
    cookie = {SESSION_COOKIE: session_value(services.token)}
    client.cookies.update(cookie)
    assert client.patch("/api/v1/settings", json=body).status_code == 401  # no Origin
    evil = client.patch("/api/v1/settings", json=body, headers={"Origin": "http://evil.test"})
    assert evil.status_code == 403
    assert evil.json()["error"]["code"] == "forbidden_origin"
    assert services.settings.session_gap_minutes == 30
    ok = client.patch("/api/v1/settings", json=body, headers={"Origin": BASE_URL})
    assert ok.status_code == 200
    assert services.settings.session_gap_minutes == 41


def test_patch_is_in_the_openapi_document(client: TestClient) -> None:
    operation = client.get("/openapi.json").json()["paths"]["/api/v1/settings"]["patch"]
    assert {"200", "401", "422"} <= set(operation["responses"])


# --- the settings page and its form ------------------------------------------------------------


def _page(client: TestClient) -> BeautifulSoup:
    return BeautifulSoup(
        client.get("/settings", headers={"Accept": "text/html"}).text, "html.parser"
    )


def test_page_lists_every_setting_with_pins_and_restarts(
    client: TestClient, services: Services
) -> None:
    services.swap_settings(Settings(game_host="10.0.0.2", origins={"game_host": "flag"}))
    soup = _page(client)
    for spec in SPECS:
        control = soup.find(id=f"setting-{spec.name}")
        assert control is not None, spec.name
        assert soup.find("label", attrs={"for": f"setting-{spec.name}"}) is not None
        row = soup.find(attrs={"data-setting": spec.name})
        assert ("needs a restart" in row.get_text()) == spec.needs_restart
    host = soup.find(id="setting-game_host")
    assert host.has_attr("disabled") and host["value"] == "10.0.0.2"
    assert (
        "pinned by the command-line flag --game-host"
        in soup.find(id="setting-game_host-pin").get_text()
    )
    assert soup.find(id="setting-notifications").has_attr("checked")
    assert soup.find(id="setting-log_level").find("option", selected=True)["value"] == "info"


def test_without_the_session_the_form_is_read_only(client: TestClient, services: Services) -> None:
    soup = _page(client)
    assert soup.find(id="no-session") is not None
    assert soup.find("form", id="settings-form").find("fieldset").has_attr("disabled")
    client.cookies.update({SESSION_COOKIE: session_value(services.token)})
    soup = _page(client)
    assert soup.find(id="no-session") is None
    assert not soup.find("form", id="settings-form").find("fieldset").has_attr("disabled")


def _form(**values: str) -> str:
    fields = [("notifications", "false"), ("notifications", "true")]
    return urlencode(fields + list(values.items()))


def test_form_post_saves_and_redirects(client: TestClient, services: Services) -> None:
    client.cookies.update({SESSION_COOKIE: session_value(services.token)})
    headers = {**FORM, "Origin": BASE_URL}
    response = client.post(
        "/settings",
        content=_form(session_gap_minutes="20", game="false"),
        headers=headers,
        follow_redirects=False,
    )
    assert response.status_code == 303
    assert response.headers["location"] == "/settings?saved=game%2Csession_gap_minutes&restart=game"
    assert (services.settings.session_gap_minutes, services.settings.game) == (20, False)
    assert services.settings.notifications is True  # the checked box won over its hidden twin
    page = BeautifulSoup(client.get(response.headers["location"]).text, "html.parser")
    message = page.find(id="settings-message").get_text(" ", strip=True)
    assert "Saved: game, session_gap_minutes" in message and "Restart companion" in message


def test_form_post_with_a_bad_value_shows_the_field_error(
    client: TestClient, services: Services
) -> None:
    client.cookies.update({SESSION_COOKIE: session_value(services.token)})
    response = client.post(
        "/settings", content=_form(match_silence_minutes="0"), headers={**FORM, "Origin": BASE_URL}
    )
    assert response.status_code == 422
    soup = BeautifulSoup(response.text, "html.parser")
    field = soup.find(id="setting-match_silence_minutes")
    assert field["aria-invalid"] == "true" and field["value"] == "0"
    error = soup.find(id="setting-match_silence_minutes-error")
    assert not error.has_attr("hidden") and "1 to 1440" in error.get_text()
    assert "match_silence_minutes" in soup.find(id="settings-message").get_text()
    assert services.settings.match_silence_minutes == 15


def test_form_post_needs_the_session_and_the_origin(client: TestClient, services: Services) -> None:
    assert client.post("/settings", content=_form(), headers=FORM).status_code == 401
    client.cookies.update({SESSION_COOKIE: session_value(services.token)})
    assert client.post("/settings", content=_form(), headers=FORM).status_code == 401
    cross = client.post("/settings", content=_form(), headers={**FORM, "Origin": "http://x.test"})
    assert cross.status_code == 403
    assert not services.paths.config_file.exists()
