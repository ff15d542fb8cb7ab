"""Property-based tests of the ingest route: malformed, oversized and mistyped bodies never give
a 5xx, never store a row from a rejected request, and leave the server healthy."""

from __future__ import annotations

from typing import Any

import orjson
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from starlette.testclient import TestClient

from companion.services import Services

json_scalars = (
    st.none()
    | st.booleans()
    | st.integers(-(2**63), 2**64 - 1)
    | st.floats(allow_nan=False)
    | st.text()
)
json_values = st.recursive(
    json_scalars,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=20,
)
FIELDS = ["source", "stream", "seq", "event", "data", "ts", "Event", "Data", "extra"]


def valid_item() -> st.SearchStrategy[dict[str, Any]]:
    return st.fixed_dictionaries(
        {
            "source": st.from_regex(r"[a-z]{1,8}", fullmatch=True).filter(
                lambda s: s != "statsapi"
            ),
            "event": st.text(min_size=1, max_size=10),
            "seq": st.integers(0, 2**63 - 1),
            "data": json_values,
        }
    )


@st.composite
def mistyped_item(draw: st.DrawFn) -> dict[str, Any]:
    item = draw(valid_item())
    field = draw(st.sampled_from(FIELDS))
    item[field] = draw(json_values)
    if draw(st.booleans()):
        item.pop(draw(st.sampled_from(list(item))), None)
    return item


bodies = st.one_of(
    st.binary(max_size=300),
    json_values.map(orjson.dumps),
    mistyped_item().map(orjson.dumps),
    st.lists(st.one_of(valid_item(), mistyped_item()), max_size=6).map(orjson.dumps),
    st.lists(valid_item(), max_size=3).map(lambda items: orjson.dumps(items)[:-1]),  # truncated
    st.integers(65, 200).map(lambda depth: b"[" * depth + b"]" * depth),
)
content_types = st.sampled_from(
    ["application/json", "application/json; charset=utf-8", "text/plain", "application/xml", ""]
)


def count_rows(client: TestClient) -> int:
    return len(client.get("/api/v1/journal", params={"limit": 1000}).json()["rows"])


@settings(
    max_examples=250,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(body=bodies, content_type=content_types)
def test_any_body_gets_a_clear_answer_and_rejected_ones_store_nothing(
    client: TestClient, services: Services, body: bytes, content_type: str
) -> None:
    before = count_rows(client)
    headers = {"Content-Type": content_type} if content_type else {}
    response = client.post("/api/v1/events", content=body, headers=headers)
    assert response.status_code < 500, response.text
    if response.status_code == 202:
        answer = response.json()
        assert count_rows(client) == before + answer["accepted"]
    else:
        error = response.json()["error"]
        assert error["code"] in {
            "invalid_json",
            "invalid_event",
            "unsupported_media_type",
            "too_large",
        }
        assert error["message"]
        assert count_rows(client) == before
    assert client.get("/api/v1/health").status_code == 200


@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(extra=st.integers(1, 5000))
def test_oversized_bodies_are_413_and_store_nothing(
    client: TestClient, services: Services, extra: int
) -> None:
    limit = 4096
    services.swap_settings(services.settings.replace(max_body_bytes=limit))
    padding = "x" * (limit + extra)
    body = orjson.dumps({"source": "x", "event": "E", "data": padding})
    before = count_rows(client)
    response = client.post(
        "/api/v1/events", content=body, headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "too_large"
    assert count_rows(client) == before


@settings(max_examples=400, deadline=None)
@given(item=st.one_of(valid_item(), mistyped_item()))
def test_fast_and_full_item_checks_agree(item: dict[str, Any]) -> None:
    from companion.envelope import MAX_DEPTH, _read_item, _read_plain_item

    fast = _read_plain_item(item, MAX_DEPTH - 1)
    problems: list[dict[str, Any]] = []
    full = _read_item(0, item, problems)
    if fast is not None:
        assert full == fast and not problems
    else:
        assert full is None or "ts" in item or "Event" in item
