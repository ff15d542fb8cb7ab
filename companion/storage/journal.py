"""SQL of the journal: append in arrival order, read in id order, worker progress, dead letters.

Every function takes a connection and runs inside the caller's transaction, so the writer thread
decides what commits together.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from typing import Any

from companion.model import AppendResult, JournalRow, NewEvent

_INSERT = (
    "INSERT OR IGNORE INTO journal (source, stream, seq, event, data, received_at, ts) "
    "VALUES (?, ?, ?, ?, ?, ?, ?)"
)
_FIND = "SELECT id FROM journal WHERE source = ? AND stream = ? AND seq = ?"
_COLUMNS = "id, source, stream, seq, event, data, received_at, ts"


def append(
    conn: sqlite3.Connection, events: Sequence[NewEvent], received_at_us: int
) -> AppendResult:
    """Append ``events`` in order. A repeated ``(source, stream, seq)`` is not stored again; it
    gets the id of the row it repeats (also when that row came earlier in the same call)."""
    ids: list[int] = []
    duplicates = 0
    execute = conn.execute
    for event in events:
        cursor = execute(
            _INSERT,
            (
                event.source,
                event.stream,
                event.seq,
                event.event,
                event.data,
                received_at_us,
                event.ts_us,
            ),
        )
        if cursor.rowcount == 1:
            ids.append(cursor.lastrowid or 0)
        else:
            duplicates += 1
            ids.append(execute(_FIND, (event.source, event.stream, event.seq)).fetchone()[0])
    return AppendResult(ids=tuple(ids), accepted=len(ids) - duplicates, duplicates=duplicates)


def applied_through(conn: sqlite3.Connection) -> int:
    row = conn.execute("SELECT applied_through FROM worker_progress WHERE singleton = 1").fetchone()
    return int(row[0])


def set_applied_through(conn: sqlite3.Connection, journal_id: int) -> None:
    conn.execute(
        "UPDATE worker_progress SET applied_through = ? WHERE singleton = 1", (journal_id,)
    )


def count_pending(conn: sqlite3.Connection) -> int:
    """Rows accepted but not yet applied. Counted: ids have gaps, so never worked out from them."""
    row = conn.execute(
        "SELECT count(*) FROM journal WHERE id > "
        "(SELECT applied_through FROM worker_progress WHERE singleton = 1)"
    ).fetchone()
    return int(row[0])


def read_after(conn: sqlite3.Connection, after_id: int, limit: int) -> list[JournalRow]:
    rows = conn.execute(
        f"SELECT {_COLUMNS} FROM journal WHERE id > ? ORDER BY id LIMIT ?", (after_id, limit)
    ).fetchall()
    return [JournalRow(*row) for row in rows]


def max_id(conn: sqlite3.Connection) -> int:
    return int(conn.execute("SELECT coalesce(max(id), 0) FROM journal").fetchone()[0])


def read_page(
    conn: sqlite3.Connection, after_id: int, limit: int
) -> tuple[list[JournalRow], int, set[int]]:
    """A page of rows for the journal route: rows, the worker's position, dead ids among them."""
    rows = read_after(conn, after_id, limit)
    through = applied_through(conn)
    dead: set[int] = set()
    if rows:
        dead = {
            int(r[0])
            for r in conn.execute(
                "SELECT journal_id FROM dead_letters WHERE journal_id BETWEEN ? AND ?",
                (rows[0].id, rows[-1].id),
            )
        }
    return rows, through, dead


def add_dead_letter(
    conn: sqlite3.Connection, journal_id: int, error: str, failed_at_us: int
) -> None:
    conn.execute(
        "INSERT OR REPLACE INTO dead_letters (journal_id, error, failed_at) VALUES (?, ?, ?)",
        (journal_id, error, failed_at_us),
    )


def count_dead_letters(conn: sqlite3.Connection) -> int:
    return int(conn.execute("SELECT count(*) FROM dead_letters").fetchone()[0])


def list_dead_letters(conn: sqlite3.Connection, limit: int) -> list[dict[str, Any]]:
    rows = conn.execute(
        f"SELECT d.error, d.failed_at, {', '.join('j.' + c.strip() for c in _COLUMNS.split(','))} "
        "FROM dead_letters d JOIN journal j ON j.id = d.journal_id "
        "ORDER BY d.journal_id DESC LIMIT ?",
        (limit,),
    ).fetchall()
    return [{"error": row[0], "failed_at_us": row[1], "row": JournalRow(*row[2:])} for row in rows]
