"""The front layer answers health checks and ingest while the API is still being built, and
every other request waits for the API rather than failing."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from starlette.types import ASGIApp

from companion.server import ServerThread, bind_socket
from companion.services import Services
from companion.web.app import build_api
from companion.web.asgi import CompanionASGI


@pytest.fixture
def gated(services: Services) -> Iterator[tuple[str, threading.Event, CompanionASGI]]:
    gate = threading.Event()

    def build() -> ASGIApp:
        gate.wait(30)
        return build_api(services)

    front = CompanionASGI(services, build=build)
    server = ServerThread(front, bind_socket(0))
    services.port = server.port
    server.start()
    try:
        yield f"http://127.0.0.1:{server.port}", gate, front
    finally:
        gate.set()
        server.stop()


def test_health_and_ingest_answer_before_the_api_is_built(
    gated: tuple[str, threading.Event, CompanionASGI],
) -> None:
    url, gate, front = gated
    health = httpx.get(url + "/api/v1/health", timeout=5)
    assert health.status_code == 200 and health.json()["status"] == "ok"
    accepted = httpx.post(url + "/api/v1/events", json={"source": "t", "event": "E"}, timeout=5)
    assert accepted.status_code == 202
    foreign = httpx.get(url + "/api/v1/health", headers={"Host": "evil.example"}, timeout=5)
    assert foreign.status_code == 400
    assert not front.wait_ready(0)

    with ThreadPoolExecutor(1) as pool:
        waiting = pool.submit(httpx.get, url + "/api/v1/status", timeout=30)
        assert not waiting.done()  # it waits for the API, it does not fail
        gate.set()
        status = waiting.result(30)
    assert status.status_code == 200 and status.json()["accepted_total"] == 1
    assert front.wait_ready(5)


def test_an_api_that_fails_to_build_answers_500_not_a_hang(services: Services) -> None:
    def build() -> ASGIApp:
        raise RuntimeError("no")

    front = CompanionASGI(services, build=build)
    server = ServerThread(front, bind_socket(0))
    services.port = server.port
    server.start()
    try:
        assert front.wait_ready(5)
        answer = httpx.get(f"http://127.0.0.1:{server.port}/api/v1/status", timeout=5)
        assert answer.status_code == 500 and answer.json()["error"]["code"] == "internal"
    finally:
        server.stop()


def test_a_lazy_api_is_built_by_the_first_request_that_needs_it(services: Services) -> None:
    built = threading.Event()

    def build() -> ASGIApp:
        built.set()
        return build_api(services)

    front = CompanionASGI(services, build=build, lazy=True)
    server = ServerThread(front, bind_socket(0))
    services.port = server.port
    server.start()
    url = f"http://127.0.0.1:{server.port}"
    try:
        assert httpx.get(url + "/api/v1/health", timeout=5).status_code == 200
        accepted = httpx.post(url + "/api/v1/events", json={"source": "t", "event": "E"}, timeout=5)
        assert accepted.status_code == 202
        assert not built.wait(0.3) and not front.wait_ready(0)
        status = httpx.get(url + "/api/v1/status", timeout=30)
        assert status.status_code == 200 and built.is_set()
    finally:
        server.stop()


def test_build_now_starts_a_lazy_api_once(services: Services) -> None:
    calls: list[int] = []

    def build() -> ASGIApp:
        calls.append(1)
        return build_api(services)

    front = CompanionASGI(services, build=build, lazy=True)
    front.build_now()
    front.build_now()
    assert front.wait_ready(30)
    front.build_now()
    assert calls == [1]
