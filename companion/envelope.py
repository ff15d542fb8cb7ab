"""Reading an ingest request body: JSON with positions, depth limit, and both envelopes.

Two envelopes are accepted, one event or an array of them:

- companion's own: ``{"source", "stream", "seq", "event", "data", "ts"}``;
- the game's Stats API message ``{"Event", "Data"}`` (``Data`` an object or a JSON string), with
  optional lower-case ``source``, ``stream`` and ``seq`` beside it, so a plugin can forward the
  game's messages unchanged.

Everything wrong with an item is reported (index, field, problem), never only the first thing.

Two paths, one behaviour: the common body (companion's envelopes without ``ts``, all of them
right) is read by msgspec with each ``data`` kept as the JSON text it was sent as; anything else,
and anything wrong, is read by orjson, which gives the positions and the problems.
"""

from __future__ import annotations

import re
from typing import Any

import msgspec
import orjson

from companion.errors import InvalidEventError, InvalidJsonError, TooLargeError
from companion.model import NewEvent
from companion.timefmt import parse_timestamp

MAX_DEPTH = 64
MAX_SEQ = 2**63
RESERVED_SOURCES = frozenset({"statsapi", "companion"})
_SOURCE_RE = re.compile(r"[A-Za-z0-9._-]{1,64}")
_OURS = frozenset({"source", "stream", "seq", "event", "data", "ts"})
_PLAIN = _OURS - {"ts"}
_GAMES = frozenset({"Event", "Data", "source", "stream", "seq", "ts"})
_MAX_REPORTED_PROBLEMS = 100


def decode_json(body: bytes, check_depth: bool = True) -> Any:
    """Parse ``body``; malformed JSON raises InvalidJsonError with line, column and byte offset.

    ``check_depth=False`` leaves the depth limit to the caller (``parse_events`` checks it item
    by item, where it is cheaper).
    """
    try:
        value = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise InvalidJsonError(
            f"malformed JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}",
            {"line": exc.lineno, "column": exc.colno, "offset": _byte_offset(body, exc.pos)},
        ) from None
    if check_depth and _deeper_than(value, MAX_DEPTH):
        raise too_deep_error(body)
    return value


def too_deep_error(body: bytes) -> InvalidJsonError:
    offset = _deep_offset(body)
    line = body.count(b"\n", 0, offset) + 1
    column = offset - (body.rfind(b"\n", 0, offset) + 1) + 1
    return InvalidJsonError(
        f"JSON is nested deeper than {MAX_DEPTH} levels (line {line}, column {column})",
        {"line": line, "column": column, "offset": offset},
    )


def _byte_offset(body: bytes, char_pos: int) -> int:
    # orjson reports a character position; clients count bytes on the wire.
    return len(body.decode("utf-8", "replace")[:char_pos].encode("utf-8", "replace"))


def _deeper_than(value: Any, levels: int) -> bool:
    """True when ``value`` nests containers more than ``levels`` deep (itself counting as one).

    Recursive on purpose: it stops at ``levels``, so it never recurses far, and a function call
    per container is cheaper than a work list when most values are scalars.
    """
    kind = type(value)
    if kind is dict:
        children = value.values()
    elif kind is list:
        children = value
    else:
        return False
    if levels <= 0:
        return True
    levels -= 1
    for child in children:
        child_kind = type(child)
        if (child_kind is dict or child_kind is list) and _deeper_than(child, levels):
            return True
    return False


def _deep_offset(body: bytes) -> int:
    """Byte offset of the bracket that opens level MAX_DEPTH + 1 (the body is valid JSON)."""
    depth = 0
    in_string = False
    escaped = False
    for offset, byte in enumerate(body):
        if in_string:
            if escaped:
                escaped = False
            elif byte == 0x5C:  # backslash
                escaped = True
            elif byte == 0x22:
                in_string = False
        elif byte == 0x22:
            in_string = True
        elif byte in (0x5B, 0x7B):
            depth += 1
            if depth > MAX_DEPTH:
                return offset
        elif byte in (0x5D, 0x7D):
            depth -= 1
    return 0


def parse_events(body: bytes, max_batch_items: int) -> list[NewEvent]:
    """Validate a whole request body and return its events in order, or raise."""
    plain = _read_plain_body(body, max_batch_items)
    if plain is not None:
        return plain
    return _read_body(body, max_batch_items)


def _read_body(body: bytes, max_batch_items: int) -> list[NewEvent]:
    """The general path: any body, every problem reported (``parse_events`` without the fast
    path of ``_read_plain_body``)."""
    value = decode_json(body, check_depth=False)
    if type(value) is list:
        items = value
        item_levels = MAX_DEPTH - 1  # the array is the first level
    else:
        items = [value]
        item_levels = MAX_DEPTH
    if len(items) > max_batch_items:
        raise TooLargeError(
            f"batch of {len(items)} events is over the limit of {max_batch_items}",
            {"items": len(items), "max_batch_items": max_batch_items},
        )
    events: list[NewEvent] = []
    problems: list[dict[str, Any]] = []
    for index, item in enumerate(items):
        event = _read_plain_item(item, item_levels - 1)
        if event is None:
            if _deeper_than(item, item_levels):
                raise too_deep_error(body)
            event = _read_item(index, item, problems)
        if event is not None:
            events.append(event)
    if problems:
        shown = problems[:_MAX_REPORTED_PROBLEMS]
        first = shown[0]
        where = f"item {first['index']}" + (f", field {first['field']!r}" if first["field"] else "")
        more = f" (and {len(problems) - 1} more problems)" if len(problems) > 1 else ""
        raise InvalidEventError(f"invalid event: {where} {first['problem']}{more}", shown)
    return events


class _PlainItem(msgspec.Struct, forbid_unknown_fields=True, gc=False):
    """companion's envelope without ``ts``, as the fast path reads it: ``data`` left as its
    JSON text (``Raw``), not parsed into objects only to be written out again."""

    source: str
    event: str
    stream: str = "default"
    seq: int | None = None
    data: msgspec.Raw = msgspec.Raw(b"{}")


_PLAIN_BODY = msgspec.json.Decoder(list[_PlainItem] | _PlainItem)


def _read_plain_body(body: bytes, max_batch_items: int) -> list[NewEvent] | None:
    """The fast path for the common body: companion's envelopes without ``ts``, every one right.

    Returns None for anything else (or anything wrong); the general path then reads the body
    with orjson and says what is wrong, with positions. It accepts exactly what the general path
    accepts: msgspec checks the JSON and the envelope's types, the checks below are
    ``_read_plain_item``'s, and each ``data`` goes through orjson too, which refuses a few
    things msgspec lets through in a ``Raw`` (a number beyond a double's range, invalid UTF-8).
    ``data`` is kept as it was sent (orjson reads it back the same).
    """
    try:
        value = _PLAIN_BODY.decode(body)
    except (ValueError, RecursionError):  # msgspec.DecodeError, UnicodeDecodeError, …
        return None
    if type(value) is list:
        items = value
        data_levels = MAX_DEPTH - 2  # the array and the item
    else:
        items = [value]
        data_levels = MAX_DEPTH - 1
    if len(items) > max_batch_items:
        return None
    loads = orjson.loads
    new_event = NewEvent
    events = []
    for item in items:
        source = item.source
        if source not in _checked_sources and not _plain_source(source):
            return None
        stream = item.stream
        seq = item.seq
        name = item.event
        if (
            not 0 < len(stream) <= 128
            or (seq is not None and not 0 <= seq < MAX_SEQ)
            or not 0 < len(name) <= 64
        ):
            return None
        raw = bytes(item.data)
        # Fewer brackets than levels cannot nest too deep; more go the general way. (One
        # translate counts both kinds in one pass: about half the time of two counts.)
        if len(raw) - len(raw.translate(None, b"[{")) > data_levels:
            return None
        try:
            loads(raw)
        except orjson.JSONDecodeError:
            return None
        events.append(new_event(source, stream, seq, name, raw.decode()))
    return events


_checked_sources: set[str] = set()


def _plain_source(source: str) -> bool:
    """Whether ``source`` is one an event may have (and remember it when so)."""
    if not _SOURCE_RE.fullmatch(source) or source in RESERVED_SOURCES:
        return False
    if len(_checked_sources) < 1024:
        _checked_sources.add(source)
    return True


def _read_plain_item(item: Any, data_levels: int) -> NewEvent | None:
    """The general path's quick check of one item: companion's envelope without ``ts``.

    Returns None for anything else (or anything wrong, too deep included); ``_read_item`` then
    checks the item in full and says what is wrong. Both accept exactly the same plain items.
    """
    if type(item) is not dict or not item.keys() <= _PLAIN:
        return None
    source = item.get("source")
    if type(source) is not str:
        return None
    if source not in _checked_sources and not _plain_source(source):
        return None
    stream = item.get("stream", "default")
    if type(stream) is not str or not 0 < len(stream) <= 128:
        return None
    seq = item.get("seq")
    if seq is not None and (type(seq) is not int or not 0 <= seq < MAX_SEQ):
        return None
    name = item.get("event")
    if type(name) is not str or not 0 < len(name) <= 64:
        return None
    data = item.get("data", {})
    text = orjson.dumps(data)
    # Fewer brackets than levels cannot nest too deep; only then is the walk needed.
    if text.count(b"[") + text.count(b"{") > data_levels and _deeper_than(data, data_levels):
        return None
    return NewEvent(source, stream, seq, name, text.decode())


def _read_item(index: int, item: Any, problems: list[dict[str, Any]]) -> NewEvent | None:
    def problem(field: str, text: str) -> None:
        problems.append({"index": index, "field": field, "problem": text})

    if not isinstance(item, dict):
        problem("", f"must be a JSON object, not {_json_type(item)}")
        return None
    before = len(problems)
    if "Event" in item:
        allowed, event_key, data_key, default_source = _GAMES, "Event", "Data", "http"
    elif "event" in item:
        allowed, event_key, data_key, default_source = _OURS, "event", "data", None
    else:
        problem("event", "is required (companion's envelope) or use the game's 'Event'/'Data'")
        return None
    for key in item:
        if key not in allowed:
            problem(str(key), "is not a known field of this envelope")

    source = item.get("source", default_source)
    if source is None:
        problem("source", "is required: 1-64 characters of A-Z a-z 0-9 . _ -")
    elif not isinstance(source, str) or not _SOURCE_RE.fullmatch(source):
        problem("source", "must be 1-64 characters of A-Z a-z 0-9 . _ -")
    elif source in RESERVED_SOURCES:
        problem("source", f"{source!r} is reserved for companion's built-in Stats API reader")

    stream = item.get("stream", "default")
    if not isinstance(stream, str) or not 1 <= len(stream) <= 128:
        problem("stream", "must be a string of 1-128 characters")

    seq = item.get("seq")
    if seq is not None and (isinstance(seq, bool) or not isinstance(seq, int)):
        problem("seq", f"must be an integer, not {_json_type(seq)}")
    elif seq is not None and not 0 <= seq < MAX_SEQ:
        problem("seq", "must be from 0 to 2^63 - 1")

    name = item.get(event_key)
    if not isinstance(name, str) or not 1 <= len(name) <= 64:
        problem(event_key, "must be a string of 1-64 characters")

    data = item.get(data_key, {})
    if data_key == "Data" and isinstance(data, str):
        try:
            data = orjson.loads(data)
        except orjson.JSONDecodeError as exc:
            problem("Data", f"is a string but not valid JSON ({exc.msg})")
        else:
            if _deeper_than(data, MAX_DEPTH):
                problem("Data", f"is nested deeper than {MAX_DEPTH} levels")
    if data_key == "Data" and not isinstance(data, dict | str):
        problem("Data", f"must be an object or a JSON string, not {_json_type(data)}")

    ts_us: int | None = None
    if item.get("ts") is not None:
        try:
            ts_us = parse_timestamp(item["ts"])
        except ValueError as exc:
            problem("ts", str(exc))

    if len(problems) > before:
        return None
    assert isinstance(source, str) and isinstance(name, str)
    return NewEvent(
        source=source,
        stream=stream,
        seq=seq,
        event=name,
        data=orjson.dumps(data).decode(),
        ts_us=ts_us,
    )


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    return "an object"
