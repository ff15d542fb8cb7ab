"""Derivation: journal items in, match records out. Pure code: no SQL, threads or I/O.

The worker feeds :class:`MatchDeriver` the journal's items strictly in order (tick blocks
expanded into ``UpdateState`` items; the ticks of a block whose data says ``"coalesced"`` with
``apply(item, coalesced=True)``, see :func:`is_coalesced`, so that match's telemetry says it is
approximate) and upserts what :meth:`MatchDeriver.drain` returns in the same transaction.
``companion rebuild`` does the same from the first row with a fresh deriver.

Modules: :mod:`~companion.derive.records` (output shapes), :mod:`~companion.derive.payloads`
(reading the game's payloads), :mod:`~companion.derive.players` (identity, PlayerRefs),
:mod:`~companion.derive.keys` (match keys), :mod:`~companion.derive.match` (one match's state),
:mod:`~companion.derive.outcome` (MVP, mode, me and my result),
:mod:`~companion.derive.telemetry` (speed, surfaces and boost per player),
:mod:`~companion.derive.deriver` (the state machine across matches).

Nothing here may import storage, web, sources or pipeline code.
"""

from companion.derive.deriver import Checkpoint, Counters, MatchDeriver
from companion.derive.records import (
    ABANDONED,
    COMPLETE,
    INCOMPLETE,
    LIVE,
    STAT_FIELDS,
    BallHitRecord,
    CrossbarRecord,
    GoalRecord,
    Item,
    Location,
    MatchBundle,
    MatchRecord,
    PlayerLine,
    StatfeedRecord,
    TeamRecord,
    TelemetryRecord,
    Who,
)
from companion.derive.telemetry import is_coalesced

__all__ = [
    "ABANDONED",
    "COMPLETE",
    "INCOMPLETE",
    "LIVE",
    "STAT_FIELDS",
    "BallHitRecord",
    "Checkpoint",
    "Counters",
    "CrossbarRecord",
    "GoalRecord",
    "Item",
    "Location",
    "MatchBundle",
    "MatchDeriver",
    "MatchRecord",
    "PlayerLine",
    "StatfeedRecord",
    "TeamRecord",
    "TelemetryRecord",
    "Who",
    "is_coalesced",
]
