"""SQL of the latest state per stream: the one derived table before the match stats exist."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass

from companion.model import JournalRow


@dataclass(frozen=True, slots=True)
class StreamState:
    source: str
    stream: str
    seq: int | None
    journal_id: int
    event: str
    data: str
    updated_at_us: int


def get(conn: sqlite3.Connection, source: str, stream: str) -> StreamState | None:
    row = conn.execute(
        "SELECT source, stream, seq, journal_id, event, data, updated_at FROM stream_state "
        "WHERE source = ? AND stream = ?",
        (source, stream),
    ).fetchone()
    return StreamState(*row) if row else None


def current_seq(conn: sqlite3.Connection, source: str, stream: str) -> int | None:
    """The stored ``seq`` of a stream's latest state (None: no state, or no seq)."""
    row = conn.execute(
        "SELECT seq FROM stream_state WHERE source = ? AND stream = ?", (source, stream)
    ).fetchone()
    return row[0] if row else None


def put(conn: sqlite3.Connection, row: JournalRow, updated_at_us: int) -> None:
    put_many(conn, [row], updated_at_us)


def put_many(conn: sqlite3.Connection, rows: list[JournalRow], updated_at_us: int) -> None:
    conn.executemany(
        "INSERT OR REPLACE INTO stream_state "
        "(source, stream, seq, journal_id, event, data, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
        [(r.source, r.stream, r.seq, r.id, r.event, r.data, updated_at_us) for r in rows],
    )


def list_all(conn: sqlite3.Connection, limit: int = 1000) -> list[StreamState]:
    rows = conn.execute(
        "SELECT source, stream, seq, journal_id, event, data, updated_at FROM stream_state "
        "ORDER BY updated_at DESC LIMIT ?",
        (limit,),
    ).fetchall()
    return [StreamState(*row) for row in rows]


def clear(conn: sqlite3.Connection) -> None:
    conn.execute("DELETE FROM stream_state")
