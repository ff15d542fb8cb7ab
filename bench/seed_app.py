"""Target (c): the "seed design" companion replaced, for comparison.

One in-memory ``asyncio.Queue`` and one worker coroutine that does one SQLite INSERT and one
COMMIT per event with the blocking ``sqlite3`` API on the event loop (WAL, default
synchronous=FULL). The handler parses the body, puts it on the queue and answers 202 *before*
anything is written, so an answer promises nothing about durability, and every fsync stalls the
loop that serves requests.

Run by ``bench/ingest.py`` as ``python bench/seed_app.py <database>``; prints ``PORT <n>``.
``GET /stats`` reports the queue backlog and rows written, so the benchmark can wait for the
backlog to drain before measuring another target.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
import sys
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import Response

app = FastAPI(docs_url=None, redoc_url=None, openapi_url=None)
queue: asyncio.Queue[Any] = asyncio.Queue()
written = 0
_conn: sqlite3.Connection | None = None
_ACCEPTED = b'{"accepted":1}'


def open_db(path: str) -> sqlite3.Connection:
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA journal_mode = WAL")  # synchronous stays at its default, FULL
    conn.execute(
        "CREATE TABLE IF NOT EXISTS events (id INTEGER PRIMARY KEY, source TEXT, stream TEXT,"
        " seq INTEGER, event TEXT, data TEXT)"
    )
    conn.commit()
    return conn


async def worker() -> None:
    global written
    assert _conn is not None
    while True:
        item = await queue.get()
        for event in item if isinstance(item, list) else [item]:
            _conn.execute(
                "INSERT INTO events (source, stream, seq, event, data) VALUES (?, ?, ?, ?, ?)",
                (
                    event.get("source"),
                    event.get("stream"),
                    event.get("seq"),
                    event.get("event"),
                    json.dumps(event.get("data")),
                ),
            )
            _conn.commit()
            written += 1


@app.post("/api/v1/events")
async def ingest(request: Request) -> Response:
    queue.put_nowait(await request.json())
    return Response(_ACCEPTED, status_code=202, media_type="application/json")


@app.get("/stats")
async def stats() -> dict[str, int]:
    return {"queued": queue.qsize(), "written": written}


_tasks: set[asyncio.Task[None]] = set()


async def start_worker() -> None:
    _tasks.add(asyncio.get_running_loop().create_task(worker()))


if __name__ == "__main__":
    from _serve import serve

    _conn = open_db(sys.argv[1])
    serve(app, before=start_worker)
