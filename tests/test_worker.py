"""The worker: strict journal order, one transaction per batch, dead letters, stale vs fresh."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import orjson
import pytest

from companion.model import JournalRow, NewEvent
from companion.pipeline.derivation import LatestStateDerivation
from companion.pipeline.worker import Worker
from companion.storage import journal, stream_state
from companion.storage.database import connect


class Recording:
    """Records the order rows arrive in; raises for rows whose data says so."""

    def __init__(self) -> None:
        self.seen: list[int] = []
        self._buffered: list[int] = []

    def apply(self, conn: sqlite3.Connection, row: JournalRow, now_us: int) -> None:
        payload = orjson.loads(row.data)
        if payload.get("poison"):
            raise ValueError("poison event")
        if payload.get("disk_full"):
            raise sqlite3.OperationalError("database or disk is full")
        stream_state.put(conn, row, now_us)
        self._buffered.append(row.id)

    def flush(self, conn: sqlite3.Connection, now_us: int) -> None:
        self.seen += self._buffered
        self._buffered.clear()

    def begin(self, conn: sqlite3.Connection, now_us: int) -> None:
        self._buffered.clear()

    def discard(self) -> None:
        self._buffered.clear()

    def reset(self) -> None:
        self._buffered.clear()

    def idle(self, conn: sqlite3.Connection, now_us: int) -> None:
        pass


def _append(conn: sqlite3.Connection, events: list[NewEvent]) -> list[int]:
    conn.execute("BEGIN")
    ids = journal.append(conn, events, 1).ids
    conn.execute("COMMIT")
    return list(ids)


def _ev(seq: int | None, stream: str = "s", **data: object) -> NewEvent:
    return NewEvent("t", stream, seq, "E", orjson.dumps(data).decode())


@pytest.fixture
def conn(db_path: Path) -> sqlite3.Connection:
    return connect(db_path)


def test_rows_are_applied_in_journal_order_in_batches(conn: sqlite3.Connection) -> None:
    ids = _append(conn, [_ev(n, stream=f"s{n % 3}") for n in range(25)])
    recorder = Recording()
    worker = Worker(recorder, batch_size=10)
    outcomes = [worker.run_once(conn) for _ in range(4)]
    assert [o.applied for o in outcomes] == [10, 10, 5, 0]
    assert recorder.seen == ids
    assert journal.applied_through(conn) == ids[-1]
    assert journal.count_pending(conn) == 0


def test_poison_row_goes_to_dead_letters_and_the_batch_goes_on(conn: sqlite3.Connection) -> None:
    ids = _append(conn, [_ev(1), _ev(2, poison=True), _ev(3)])
    recorder = Recording()
    outcome = Worker(recorder).run_once(conn)
    assert (outcome.applied, outcome.dead) == (2, 1)
    assert recorder.seen == [ids[0], ids[2]]
    [letter] = journal.list_dead_letters(conn, 10)
    assert letter["row"].id == ids[1]
    assert "ValueError: poison event" in letter["error"]
    assert journal.applied_through(conn) == ids[2]
    # The poison row's changes were rolled back; the good rows' changes stayed.
    assert stream_state.get(conn, "t", "s") is not None
    assert stream_state.get(conn, "t", "s").journal_id == ids[2]  # type: ignore[union-attr]


def test_storage_failure_is_raised_and_nothing_is_marked(conn: sqlite3.Connection) -> None:
    _append(conn, [_ev(1), _ev(2, disk_full=True)])
    with pytest.raises(sqlite3.OperationalError):
        Worker(Recording()).run_once(conn)
    assert journal.applied_through(conn) == 0
    assert journal.count_dead_letters(conn) == 0
    assert stream_state.get(conn, "t", "s") is None


def test_stale_never_overwrites_fresh(conn: sqlite3.Connection) -> None:
    # seq 5 arrives, then a late retry of seq 3: the state keeps seq 5.
    ids = _append(conn, [_ev(5, v="fresh"), _ev(3, v="stale"), _ev(None, stream="x", v=1)])
    Worker(LatestStateDerivation()).run_once(conn)
    state = stream_state.get(conn, "t", "s")
    assert state is not None and state.seq == 5 and state.journal_id == ids[0]
    assert orjson.loads(state.data) == {"v": "fresh"}
    _append(conn, [_ev(6, v="newer")])
    Worker(LatestStateDerivation()).run_once(conn)
    state = stream_state.get(conn, "t", "s")
    assert state is not None and state.seq == 6


def test_restarted_worker_continues_after_the_last_applied_row(db_path: Path) -> None:
    conn = connect(db_path)
    _append(conn, [_ev(n) for n in range(5)])
    first = Recording()
    Worker(first, batch_size=3).run_once(conn)
    conn.close()
    conn = connect(db_path)  # as after a restart
    second = Recording()
    Worker(second).run_once(conn)
    assert len(first.seen) == 3 and len(second.seen) == 2
    assert second.seen[0] > first.seen[-1]
