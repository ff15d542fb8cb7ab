"""The HTTP API in-process: ingest answers, journal paging, status, dead letters, errors."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable
from typing import Any

import orjson
import pytest
from starlette.testclient import TestClient

from companion import __version__
from companion.pipeline.derivation import LatestStateDerivation
from companion.services import Services

JSON = {"Content-Type": "application/json"}


def post(client: TestClient, body: Any, **headers: str) -> Any:
    raw = body if isinstance(body, bytes) else orjson.dumps(body)
    return client.post("/api/v1/events", content=raw, headers={**JSON, **headers})


def wait_for(condition: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not reached in time"
        time.sleep(0.01)


def journal_rows(client: TestClient, **params: Any) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    after = 0
    while True:
        page = client.get(
            "/api/v1/journal", params={"after": after, "limit": 1000, **params}
        ).json()
        rows += page["rows"]
        if not page["rows"]:
            return rows
        after = page["next_after"]


def ev(seq: int | None = None, stream: str = "s", **data: Any) -> dict[str, Any]:
    item: dict[str, Any] = {"source": "test", "stream": stream, "event": "E", "data": data}
    if seq is not None:
        item["seq"] = seq
    return item


def test_single_event_and_batch_are_committed_in_order(client: TestClient) -> None:
    one = post(client, ev(1, n=1))
    assert one.status_code == 202
    assert one.json()["accepted"] == 1 and one.json()["duplicates"] == 0
    batch = post(client, [ev(2), ev(3), {"Event": "UpdateState", "Data": '{"x": 1}'}])
    assert batch.status_code == 202
    body = batch.json()
    assert body["accepted"] == 3
    assert body["ids"] == sorted(body["ids"]) and body["ids"][0] > one.json()["ids"][0]
    rows = journal_rows(client, data=1)
    assert [r["id"] for r in rows] == one.json()["ids"] + body["ids"]
    assert rows[-1]["source"] == "http" and rows[-1]["data"] == {"x": 1}
    assert rows[0]["received_at"].endswith("Z")


def test_duplicates_are_acknowledged_but_stored_once(client: TestClient) -> None:
    first = post(client, [ev(1), ev(2)]).json()
    again = post(client, [ev(2), ev(3), ev(3)]).json()
    assert again["duplicates"] == 2 and again["accepted"] == 1
    assert again["ids"][0] == first["ids"][1]
    assert again["ids"][1] == again["ids"][2]
    assert len(journal_rows(client)) == 3
    status = client.get("/api/v1/status").json()
    assert status["duplicates_total"] == 2 and status["accepted_total"] == 3


def test_empty_batch_writes_nothing(client: TestClient) -> None:
    response = post(client, [])
    assert response.status_code == 202
    assert response.json() == {"accepted": 0, "duplicates": 0, "ids": [], "queue_depth": 0}
    assert journal_rows(client) == []


def test_rows_are_applied_and_status_says_so(client: TestClient) -> None:
    post(client, [ev(n) for n in range(1, 51)])
    wait_for(lambda: client.get("/api/v1/status").json()["queue_depth"] == 0)
    status = client.get("/api/v1/status").json()
    assert status["applied_total"] == 50
    assert status["last_event_at"] is not None
    assert all(row["applied"] for row in journal_rows(client))


@pytest.mark.parametrize(
    ("body", "headers", "status", "code"),
    [
        (b'{"source": "x", "event": ', {}, 400, "invalid_json"),
        (b"[" * 100 + b"]" * 100, {}, 400, "invalid_json"),
        (orjson.dumps(ev(1)), {"Content-Type": "text/plain"}, 415, "unsupported_media_type"),
        (
            orjson.dumps(ev(1)),
            {"Content-Type": "application/json; charset=latin-1"},
            415,
            "unsupported_media_type",
        ),
        (orjson.dumps([ev(1), {"source": "x"}]), {}, 422, "invalid_event"),
        (orjson.dumps({"source": "statsapi", "event": "E"}), {}, 422, "invalid_event"),
        (
            b'{"source": "x", "event": "E", "data": "' + b"x" * (1024 * 1024) + b'"}',
            {},
            413,
            "too_large",
        ),
    ],
)
def test_bad_requests_get_clear_errors_and_store_nothing(
    client: TestClient, body: bytes, headers: dict[str, str], status: int, code: str
) -> None:
    post(client, ev(1))
    response = post(client, body, **headers)
    assert response.status_code == status
    error = response.json()["error"]
    assert error["code"] == code
    assert error["message"]
    assert len(journal_rows(client)) == 1


def test_invalid_event_details_name_index_and_field(client: TestClient) -> None:
    response = post(client, [ev(1), {"source": "x", "event": "E", "seq": "7"}])
    [detail] = response.json()["error"]["details"]
    assert detail == {"index": 1, "field": "seq", "problem": "must be an integer, not a string"}


def test_batch_over_the_item_limit_is_413(client: TestClient, services: Services) -> None:
    services.swap_settings(services.settings.replace(max_batch_items=3))
    response = post(client, [ev(n) for n in range(4)])
    assert response.status_code == 413
    assert response.json()["error"]["details"]["max_batch_items"] == 3


def test_full_disk_is_503_with_retry_after_and_stores_nothing(
    client: TestClient, services: Services
) -> None:
    post(client, ev(1))

    def cap(conn: sqlite3.Connection) -> None:
        conn.execute(f"PRAGMA max_page_count = {conn.execute('PRAGMA page_count').fetchone()[0]}")

    services.writer.call(cap).result(5)
    big = [ev(n, pad="x" * 4000) for n in range(2, 200)]
    response = post(client, big)
    assert response.status_code == 503
    assert response.headers["Retry-After"].isdigit()
    assert response.json()["error"]["code"] == "storage_unavailable"
    assert len(journal_rows(client)) == 1
    assert client.get("/api/v1/health").status_code == 200


def test_journal_paging_and_parameter_errors(client: TestClient) -> None:
    ids = post(client, [ev(n) for n in range(10)]).json()["ids"]
    page = client.get("/api/v1/journal", params={"after": ids[2], "limit": 3}).json()
    assert [row["id"] for row in page["rows"]] == ids[3:6]
    assert page["next_after"] == ids[5]
    assert "data" not in page["rows"][0] or page["rows"][0]["data"] is None
    bad = client.get("/api/v1/journal", params={"limit": 5000})
    assert bad.status_code == 422
    assert bad.json()["error"]["code"] == "invalid_parameter"
    assert "limit" in bad.json()["error"]["message"]


def test_dead_letters_are_listed(client: TestClient, services: Services) -> None:
    class Poisoned(LatestStateDerivation):
        def apply(self, conn: sqlite3.Connection, row: Any, now_us: int) -> None:
            if b"poison" in row.data.encode():
                raise KeyError("Players")
            super().apply(conn, row, now_us)

    services.writer._worker.derivation = Poisoned()
    post(client, [ev(1), ev(2, poison=True), ev(3)])
    wait_for(lambda: client.get("/api/v1/status").json()["queue_depth"] == 0)
    letters = client.get("/api/v1/dead-letters").json()
    assert letters["total"] == 1
    [letter] = letters["dead_letters"]
    assert letter["seq"] == 2 and "KeyError" in letter["error"]
    assert letter["data"] == {"poison": True}
    assert client.get("/api/v1/status").json()["dead_letters"] == 1
    rows = journal_rows(client)
    assert [row["dead"] for row in rows] == [False, True, False]


def test_health_and_unknown_routes(client: TestClient) -> None:
    assert client.get("/api/v1/health").json() == {"status": "ok", "version": __version__}
    missing = client.get("/api/v1/nothing")
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "not_found"
    wrong_method = client.get("/api/v1/events")
    assert wrong_method.status_code == 405
    assert wrong_method.json()["error"]["code"] == "method_not_allowed"


def test_docs_are_served_from_the_app(client: TestClient) -> None:
    html = client.get("/docs").text
    assert "/static/vendor/swagger-ui/swagger-ui-bundle.js" in html
    assert "cdn" not in html.lower()
    assert client.get("/static/vendor/swagger-ui/swagger-ui-bundle.js").status_code == 200
    spec = client.get("/openapi.json").json()
    ingest = spec["paths"]["/api/v1/events"]["post"]
    assert set(ingest["responses"]) >= {"202", "400", "413", "415", "422", "503"}
    assert "CompanionEnvelope" in spec["components"]["schemas"]
    assert "/api/v1/journal" in spec["paths"]
