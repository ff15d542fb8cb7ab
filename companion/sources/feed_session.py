"""One connection's worth of Stats API messages turned into journal rows, in order.

Pure logic, no sockets: the reader hands each framed message here with its receive time. Each
message gets the next ``seq`` of the connection's stream. Discrete events are journaled verbatim
(with ``Data`` decoded a second time when it is a string), except the empty ``GoalScored`` echo the
game sends after every goal replay. ``UpdateState`` ticks go into tick blocks (see
``companion.tickblock``), cut at every other message and at least every 250 ms; a tick is kept
verbatim inside its block at a scoreboard change, at replay start and end, and about once a second.
While storage is behind (``stalled``), ticks coalesce: only the latest is kept, replay boundaries
excepted, and the block says how many were folded into it.

Decoding is deferred: a tick in the game's own framing (``{"Event":"UpdateState","Data":"…"}``) is
only recognised by its first bytes when it arrives and kept as it came; the pending ticks are
decoded, judged (keyframe or not) and packed together when the block is cut, in one warm loop, in
order. Only while storage is behind is each tick decoded on arrival, to coalesce it.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import orjson

from companion.model import NewEvent
from companion.tickblock import (
    TICK_BLOCK_EVENT,
    TickBlockEncoder,
    TickValues,
    Unpackable,
    values_of,
)

SOURCE = "statsapi"
BLOCK_MAX_AGE_US = 250_000
KEYFRAME_EVERY_US = 1_000_000
BLOCK_MAX_TICKS = 240
TICK_PREFIX = b'{"Event":"UpdateState","Data":"'


@dataclass
class SessionCounters:
    messages: int = 0
    ticks: int = 0
    events: int = 0
    echoes_dropped: int = 0
    undecodable: int = 0
    ticks_coalesced: int = 0
    blocks: int = 0


@dataclass(slots=True)
class _Held:
    """The latest tick while ticks coalesce."""

    seq: int
    received_at_us: int
    data: dict[str, Any]
    text: str | None
    tick: TickValues
    keyframe: bool


# A tick waiting for its block: seq, receive time, the raw message (or its decoded data and
# ``Data`` text) and, when already decided, whether it is a keyframe.
_Pending = tuple[int, int, bytes | tuple[dict[str, Any], str | None], bool | None]


def is_goal_echo(data: Any) -> bool:
    """The empty ``GoalScored`` the game repeats after a goal replay: no scorer, no speed."""
    if not isinstance(data, dict):
        return False
    scorer = data.get("Scorer")
    name = scorer.get("Name") if isinstance(scorer, dict) else None
    return not name and not data.get("GoalSpeed") and not data.get("GoalTime")


class FeedSession:
    """Turns the messages of one connection into journal rows passed to ``emit``."""

    def __init__(
        self,
        stream: str,
        emit: Callable[[list[NewEvent]], None],
        stalled: Callable[[], bool] = lambda: False,
    ) -> None:
        self.stream = stream
        self.counters = SessionCounters()
        self._emit = emit
        self._stalled = stalled
        self._seq = 0
        self._encoder = TickBlockEncoder()
        self._pending: list[_Pending] = []
        self._last_keyframe_us: int | None = None
        self._last_scoreboard: bytes | None = None
        self._last_replay: bool | None = None
        self._held: _Held | None = None  # the coalesced tick; never held while ticks pend
        self._folded = 0

    def on_message(self, raw: bytes, received_at_us: int) -> None:
        self._seq += 1
        self.counters.messages += 1
        if raw.startswith(TICK_PREFIX) and not self._stalled():
            self._pend((self._seq, received_at_us, raw, None))
            return
        decoded = self._decode(raw)
        if decoded is None:
            return
        event, data, text = decoded
        if event == "UpdateState" and isinstance(data, dict):
            self._on_tick(self._seq, received_at_us, data, text)
            return
        rows = self._cut()
        row = self._discrete(self._seq, received_at_us, event, data)
        if row is not None:
            rows.append(row)
        self._send(rows)

    def poll(self, now_us: int) -> None:
        """Cut the open block once it is old enough (called when messages pause, too)."""
        if self._pending:
            if now_us - self._pending[0][1] >= BLOCK_MAX_AGE_US:
                self._send(self._flush())
        elif self._held is not None and now_us - self._held.received_at_us >= BLOCK_MAX_AGE_US:
            self._send(self._cut_held())

    def close(self) -> None:
        self._send(self._cut())

    def _send(self, rows: list[NewEvent]) -> None:
        if rows:
            self._emit(rows)

    # -- messages -----------------------------------------------------------------------------

    def _decode(self, raw: bytes) -> tuple[str, Any, str | None] | None:
        """Event name, data (``Data`` decoded again when it is a string) and ``Data``'s text."""
        try:
            message = orjson.loads(raw)
            event = message["Event"]
            if not isinstance(event, str) or not event:
                raise ValueError("no event name")
        except (orjson.JSONDecodeError, KeyError, TypeError, ValueError):
            self.counters.undecodable += 1
            return None
        data = message.get("Data", {})
        text = None
        if isinstance(data, str):
            text = data
            with contextlib.suppress(orjson.JSONDecodeError):  # else kept as the string it was
                data = orjson.loads(data)
        return event, data, text

    def _discrete(self, seq: int, received_at_us: int, event: str, data: Any) -> NewEvent | None:
        if event == "GoalScored" and is_goal_echo(data):
            self.counters.echoes_dropped += 1
            return None
        self.counters.events += 1
        return NewEvent(SOURCE, self.stream, seq, event[:64], _json(data), received_at_us)

    def _pend(self, item: _Pending) -> None:
        """Queue a tick for the open block; cut the block when it is full or old enough."""
        if self._held is not None:
            self._send(self._cut_held())  # the held tick came first
        pending = self._pending
        pending.append(item)
        if len(pending) >= BLOCK_MAX_TICKS or item[1] - pending[0][1] >= BLOCK_MAX_AGE_US:
            self._send(self._flush())

    def _on_tick(
        self, seq: int, received_at_us: int, data: dict[str, Any], text: str | None
    ) -> None:
        """A decoded tick: pending as usual, or, while storage is behind, coalesced."""
        if not self._stalled():
            self._pend((seq, received_at_us, (data, text), None))
            return
        rows = self._flush()
        try:
            tick = values_of(data)
        except Unpackable:
            rows += self._cut_held()
            rows.append(self._verbatim(seq, received_at_us, data))
            self._emit(rows)
            return
        self.counters.ticks += 1
        keyframe, boundary = self._judge(received_at_us, tick)
        if boundary:  # replay start or end: never folded
            rows += self._cut_held()
            self._pending.append((seq, received_at_us, (data, text), keyframe))
        elif self._held is not None:
            self._folded += 1
            self.counters.ticks_coalesced += 1
            keyframe = keyframe or self._held.keyframe
            self._held = _Held(seq, received_at_us, data, text, tick, keyframe)
        else:
            self._held = _Held(seq, received_at_us, data, text, tick, keyframe)
        if rows:
            self._emit(rows)

    def _judge(self, received_at_us: int, tick: TickValues) -> tuple[bool, bool]:
        """Whether a tick is a keyframe and whether it starts or ends a replay."""
        replay = tick.replay
        scoreboard = tick.scoreboard
        last_replay = self._last_replay
        keyframe = (
            self._last_keyframe_us is None
            or received_at_us - self._last_keyframe_us >= KEYFRAME_EVERY_US
            or scoreboard != self._last_scoreboard
            or replay != last_replay
        )
        self._last_scoreboard = scoreboard
        self._last_replay = replay
        if keyframe:
            self._last_keyframe_us = received_at_us
        return keyframe, last_replay is not None and replay != last_replay

    # -- blocks -------------------------------------------------------------------------------

    def _flush(self) -> list[NewEvent]:
        """Decode, judge and pack the pending ticks, in order, into rows."""
        rows: list[NewEvent] = []
        if not self._pending:
            return rows
        pending, self._pending = self._pending, []
        encoder = self._encoder
        loads = orjson.loads
        for seq, received_at_us, item, decided in pending:
            if type(item) is bytes:
                try:  # the usual case, in short: the game's framing, Data a JSON object
                    message = loads(item)
                    text = message["Data"]
                    data = loads(text)
                    usual = type(data) is dict and message["Event"] == "UpdateState"
                except (orjson.JSONDecodeError, KeyError, TypeError):
                    usual = False
                if not usual:
                    decoded = self._decode(item)
                    if decoded is None:
                        continue
                    event, data, text = decoded
                    if event != "UpdateState" or not isinstance(data, dict):
                        if encoder.count:
                            rows.append(self._encode_block())
                        row = self._discrete(seq, received_at_us, event, data)
                        if row is not None:
                            rows.append(row)
                        continue
            else:
                data, text = item
            try:
                tick = values_of(data)
            except Unpackable:
                if encoder.count:
                    rows.append(self._encode_block())
                rows.append(self._verbatim(seq, received_at_us, data))
                continue
            if decided is None:
                self.counters.ticks += 1
                keyframe = self._judge(received_at_us, tick)[0]
            else:
                keyframe = decided
            if encoder.count and not encoder.fits(seq, received_at_us, tick):
                rows.append(self._encode_block())
            verbatim = None
            if keyframe or not tick.exact:
                verbatim = text.encode() if text is not None else orjson.dumps(data)
            encoder.add(seq, received_at_us, tick, verbatim)
        if encoder.count:
            rows.append(self._encode_block())
        return rows

    def _cut_held(self) -> list[NewEvent]:
        """The held (coalesced) tick as a block of its own."""
        held = self._held
        if held is None:
            return []
        self._held = None
        verbatim = None
        if held.keyframe or not held.tick.exact:
            verbatim = held.text.encode() if held.text is not None else orjson.dumps(held.data)
        self._encoder.add(held.seq, held.received_at_us, held.tick, verbatim)
        row = self._encode_block(coalesced=self._folded)
        self._folded = 0
        return [row]

    def _cut(self) -> list[NewEvent]:
        """Everything not yet journaled, as rows: the held tick, then the pending ticks."""
        return self._cut_held() + self._flush()

    def _verbatim(self, seq: int, received_at_us: int, data: dict[str, Any]) -> NewEvent:
        """A tick no block can hold, journaled as it is."""
        self.counters.ticks += 1
        return NewEvent(SOURCE, self.stream, seq, "UpdateState", _json(data), received_at_us)

    def _encode_block(self, coalesced: int = 0) -> NewEvent:
        block, payload = self._encoder.encode(coalesced)
        self.counters.blocks += 1
        return NewEvent(
            SOURCE,
            self.stream,
            block["first_seq"],
            TICK_BLOCK_EVENT,
            _json(block),
            block["t0_us"],
            payload,
        )


def _json(value: Any) -> str:
    return orjson.dumps(value).decode()
