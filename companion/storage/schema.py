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
    # 3: the match stats, derived from the journal alone (``companion rebuild`` recreates them).
    # Nested values (a player reference, a location, the teams) are JSON text: they are read
    # whole, never queried into. Sessions are not stored: they are worked out at read time from
    # the matches, the session gap setting and the "new session" marks.
    """
    CREATE TABLE matches (
        id INTEGER PRIMARY KEY,                -- stable across rebuilds: matches in journal order
        key TEXT NOT NULL UNIQUE,              -- <GUID>-<segment>, or offline-<start>-...
        guid TEXT NOT NULL,
        segment INTEGER,
        arena TEXT,
        mode TEXT,
        playlist_id INTEGER,
        started_at INTEGER NOT NULL,
        ended_at INTEGER,
        last_at INTEGER NOT NULL,
        duration_s REAL,
        played_s INTEGER,
        overtime INTEGER NOT NULL,
        state TEXT NOT NULL,                   -- live, complete, abandoned, incomplete
        forfeit INTEGER NOT NULL,
        winner_team INTEGER,
        mvp TEXT,                              -- JSON player reference
        me_primary_id TEXT,                    -- detected (camera target); the setting wins on read
        me_team INTEGER,
        teams TEXT NOT NULL,                   -- JSON [{num, name, color_primary, ..., score}]
        approximate INTEGER NOT NULL DEFAULT 0
    );
    CREATE INDEX matches_by_start ON matches (started_at DESC, id DESC);

    CREATE TABLE match_players (
        match_id INTEGER NOT NULL REFERENCES matches (id),
        player_key TEXT NOT NULL,
        name TEXT NOT NULL,
        primary_id TEXT,
        shortcut INTEGER,
        team INTEGER,
        bot INTEGER NOT NULL,
        score INTEGER NOT NULL,
        goals INTEGER NOT NULL,
        shots INTEGER NOT NULL,
        assists INTEGER NOT NULL,
        saves INTEGER NOT NULL,
        touches INTEGER NOT NULL,
        car_touches INTEGER NOT NULL,
        demos INTEGER NOT NULL,
        demos_taken INTEGER NOT NULL,
        telemetry TEXT,                        -- JSON, NULL where the feed gave none
        PRIMARY KEY (match_id, player_key)
    ) WITHOUT ROWID;
    CREATE INDEX match_players_by_id ON match_players (primary_id, match_id);

    CREATE TABLE match_goals (
        match_id INTEGER NOT NULL REFERENCES matches (id),
        idx INTEGER NOT NULL,
        received_at INTEGER NOT NULL,
        clock_s INTEGER,
        overtime INTEGER NOT NULL,
        team INTEGER,
        scorer TEXT,                           -- JSON player references
        assister TEXT,
        last_touch TEXT,
        scorer_primary_id TEXT,
        speed REAL,
        last_touch_speed REAL,
        goal_time INTEGER,
        impact TEXT,                           -- JSON [x, y, z]
        scorer_last_hit TEXT,
        PRIMARY KEY (match_id, idx)
    ) WITHOUT ROWID;
    CREATE INDEX match_goals_by_scorer ON match_goals (scorer_primary_id);

    CREATE TABLE match_events (                -- statfeed, by its stable EventName
        match_id INTEGER NOT NULL REFERENCES matches (id),
        idx INTEGER NOT NULL,
        received_at INTEGER NOT NULL,
        event_name TEXT NOT NULL,
        main TEXT,
        secondary TEXT,
        clock_s INTEGER,
        overtime INTEGER NOT NULL,
        PRIMARY KEY (match_id, idx)
    ) WITHOUT ROWID;

    CREATE TABLE match_touches (               -- every BallHit toucher, packed (storage/touches.py)
        match_id INTEGER PRIMARY KEY REFERENCES matches (id),
        count INTEGER NOT NULL,
        players TEXT NOT NULL,
        data BLOB NOT NULL
    );

    CREATE TABLE crossbar_hits (
        match_id INTEGER NOT NULL REFERENCES matches (id),
        idx INTEGER NOT NULL,
        received_at INTEGER NOT NULL,
        location TEXT,
        ball_speed REAL,
        impact_force REAL,
        last_touch TEXT,
        last_touch_speed REAL,
        PRIMARY KEY (match_id, idx)
    ) WITHOUT ROWID;

    -- "Start a new session now": journaled as an event, kept here by the derivation.
    CREATE TABLE session_marks (
        journal_id INTEGER PRIMARY KEY,
        at INTEGER NOT NULL
    );

    -- Where the derivation stands: the journal row where the open match began (replayed into
    -- memory after a restart), and the derivation's version (a newer one asks for a rebuild).
    -- ``generation`` counts the times a match was closed: aggregates over finished matches
    -- (players met, careers) may be cached until it moves.
    CREATE TABLE derive_state (
        singleton INTEGER PRIMARY KEY CHECK (singleton = 1),
        version INTEGER NOT NULL,
        open_from INTEGER,
        generation INTEGER NOT NULL DEFAULT 0
    );
    INSERT INTO derive_state (singleton, version, open_from) VALUES (1, 1, NULL);
    """,
)

SCHEMA_VERSION = len(MIGRATIONS)
