"""Ingest bodies: both envelopes, JSON positions, depth, and per-item problems."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from companion.envelope import (
    MAX_DEPTH,
    _read_body,
    _read_plain_body,
    decode_json,
    parse_events,
)
from companion.errors import InvalidEventError, InvalidJsonError, RequestError, TooLargeError


def events_of(value: object, limit: int = 10_000):  # type: ignore[no-untyped-def]
    return parse_events(json.dumps(value).encode(), limit)


def test_our_envelope_with_every_field() -> None:
    [event] = events_of(
        {
            "source": "bakkes.mod-1",
            "stream": "s1",
            "seq": 7,
            "event": "GoalScored",
            "data": {"a": [1, 2]},
            "ts": "2026-11-25T18:42:13.123Z",
        }
    )
    assert (event.source, event.stream, event.seq, event.event) == (
        "bakkes.mod-1",
        "s1",
        7,
        "GoalScored",
    )
    assert orjson.loads(event.data) == {"a": [1, 2]}
    expected = datetime(2026, 11, 25, 18, 42, 13, 123_000, tzinfo=UTC)
    assert event.ts_us == int(expected.timestamp()) * 1_000_000 + 123_000


def test_our_envelope_defaults() -> None:
    [event] = events_of({"source": "x", "event": "E"})
    assert (event.stream, event.seq, event.data, event.ts_us) == ("default", None, "{}", None)


def test_game_envelope_with_data_as_string_or_object() -> None:
    inner = {"Players": [{"Name": "Zoë", "Score": 100}]}
    a, b = events_of(
        [
            {"Event": "UpdateState", "Data": json.dumps(inner)},
            {"Event": "UpdateState", "Data": inner, "source": "plugin", "stream": "m", "seq": 3},
        ]
    )
    assert (a.source, a.stream, a.seq) == ("http", "default", None)
    assert orjson.loads(a.data) == inner
    assert (b.source, b.stream, b.seq) == ("plugin", "m", 3)
    assert orjson.loads(b.data) == inner


def test_unix_seconds_ts() -> None:
    [event] = events_of({"source": "x", "event": "E", "ts": 1.5})
    assert event.ts_us == 1_500_000


def test_problems_name_index_and_field_for_every_item() -> None:
    body = [
        {"source": "ok", "event": "E"},
        {"source": "bad source!", "event": "E", "seq": -1},
        {"Event": "X", "Data": 5},
        {"event": "E"},
        "text",
        {"source": "statsapi", "event": "E"},
        {"source": "x", "event": "", "ts": "yesterday", "extra": 1},
        {"source": "x", "event": "E", "seq": True},
        {"Event": "X", "Data": "{not json"},
    ]
    with pytest.raises(InvalidEventError) as caught:
        events_of(body)
    found = {(p["index"], p["field"]) for p in caught.value.details}
    assert found == {
        (1, "source"),
        (1, "seq"),
        (2, "Data"),
        (3, "source"),
        (4, ""),
        (5, "source"),
        (6, "event"),
        (6, "ts"),
        (6, "extra"),
        (7, "seq"),
        (8, "Data"),
    }
    assert "item 1, field 'source'" in caught.value.message
    reserved = [p for p in caught.value.details if p["index"] == 5]
    assert "reserved" in reserved[0]["problem"]


def test_seq_bounds() -> None:
    assert events_of({"source": "x", "event": "E", "seq": 2**63 - 1})[0].seq == 2**63 - 1
    with pytest.raises(InvalidEventError):
        events_of({"source": "x", "event": "E", "seq": 2**63})


def test_malformed_json_reports_line_column_and_byte_offset() -> None:
    body = '[{"source": "é",\n "event": ]'.encode()
    with pytest.raises(InvalidJsonError) as caught:
        parse_events(body, 10)
    details = caught.value.details
    assert details["line"] == 2
    assert details["column"] == 11
    # The offset counts bytes: 'é' is two bytes on the wire.
    assert body[details["offset"] : details["offset"] + 1] == b"]"


@pytest.mark.parametrize("body", [b"", b"nul", b"\xff\xfe", b'{"a": 1} x', b"[1,]"])
def test_garbage_is_invalid_json(body: bytes) -> None:
    with pytest.raises(InvalidJsonError):
        decode_json(body)


def test_depth_limit_is_invalid_json_with_a_position() -> None:
    ok = "[" * MAX_DEPTH + "]" * MAX_DEPTH
    decode_json(ok.encode())
    too_deep = '{"a": ' + "[" * MAX_DEPTH + "]" * MAX_DEPTH + "}"
    with pytest.raises(InvalidJsonError) as caught:
        decode_json(too_deep.encode())
    assert caught.value.details["offset"] == len('{"a": ') + MAX_DEPTH - 1
    assert "deeper than 64" in caught.value.message


def test_batch_over_the_limit_is_too_large() -> None:
    with pytest.raises(TooLargeError):
        events_of([{"source": "x", "event": "E"}] * 3, limit=2)


def test_empty_batch_is_no_events() -> None:
    assert events_of([]) == []


def test_depth_limit_counts_the_batch_array() -> None:
    # 64 levels in all: the array, the item, and 62 levels of data.
    data = "[" * 62 + "]" * 62
    ok = '[{"source": "x", "event": "E", "data": ' + data + "}]"
    assert len(parse_events(ok.encode(), 10)) == 1
    deeper = '[{"source": "x", "event": "E", "data": [' + data + "]}]"
    with pytest.raises(InvalidJsonError, match="deeper than 64"):
        parse_events(deeper.encode(), 10)
    single = '{"source": "x", "event": "E", "data": [' + data + "]}"
    assert len(parse_events(single.encode(), 10)) == 1


def test_deep_wrong_field_is_still_invalid_json() -> None:
    body = '{"source": ' + "[" * 70 + "]" * 70 + ', "event": "E"}'
    with pytest.raises(InvalidJsonError):
        parse_events(body.encode(), 10)


# -- the fast path (msgspec, data kept as sent) and the general path agree ----------------------


def test_plain_data_is_kept_as_sent_and_reads_back_the_same() -> None:
    body = b'[{"source": "x", "event": "E", "seq": 1, "data" : { "a" : [1, 2.50, 1E2] } }]'
    assert _read_plain_body(body, 10) is not None, "the fast path takes it"
    [event] = parse_events(body, 10)
    assert event.data == '{ "a" : [1, 2.50, 1E2] }'
    assert orjson.loads(event.data) == {"a": [1, 2.5, 100.0]}
    assert [e.data for e in events_of([{"source": "x", "event": "E", "data": None}])] == ["null"]


@pytest.mark.parametrize(
    "data",
    [
        b"[1e400]",  # a number beyond a double's range
        b"1" + b"0" * 400,
        b'"\xff"',  # invalid UTF-8 inside a string
        b'"\xed\xa0\x80"',  # a surrogate, encoded
        b'"\\ud800"',  # a lone surrogate, escaped
    ],
    ids=["exponent", "digits", "utf-8", "surrogate", "escaped surrogate"],
)
def test_data_orjson_refuses_is_refused_as_before(data: bytes) -> None:
    body = b'[{"source":"x","event":"E","data":' + data + b"}]"
    assert _read_plain_body(body, 10) is None, "msgspec alone would take it"
    with pytest.raises(InvalidJsonError) as caught:
        parse_events(body, 10)
    assert set(caught.value.details) == {"line", "column", "offset"}


json_scalars = (
    st.none()
    | st.booleans()
    | st.integers(-(2**70), 2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=6)
)
json_values = st.recursive(
    json_scalars,
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=4), children, max_size=3)
    ),
    max_leaves=12,
)
items = st.dictionaries(
    st.sampled_from(["source", "stream", "seq", "event", "data", "ts", "Event", "other"]),
    st.one_of(
        st.sampled_from(["x", "bench", "statsapi", "a b", "", "E"]),
        st.integers(-1, 2**64),
        json_values,
    ),
    min_size=1,
    max_size=6,
)
texts = st.one_of(
    st.lists(items, max_size=4).map(lambda value: json.dumps(value, ensure_ascii=False).encode()),
    items.map(lambda value: json.dumps(value).encode()),
    st.lists(items, max_size=3).map(lambda value: json.dumps(value, indent=1).encode()),
    st.integers(55, 70).map(
        lambda depth: b'{"source":"x","event":"E","data":' + b"[" * depth + b"]" * depth + b"}"
    ),
)


@settings(max_examples=500, deadline=None)
@given(body=texts, splice=st.binary(max_size=3), at=st.integers(0, 200))
def test_fast_and_general_paths_agree_on_any_body(body: bytes, splice: bytes, at: int) -> None:
    if splice:
        body = body[:at] + splice + body[at:]
    fast = _read_plain_body(body, 3)
    try:
        general = _read_body(body, 3)
    except RequestError:
        assert fast is None
        return
    if fast is not None:
        assert [(e.source, e.stream, e.seq, e.event, e.ts_us) for e in fast] == [
            (e.source, e.stream, e.seq, e.event, e.ts_us) for e in general
        ]
        assert [orjson.loads(e.data) for e in fast] == [orjson.loads(e.data) for e in general]
