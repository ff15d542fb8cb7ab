"""The match derivation: journal rows in, strictly in order; the match tables kept up to date.

It joins three parts that know nothing of each other: the tick block decoders (one per stream,
in journal order), the pure :class:`~companion.derive.deriver.MatchDeriver`, and the storage
layer's :class:`~companion.storage.match_store.MatchWriter`. Live and in ``companion rebuild``
it is the same code, so both give the same tables.

Transactions (see :class:`~companion.pipeline.derivation.Derivation`): ``begin`` takes a
checkpoint of the deriver and the decoders, ``discard`` goes back to it, ``reset`` forgets
everything in memory (the next ``begin`` reloads from the database, as after a restart).

After a restart, the match that was open at the last commit is replayed from the journal row
where it began (``derive_state.open_from``) into memory, so it goes on where it stopped. A tick
block whose header lies before that row cannot be expanded then: its ticks are skipped and only
that match's telemetry is short of them (``companion rebuild`` makes it exact again).
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Callable, Iterator
from typing import Any

import orjson

from companion.derive import outcome
from companion.derive.block_ticks import BlockTicks
from companion.derive.deriver import Checkpoint, MatchDeriver
from companion.derive.records import Item, MatchBundle
from companion.model import JournalRow, MatchSummary
from companion.storage import journal, match_store
from companion.tickblock import (
    TICK_BLOCK_EVENT,
    DecoderState,
    MissingHeaderError,
    TickBlockDecoder,
)

log = logging.getLogger(__name__)

# Raised whenever the derivation's output changes for the same journal; stats derived by an
# older version are offered a rebuild (``companion rebuild``), never silently mixed.
DERIVATION_VERSION = 1
CONTROL_SOURCE = "companion"  # rows the app journals itself (reserved over HTTP)
NEW_SESSION_EVENT = "NewSession"
READER_SOURCE = "statsapi"
# The game's events (docs/stats-api.md §1.5, with the replay names some builds use). Anything
# else a plugin posts is journaled but means nothing to a match: it must not open one, and it is
# skipped before its data is even parsed (it may be most of a busy plugin's traffic).
GAME_EVENTS = frozenset(
    (
        "UpdateState", "BallHit", "ClockUpdatedSeconds", "CountdownBegin", "CrossbarHit",
        "GoalReplayEnd", "GoalReplayStart", "GoalReplayWillEnd", "GoalScored", "MatchCreated",
        "MatchInitialized", "MatchDestroyed", "MatchEnded", "MatchPaused", "MatchUnpaused",
        "PodiumStart", "ReplayCreated", "RoundStarted", "StatfeedEvent", "BoostPickup",
        "PlayerJoined", "PlayerLeft", "ReplayStart", "ReplayEnd", "ReplayWillEnd",
    )
)  # fmt: skip
_REPLAY_CHUNK = 500


def result_for(state: str, winner_team: int | None, me_team: int | None) -> str | None:
    """Win or loss of a complete match, ``abandoned``, else None: the stats rules of
    :func:`companion.derive.outcome.result`, for whoever is me now."""
    return outcome.result(state, winner_team, me_team, me_team is not None)


def summarize(bundle: MatchBundle, match_id: int, me: str | None) -> MatchSummary:
    """The one-line view of a match; ``me`` (the setting) wins over the detected player."""
    m = bundle.match
    me_team = None
    if me:
        me_team = next((p.team for p in bundle.players if p.primary_id == me), None)
    if me_team is None and m.me_primary_id:
        me_team = next((p.team for p in bundle.players if p.primary_id == m.me_primary_id), None)
    scores = {team.num: team.score for team in m.teams}
    return MatchSummary(
        match_id=match_id,
        key=m.key,
        state=m.state,
        result=result_for(m.state, m.winner_team, me_team),
        my_team=me_team,
        scores=(scores.get(0), scores.get(1)),
        mode=m.mode,
        arena=m.arena,
        started_at_us=m.started_at_us,
        ended_at_us=m.ended_at_us,
    )


def _stored_summary(conn: sqlite3.Connection, me: str | None) -> MatchSummary | None:
    row = match_store.newest_summary_row(conn)
    if row is None:
        return None
    match_id, key, state, winner, me_id, me_team, teams, mode, arena, started, ended = row
    if me:
        me_team = match_store.team_of(conn, match_id, me)
        if me_team is None and me_id:
            me_team = match_store.team_of(conn, match_id, me_id)
    scores = {team["num"]: team["score"] for team in orjson.loads(teams)}
    result = result_for(state, winner, me_team)
    score_pair = (scores.get(0), scores.get(1))
    return MatchSummary(
        match_id, key, state, result, me_team, score_pair, mode, arena, started, ended
    )


class MatchDerivation:
    """A :class:`~companion.pipeline.derivation.Derivation` that keeps the match tables.

    ``silence_us``: close a match after this much silence (None: only by events).
    ``me``: called for the configured PrimaryId (it only shapes the in-memory summaries; the
    tables keep what the journal says, and the read side applies the setting).
    ``on_summary``: called with ``(last, live)`` after every flush that changed a match.
    """

    def __init__(
        self,
        *,
        silence_us: int | None = None,
        me: Callable[[], str | None] = lambda: None,
        on_summary: Callable[[MatchSummary | None, MatchSummary | None], None] | None = None,
    ) -> None:
        self._silence_us = silence_us
        self._me = me
        self._on_summary = on_summary
        self._deriver: MatchDeriver | None = None
        self._decoders: dict[str, TickBlockDecoder] = {}
        self._block_ticks: dict[str, BlockTicks] = {}
        self._writer = match_store.MatchWriter()
        self._point: tuple[Checkpoint, dict[str, DecoderState], int | None] | None = None
        self._open_from: int | None = None
        self._open_since: int | None = None
        self._marks: list[tuple[int, int]] = []
        self._last: tuple[MatchBundle, int] | None = None
        self._live: tuple[MatchBundle, int] | None = None
        self._stored_last: MatchSummary | None = None  # the newest match at start-up
        self.skipped_blocks = 0
        self.outdated = False  # the stored stats come from an older derivation

    # -- the Derivation protocol ----------------------------------------------------------------

    def begin(self, conn: sqlite3.Connection, now_us: int) -> None:
        if self._deriver is None:
            self._load(conn)
        deriver = self._deriver
        assert deriver is not None
        deriver.prune()
        decoders = {stream: d.state() for stream, d in self._decoders.items()}
        self._point = (deriver.checkpoint(), decoders, self._open_from)

    def apply(self, conn: sqlite3.Connection, row: JournalRow, now_us: int) -> None:
        deriver = self._deriver
        assert deriver is not None, "begin() first"
        if row.source == CONTROL_SOURCE:
            if row.event == NEW_SESSION_EVENT:
                self._marks.append((row.id, row.received_at_us))
            return
        if row.event == TICK_BLOCK_EVENT and row.payload is not None:
            self._apply_block(deriver, row, row.payload)
        else:
            for item in self._items(row):
                deriver.apply(item)
        since = deriver.open_since
        if since != self._open_since:
            self._open_since = since
            self._open_from = None if since is None else row.id

    def flush(self, conn: sqlite3.Connection, now_us: int) -> None:
        deriver = self._deriver
        assert deriver is not None
        bundles = deriver.drain()
        if bundles:
            ids = self._writer.write(conn, bundles)
            for bundle in bundles:
                self._note(bundle, ids[bundle.key])
            if any(bundle.match.state != "live" for bundle in bundles):
                match_store.bump_generation(conn)
        for journal_id, at_us in self._marks:
            match_store.add_session_mark(conn, journal_id, at_us)
        self._marks.clear()
        match_store.set_open_from(conn, self._open_from)
        if bundles and self._on_summary is not None:
            self._on_summary(*self.summaries())

    def discard(self) -> None:
        self._marks.clear()
        self._writer.forget()
        if self._point is None or self._deriver is None:
            return
        point, decoders, open_from = self._point
        self._deriver.restore(point)
        for stream in list(self._decoders):
            if stream in decoders:
                self._decoders[stream].restore(decoders[stream])
            else:
                del self._decoders[stream]  # first seen in the batch rolled back
        self._open_from = open_from
        self._open_since = self._deriver.open_since

    def reset(self) -> None:
        self._deriver = None
        self._decoders.clear()
        self._point = None
        self._marks.clear()
        self._writer.forget()

    def idle(self, conn: sqlite3.Connection, now_us: int) -> None:
        """Close the open match if it has been silent too long (the game was closed, say)."""
        deriver = self._deriver
        if deriver is not None and deriver.close_stale(now_us):
            self._open_since = self._open_from = None

    # -- the summaries ----------------------------------------------------------------------------

    def summaries(self) -> tuple[MatchSummary | None, MatchSummary | None]:
        """``(last, live)``: the newest listed match and the open one, as last flushed."""
        me = self._me()
        last = self._stored_last if self._last is None else summarize(*self._last, me)
        live = None if self._live is None else summarize(*self._live, me)
        return last, live

    def _note(self, bundle: MatchBundle, match_id: int) -> None:
        if self._last is None or match_id >= self._last[1]:
            self._last = (bundle, match_id)
        if bundle.match.state == "live":
            self._live = (bundle, match_id)
        elif self._live is not None and self._live[1] == match_id:
            self._live = None
        if bundle.match.state != "live":
            self._writer.forget_match(bundle.key)

    # -- rows into items ----------------------------------------------------------------------

    def _apply_block(self, deriver: MatchDeriver, row: JournalRow, payload: bytes) -> None:
        """A tick block: decoded by its stream's decoder, derived by columns."""
        stream = f"{row.source}/{row.stream}"
        decoder = self._decoders.get(stream)
        if decoder is None:
            decoder = self._decoders[stream] = TickBlockDecoder()
        block = orjson.loads(row.data)
        decoded = decoder.expand_rows(block, payload)
        reader = self._block_ticks.get(stream)
        if reader is None:
            reader = self._block_ticks[stream] = BlockTicks()
        deriver.apply_block(stream, decoded, reader, coalesced=bool(block.get("coalesced")))

    def _items(self, row: JournalRow) -> Iterator[Item]:
        stream = f"{row.source}/{row.stream}"
        if row.event not in GAME_EVENTS:
            return
        data: Any = orjson.loads(row.data)
        # The reader stamps each message as it reads it; other sources' clocks are not trusted.
        at_us = row.ts_us if row.source == READER_SOURCE and row.ts_us else row.received_at_us
        yield Item(stream, row.seq, at_us, row.event, data)

    # -- start-up ---------------------------------------------------------------------------------

    def _load(self, conn: sqlite3.Connection) -> None:
        """Build the in-memory state from the database: after a start, or after ``reset``."""
        self._deriver = MatchDeriver(
            silence_us=self._silence_us, segments=match_store.segments(conn, exclude_live=True)
        )
        self._decoders = {}
        self._open_since = None
        self._open_from = None
        self._last = self._live = None
        stored = match_store.derived_version(conn)
        if stored < DERIVATION_VERSION and not match_store.has_matches(conn):
            match_store.set_derived_version(conn, DERIVATION_VERSION)  # nothing to redo
            stored = DERIVATION_VERSION
        self.outdated = stored < DERIVATION_VERSION
        if self.outdated:
            log.warning(
                "the stats were derived by an older version of companion (%d, now %d): quit and "
                "run `companion rebuild` to derive them again from the journal",
                stored,
                DERIVATION_VERSION,
            )
        start = match_store.open_from(conn)
        if start is not None:
            self._replay(conn, start)
        # What was applied before stays stale after a restart too (stale never overwrites fresh).
        self._deriver.raise_seqs(match_store.stream_seqs(conn))
        self._deriver.drain()  # what the replay touched is in the tables already
        self._writer.forget()
        live = self._deriver.live
        live_id = None if live is None else match_store.match_id(conn, live.key)
        if live is not None and live_id is not None:
            self._live = (live, live_id)
        if self._last is None:
            self._stored_last = _stored_summary(conn, self._me())
        if self._on_summary is not None:
            self._on_summary(*self.summaries())

    def _replay(self, conn: sqlite3.Connection, start: int) -> None:
        deriver = self._deriver
        assert deriver is not None
        through = journal.applied_through(conn)
        after = start - 1
        while after < through:
            rows = journal.read_after(conn, after, _REPLAY_CHUNK)
            rows = [row for row in rows if row.id <= through]
            if not rows:
                break
            dead = journal.dead_letter_ids(conn, rows[0].id, rows[-1].id)
            for row in rows:
                if row.id in dead:
                    continue
                try:
                    self.apply(conn, row, 0)
                except MissingHeaderError:
                    self.skipped_blocks += 1
                except Exception as exc:  # it went to dead letters the first time too
                    log.debug("journal row %d skipped while resuming: %s", row.id, exc)
            after = rows[-1].id
        if self.skipped_blocks:
            log.info(
                "resumed the open match without %d tick blocks whose header came before it",
                self.skipped_blocks,
            )
