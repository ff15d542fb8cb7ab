"""The writer thread: group commit, commit before ack, storage failures, pause, stop."""

from __future__ import annotations

import concurrent.futures
import sqlite3
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from companion.errors import StorageUnavailableError
from companion.model import NewEvent
from companion.pipeline.writer import Writer
from companion.storage import journal
from companion.storage.database import connect


def wait_for(condition: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        time.sleep(0.01)


def _ev(seq: int, stream: str = "s") -> NewEvent:
    return NewEvent("t", stream, seq, "E", "{}")


def _fill_disk(writer: Writer) -> None:
    def cap(conn: sqlite3.Connection) -> None:
        pages = conn.execute("PRAGMA page_count").fetchone()[0]
        conn.execute(f"PRAGMA max_page_count = {pages}")

    writer.call(cap).result(5)


def test_acknowledged_means_committed(writer: Writer, db_path: Path) -> None:
    result = writer.submit([_ev(1), _ev(2)]).result(5)
    # Another connection sees the rows at once: the future resolved after COMMIT.
    reader = connect(db_path, readonly=True)
    rows = journal.read_after(reader, 0, 10)
    reader.close()
    assert [row.id for row in rows] == list(result.ids)


def test_concurrent_submissions_share_commits(writer: Writer, db_path: Path) -> None:
    commits = 0
    original: Callable[..., object] = Writer._commit

    def counting(self: Writer, conn: sqlite3.Connection, appends: list[object]) -> None:
        nonlocal commits
        commits += 1
        original(self, conn, appends)

    writer._commit = counting.__get__(writer)  # type: ignore[method-assign]
    gate = threading.Event()
    writer.call(lambda conn: gate.wait(5))  # hold the writer so submissions pile up
    futures = [writer.submit([_ev(n, stream=f"c{n}")]) for n in range(50)]
    gate.set()
    ids = [future.result(5).ids[0] for future in futures]
    assert ids == sorted(ids), "arrival order is journal order"
    assert commits < 50


def test_full_disk_fails_the_group_and_the_writer_goes_on(writer: Writer) -> None:
    writer.submit([_ev(1)]).result(5)
    _fill_disk(writer)
    big = [NewEvent("t", "s", n, "E", '{"pad": "' + "x" * 2000 + '"}') for n in range(2, 400)]
    with pytest.raises(StorageUnavailableError, match="full"):
        writer.submit(big).result(5)
    assert writer.status().storage_error is not None
    writer.call(lambda conn: conn.execute("PRAGMA max_page_count = 1073741823")).result(5)
    result = writer.submit(big).result(5)
    assert result.accepted == len(big)
    assert writer.status().storage_error is None
    assert writer.status().accepted_total == 1 + len(big)


def test_an_unexpected_exception_does_not_kill_the_thread(writer: Writer) -> None:
    broken = NewEvent("t", "s", 1, "E", object())  # type: ignore[arg-type]
    with pytest.raises(StorageUnavailableError):
        writer.submit([broken]).result(5)
    assert writer.submit([_ev(1)]).result(5).accepted == 1


def test_pause_keeps_accepting_and_resume_catches_up(writer: Writer) -> None:
    writer.pause()
    for n in range(20):
        writer.submit([_ev(n)]).result(5)
    time.sleep(0.3)  # would be plenty to apply if not paused
    assert writer.status().queue_depth == 20
    assert writer.status().applied_total == 0
    writer.resume()
    wait_for(lambda: writer.status().queue_depth == 0)
    assert writer.status().applied_total == 20


def test_stop_commits_what_is_queued(db_path: Path) -> None:
    from companion.pipeline.derivation import LatestStateDerivation
    from companion.pipeline.worker import Worker

    writer = Writer(db_path, Worker(LatestStateDerivation()))
    writer.start()
    gate = threading.Event()
    writer.call(lambda conn: gate.wait(5))
    futures = [writer.submit([_ev(n)]) for n in range(10)]
    stopper = threading.Thread(target=writer.stop)
    stopper.start()
    gate.set()
    stopper.join(10)
    assert all(future.result(1).accepted == 1 for future in futures)
    with pytest.raises(StorageUnavailableError):
        writer.submit([_ev(99)])
    conn = connect(db_path, readonly=True)
    assert len(journal.read_after(conn, 0, 100)) == 10
    conn.close()


def test_queue_depth_counts_rows_not_ids(writer: Writer) -> None:
    writer.pause()
    writer.submit([_ev(1), _ev(1), _ev(2)]).result(5)  # a duplicate leaves a gap in nothing
    writer.submit([_ev(2), _ev(3)]).result(5)
    assert writer.status().queue_depth == 3
    assert writer.status().duplicates_total == 2


def test_many_threads_many_streams_keep_per_stream_order(writer: Writer, db_path: Path) -> None:
    def client(name: str) -> list[int]:
        return [writer.submit([_ev(n, stream=name)]).result(5).ids[0] for n in range(100)]

    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        results = list(pool.map(client, [f"c{n}" for n in range(8)]))
    for ids in results:
        assert ids == sorted(ids)
    wait_for(lambda: writer.status().queue_depth == 0)


def test_commit_now_only_when_nothing_is_queued(writer: Writer, db_path: Path) -> None:
    first = writer.commit_now([_ev(1)], 1)
    assert not isinstance(first, BaseException) and first is not None
    gate = threading.Event()
    writer.call(lambda conn: gate.wait(5))
    queued = writer.submit([_ev(2)])
    # The writer is busy and a job waits: committing here would overtake it.
    assert writer.commit_now([_ev(3)], 1) is None
    gate.set()
    second = queued.result(5)
    assert second.ids[0] > first.ids[0]


def _record_applied(writer: Writer) -> list[int]:
    """The journal ids the writer's derivation applies from now on, in the order it does."""
    seen: list[int] = []
    derivation = writer._worker.derivation
    original = derivation.apply

    def recording(conn: sqlite3.Connection, row: object, now_us: int) -> None:
        seen.append(row.id)  # type: ignore[attr-defined]
        original(conn, row, now_us)  # type: ignore[arg-type]

    derivation.apply = recording  # type: ignore[method-assign]
    return seen


def test_rows_beyond_the_memory_hand_off_are_read_back_in_order(
    writer: Writer, monkeypatch: pytest.MonkeyPatch
) -> None:
    from companion.pipeline import writer as writer_module

    monkeypatch.setattr(writer_module, "FRESH_ROWS_LIMIT", 10)
    seen = _record_applied(writer)
    writer.pause()
    ids = [i for n in range(30) for i in writer.submit([_ev(n)]).result(5).ids]
    writer.resume()
    wait_for(lambda: writer.status().queue_depth == 0)
    more = [i for n in range(30, 40) for i in writer.submit([_ev(n)]).result(5).ids]
    wait_for(lambda: writer.status().queue_depth == 0)
    assert seen == ids + more


class _SlowToEnter(threading.Condition):
    """The writer's condition, entered late from the functions named in ``delays`` (seconds),
    so that what a thread does before it (without the condition) overlaps the other thread."""

    def __init__(self, delays: dict[str, float]) -> None:
        super().__init__()
        self._delays = delays

    def __enter__(self) -> bool:
        delay = self._delays.get(sys._getframe(1).f_code.co_name)
        if delay:
            time.sleep(delay)
        return super().__enter__()


def test_rows_committed_on_the_callers_thread_while_catching_up_keep_their_order(
    db_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """commit_now (the event loop's thread) while the writer thread catches up and goes from
    reading rows back to handing them over in memory: every row applied once, in journal
    order. The delays open the window where the two threads' steps could interleave."""
    from companion.pipeline import writer as writer_module
    from companion.pipeline.derivation import LatestStateDerivation
    from companion.pipeline.worker import Worker

    monkeypatch.setattr(writer_module, "FRESH_ROWS_LIMIT", 5)
    writer = Writer(db_path, Worker(LatestStateDerivation()))
    writer._cond = _SlowToEnter({"_apply": 0.001, "_write": 0.003})
    seen = _record_applied(writer)
    ids: list[int] = []

    def commit() -> None:
        """Commit the next event on this thread as soon as the writer lets go of the database."""
        while (result := writer.commit_now([_ev(len(ids))], len(ids))) is None:
            pass
        assert not isinstance(result, BaseException)
        ids.extend(result.ids)

    writer.start()
    try:
        for _ in range(5):
            for _ in range(10):  # more than the memory hand-off holds: read back later
                commit()
            while not writer._db_lock.locked():  # the writer applies them...
                time.sleep(0.0005)
            commit()  # ... and this lands the moment it is done
            commit()  # one more before the next apply
            time.sleep(0.3)
        wait_for(lambda: writer.status().queue_depth == 0)
    finally:
        writer.stop()
    assert seen == ids
