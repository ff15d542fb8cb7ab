"""One connection's worth of Stats API messages turned into journal rows, in order.

Pure logic, no sockets: the reader hands each framed message here with its receive time. Each
message gets the next ``seq`` of the connection's stream. Discrete events are journaled verbatim
(with ``Data`` decoded a second time when it is a string), except the empty ``GoalScored`` echo the
game sends after every goal replay. ``UpdateState`` ticks go into tick blocks (see
``companion.tickblock``), cut at every other message and at least every 250 ms; a tick is kept
verbatim inside its block at a scoreboard change, at replay start and end, and about once a second.
While storage is behind (``stalled``), ticks coalesce: only the latest is kept, replay boundaries
excepted, and the block says how many were folded into it.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import orjson

from companion.model import NewEvent
from companion.tickblock import STAT_FIELDS, TICK_BLOCK_EVENT, TickBlockBuilder

SOURCE = "statsapi"
BLOCK_MAX_AGE_US = 250_000
KEYFRAME_EVERY_US = 1_000_000
BLOCK_MAX_TICKS = 240


@dataclass
class SessionCounters:
    messages: int = 0
    ticks: int = 0
    events: int = 0
    echoes_dropped: int = 0
    undecodable: int = 0
    ticks_coalesced: int = 0
    blocks: int = 0


def is_goal_echo(data: Any) -> bool:
    """The empty ``GoalScored`` the game repeats after a goal replay: no scorer, no speed."""
    if not isinstance(data, dict):
        return False
    scorer = data.get("Scorer")
    name = scorer.get("Name") if isinstance(scorer, dict) else None
    return not name and not data.get("GoalSpeed") and not data.get("GoalTime")


def _scoreboard(data: dict[str, Any]) -> tuple[Any, ...]:
    game = data.get("Game") or {}
    teams = tuple(t.get("Score") for t in game.get("Teams") or [] if isinstance(t, dict))
    players = tuple(
        tuple(p.get(name) for name in STAT_FIELDS)
        for p in data.get("Players") or []
        if isinstance(p, dict)
    )
    return teams, players


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
        self._block = TickBlockBuilder()
        self._last_keyframe_us: int | None = None
        self._last_scoreboard: tuple[Any, ...] | None = None
        self._last_replay: bool | None = None
        self._held: tuple[int, int, dict[str, Any], bool] | None = None  # a coalesced tick
        self._folded = 0

    def on_message(self, raw: bytes, received_at_us: int) -> None:
        self._seq += 1
        self.counters.messages += 1
        try:
            message = orjson.loads(raw)
            event = message["Event"]
            if not isinstance(event, str) or not event:
                raise ValueError("no event name")
        except (orjson.JSONDecodeError, KeyError, TypeError, ValueError):
            self.counters.undecodable += 1
            return
        data = message.get("Data", {})
        if isinstance(data, str):
            with contextlib.suppress(orjson.JSONDecodeError):  # else kept as the string it was
                data = orjson.loads(data)
        if event == "UpdateState" and isinstance(data, dict):
            self._on_tick(self._seq, received_at_us, data)
            return
        if event == "GoalScored" and is_goal_echo(data):
            self.counters.echoes_dropped += 1
            return
        self.counters.events += 1
        rows = self._cut()
        rows.append(
            NewEvent(SOURCE, self.stream, self._seq, event[:64], _json(data), received_at_us)
        )
        self._emit(rows)

    def poll(self, now_us: int) -> None:
        """Cut the open block once it is old enough (called when messages pause, too)."""
        started = self._held[1] if self._held else self._block.t0_us
        if (self._block.count or self._held) and now_us - started >= BLOCK_MAX_AGE_US:
            rows = self._cut()
            if rows:
                self._emit(rows)

    def close(self) -> None:
        rows = self._cut()
        if rows:
            self._emit(rows)

    def _on_tick(self, seq: int, received_at_us: int, data: dict[str, Any]) -> None:
        self.counters.ticks += 1
        game = data.get("Game")
        replay = bool(game.get("bReplay")) if isinstance(game, dict) else False
        scoreboard = _scoreboard(data)
        keyframe = (
            self._last_keyframe_us is None
            or received_at_us - self._last_keyframe_us >= KEYFRAME_EVERY_US
            or scoreboard != self._last_scoreboard
            or replay != self._last_replay
        )
        boundary = self._last_replay is not None and replay != self._last_replay
        self._last_scoreboard = scoreboard
        self._last_replay = replay
        if keyframe:
            self._last_keyframe_us = received_at_us
        rows: list[NewEvent] = []
        if self._stalled() and not boundary:
            if self._held is not None:
                self._folded += 1
                self.counters.ticks_coalesced += 1
                keyframe = keyframe or self._held[3]
            elif self._block.count:
                rows = self._cut()
            self._held = (seq, received_at_us, data, keyframe)
        else:
            if self._held is not None:
                rows = self._cut_held()
            if not self._block.fits(seq, data):
                rows += self._cut()
            self._block.add(seq, received_at_us, data, keyframe)
            full = self._block.count >= BLOCK_MAX_TICKS
            if full or received_at_us - self._block.t0_us >= BLOCK_MAX_AGE_US:
                rows += self._cut()
        if rows:
            self._emit(rows)

    def _cut_held(self) -> list[NewEvent]:
        """The open block, then the held (coalesced) tick as a block of its own."""
        if self._held is None:
            return self._cut()
        seq, received, data, keyframe = self._held
        self._held = None
        rows = self._cut()
        self._block.add(seq, received, data, keyframe)
        rows.append(self._encode_block(coalesced=self._folded))
        self._folded = 0
        return rows

    def _cut(self) -> list[NewEvent]:
        """Everything not yet journaled, as rows: the open block, then any held tick."""
        if self._held is not None:
            return self._cut_held()
        return [self._encode_block()] if self._block.count else []

    def _encode_block(self, coalesced: int = 0) -> NewEvent:
        block = self._block.encode()
        if coalesced:
            block["coalesced"] = coalesced
        self.counters.blocks += 1
        return NewEvent(
            SOURCE, self.stream, block["first_seq"], TICK_BLOCK_EVENT, _json(block), block["t0_us"]
        )


def _json(value: Any) -> str:
    return orjson.dumps(value).decode()
