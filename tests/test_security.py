"""Localhost is hostile: DNS rebinding, cross-origin writes, text/plain writes, control routes."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import orjson
import pytest
from starlette.testclient import TestClient

from companion.services import Services
from companion.web.security import SESSION_COOKIE, load_or_create_token
from tests.conftest import BASE_URL

EVENT = orjson.dumps({"source": "x", "event": "E"})


def stored(client: TestClient) -> int:
    return len(client.get("/api/v1/journal").json()["rows"])


@pytest.mark.parametrize("host", ["evil.example", "evil.example:49999", "127.0.0.1.nip.io", ""])
def test_foreign_host_is_refused(client: TestClient, host: str) -> None:
    for method, path in (("GET", "/api/v1/status"), ("POST", "/api/v1/events")):
        response = client.request(
            method, path, content=EVENT, headers={"Host": host, "Content-Type": "application/json"}
        )
        assert response.status_code == 400
        assert response.json()["error"]["code"] == "forbidden_host"
    assert stored(client) == 0


@pytest.mark.parametrize("host", ["127.0.0.1:49999", "localhost:49999", "[::1]:49999", "LOCALHOST"])
def test_local_hosts_are_served(client: TestClient, host: str) -> None:
    assert client.get("/api/v1/health", headers={"Host": host}).status_code == 200


@pytest.mark.parametrize(
    "headers",
    [
        {"Origin": "https://evil.example"},
        {"Origin": "null"},
        {"Origin": "http://127.0.0.1:1234"},  # another local app's page
        {"Sec-Fetch-Site": "cross-site"},
    ],
)
def test_cross_origin_write_is_refused(client: TestClient, headers: dict[str, str]) -> None:
    response = client.post(
        "/api/v1/events", content=EVENT, headers={"Content-Type": "application/json", **headers}
    )
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "forbidden_origin"
    assert stored(client) == 0


def test_same_origin_write_is_accepted(client: TestClient) -> None:
    response = client.post(
        "/api/v1/events",
        content=EVENT,
        headers={"Content-Type": "application/json", "Origin": BASE_URL},
    )
    assert response.status_code == 202


@pytest.mark.parametrize(
    "content_type", ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data"]
)
def test_simple_request_content_types_are_refused(client: TestClient, content_type: str) -> None:
    # The three types a browser may POST cross-site without a preflight.
    response = client.post("/api/v1/events", content=EVENT, headers={"Content-Type": content_type})
    assert response.status_code == 415
    assert stored(client) == 0


@pytest.mark.parametrize("path", ["/api/v1/pause", "/api/v1/resume", "/api/v1/quit"])
def test_control_routes_need_the_token(client: TestClient, services: Services, path: str) -> None:
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": "Basic abc"}):
        response = client.post(path, headers=headers)
        assert response.status_code == 401
        assert response.json()["error"]["code"] == "unauthorized"
    assert services.writer.paused is False
    ok = client.post(path, headers={"Authorization": f"Bearer {services.token}"})
    assert ok.status_code in (200, 202)


def test_pause_and_resume_with_the_token(client: TestClient, services: Services) -> None:
    auth = {"Authorization": f"Bearer {services.token}"}
    assert client.post("/api/v1/pause", headers=auth).json()["paused"] is True
    assert services.writer.paused
    assert client.get("/api/v1/status").json()["paused"] is True
    assert client.post("/api/v1/resume", headers=auth).json()["paused"] is False
    assert not services.writer.paused


def test_dashboard_session_cookie(client: TestClient, services: Services) -> None:
    wrong = client.get("/auth", params={"token": "nope"}, follow_redirects=False)
    assert wrong.status_code == 401
    response = client.get(
        "/auth", params={"token": services.token, "next": "/api/v1/status"}, follow_redirects=False
    )
    assert response.status_code == 303
    assert response.headers["location"] == "/api/v1/status"
    cookie = response.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=strict" in cookie and "path=/" in cookie
    assert services.token not in response.headers["set-cookie"]
    # The cookie alone is not enough: a same-origin Origin must come with it.
    assert client.post("/api/v1/pause").status_code == 401
    assert client.post("/api/v1/pause", headers={"Origin": BASE_URL}).status_code == 200
    assert SESSION_COOKIE in client.cookies


@pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example/x", "javascript:x"])
def test_token_exchange_never_redirects_away(
    client: TestClient, services: Services, target: str
) -> None:
    response = client.get(
        "/auth", params={"token": services.token, "next": target}, follow_redirects=False
    )
    assert response.headers["location"] == "/"


def test_no_wildcard_cors(client: TestClient) -> None:
    response = client.get("/api/v1/status", headers={"Origin": "https://evil.example"})
    assert "access-control-allow-origin" not in response.headers


def test_token_file_is_private_and_stable(tmp_path: Path) -> None:
    path = tmp_path / "token"
    token = load_or_create_token(path)
    assert len(token) >= 32
    if os.name == "posix":
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert load_or_create_token(path) == token
