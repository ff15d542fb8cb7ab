"""The match state machine: journal items in, in order; matches and their records out.

This module owns which match an item belongs to and when a match begins and ends:

* a match opens on its first message (``MatchCreated``, a tick with players, any event with a
  new ``MatchGuid``); events without a GUID, and the closing events with an empty one, belong to
  the open match;
* ``MatchEnded`` makes it complete (a forfeit too); the podium's ticks still belong to it until
  ``MatchDestroyed`` closes it; ``MatchDestroyed`` without ``MatchEnded``: abandoned (the figures
  of its last non-replay tick stand); a different GUID, or ``MatchCreated`` after the end, or a
  silence longer than ``silence_us``: the open match closes (incomplete unless it had ended);
* keys (:mod:`companion.derive.keys`): a GUID seen again after its match closed starts the next
  segment; an offline match is keyed when its first roster arrives (until then it is not
  listed; one that never shows a roster is never listed, online or not); a late non-set-up event
  with the GUID of the match that just closed is ignored rather than opening a phantom segment.

Determinism: the output depends only on the items (their order, receive times and payloads)
and the constructor's arguments, never on the wall clock or randomness, so a rebuild gives
identical records. The silence rule is checked against each item's receive time as it arrives
(and by :meth:`MatchDeriver.close_stale` when nothing arrives), so live and rebuild agree.

Idempotency: an item whose ``(stream, seq)`` is not beyond the highest seq applied for its
stream is skipped (a repeat, or stale data that must not overwrite fresh). Streams are named by
the caller; two sources must not share one (prefix the source if they might).

Transactions: :meth:`MatchDeriver.apply` is atomic, an item that raises leaves no trace, and
:meth:`MatchDeriver.checkpoint` / :meth:`MatchDeriver.restore` roll back any run of items (a
batch whose transaction failed). Closed matches never change again, so a checkpoint is the
number of matches, the open match's small state and the per-stream seqs, not a copy of
everything. :meth:`MatchDeriver.drain` gives the bundles of the matches changed since the last
drain, for the storage layer to upsert in the same transaction.

It must not import storage, web, sources (the reader's socket code) or pipeline code.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Final

from companion.derive.block_ticks import BlockTicks, TickColumns
from companion.derive.keys import offline_key, online_key
from companion.derive.match import MatchState, Memento
from companion.derive.payloads import TickView, as_str, read_tick
from companion.derive.records import Item, MatchBundle
from companion.tickblock import DecodedBlock

TICK: Final = "UpdateState"
# Events that say a (new) match is being set up: after an end they start the next segment.
_OPENERS: Final = frozenset(("MatchCreated", "MatchInitialized"))
# Events that only ever concern a match already open: never a reason to open one.
_TAIL: Final = frozenset(("MatchEnded", "MatchDestroyed", "PodiumStart", "ReplayCreated"))


@dataclass(frozen=True, slots=True)
class Checkpoint:
    """An opaque point to :meth:`MatchDeriver.restore` to."""

    matches: int
    current: int | None
    memento: Memento | None
    seqs: dict[str, int]
    dirty: frozenset[int]


@dataclass(slots=True)
class Counters:
    applied: int = 0
    skipped: int = 0  # repeats and stale items
    ignored: int = 0  # nothing to attach them to (no open match)


class MatchDeriver:
    """Feed it journal items strictly in order with :meth:`apply`; read :meth:`snapshot` or
    :meth:`drain`.

    ``me``: the configured local ``PrimaryId`` (else "me" is detected per match).
    ``silence_us``: close an open match after this much silence (``None``: only by events).
    ``segments``: the highest segment already used per GUID, for a deriver that resumes after
    derived tables were stored (a fresh rebuild passes nothing).
    """

    def __init__(
        self,
        *,
        me: str | None = None,
        silence_us: int | None = None,
        segments: Mapping[str, int] | None = None,
    ) -> None:
        self.me = me
        self.silence_us = silence_us
        self.counters = Counters()
        self._matches: list[MatchState] = []
        self._current: int | None = None
        self._segments: dict[str, int] = dict(segments or {})
        self._base_segments = dict(self._segments)
        self._seqs: dict[str, int] = {}
        self._dirty: set[int] = set()

    # -- feeding ------------------------------------------------------------------------------

    def apply(
        self, item: Item | tuple[str, int | None, int, str, Any], *, coalesced: bool = False
    ) -> bool:
        """Apply one item; ``False`` when it was skipped as a repeat or stale. If it raises, the
        deriver is as it was before the call.

        ``coalesced``: the item is a tick of a tick block whose data says ``"coalesced": n``
        (ticks were folded into it while storage was behind): its match's telemetry is then
        marked approximate. The block's data is the caller's, so the caller says so, for every
        tick of such a block (see :func:`companion.derive.is_coalesced`)."""
        stream, seq, at_us, event, data = item
        if seq is not None and seq <= self._seqs.get(stream, -1):
            self.counters.skipped += 1
            return False
        if event == TICK:
            # Parse first (it cannot raise on odd input), then change state. A tick block's
            # ticks come as views already (``companion.derive.block_ticks``).
            if not isinstance(data, TickView):
                data = read_tick(data if isinstance(data, dict) else {})
            self._tick(data, at_us, coalesced)
        else:
            mark = self._mark()
            try:
                self._event(event, data if isinstance(data, dict) else {}, at_us)
            except BaseException:
                self._rollback(mark)
                raise
        if seq is not None:
            self._seqs[stream] = seq
        self.counters.applied += 1
        return True

    def apply_block(
        self, stream: str, block: DecodedBlock, reader: BlockTicks, *, coalesced: bool = False
    ) -> int:
        """Apply a tick block's ticks, in order: the same as :meth:`apply` for each (ticks not
        beyond the stream's seq are skipped), but read by columns (see
        :meth:`MatchState.on_ticks`); keyframes the columns do not hold exactly go one by one,
        read whole. ``reader`` is the stream's :class:`BlockTicks`. Returns the ticks applied."""
        n = block.count
        skip = max(0, self._seqs.get(stream, -1) + 1 - block.first_seq)
        if skip >= n:
            self.counters.skipped += n
            return 0
        self.counters.skipped += skip
        # Parsed before anything changes (a damaged one raises here). A keyframe the columns
        # hold exactly is read by them, as the ticks around it.
        verbatim = [(k, read_tick(block.keyframe(k))) for k in block.verbatim() if k >= skip]
        columns = reader.columns(block)
        start = skip
        for index, tick in verbatim:
            if index > start:
                self._ticks(columns, start, index, coalesced)
            self._tick(tick, columns.times[index], coalesced)
            start = index + 1
        if start < n:
            self._ticks(columns, start, n, coalesced)
        self._seqs[stream] = block.first_seq + n - 1
        self.counters.applied += n - skip
        return n - skip

    def raise_seqs(self, seqs: Mapping[str, int]) -> None:
        """Treat every seq up to ``seqs[stream]`` as seen (a deriver that resumes after a
        restart: what was applied before must stay stale)."""
        for stream, seq in seqs.items():
            if seq > self._seqs.get(stream, -1):
                self._seqs[stream] = seq

    def apply_all(self, items: Iterable[Item | tuple[str, int | None, int, str, Any]]) -> None:
        for item in items:
            self.apply(item)

    def close_stale(self, now_us: int, silence_us: int | None = None) -> bool:
        """Close the open match if nothing has come for ``silence_us`` (default: the
        constructor's). Its end is its last message, not ``now_us``, so closing it now or when
        the next item arrives gives the same record. ``True`` if a match was closed."""
        silence = self.silence_us if silence_us is None else silence_us
        current = self._open_match()
        if current is None or silence is None or now_us - current.last_at_us < silence:
            return False
        self._close(current)
        return True

    # -- routing ------------------------------------------------------------------------------

    def _tick(self, tick: TickView, at_us: int, coalesced: bool) -> None:
        current = self._match_for_ticks(tick.guid, bool(tick.players), at_us, 1)
        if current is None:
            return
        current.on_tick(tick, at_us)
        if coalesced:
            current.telemetry.approximate = True
        if current.key is None and not tick.replay and tick.players:
            self._key_offline(current, tick)
        self._touch()

    def _ticks(self, columns: TickColumns, start: int, end: int, coalesced: bool) -> None:
        """Ticks ``start`` to ``end - 1`` of one block (one header): routed as :meth:`_tick`
        routes each (they all name the same match)."""
        at_us = columns.times[start]
        current = self._match_for_ticks(columns.guid, columns.has_players, at_us, end - start)
        if current is None:
            return
        live_before = current.live_ticks
        current.on_ticks(columns, start, end)
        if coalesced:
            current.telemetry.approximate = True
        if current.key is None and current.live_ticks > live_before:
            self._key_offline(current, columns.view(end - 1))
        self._touch()

    def _match_for_ticks(
        self, guid: str | None, has_players: bool, at_us: int, count: int
    ) -> MatchState | None:
        """The match ticks with this GUID belong to, opened if need be; ``None`` (and the
        ``count`` ticks ignored) for ticks of no match: menus, with nobody in them."""
        self._expire(at_us)
        current = self._open_match()
        if guid is None:
            guid = current.guid if current else ""
        if current is not None and current.guid != guid:
            self._close(current)
            current = None
        if current is None:
            if not has_players:
                self.counters.ignored += count
                return None
            current = self._open(guid, at_us)
        return current

    @staticmethod
    def _key_offline(current: MatchState, tick: TickView) -> None:
        roster = ((p.team, p.name, p.primary_id) for p in tick.players)
        current.assign_key(offline_key(current.started_at_us, tick.arena, roster))

    def _event(self, event: str, data: dict[str, Any], at_us: int) -> None:
        self._expire(at_us)
        current = self._open_match()
        guid = as_str(data.get("MatchGuid"))
        # An empty GUID on a closing event is taken to mean the open match (a payload's GUID is
        # only meaningful online); anything else with another GUID is another match.
        other = current is not None and guid is not None and guid != current.guid
        if current is not None and other and (guid or event not in _TAIL):
            self._close(current)
            current = None
        if current is not None and current.ended and event in _OPENERS:
            self._close(current)
            current = None
        if current is None:
            # A late event of the match that just closed (same GUID, not a new set-up) must not
            # open a phantom next segment; a tick with players or MatchCreated would.
            stray = bool(self._matches) and guid == self._matches[-1].guid
            if event in _TAIL or (stray and event not in _OPENERS):
                self.counters.ignored += 1
                return
            current = self._open(guid or "", at_us)
        current.on_event(event, data, at_us)
        if event == "MatchDestroyed":
            self._close(current, at_us)
        self._touch()

    def _expire(self, at_us: int) -> None:
        if self.silence_us is not None:
            self.close_stale(at_us, self.silence_us)

    def _open_match(self) -> MatchState | None:
        return None if self._current is None else self._matches[self._current]

    def _open(self, guid: str, at_us: int) -> MatchState:
        segment = key = None
        if guid:
            segment = self._segments.get(guid, 0) + 1
            self._segments[guid] = segment
            key = online_key(guid, segment)
        self._matches.append(MatchState(guid, segment, key, at_us))
        self._current = len(self._matches) - 1
        return self._matches[-1]

    def _close(self, match: MatchState, destroyed_at_us: int | None = None) -> None:
        match.close(destroyed_at_us)
        self._touch()
        self._current = None

    def _touch(self) -> None:
        if self._current is not None:
            self._dirty.add(self._current)

    # -- checkpoints --------------------------------------------------------------------------

    def checkpoint(self) -> Checkpoint:
        """A point to come back to with :meth:`restore` (cheap: see the module docstring)."""
        mark = self._mark()
        return Checkpoint(mark.matches, mark.current, mark.memento, dict(self._seqs), mark.dirty)

    def restore(self, point: Checkpoint) -> None:
        """Undo everything applied since ``point`` (which stays valid: restore again at will)."""
        self._rollback(point)
        self._seqs = dict(point.seqs)

    def _mark(self) -> Checkpoint:
        current = self._open_match()
        memento = None if current is None else current.memento()
        return Checkpoint(len(self._matches), self._current, memento, {}, frozenset(self._dirty))

    def _rollback(self, point: Checkpoint) -> None:
        for match in reversed(self._matches[point.matches :]):
            if match.segment is not None:  # the segment it took is free again
                self._segments[match.guid] = match.segment - 1
        del self._matches[point.matches :]
        if point.memento is not None and point.current is not None:
            self._matches[point.current] = point.memento.restore()
        self._current = point.current
        self._dirty = set(point.dirty)

    # -- output -------------------------------------------------------------------------------

    def snapshot(self) -> tuple[MatchBundle, ...]:
        """Every listed match, oldest first, as it stands. A match is listed once it has a key
        and a roster (a ``MatchCreated`` that never got a tick is nothing to show)."""
        return tuple(m.bundle(self.me) for m in self._matches if _listed(m))

    def drain(self) -> tuple[MatchBundle, ...]:
        """The matches changed since the last drain (oldest first), then forget they were."""
        changed = sorted(self._dirty)
        self._dirty.clear()
        return tuple(self._matches[i].bundle(self.me) for i in changed if _listed(self._matches[i]))

    @property
    def open_since(self) -> int | None:
        """The receive time of the open match's first message (None: no match is open). It
        names the open match: two matches never start at the same microsecond."""
        current = self._open_match()
        return None if current is None else current.started_at_us

    def prune(self) -> None:
        """Forget the closed matches that were drained: they never change again. Only the last
        match is kept (open or not: a late event of a match that just closed is recognised by
        it). Call it between transactions, before taking a checkpoint: it invalidates older
        ones. A long-running app calls it so memory stays flat over months."""
        if self._dirty or len(self._matches) <= 1:
            return
        self._matches = self._matches[-1:]
        if self._current is not None:
            self._current = 0

    @property
    def live(self) -> MatchBundle | None:
        """The open match, if it has a key."""
        current = self._open_match()
        return None if current is None or not _listed(current) else current.bundle(self.me)


def _listed(match: MatchState) -> bool:
    return match.key is not None and bool(match.players)
