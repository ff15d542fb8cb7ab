"""The match derivation inside the worker, on a real SQLite file, the clock in the test's hands: a
silent match is closed when the journal is idle, a damaged tick block goes to dead letters
and the match goes on, the in-memory summaries follow the tables."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from companion.model import NewEvent
from companion.pipeline.derivation import Derivations, LatestStateDerivation
from companion.pipeline.match_derivation import MatchDerivation
from companion.pipeline.rebuild import rebuild
from companion.pipeline.worker import Worker
from companion.simulator import SynthOptions, synthesize
from companion.sources.feed_session import FeedSession
from companion.storage import journal, match_queries, match_store
from companion.storage.database import connect, open_database
from companion.tickblock import TICK_BLOCK_EVENT

BASE_US = 1_790_000_000_000_000
MINUTE_US = 60_000_000


def journal_rows(options: SynthOptions) -> list[NewEvent]:
    rows: list[NewEvent] = []
    session = FeedSession("test-1", rows.extend)
    for message in synthesize(options).messages():
        session.on_message(message.raw, BASE_US + round(message.t * 1e6))
    session.close()
    return rows


def append(conn: sqlite3.Connection, rows: list[NewEvent]) -> None:
    conn.execute("BEGIN IMMEDIATE")
    journal.append(conn, rows, BASE_US)
    conn.execute("COMMIT")


def apply_all(worker: Worker, conn: sqlite3.Connection) -> int:
    dead = 0
    while outcome := worker.run_once(conn):
        if not outcome.rows:
            break
        dead += outcome.dead
    return dead


def test_a_silent_match_is_closed_as_incomplete_when_idle(tmp_path: Path) -> None:
    db = tmp_path / "companion.db"
    open_database(db)
    conn = connect(db)
    rows = journal_rows(SynthOptions(seed=4, scenario="incomplete", rate=2, matches=1))
    append(conn, rows)
    now = [BASE_US]
    matches = MatchDerivation(silence_us=15 * MINUTE_US)
    worker = Worker(Derivations([LatestStateDerivation(), matches]), clock=lambda: now[0])
    worker.prepare(conn)
    assert apply_all(worker, conn) == 0
    (live,) = match_queries.list_matches(conn, None, limit=5)[0]
    assert live["state"] == "live"
    assert matches.summaries()[1] is not None

    last_at = conn.execute("SELECT last_at FROM matches").fetchone()[0]
    now[0] = last_at + 14 * MINUTE_US
    worker.run_idle(conn)
    assert match_queries.list_matches(conn, None, limit=5)[0][0]["state"] == "live"
    now[0] = last_at + 16 * MINUTE_US
    worker.run_idle(conn)
    (closed,) = match_queries.list_matches(conn, None, limit=5)[0]
    assert closed["state"] == "incomplete"
    assert closed["ended_at"] is not None
    last, live_now = matches.summaries()
    assert live_now is None and last is not None and last.state == "incomplete"
    conn.close()


def test_a_damaged_tick_block_goes_to_dead_letters_and_the_match_goes_on(tmp_path: Path) -> None:
    db = tmp_path / "companion.db"
    open_database(db)
    conn = connect(db)
    rows = journal_rows(SynthOptions(seed=6, scenario="normal", rate=2, matches=1, mode="1v1"))
    blocks = [i for i, row in enumerate(rows) if row.event == TICK_BLOCK_EVENT]
    victim = blocks[len(blocks) // 2]
    damaged = rows[victim]
    assert damaged.payload is not None
    rows[victim] = NewEvent(
        damaged.source,
        damaged.stream,
        damaged.seq,
        damaged.event,
        damaged.data,
        damaged.ts_us,
        damaged.payload[:5] + b"\xff" * (len(damaged.payload) - 5),
    )
    append(conn, rows)
    worker = Worker(Derivations([LatestStateDerivation(), MatchDerivation()]))
    worker.prepare(conn)
    dead = apply_all(worker, conn)
    assert dead >= 1
    letters = journal.list_dead_letters(conn, 100)
    assert letters[-1]["row"].event == TICK_BLOCK_EVENT
    assert "damaged" in letters[-1]["error"]
    (match,) = match_queries.list_matches(conn, None, limit=5)[0]
    assert match["state"] == "complete"  # the discrete events and later blocks carried on
    assert match_queries.get_match(conn, None, match["id"])["goals"]
    conn.close()


def test_a_plugins_own_events_never_open_or_shift_a_match(tmp_path: Path) -> None:
    rows = journal_rows(SynthOptions(seed=3, scenario="offline", rate=2, matches=1, mode="2v2"))
    noise = [NewEvent("plugin", "default", n, "MyPluginHeartbeat", "{}") for n in range(5)]
    keys = []
    for name, earlier in (("plain", []), ("noisy", noise)):
        db = tmp_path / f"{name}.db"
        open_database(db)
        conn = connect(db)
        if earlier:  # ten seconds before the match: it would have opened it, and moved its start
            conn.execute("BEGIN IMMEDIATE")
            journal.append(conn, earlier, BASE_US - 10_000_000)
            conn.execute("COMMIT")
        append(conn, rows)
        worker = Worker(Derivations([LatestStateDerivation(), MatchDerivation()]))
        worker.prepare(conn)
        assert apply_all(worker, conn) == 0
        keys.append([m["key"] for m in match_queries.list_matches(conn, None, limit=5)[0]])
        conn.close()
    assert keys[0] == keys[1] and len(keys[0]) == 1 and keys[0][0].startswith("offline-")


def test_stats_from_an_older_derivation_are_flagged_until_rebuilt(tmp_path: Path) -> None:
    db = tmp_path / "companion.db"
    open_database(db)
    conn = connect(db)
    append(conn, journal_rows(SynthOptions(seed=1, rate=2, matches=1, mode="1v1")))
    worker = Worker(Derivations([LatestStateDerivation(), MatchDerivation()]))
    worker.prepare(conn)
    apply_all(worker, conn)
    conn.execute("UPDATE derive_state SET version = 0")  # as an older companion left them

    again = MatchDerivation()
    Worker(again).prepare(conn)
    assert again.outdated
    rebuild(conn, silence_us=None)
    after = MatchDerivation()
    Worker(after).prepare(conn)
    assert not after.outdated
    match_store.clear(conn)
    conn.execute("UPDATE derive_state SET version = 0")
    empty = MatchDerivation()
    Worker(empty).prepare(conn)
    assert not empty.outdated  # nothing derived yet: nothing to redo
    conn.close()
