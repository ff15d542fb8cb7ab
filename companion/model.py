"""Plain values that cross layers: an event on its way into the journal, and a journal row.

``NewEvent`` and ``JournalRow`` are made once per event on the ingest path (a batch of 500 makes
a thousand), so they are msgspec structs: built in C, about a tenth of the cost of a frozen
dataclass, with the same fields, order, defaults, equality and immutability. They hold only
strings, numbers and bytes, so they need no cycle tracking (``gc=False``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import msgspec


class NewEvent(msgspec.Struct, frozen=True, gc=False):
    """One validated event, ready to be appended to the journal.

    ``data`` is the event's payload already encoded as JSON text, so the writer thread only binds
    values. ``seq`` None means the event is never de-duplicated. ``payload`` is binary content
    kept beside ``data`` (a tick block's packed ticks, see ``companion.tickblock``); None for
    every other row.
    """

    source: str
    stream: str
    seq: int | None
    event: str
    data: str
    ts_us: int | None = None
    payload: bytes | None = None


class JournalRow(msgspec.Struct, frozen=True, gc=False):
    """One row of the journal as the worker and the read API see it."""

    id: int
    source: str
    stream: str
    seq: int | None
    event: str
    data: str
    received_at_us: int
    ts_us: int | None
    payload: bytes | None = None


@dataclass(frozen=True, slots=True)
class AppendResult:
    """What one append (one request) did: a journal id per item, in order."""

    ids: tuple[int, ...]
    accepted: int
    duplicates: int
    # The rows this append created, in id order: the writer hands them to the worker so it need
    # not read back what it has just written.
    new_rows: tuple[JournalRow, ...] = field(default=(), repr=False, compare=False)


@dataclass(frozen=True, slots=True)
class MatchSummary:
    """One match in a line, for glances (the tray menu, notifications): kept in memory by the
    worker as it applies rows, so reading it never touches the database.

    ``scores`` is ``(blue, orange)`` (team 0, team 1), ``None`` where unknown. ``result`` is for
    "me": ``win``, ``loss``, ``abandoned`` or ``None`` (me unknown, or the match is live).
    ``state``: ``live``, ``complete``, ``abandoned`` or ``incomplete``.
    """

    match_id: int
    key: str
    state: str
    result: str | None
    my_team: int | None
    scores: tuple[int | None, int | None]
    mode: str | None
    arena: str | None
    started_at_us: int
    ended_at_us: int | None
