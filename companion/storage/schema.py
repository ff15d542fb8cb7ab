"""Numbered schema migrations, applied in order and recorded in ``PRAGMA user_version``.

A migration is never edited once released: a change to the schema is a new entry at the end.
"""

from __future__ import annotations

MIGRATIONS: tuple[str, ...] = (
    # 1: the journal (the durable FIFO queue and the single source of truth), the worker's
    # progress, dead letters, and the latest state per stream.
    """
    CREATE TABLE journal (
        id INTEGER PRIMARY KEY AUTOINCREMENT,  -- AUTOINCREMENT: ids are never reused
        source TEXT NOT NULL,
        stream TEXT NOT NULL,
        seq INTEGER,
        event TEXT NOT NULL,
        data TEXT NOT NULL,
        received_at INTEGER NOT NULL,          -- microseconds since the epoch, UTC
        ts INTEGER                             -- the client's own time, microseconds, optional
    );
    CREATE UNIQUE INDEX journal_dedup ON journal (source, stream, seq) WHERE seq IS NOT NULL;

    -- Rows are applied strictly in id order, so what is applied is a prefix of the journal:
    -- one number says where the worker is.
    CREATE TABLE worker_progress (
        singleton INTEGER PRIMARY KEY CHECK (singleton = 1),
        applied_through INTEGER NOT NULL
    );
    INSERT INTO worker_progress (singleton, applied_through) VALUES (1, 0);

    CREATE TABLE dead_letters (
        journal_id INTEGER PRIMARY KEY REFERENCES journal (id),
        error TEXT NOT NULL,
        failed_at INTEGER NOT NULL
    );

    CREATE TABLE stream_state (
        source TEXT NOT NULL,
        stream TEXT NOT NULL,
        seq INTEGER,
        journal_id INTEGER NOT NULL,
        event TEXT NOT NULL,
        data TEXT NOT NULL,
        updated_at INTEGER NOT NULL,
        PRIMARY KEY (source, stream)
    );
    """,
    # 2: binary content beside a row's JSON data (a tick block's packed ticks); NULL otherwise.
    """
    ALTER TABLE journal ADD COLUMN payload BLOB;
    """,
)

SCHEMA_VERSION = len(MIGRATIONS)
