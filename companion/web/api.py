"""The JSON API besides ingest: health, status, journal, dead letters and control routes.

Handlers stay thin: read through the storage layer or ask the writer, then shape the answer.
"""

from __future__ import annotations

import base64
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, Field

from companion.model import JournalRow
from companion.services import Services
from companion.storage import journal
from companion.timefmt import format_us, now_us
from companion.web.security import check_control_access
from companion.web.settings_api import SettingsEditor, add_settings_routes


class Health(BaseModel):
    status: str
    version: str


class Status(BaseModel):
    version: str
    uptime_s: float
    port: int
    queue_depth: int
    accepted_total: int
    applied_total: int
    duplicates_total: int
    dead_letters: int
    paused: bool
    last_event_at: str | None
    last_applied_at: str | None
    storage_error: str | None
    data_dir: str
    database: str
    game_feed: dict[str, Any]
    stats_outdated: bool = Field(
        default=False,
        description="the stats were derived by an older version: run `companion rebuild`",
    )


class JournalEntry(BaseModel):
    id: int
    source: str
    stream: str
    seq: int | None
    event: str
    received_at: str
    ts: str | None
    applied: bool
    dead: bool
    data: Any = None
    payload: str | None = Field(
        default=None,
        description="with data=1, a row's binary content base64-encoded: a TickBlock row's "
        "packed ticks (see companion.tickblock); null for other rows",
    )


class JournalPage(BaseModel):
    rows: list[JournalEntry]
    next_after: int


class DeadLetter(BaseModel):
    id: int
    source: str
    stream: str
    seq: int | None
    event: str
    received_at: str
    error: str
    failed_at: str
    data: Any


class DeadLetters(BaseModel):
    dead_letters: list[DeadLetter]
    total: int


class Paused(BaseModel):
    paused: bool
    queue_depth: int


def _entry(row: JournalRow, through: int, dead: set[int], with_data: bool) -> JournalEntry:
    return JournalEntry(
        id=row.id,
        source=row.source,
        stream=row.stream,
        seq=row.seq,
        event=row.event,
        received_at=format_us(row.received_at_us) or "",
        ts=format_us(row.ts_us),
        applied=row.id <= through and row.id not in dead,
        dead=row.id in dead,
        data=orjson.loads(row.data) if with_data else None,
        payload=base64.b64encode(row.payload).decode("ascii")
        if with_data and row.payload is not None
        else None,
    )


def create_api_router(services: Services, editor: SettingsEditor | None = None) -> APIRouter:
    router = APIRouter(prefix="/api/v1")

    def control(request: Request) -> None:
        check_control_access(request, services.token, services.port)

    control_only = [Depends(control)]

    @router.get("/health", response_model=Health, tags=["status"])
    def health() -> Health:
        """Answers as soon as the server runs; a second launch and the tray use it."""
        return Health(status="ok", version=services.version)

    @router.get("/status", response_model=Status, tags=["status"])
    def status() -> Status:
        """The pipeline's counters. Totals count since this start; ``queue_depth`` is rows
        accepted but not yet applied (plus any waiting for their commit)."""
        snap = services.writer.status()
        return Status(
            version=services.version,
            uptime_s=round((now_us() - services.started_at_us) / 1e6, 3),
            port=services.port,
            queue_depth=snap.queue_depth,
            accepted_total=snap.accepted_total,
            applied_total=snap.applied_total,
            duplicates_total=snap.duplicates_total,
            dead_letters=snap.dead_letters,
            paused=snap.paused,
            last_event_at=format_us(snap.last_event_at_us),
            last_applied_at=format_us(snap.last_applied_at_us),
            storage_error=snap.storage_error,
            data_dir=str(services.paths.data_dir),
            database=str(services.paths.database),
            game_feed=services.feed_status().as_dict(),
            stats_outdated=services.stats_outdated(),
        )

    @router.get("/journal", response_model=JournalPage, tags=["journal"])
    def read_journal(
        after: Annotated[int, Query(ge=0, description="return rows with an id above this")] = 0,
        limit: Annotated[int, Query(ge=1, le=1000)] = 100,
        data: Annotated[int, Query(ge=0, le=1, description="1 adds each row's data")] = 0,
    ) -> JournalPage:
        """Raw journal rows in journal (= application) order; page with ``next_after``.

        With ``data=1`` each row has its ``data``; a ``TickBlock`` row (the game feed's ticks)
        has a small description there (``v``, ``first_seq``, ``count``, ``t0_us``, ``header``,
        ``coalesced``) and its packed ticks base64-encoded in ``payload``: decode a stream's
        blocks in order with ``companion.tickblock.TickBlockDecoder``."""
        rows, through, dead = journal.read_page(services.readers.get(), after, limit)
        return JournalPage(
            rows=[_entry(row, through, dead, bool(data)) for row in rows],
            next_after=rows[-1].id if rows else after,
        )

    @router.get("/dead-letters", response_model=DeadLetters, tags=["journal"])
    def dead_letters(limit: Annotated[int, Query(ge=1, le=1000)] = 100) -> DeadLetters:
        """Rows whose derivation failed, newest first, with the error; the queue moved on."""
        conn = services.readers.get()
        letters = [
            DeadLetter(
                id=item["row"].id,
                source=item["row"].source,
                stream=item["row"].stream,
                seq=item["row"].seq,
                event=item["row"].event,
                received_at=format_us(item["row"].received_at_us) or "",
                error=item["error"],
                failed_at=format_us(item["failed_at_us"]) or "",
                data=orjson.loads(item["row"].data),
            )
            for item in journal.list_dead_letters(conn, limit)
        ]
        return DeadLetters(dead_letters=letters, total=journal.count_dead_letters(conn))

    @router.post("/pause", response_model=Paused, tags=["control"], dependencies=control_only)
    def pause() -> Paused:
        """Pause applying: ingest keeps accepting and journaling, the queue grows."""
        services.writer.pause()
        return Paused(paused=True, queue_depth=services.writer.queue_depth)

    @router.post("/resume", response_model=Paused, tags=["control"], dependencies=control_only)
    def resume() -> Paused:
        """Resume applying; stats catch up in journal order."""
        services.writer.resume()
        return Paused(paused=False, queue_depth=services.writer.queue_depth)

    @router.post("/quit", status_code=202, tags=["control"], dependencies=control_only)
    def quit_app() -> dict[str, str]:
        """Stop companion in order (pending events are committed first)."""
        services.request_quit()
        return {"status": "stopping"}

    add_settings_routes(router, editor or SettingsEditor(services), Depends(control))
    return router
