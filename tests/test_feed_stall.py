"""A storage stall never slows the game: the reader drains the socket at line rate while the
writer is held, ticks coalesce, and afterwards no discrete event is missing."""

from __future__ import annotations

import socket
import threading
import time
from pathlib import Path

import orjson

from companion.pipeline.writer import Writer
from companion.sources.outbox import JournalOutbox
from companion.sources.statsapi import StatsApiReader
from companion.storage import journal
from companion.storage.database import connect
from tests.test_feed import state, wire

MESSAGES = 24_000
EVENT_EVERY = 25


CHUNK = 512 * 1024
PAUSE_S = 0.1  # about 5 MB/s: ten times a 3v3 feed at 120 Hz


def serve_once(listener: socket.socket, payload: bytes, done: dict[str, float]) -> None:
    client, _ = listener.accept()
    with client:
        started = time.monotonic()
        slowest = 0.0
        for offset in range(0, len(payload), CHUNK):
            before = time.monotonic()
            client.sendall(payload[offset : offset + CHUNK])  # blocks if the reader stops
            slowest = max(slowest, time.monotonic() - before)
            time.sleep(PAUSE_S)
        done["send_s"] = time.monotonic() - started
        done["slowest_send_s"] = slowest
        done["finished_at"] = time.monotonic()
        time.sleep(1.0)


def start_serving(payload: bytes) -> tuple[socket.socket, threading.Thread, dict[str, float]]:
    """A loopback listener that serves ``payload`` to its first client (``serve_once``)."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    done: dict[str, float] = {}
    sender = threading.Thread(target=serve_once, args=(listener, payload, done), daemon=True)
    sender.start()
    return listener, sender, done


def test_reader_drains_while_the_writer_is_held(writer: Writer, db_path: Path) -> None:
    messages = []
    for n in range(1, MESSAGES + 1):
        if n % EVENT_EVERY == 0:
            messages.append(wire("BallHit", {"Index": n}))
        else:
            messages.append(wire("UpdateState", state(clock=300 - n // 120, touches=n // 500)))
    payload = b"".join(messages)
    assert len(payload) > 16 * 1024 * 1024, "more than any socket buffer holds"

    listener, _sender, done = start_serving(payload)

    gate = threading.Event()
    writer.call(lambda conn: gate.wait(30))  # storage stalls: nothing commits
    held_since = time.monotonic()
    outbox = JournalOutbox(writer.submit)
    reader = StatsApiReader("127.0.0.1", listener.getsockname()[1], outbox)
    reader.start()
    try:
        deadline = time.monotonic() + 25
        while "finished_at" not in done:
            assert time.monotonic() < deadline, "the sender never finished: the reader stalled"
            time.sleep(0.05)
        released_at = time.monotonic()
        assert outbox.stalled
        # Every chunk went out at once: the socket never filled up while storage was held.
        assert done["slowest_send_s"] < 1.0
        gate.set()
        assert outbox.drain(20)
    finally:
        gate.set()
        reader.stop()
        listener.close()
    status = reader.status()
    assert status.messages == MESSAGES
    assert status.ticks_coalesced > 0
    print(
        f"sent {len(payload) / 1e6:.1f} MB in {done['send_s']:.2f} s (slowest chunk "
        f"{done['slowest_send_s'] * 1000:.0f} ms) while storage was held for "
        f"{released_at - held_since:.2f} s; {status.ticks_coalesced} ticks coalesced"
    )

    conn = connect(db_path, readonly=True)
    rows = journal.read_after(conn, 0, 1_000_000)
    conn.close()
    hits = [orjson.loads(r.data)["Index"] for r in rows if r.event == "BallHit"]
    assert hits == list(range(EVENT_EVERY, MESSAGES + 1, EVENT_EVERY))
    assert [r.id for r in rows] == sorted(r.id for r in rows)
    seqs = [r.seq for r in rows]
    assert seqs == sorted(seqs), "journal order is message order"


def test_two_runs_started_within_one_second_journal_apart(writer: Writer, db_path: Path) -> None:
    """A run started within the same second as the one before it (a restart right after a
    crash) reads into streams of its own: its seqs start at 1 again and are new events."""
    payload = b"".join(wire("BallHit", {"Index": n}) for n in range(1, 4))
    outbox = JournalOutbox(writer.submit)
    started = 1_790_000_000_000_000  # a whole second; the second run starts 1 µs later
    for run in range(2):
        listener, sender, done = start_serving(payload)
        port = listener.getsockname()[1]
        reader = StatsApiReader("127.0.0.1", port, outbox, run_started_us=started + run)
        reader.start()
        try:
            sender.join(10)
            assert "finished_at" in done
        finally:
            reader.stop()
            listener.close()
        assert outbox.drain(10)
    conn = connect(db_path, readonly=True)
    rows = journal.read_after(conn, 0, 100)
    conn.close()
    assert [(r.seq, orjson.loads(r.data)["Index"]) for r in rows] == [(1, 1), (2, 2), (3, 3)] * 2
    first, second = rows[0].stream, rows[3].stream
    assert first != second and first.startswith("20260921T141320.")
