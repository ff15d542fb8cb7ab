"""Per player telemetry of one match: speed, surfaces, boost, from the SPECTATOR fields.

This module owns the telemetry rules. The game sends ``Speed``, ``Boost``, ``bHasCar`` and the
``b*`` flags only to a spectator, or for the local player's own team (``docs/stats-api.md``
§1.6); a player for whom they never came has no telemetry (``None``, never zeros).

Which ticks count: non-replay ticks (a replay shows the cars of the seconds before a goal again)
in which the player has a car: ``bHasCar`` true and not ``bDemolished``. The game omits false
flags, so a player with spectator fields but no ``bHasCar`` has no car.

Time-weighting: a tick stands for the time since the tick before it (any tick of the match,
replays included: they take time too). The reader stamps all messages of one socket read with
one receive time, so several ticks can share a time: those split the time since the previous
receive time evenly (*per-tick spacing* = delta / ticks sharing the time). A delta longer than
``GAP_CAP_US`` (1 s: a pause, a storage stall, a reconnect) counts each of its ticks as the last
ordinary spacing of the match instead, so a pause does not distort the shares; the ticks of a
match's first receive time have nothing before them to measure from and count no time. Top
speed and boost used do not depend on time: every counted tick takes part.

Surfaces: ``bOnWall`` is the wall; ``bOnGround`` without ``bOnWall`` is the ground (the game
sets ``bOnGround`` whenever the wheels touch a surface, walls too); neither is the air. So the
ground, wall and air shares add up to 1. Boost used is the sum of decreases of ``Boost`` between
consecutive counted ticks; a rise (a pad, a respawn) is ignored, and the chain breaks where
the game resets boost without the player using it: a replay, a kickoff countdown (the ball
untouched again, or ``CountdownBegin``), and a tick without a car (a demolition's respawn).

Cost: a 3v3 match at 120 Hz is about 36,000 ticks. A tick's weight is known only when the next
receive time arrives, so the match keeps the current group's ticks (the parsed rows it already
has, one reference per tick, nothing copied) and adds them up, weighted, then: per tick and
player a handful of additions, once. A tick block's ticks whose weights the block itself settles
are added player by player, each player's totals held in local variables over the whole run
(:meth:`MatchTelemetry.add_ticks`): the same additions in the same order, so the same figures to
the last bit, without a call per player and tick.

It must not import storage, web, sources or pipeline code.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final, Protocol

from companion.derive.payloads import PlayerRow
from companion.derive.records import TelemetryRecord
from companion.tickblock import (
    ANY_FLAG,
    FLAG_BOOSTING,
    FLAG_CAR,
    FLAG_DEMOLISHED,
    FLAG_ON_GROUND,
    FLAG_ON_WALL,
    FLAG_SUPERSONIC,
    HAS_TELEMETRY,
    UNKNOWN,
)

GAP_CAP_US: Final = 1_000_000
FULL_BOOST: Final = 100
# A player's spectator fields, read with one C-level ``map`` per tick (false flags are absent).
_FIELDS: Final = (
    "Speed",
    "Boost",
    "bHasCar",
    "bDemolished",
    "bSupersonic",
    "bOnGround",
    "bOnWall",
    "bBoosting",
)


def is_coalesced(block: Mapping[str, Any]) -> bool:
    """Whether a tick block's data (the journal row's JSON) says ticks were folded into it."""
    return bool(block.get("coalesced"))


class PlayerTelemetry:
    """One player's totals: ``counted`` ticks with a car, their ``seconds`` and the
    time-weighted sums (value x seconds) of speed, boost and each state."""

    __slots__ = (
        "air",
        "boost",
        "boost_prev",
        "boost_used",
        "boosting",
        "counted",
        "full",
        "seconds",
        "sonic",
        "speed",
        "top_speed",
        "wall",
        "zero",
    )

    def __init__(self) -> None:
        self.counted = 0
        self.top_speed = 0.0
        self.boost_used = 0
        self.boost_prev: int | None = None
        self.seconds = self.speed = self.boost = 0.0
        self.sonic = self.wall = self.air = self.boosting = self.zero = self.full = 0.0

    def copy(self) -> PlayerTelemetry:
        twin = PlayerTelemetry.__new__(PlayerTelemetry)
        twin.counted, twin.seconds, twin.speed, twin.boost = (
            self.counted,
            self.seconds,
            self.speed,
            self.boost,
        )
        twin.sonic, twin.wall, twin.air, twin.boosting = (
            self.sonic,
            self.wall,
            self.air,
            self.boosting,
        )
        twin.zero, twin.full, twin.top_speed = self.zero, self.full, self.top_speed
        twin.boost_used, twin.boost_prev = self.boost_used, self.boost_prev
        return twin

    def add(self, entry: dict[str, Any], weight: float) -> None:
        """One non-replay tick's spectator fields, standing for ``weight`` seconds."""
        speed, boost, car, demolished, sonic, ground, wall, boosting = map(entry.get, _FIELDS)
        self.add_fields(speed, boost, car, demolished, sonic, ground, wall, boosting, weight)

    def add_fields(
        self,
        speed: Any,
        boost: Any,
        car: Any,
        demolished: Any,
        sonic: Any,
        ground: Any,
        wall: Any,
        boosting: Any,
        weight: float,
    ) -> None:
        """As :meth:`add`, the fields given one by one (``None`` where absent): the way ticks
        read from a tick block's columns come (no dict per player per tick)."""
        if not car or demolished:
            self.boost_prev = None  # a respawn's boost is no refill of this one
            return
        # The game omits a zero Speed or Boost; a non-number (or NaN, or absurd) reads as zero.
        if type(speed) is not float:
            speed = float(speed) if type(speed) is int else 0.0
        if not 0.0 <= speed < 1e4:
            speed = 0.0
        if type(boost) is not int:
            boost = round(boost) if type(boost) is float and 0.0 <= boost <= 1e4 else 0
        self.counted += 1
        if weight:  # the first receive time of a match weighs nothing: skip the sums
            self.seconds += weight
            self.speed += weight * speed
            self.boost += weight * boost
            if sonic:
                self.sonic += weight
            if wall:
                self.wall += weight
            elif not ground:
                self.air += weight
            if boosting:
                self.boosting += weight
            if boost <= 0:
                self.zero += weight
            elif boost >= FULL_BOOST:
                self.full += weight
        if speed > self.top_speed:
            self.top_speed = speed
        prev = self.boost_prev
        if prev is not None and boost < prev:
            self.boost_used += prev - boost
        self.boost_prev = boost

    def record(self, approximate: bool) -> TelemetryRecord:
        seconds = self.seconds
        counted = self.counted > 0

        def share(value: float) -> float | None:
            return round(value / seconds, 3) if seconds > 0 else None

        def average(value: float) -> float | None:
            return round(value / seconds, 1) if seconds > 0 else None

        def timed(value: float) -> float | None:
            return round(value, 1) if counted else None

        return TelemetryRecord(
            seconds=round(seconds, 1),
            avg_speed=average(self.speed),
            top_speed=round(self.top_speed, 1) if counted else None,
            supersonic_share=share(self.sonic),
            ground_share=share(seconds - self.wall - self.air),
            wall_share=share(self.wall),
            air_share=share(self.air),
            boosting_share=share(self.boosting),
            avg_boost=average(self.boost),
            boost_used=float(self.boost_used) if counted else None,
            zero_boost_s=timed(self.zero),
            full_boost_s=timed(self.full),
            approximate=approximate,
        )


# PlayerRow fields by position: the flush reads them per player and tick (a named field of a
# NamedTuple costs a descriptor call, an index does not).
_TELEMETRY: Final = 5
_RAW: Final = 6
assert PlayerRow._fields[_TELEMETRY] == "telemetry" and PlayerRow._fields[_RAW] == "raw"


class TelemetryColumns(Protocol):
    """A tick block's telemetry columns (see :mod:`companion.derive.block_ticks`):
    ``telemetry`` has ``(player key, speeds, boosts, flags)`` per player, one value per tick;
    ``fields`` turns one tick's three values into the eight fields :meth:`PlayerTelemetry.add`
    reads, or ``None`` when the player had no spectator fields in that tick."""

    telemetry: list[tuple[str, list[int], list[int], list[int]]]

    @property
    def times(self) -> list[int]: ...

    def fields(self, speed: int, boost: int, flags: int) -> tuple[Any, ...] | None: ...


# A kept tick: the player keys and rows of a non-replay tick, a tick block's columns and the
# tick's index, or ``None`` for a boost reset.
_Kept = tuple[tuple[str, ...], tuple[PlayerRow, ...]] | tuple[TelemetryColumns, int] | None


class MatchTelemetry:
    """The telemetry of one match: the current receive-time group and one
    :class:`PlayerTelemetry` per player who ever had spectator fields (in a counted group).
    Copied whole for a checkpoint: a few small objects and the current group's references."""

    __slots__ = ("approximate", "group", "group_at", "group_n", "nominal", "players", "previous_at")

    def __init__(self) -> None:
        self.players: dict[str, PlayerTelemetry] = {}
        self.group: list[_Kept] = []  # the current group's non-replay ticks and boost resets
        self.group_at: int | None = None  # the current group's receive time
        self.group_n = 0  # ticks in it (replays too: they take time)
        self.previous_at: int | None = None  # the receive time of the group before
        self.nominal = 0.0  # the last ordinary per-tick spacing (s)
        self.approximate = False  # some of the match's ticks were coalesced

    def copy(self) -> MatchTelemetry:
        twin = MatchTelemetry()
        twin.players = {key: p.copy() for key, p in self.players.items()}
        twin.group = list(self.group)
        twin.group_at, twin.group_n = self.group_at, self.group_n
        twin.previous_at, twin.nominal = self.previous_at, self.nominal
        twin.approximate = self.approximate
        return twin

    def tick(self, at_us: int) -> None:
        """Any tick of the match (replays too), before :meth:`keep`."""
        if at_us != self.group_at:
            if self.group_n:
                self._flush()
                self.previous_at = self.group_at
            self.group_at = at_us
            self.group_n = 0
        self.group_n += 1

    def keep(self, keys: tuple[str, ...], rows: tuple[PlayerRow, ...]) -> None:
        """A non-replay tick's players (``keys`` their player keys, in the same order)."""
        self.group.append((keys, rows))

    def add_ticks(self, columns: TelemetryColumns, start: int, end: int, kept: list[int]) -> None:
        """Ticks ``start`` to ``end - 1`` of a tick block: as :meth:`tick` for each, then
        :meth:`break_boost` for each ``~i`` and :meth:`keep` for each ``i`` in ``kept`` (tick
        ``i`` of the block; in order, the entries of tick ``i`` after its :meth:`tick`). The
        ticks whose groups close within the block are added at once, player by player."""
        times = columns.times
        pending: list[Any] = self.group  # the open group: older items, then this block's ints
        group_at, group_n = self.group_at, self.group_n
        run: list[int] = []  # this block's settled ticks (-1: a boost break) ...
        weights: list[float] = []  # ... and their weights
        k, n_kept = 0, len(kept)
        for i in range(start, end):
            at = times[i]
            if at != group_at:
                if group_n:
                    self.group_at, self.group_n = group_at, group_n
                    spacing, self.nominal = self._spacing()
                    self.previous_at = group_at
                    for item in pending:
                        if type(item) is int:
                            run.append(item)
                            weights.append(spacing)
                        else:  # kept before this block: before every tick of the run
                            self._add_item(item, spacing)
                    pending = []
                group_at, group_n = at, 0
            group_n += 1
            while k < n_kept:
                item = kept[k]
                if item >= 0:
                    if item != i:
                        break
                    pending.append(item)
                else:
                    if ~item != i:
                        break
                    pending.append(-1)
                k += 1
        self.group_at, self.group_n = group_at, group_n
        if run:
            self._add_run(columns, list(zip(run, weights, strict=True)), -1 in run)
        self.group = [
            item if type(item) is not int else (None if item < 0 else (columns, item))
            for item in pending
        ]

    def _add_run(
        self, columns: TelemetryColumns, run: list[tuple[int, float]], breaks: bool
    ) -> None:
        """The settled ticks of one block with their weights (tick ``-1``: a boost break;
        ``breaks``: there is one), player by player."""
        players = self.players
        in_block = set()
        for key, speeds, boosts, flags_of in columns.telemetry:
            in_block.add(key)
            p = players.get(key)
            seen = p is not None
            if p is None:
                p = PlayerTelemetry()
            counted, seconds, speed_sum, boost_sum = p.counted, p.seconds, p.speed, p.boost
            sonic, wall, air, boosting, zero, full = (
                p.sonic,
                p.wall,
                p.air,
                p.boosting,
                p.zero,
                p.full,
            )
            top, used, prev = p.top_speed, p.boost_used, p.boost_prev
            for i, w in run:
                if i < 0:
                    prev = None
                    continue
                flags = flags_of[i]
                if not flags & HAS_TELEMETRY:
                    continue
                speed_in, boost_in = speeds[i], boosts[i]
                if speed_in == UNKNOWN and boost_in == UNKNOWN and not flags & ANY_FLAG:
                    continue  # no spectator field at all
                seen = True
                if not flags & FLAG_CAR or flags & FLAG_DEMOLISHED:
                    prev = None  # a respawn's boost is no refill of this one
                    continue
                # As PlayerTelemetry.add_fields, operation for operation.
                speed = speed_in / 10 if speed_in != UNKNOWN else 0.0
                if not 0.0 <= speed < 1e4:
                    speed = 0.0
                boost = boost_in if boost_in != UNKNOWN else 0
                counted += 1
                if w:
                    seconds += w
                    speed_sum += w * speed
                    boost_sum += w * boost
                    if flags & FLAG_SUPERSONIC:
                        sonic += w
                    if flags & FLAG_ON_WALL:
                        wall += w
                    elif not flags & FLAG_ON_GROUND:
                        air += w
                    if flags & FLAG_BOOSTING:
                        boosting += w
                    if boost <= 0:
                        zero += w
                    elif boost >= FULL_BOOST:
                        full += w
                if speed > top:
                    top = speed
                if prev is not None and boost < prev:
                    used += prev - boost
                prev = boost
            if not seen:
                continue
            players[key] = p
            p.counted, p.seconds, p.speed, p.boost = counted, seconds, speed_sum, boost_sum
            p.sonic, p.wall, p.air, p.boosting, p.zero, p.full = (
                sonic,
                wall,
                air,
                boosting,
                zero,
                full,
            )
            p.top_speed, p.boost_used, p.boost_prev = top, used, prev
        if breaks:  # a break reaches the players not in this block as well
            for key, p in players.items():
                if key not in in_block:
                    p.boost_prev = None

    def _add_item(self, kept: _Kept, spacing: float) -> None:
        """One kept entry of a group, weighted (see :meth:`_flush`)."""
        players = self.players
        if kept is None:
            for each in players.values():
                each.boost_prev = None
            return
        if type(kept[0]) is not tuple:  # a tick block's columns and a tick's index
            self._add_columns(kept[0], kept[1], spacing)  # type: ignore[arg-type]
            return
        keys, rows = kept
        for key, row in zip(keys, rows, strict=True):
            if row[_TELEMETRY]:
                player = players.get(key)
                if player is None:
                    player = players[key] = PlayerTelemetry()
                player.add(row[_RAW], spacing)

    def _add_columns(self, columns: TelemetryColumns, index: int, spacing: float) -> None:
        players = self.players
        for key, speeds, boosts, flags_of in columns.telemetry:
            fields = columns.fields(speeds[index], boosts[index], flags_of[index])
            if fields is None:
                continue
            player = players.get(key)
            if player is None:
                player = players[key] = PlayerTelemetry()
            speed, boost, car, demolished, sonic, ground, wall, boosting = fields
            player.add_fields(speed, boost, car, demolished, sonic, ground, wall, boosting, spacing)

    def break_boost(self) -> None:
        """Boost was reset without being used (a replay, a kickoff): no decrease across it."""
        self.group.append(None)

    def _flush(self) -> None:
        """Add up the current group's ticks, each weighted by the group's per-tick spacing."""
        spacing, self.nominal = self._spacing()
        for kept in self.group:
            self._add_item(kept, spacing)
        self.group.clear()

    def _spacing(self) -> tuple[float, float]:
        """Seconds per tick of the current group, and the ordinary spacing after it (see the
        module docstring)."""
        if self.previous_at is None or self.group_at is None or not self.group_n:
            return 0.0, self.nominal
        delta = self.group_at - self.previous_at
        if delta > GAP_CAP_US or delta < 0:
            return self.nominal, self.nominal
        spacing = delta / 1e6 / self.group_n
        return spacing, spacing

    def records(self) -> dict[str, TelemetryRecord]:
        """Every player's figures so far, by player key (the current group counted as it
        stands; nothing here changes). A player the feed never gave spectator fields is not
        in it."""
        settled = self
        if self.group:
            settled = self.copy()
            settled._flush()
        return {key: p.record(self.approximate) for key, p in settled.players.items()}
