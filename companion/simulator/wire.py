"""The Stats API wire format: one message is ``{"Event": "<Name>", "Data": ...}``, written back to
back with no delimiter.

Real builds send ``Data`` as a JSON-encoded *string* (JSON inside JSON); the documented shape is
an object. :func:`encode_message` writes either; :func:`decode_message` accepts either.
:func:`split_stream` cuts a byte stream into its messages exactly (the pieces join back into the
original bytes), the way a reader has to: with a streaming ``raw_decode``, since nothing marks
where a message ends.

Two record types travel through the simulator:

* :class:`TimelineEvent` ``(t, event, data)``: a decoded event at ``t`` seconds into a timeline;
* :class:`WireMessage` ``(t, event, raw)``: the exact bytes to write at ``t``.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from typing import Any, NamedTuple

import orjson


class TimelineEvent(NamedTuple):
    """One event of a synthesised timeline: ``t`` seconds from its start, the event name, and
    the payload as a dict (``Data`` before encoding)."""

    t: float
    event: str
    data: dict[str, Any]


class WireMessage(NamedTuple):
    """One message as written to the socket: ``t`` seconds from the start of the stream, the
    event name (for progress output and filtering) and the exact bytes."""

    t: float
    event: str
    raw: bytes


def encode_message(event: str, data: dict[str, Any], *, data_as_string: bool = True) -> bytes:
    """The bytes of one message, compact like the game's (no spaces, UTF-8 names unescaped).

    ``data_as_string`` (default, as real builds send it): ``Data`` is the payload's JSON text as
    a JSON string; otherwise ``Data`` is the payload object itself.
    """
    inner = orjson.dumps(data)
    if data_as_string:
        # orjson escapes the quotes and backslashes of the inner text, nothing else.
        inner = orjson.dumps(inner.decode("utf-8"))
    return b'{"Event":' + orjson.dumps(event) + b',"Data":' + inner + b"}"


def encode_timeline(
    events: Iterable[TimelineEvent], *, data_as_string: bool = True
) -> Iterator[WireMessage]:
    """Encode a timeline lazily, one :class:`WireMessage` per event."""
    for t, event, data in events:
        yield WireMessage(t, event, encode_message(event, data, data_as_string=data_as_string))


def decode_message(raw: bytes | str) -> tuple[str, dict[str, Any]]:
    """``(event, payload)`` of one message; ``Data`` is decoded a second time when it is a string.

    Raises ``ValueError`` (``json.JSONDecodeError`` is one) when it is not a Stats API message.
    """
    message = json.loads(raw)
    if not isinstance(message, dict) or not isinstance(message.get("Event"), str):
        raise ValueError("not a Stats API message: no Event name")
    data = message.get("Data", {})
    if isinstance(data, str):
        data = json.loads(data)
    if not isinstance(data, dict):
        raise ValueError(f"{message['Event']}: Data is not an object")
    return message["Event"], data


def split_stream(stream: bytes) -> list[tuple[str, bytes]]:
    """Cut a captured stream into ``(event name, exact bytes)`` per message.

    Whitespace between messages (real streams have none) stays with the message after it (at the
    very end, with the last one), so ``b"".join`` of the pieces always gives ``stream`` back.
    Raises ``ValueError`` on bytes that are not UTF-8, on anything that is not a JSON object,
    and on a truncated last message.
    """
    text = stream.decode("utf-8")
    decoder = json.JSONDecoder()
    ascii_only = stream.isascii()  # then character offsets are byte offsets: no re-encoding
    pieces: list[tuple[str, bytes]] = []
    pos, size = 0, len(text)
    while pos < size:
        start = pos
        while pos < size and text[pos] in " \t\r\n":
            pos += 1
        if pos == size and pieces:
            name, last = pieces[-1]
            pieces[-1] = (name, last + text[start:].encode("utf-8"))
            break
        try:
            message, end = decoder.raw_decode(text, pos)
        except json.JSONDecodeError as exc:
            raise ValueError(f"no JSON message at character {pos}: {exc.msg}") from exc
        if not isinstance(message, dict):
            raise ValueError(f"a JSON value that is not an object at character {pos}")
        raw = stream[start:end] if ascii_only else text[start:end].encode("utf-8")
        pieces.append((str(message.get("Event", "")), raw))
        pos = end
    return pieces
