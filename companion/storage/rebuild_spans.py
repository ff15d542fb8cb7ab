"""SQL of a rebuild on several cores: where the journal may be cut, and joining the tables a
span of it was derived into (a database of its own) onto the main one, in journal order.

See :mod:`companion.pipeline.parallel_rebuild` for why a cut at a quiet moment is exact.
"""

from __future__ import annotations

import sqlite3

from companion.derive.keys import online_key
from companion.storage.match_store import MATCH_CHILD_TABLES, segments

# The time derivation reads a row at (``MatchDerivation``: the reader's own stamp, else the
# receive time), and the latest such time of any row before it.
_QUIET_GAPS = """
    SELECT id, at FROM (
        SELECT id, at, MAX(at) OVER (ORDER BY id ROWS BETWEEN UNBOUNDED PRECEDING
                                     AND 1 PRECEDING) AS before
        FROM (
            SELECT id, CASE WHEN source = :reader AND ts THEN ts ELSE received_at END AS at
            FROM journal WHERE id <= :through
        )
    )
    WHERE at - before >= :quiet
    ORDER BY id
"""


def quiet_rows(
    conn: sqlite3.Connection, through: int, quiet_us: int, reader_source: str
) -> list[tuple[int, int]]:
    """``(journal id, time)`` of the rows that come at least ``quiet_us`` after every row
    before them: where nothing of the journal before can still be open."""
    rows = conn.execute(
        _QUIET_GAPS, {"reader": reader_source, "through": through, "quiet": quiet_us}
    ).fetchall()
    return [(int(i), int(at)) for i, at in rows]


def count_rows_between(conn: sqlite3.Connection, first: int, last: int) -> int:
    (count,) = conn.execute(
        "SELECT count(*) FROM journal WHERE id BETWEEN ? AND ?", (first, last)
    ).fetchone()
    return int(count)


def span_guids(conn: sqlite3.Connection) -> tuple[str | None, str | None]:
    """The GUIDs of the first and the last match derived (``None``: none, or offline)."""
    first = conn.execute("SELECT guid FROM matches ORDER BY id LIMIT 1").fetchone()
    last = conn.execute("SELECT guid FROM matches ORDER BY id DESC LIMIT 1").fetchone()
    return (first[0] or None) if first else None, (last[0] or None) if last else None


def dead_letter_errors(conn: sqlite3.Connection) -> list[str]:
    return [row[0] for row in conn.execute("SELECT error FROM dead_letters ORDER BY journal_id")]


def _copy(
    conn: sqlite3.Connection, span: sqlite3.Connection, table: str, fix: dict[int, int]
) -> None:
    """Every row of ``table`` from ``span`` into ``conn``, column ``k`` moved by ``fix[k]``."""
    cursor = span.execute(f"SELECT * FROM {table}")
    names = [d[0] for d in cursor.description]
    rows = cursor.fetchall()
    if not rows:
        return
    if fix:
        rows = [
            tuple(v + fix[k] if k in fix and v is not None else v for k, v in enumerate(row))
            for row in rows
        ]
    marks = ", ".join("?" * len(names))
    conn.executemany(f"INSERT INTO {table} ({', '.join(names)}) VALUES ({marks})", rows)


def append_span(conn: sqlite3.Connection, span: sqlite3.Connection) -> None:
    """Join the tables derived from one span of the journal (``span``) onto ``conn``'s, as if
    the span had been derived right after what ``conn`` holds: match ids go on from the last
    one, and a lobby GUID seen before goes on with its segments."""
    (offset,) = conn.execute("SELECT coalesce(max(id), 0) FROM matches").fetchone()
    tops = segments(conn)
    cursor = span.execute("SELECT * FROM matches ORDER BY id")
    names = [d[0] for d in cursor.description]
    at = {name: k for k, name in enumerate(names)}
    matches = []
    for row in cursor.fetchall():
        values = list(row)
        values[at["id"]] += offset
        guid, segment = values[at["guid"]], values[at["segment"]]
        if guid and segment is not None and guid in tops:
            values[at["segment"]] = segment + tops[guid]
            values[at["key"]] = online_key(guid, segment + tops[guid])
        matches.append(values)
    if matches:
        marks = ", ".join("?" * len(names))
        conn.executemany(f"INSERT INTO matches ({', '.join(names)}) VALUES ({marks})", matches)
    for table in MATCH_CHILD_TABLES:
        _copy(conn, span, table, {0: offset})  # match_id first
    _copy(conn, span, "session_marks", {})
    _copy(conn, span, "dead_letters", {})
    # The latest state per stream: a later span's is later (its seqs are above the ones before).
    cursor = span.execute("SELECT * FROM stream_state")
    names = [d[0] for d in cursor.description]
    marks = ", ".join("?" * len(names))
    conn.executemany(
        f"INSERT OR REPLACE INTO stream_state ({', '.join(names)}) VALUES ({marks})",
        cursor.fetchall(),
    )
    open_from, generation = span.execute(
        "SELECT open_from, generation FROM derive_state WHERE singleton = 1"
    ).fetchone()
    conn.execute(
        "UPDATE derive_state SET open_from = ?, generation = generation + ? WHERE singleton = 1",
        (open_from, generation),
    )
