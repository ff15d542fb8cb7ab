"""SQL of the journal: append in arrival order, read in id order, worker progress, dead letters.

Every function takes a connection and runs inside the caller's transaction, so the writer thread
decides what commits together. A row's ``data`` is JSON text; its optional ``payload`` is a BLOB
beside it (a tick block's packed ticks), NULL for other rows.
"""

from __future__ import annotations

import functools
import sqlite3
from collections.abc import Sequence
from typing import Any

from msgspec.structs import astuple

from companion.model import AppendResult, JournalRow, NewEvent

_INSERT = (
    "INSERT OR IGNORE INTO journal (source, stream, seq, event, data, received_at, ts, payload) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
)
_FIND = "SELECT id FROM journal WHERE source = ? AND stream = ? AND seq = ?"
_IN_CHUNK = 500  # bound parameters per IN (...) query
_COLUMNS = "id, source, stream, seq, event, data, received_at, ts, payload"


def append(
    conn: sqlite3.Connection, events: Sequence[NewEvent], received_at_us: int
) -> AppendResult:
    """Append ``events`` in order. A repeated ``(source, stream, seq)`` is not stored again; it
    gets the id of the row it repeats (also when that row came earlier in the same call).

    Must run inside the single writer's transaction: the new rows' ids are read back as the ids
    above the previous maximum, which holds only while nobody else inserts.
    """
    if len(events) == 1:
        return _append_one(conn, events[0], received_at_us)
    # Most batches repeat nothing: they go in as they are, with no look-up first. When the unique
    # index refuses a chunk, SQLite undoes that statement alone (the transaction goes on), and
    # the rest of the batch takes the careful path, which sees the chunks before as stored.
    ids: list[int] = []
    done = 0
    try:
        for size in _chunk_sizes(len(events)):
            last = _insert_chunk(conn, events[done : done + size], received_at_us)
            ids += range(last - size + 1, last + 1)
            done += size
    except sqlite3.IntegrityError:
        if done == 0:
            return _append_checked(conn, events, received_at_us)
        rest = _append_checked(conn, events[done:], received_at_us)
        head = _new_rows(ids, events[:done], received_at_us)
        return AppendResult(
            (*ids, *rest.ids), done + rest.accepted, rest.duplicates, head + rest.new_rows
        )
    return AppendResult(tuple(ids), done, 0, _new_rows(ids, events, received_at_us))


def _new_rows(
    ids: Sequence[int], events: Sequence[NewEvent], received_at_us: int
) -> tuple[JournalRow, ...]:
    return tuple(
        JournalRow(
            row_id, e.source, e.stream, e.seq, e.event, e.data, received_at_us, e.ts_us, e.payload
        )
        for row_id, e in zip(ids, events, strict=True)
    )


def _append_checked(
    conn: sqlite3.Connection, events: Sequence[NewEvent], received_at_us: int
) -> AppendResult:
    """``append`` for a batch that repeats something: the stored keys are looked up first."""
    stored = _stored_ids(conn, events)
    first: dict[tuple[str, str, int], int] = {}
    new: list[NewEvent] = []
    refs: list[int] = []  # per event: an index into ``new``, or -(stored id) - 1
    for event in events:
        if event.seq is not None:
            key = (event.source, event.stream, event.seq)
            if key in stored:
                refs.append(-stored[key] - 1)
                continue
            if key in first:
                refs.append(first[key])
                continue
            first[key] = len(new)
        refs.append(len(new))
        new.append(event)
    new_ids: Sequence[int] = ()
    if new:
        new_ids = _insert_many(conn, new, received_at_us)
    ids = tuple(new_ids[ref] if ref >= 0 else -ref - 1 for ref in refs)
    accepted = len(new)
    return AppendResult(
        ids, accepted, len(events) - accepted, _new_rows(new_ids, new, received_at_us)
    )


def _append_one(conn: sqlite3.Connection, event: NewEvent, received_at_us: int) -> AppendResult:
    values = (event.source, event.stream, event.seq, event.event, event.data)
    cursor = conn.execute(_INSERT, (*values, received_at_us, event.ts_us, event.payload))
    if cursor.rowcount == 1:
        row_id = cursor.lastrowid or 0
        e = event
        row = JournalRow(
            row_id, e.source, e.stream, e.seq, e.event, e.data, received_at_us, e.ts_us, e.payload
        )
        return AppendResult((row_id,), 1, 0, (row,))
    row = conn.execute(_FIND, (event.source, event.stream, event.seq)).fetchone()
    return AppendResult(ids=(row[0],), accepted=0, duplicates=1)


def _stored_ids(
    conn: sqlite3.Connection, events: Sequence[NewEvent]
) -> dict[tuple[str, str, int], int]:
    """Ids of rows already stored under the ``(source, stream, seq)`` keys of ``events``."""
    seqs: dict[tuple[str, str], list[int]] = {}
    for event in events:
        if event.seq is not None:
            seqs.setdefault((event.source, event.stream), []).append(event.seq)
    found: dict[tuple[str, str, int], int] = {}
    for (source, stream), values in seqs.items():
        for start in range(0, len(values), _IN_CHUNK):
            chunk = values[start : start + _IN_CHUNK]
            marks = ",".join("?" * len(chunk))
            for seq, row_id in conn.execute(
                f"SELECT seq, id FROM journal WHERE source = ? AND stream = ? AND seq IN ({marks})",
                (source, stream, *chunk),
            ):
                found[(source, stream, seq)] = row_id
    return found


def _insert_many(
    conn: sqlite3.Connection, events: list[NewEvent], received_at_us: int
) -> Sequence[int]:
    """Insert ``events`` (known to be new) and return their ids, in order.

    AUTOINCREMENT hands out the ids one above the table's sequence, in order.
    """
    before_row = conn.execute("SELECT seq FROM sqlite_sequence WHERE name = 'journal'").fetchone()
    before = int(before_row[0]) if before_row else 0
    start = 0
    last = before
    for size in _chunk_sizes(len(events)):
        last = _insert_chunk(conn, events[start : start + size], received_at_us)
        start += size
    if last - before == len(events):
        return range(before + 1, last + 1)
    ids = [r[0] for r in conn.execute("SELECT id FROM journal WHERE id > ? ORDER BY id", (before,))]
    if len(ids) != len(events):
        raise RuntimeError("journal ids did not come back as expected (a second writer?)")
    return ids


_CHUNKS = (512, 256, 128, 64, 32, 16, 8, 4, 2, 1)  # few statements per batch, few SQL texts


def _chunk_sizes(count: int) -> list[int]:
    """Rows go in as multi-row INSERT statements of these sizes rather than one statement per
    row: each statement step releases and re-takes the GIL, and under load every re-take waits
    behind the HTTP thread."""
    sizes = []
    while count:
        size = next(size for size in _CHUNKS if size <= count)
        sizes.append(size)
        count -= size
    return sizes


def _insert_chunk(conn: sqlite3.Connection, events: Sequence[NewEvent], received_at_us: int) -> int:
    """Insert ``events`` with one statement and return the last new id. A row that repeats a
    stored key fails the whole statement with IntegrityError, and SQLite undoes it."""
    params: list[Any] = []
    for e in events:
        # NewEvent's fields in their order, which the column list follows.
        params += astuple(e)
        params.append(received_at_us)
    return conn.execute(_insert_rows_sql(len(events)), params).lastrowid or 0


@functools.cache
def _insert_rows_sql(rows: int) -> str:
    values = ", ".join(["(?, ?, ?, ?, ?, ?, ?, ?)"] * rows)
    return (
        "INSERT INTO journal (source, stream, seq, event, data, ts, payload, received_at) VALUES "
        + values
    )


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


def dead_letter_ids(conn: sqlite3.Connection, first_id: int, last_id: int) -> set[int]:
    rows = conn.execute(
        "SELECT journal_id FROM dead_letters WHERE journal_id BETWEEN ? AND ?", (first_id, last_id)
    ).fetchall()
    return {row[0] for row in rows}


def clear_dead_letters(conn: sqlite3.Connection) -> None:
    """Forget every dead letter (a rebuild tries those rows again)."""
    conn.execute("DELETE FROM dead_letters")


def last_id(conn: sqlite3.Connection) -> int:
    row = conn.execute("SELECT max(id) FROM journal").fetchone()
    return int(row[0] or 0)


def count_rows(conn: sqlite3.Connection, through_id: int) -> int:
    return int(
        conn.execute("SELECT count(*) FROM journal WHERE id <= ?", (through_id,)).fetchone()[0]
    )
