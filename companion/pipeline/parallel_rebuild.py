"""``companion rebuild`` on several cores: the journal cut where play was quiet, the spans
derived side by side in worker processes, each into a database of its own, then joined.

Why the joined tables equal a rebuild in one process. A cut comes at a row that arrives at least
the match silence after every row before it (and at least a minute, so every stream's next tick
block carries its header again): whatever match was open before it is closed by then, with the
same record whenever it is closed (its end is its last message). What derivation carries over
such a gap is small, and each piece is checked or put right:

- match ids go on from the span before, and a lobby GUID seen before goes on with its segment
  count (:func:`companion.storage.rebuild_spans.append_span`);
- a span's first match may not have the GUID of the match before it (the one-process deriver
  would take a late event of the closed match as a stray, not as a new match);
- a stream's seqs in a span must all be above its seqs before it (else the one-process deriver
  would skip some as already seen);
- a span must not end with its match still open, nor lose a block for want of its header.

When a check fails the result is thrown away and the rebuild runs in one process: slower, never
different. The spans are derived by the very code a one-process rebuild runs (``Worker``,
``MatchDerivation``), so the rules live in one place.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import tempfile
import time
from collections.abc import Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from contextlib import contextmanager
from dataclasses import dataclass, field
from multiprocessing import get_context
from pathlib import Path
from typing import Any

import orjson

from companion.pipeline.derivation import Derivations, LatestStateDerivation
from companion.pipeline.match_derivation import READER_SOURCE, MatchDerivation
from companion.pipeline.worker import Worker
from companion.storage import journal, match_store, rebuild_spans
from companion.storage.database import connect, open_database
from companion.tickblock import SYNC_EVERY_US, TICK_BLOCK_EVENT

log = logging.getLogger(__name__)

CHUNK = 2000
# Fewer rows than this per worker and starting processes costs more than it saves.
MIN_SPAN_ROWS = 20_000

Seqs = dict[tuple[str, str], tuple[int, int]]  # per (source, stream): lowest seq, highest


class Diverged(Exception):
    """The spans cannot be joined into what one process would derive: rebuild in one."""


@dataclass(frozen=True, slots=True)
class Span:
    first_id: int
    last_id: int
    next_at_us: int | None  # the time of the row after the span (None: the journal's end)


@dataclass(frozen=True, slots=True)
class SpanJob:
    database: str
    out: str
    span: Span
    silence_us: int
    now_us: int


@dataclass(slots=True)
class SpanReport:
    rows: int = 0
    dead: int = 0
    seqs: Seqs = field(default_factory=dict)
    open_at_end: bool = False
    missing_header: bool = False
    first_guid: str | None = None
    last_guid: str | None = None


def plan(conn: sqlite3.Connection, through: int, silence_us: int, parts: int) -> list[Span]:
    """Up to ``parts`` spans of rows 1 to ``through``, of about the same size, cut at quiet
    rows; one span when there are no such rows or too few rows."""
    total = journal.count_rows(conn, through)
    parts = min(parts, total // MIN_SPAN_ROWS)
    if parts < 2:
        return [Span(1, through, None)]
    quiet = max(silence_us, SYNC_EVERY_US)
    candidates = rebuild_spans.quiet_rows(conn, through, quiet, READER_SOURCE)
    cuts: list[tuple[int, int]] = []
    for k in range(1, parts):
        goal = through * k // parts  # ids are about evenly spread over rows
        best = min(candidates, key=lambda c: abs(c[0] - goal), default=None)
        if best is not None and best not in cuts and (not cuts or best[0] > cuts[-1][0]):
            cuts.append(best)
    spans = []
    first = 1
    for cut_id, cut_at in cuts:
        spans.append(Span(first, cut_id - 1, cut_at))
        first = cut_id
    spans.append(Span(first, through, None))
    return spans


def derive_span(job: SpanJob) -> SpanReport:
    """Derive one span into a fresh database at ``job.out`` (in a worker process)."""
    source = connect(Path(job.database))
    open_database(Path(job.out))
    out = connect(Path(job.out))
    out.execute("PRAGMA foreign_keys = OFF")  # its dead letters name journal rows it has not
    out.execute("PRAGMA synchronous = OFF")  # a scratch file: the joined copy is the durable one
    report = SpanReport()
    try:
        out.execute("BEGIN IMMEDIATE")
        derivation = Derivations(
            [LatestStateDerivation(), MatchDerivation(silence_us=job.silence_us)]
        )
        worker = Worker(derivation, clock=lambda: job.now_us)
        span = job.span
        after = span.first_id - 1
        while after < span.last_id:
            rows = [r for r in journal.read_after(source, after, CHUNK) if r.id <= span.last_id]
            if not rows:
                break
            _note_seqs(report.seqs, rows)
            outcome = worker.apply_rows(out, rows, job.now_us)
            report.rows += len(rows)
            report.dead += outcome.dead
            after = rows[-1].id
            if _PROGRESS is not None:
                with _PROGRESS.get_lock():
                    _PROGRESS.value += len(rows)
        # The journal's end: as the one-process rebuild ends. A cut: the next row's time,
        # which closes a match gone silent as that row would have.
        closing = job.now_us if span.next_at_us is None else span.next_at_us
        derivation.begin(out, job.now_us)
        derivation.idle(out, closing)
        derivation.flush(out, job.now_us)
        report.open_at_end = match_store.open_from(out) is not None
        report.first_guid, report.last_guid = rebuild_spans.span_guids(out)
        report.missing_header = any(
            e.startswith("MissingHeaderError") for e in rebuild_spans.dead_letter_errors(out)
        )
        out.execute("COMMIT")
    finally:
        out.close()
        source.close()
    return report


def _note_seqs(seqs: Seqs, rows: list[Any]) -> None:
    for row in rows:
        if row.seq is None:
            continue
        last = row.seq
        if row.event == TICK_BLOCK_EVENT:
            count = orjson.loads(row.data).get("count")
            if isinstance(count, int) and count > 0:
                last = row.seq + count - 1
        key = (row.source, row.stream)
        low, high = seqs.get(key, (row.seq, last))
        seqs[key] = (min(low, row.seq), max(high, last))


def check(spans: list[Span], reports: list[SpanReport]) -> None:
    """Raise :class:`Diverged` if joining these spans would differ from one process."""
    seen: dict[tuple[str, str], int] = {}
    for k, (span, report) in enumerate(zip(spans, reports, strict=True)):
        if report.missing_header:
            raise Diverged(f"a tick block after row {span.first_id - 1} lost its header")
        if span.next_at_us is not None and report.open_at_end:
            raise Diverged(f"a match was still open at row {span.last_id}")
        before = reports[k - 1].last_guid if k else None
        if before is not None and report.first_guid == before:
            raise Diverged(
                f"the first match after row {span.first_id - 1} has the GUID of the one before"
            )
        for key, (low, high) in report.seqs.items():
            if key in seen and low <= seen[key]:
                raise Diverged(f"stream {key[0]}/{key[1]} goes back in seq at row {span.first_id}")
            seen[key] = max(high, seen.get(key, high))


_PROGRESS: Any = None  # a shared counter of rows derived, in each worker process


def _start_worker(counter: Any) -> None:
    global _PROGRESS
    _PROGRESS = counter


def derive_spans(
    database: Path,
    spans: list[Span],
    *,
    silence_us: int,
    now_us: int,
    folder: Path,
    progress: Any = None,
    total: int = 0,
) -> tuple[list[Path], list[SpanReport]]:
    """Derive ``spans`` side by side; the span databases (in ``folder``) and the reports."""
    context = get_context("spawn")  # no fork of a process that holds SQLite connections
    counter = context.Value("q", 0)
    outs = [folder / f"span-{k}.db" for k in range(len(spans))]
    jobs = [
        SpanJob(str(database), str(out), span, silence_us, now_us)
        for out, span in zip(outs, spans, strict=True)
    ]
    workers = min(len(jobs), os.cpu_count() or 1)
    with ProcessPoolExecutor(
        workers, mp_context=context, initializer=_start_worker, initargs=(counter,)
    ) as pool:
        futures: list[Future[SpanReport]] = [pool.submit(derive_span, job) for job in jobs]
        pending = set(futures)
        while pending:
            _, pending = wait(pending, timeout=0.25, return_when=FIRST_COMPLETED)
            if progress is not None:
                progress(min(counter.value, total), total)
        reports = [f.result() for f in futures]
    return outs, reports


@contextmanager
def spans_derived(
    database: Path,
    spans: list[Span],
    *,
    silence_us: int,
    now_us: int,
    progress: Any = None,
    total: int = 0,
) -> Iterator[tuple[list[Path], list[SpanReport]]]:
    """Derive ``spans`` in worker processes, each into a scratch database (removed on exit);
    raises :class:`Diverged` when joining them would differ from one process."""
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="rebuild-", dir=database.parent) as tmp:
        try:
            outs, reports = derive_spans(
                database,
                spans,
                silence_us=silence_us,
                now_us=now_us,
                folder=Path(tmp),
                progress=progress,
                total=total,
            )
        except Exception as exc:  # no worker processes here, a full scratch disk: one process
            raise Diverged(f"the worker processes failed ({type(exc).__name__}: {exc})") from exc
        check(spans, reports)
        log.info("derived %d spans in %.1f s", len(spans), time.perf_counter() - started)
        yield outs, reports


def join(conn: sqlite3.Connection, outs: list[Path]) -> None:
    """Join the span databases onto ``conn``'s (cleared) tables, in order, in the caller's
    transaction."""
    for out in outs:
        span_conn = connect(out)
        try:
            rebuild_spans.append_span(conn, span_conn)
        finally:
            span_conn.close()
