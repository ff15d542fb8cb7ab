"""Tick blocks: how ``UpdateState`` ticks are kept in the journal, compactly.

The game sends up to 120 ``UpdateState`` snapshots a second, a few kilobytes each. Kept verbatim
that is gigabytes a season; kept as tick blocks a 3v3 match at 120 Hz is a few megabytes an hour.
A block holds a run of consecutive ticks of one connection (the reader cuts a block at every other
message, so journal order stays exact, and at least every 250 ms). Per tick it keeps what stats and
telemetry need: clock, overtime, replay flag, ball speed and team, team scores; per player speed,
boost, the ``b*`` flags and the cumulative stats. Stats, scores, clock and flags are exact; speeds
are kept to 0.1 km/h, receive times to the millisecond (the first tick's exactly). *Keyframes*
are ticks kept verbatim as well (the reader keeps one at every scoreboard change, at replay start
and end, and about once a second; the encoder adds any tick whose values the columns cannot hold
exactly), so nothing the game sent is only approximated.

Format, version 2. The journal row (event ``TickBlock``, ``seq`` = the first tick's seq, ``ts`` =
the first tick's receive time) has:

- ``data``: a small JSON description, ``{"v": 2, "first_seq", "count", "t0_us"}``, plus
  ``"header": true`` when the block carries its header and ``"coalesced": n`` when ``n`` ticks
  were folded into it while storage was behind. Tick seqs are consecutive within a block, from
  ``first_seq``.
- ``payload`` (BLOB), little-endian throughout: 5 bytes, ``<BI``: flags (bit 0: the block
  carries its header; bit 1: it has text) and the ``first_seq`` of the stream's previous block
  modulo 2**32 (0 for the first); then one or two raw deflate streams (``wbits=-15``), each
  ending where its last block says so:

  1. the *matrix*: ``<HH`` tick count and column count, then one int32 column per value,
     ``count`` ticks each. Columns: receive time (ms after ``t0_us``), clock, game bits (1
     overtime, 2 replay), ball speed (0.1 km/h), ball team; per player speed (0.1 km/h), boost,
     flags; per team its score; per player the 8 stats (``STAT_FIELDS``). A player's flags are
     the ``FLAG_FIELDS`` bits (set when true) and bit 7 when the player has spectator fields at
     all: without it speed and boost are unknown (absent in the ticks), with it a missing
     ``Speed`` or ``Boost`` is 0 (the game omits zeros). An unknown number is ``UNKNOWN``
     (-2**31; ``None`` in the ticks). Each column is delta-coded along time (modulo 2**32), the
     first tick against the previous block's last tick (against 0 in a block with a header; the
     time column always starts from 0), zigzag-mapped (``(d << 1) ^ (d >> 31)``) and cut into
     byte planes: the column's lowest bytes, tick after tick, then its second bytes, and so on.
     Of these ``4 * columns`` runs of ``count`` bytes (plane after plane, column after column in
     each), only those not all zero are stored, after a bitmap of which are (bit ``k``, of
     ``ceil(4 * columns / 8)`` bytes, for run ``k``). (Deflated with ``Z_RLE``: small numbers.)
  2. the *text*, when the block has a header or keyframes: with a header, ``<I`` length and the
     header's JSON: ``{"MatchGuid", "Roster": [[Name, PrimaryId, Shortcut, TeamNum], …],
     "Teams": [[Name, TeamNum, ColorPrimary, ColorSecondary], …], "Game": {Arena, bHasWinner,
     Winner, bHasTarget, Target, PlaylistId: those present}}``; then, if any, ``<H`` keyframe
     count and per keyframe ``<HI`` tick index and length and the tick's ``Data`` JSON text as
     the game sent it. In a block with a header it is deflated on its own; otherwise against the
     stream's *reference* (``zdict``): the text of the latest keyframe so far, or the header's
     JSON before any, counted from the last block with a header.

A block carries its header when it is the encoder's first, when the header changed (match, roster,
team names or colours, camera target, winner, arena, playlist) and at least once a minute
(``SYNC_EVERY_US``: a header costs most of a kilobyte, so not more often); a block without one
depends on the previous block of its stream. So a stream is decoded in order by one
``TickBlockDecoder``, which raises ``MissingHeaderError`` for a block whose header (or
predecessor) it has not seen; decoding can start again at any block with a header.

Use: ``values_of(data)`` reads a tick (``Unpackable`` when no block can hold it), one
``TickBlockEncoder`` per stream collects ticks (``fits``, ``add``) and ``encode`` gives a row's
data and payload; ``TickBlockDecoder.expand(data, payload)`` gives the ticks back, shaped like
``UpdateState`` data (keyframes verbatim), so derivation reads both the same way.
"""

from __future__ import annotations

import struct
import sys
import zlib
from array import array
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from itertools import chain
from operator import itemgetter
from typing import Any

import orjson

TICK_BLOCK_EVENT = "TickBlock"
FORMAT_VERSION = 2
SYNC_EVERY_US = 60_000_000
COMPRESS_LEVEL = 6

STAT_FIELDS = ("Score", "Goals", "Shots", "Assists", "Saves", "Touches", "CarTouches", "Demos")
FLAG_FIELDS = (
    "bHasCar",
    "bBoosting",
    "bOnGround",
    "bOnWall",
    "bPowersliding",
    "bDemolished",
    "bSupersonic",
)
HAS_TELEMETRY = 1 << 7  # the player's spectator fields were present at all
UNKNOWN = -(1 << 31)  # int32's minimum; numbers above it, up to int32's maximum, are kept
_MAX = (1 << 31) - 1
_GAME_HEADER_FIELDS = ("Arena", "bHasWinner", "Winner", "bHasTarget", "Target", "PlaylistId")
_FLAG_BITS = {name: 1 << bit for bit, name in enumerate(FLAG_FIELDS)}
_SPECTATOR = ("Speed", "Boost", *FLAG_FIELDS)  # the player's spectator fields
_GAME_COLUMNS = 4  # clock, game bits, ball speed, ball team
_PER_PLAYER = 3  # speed, boost, flags
_OVERTIME = 1
_REPLAY = 2
_PREFIX = struct.Struct("<BI")
_BODY = struct.Struct("<HH")
_TIME = struct.Struct("<i")
_HAS_HEADER = 1
_HAS_TEXT = 2
_MAX_FAST_PLAYERS = 64
_TELEMETRY_KEYS = tuple((key,) * _MAX_FAST_PLAYERS for key in _SPECTATOR)
_stats_of = itemgetter(*STAT_FIELDS)
_score_of = itemgetter("Score")
_roster_of = itemgetter("Name", "PrimaryId", "Shortcut", "TeamNum")
_team_of = itemgetter("Name", "TeamNum", "ColorPrimary", "ColorSecondary")


class MissingHeaderError(ValueError):
    """A block refers to a header (and previous block) its decoder has not seen."""


class Unpackable(ValueError):
    """A tick whose shape a block cannot hold (``Players`` not a list of objects, …)."""


@dataclass(frozen=True, slots=True)
class Tick:
    """One ``UpdateState`` as derivation sees it; ``keyframe`` when ``data`` is verbatim."""

    seq: int
    received_at_us: int
    data: dict[str, Any]
    keyframe: bool


@dataclass(frozen=True, slots=True)
class TickValues:
    """What a block keeps of one tick: its header (as a comparable key) and its column values
    (without the time). ``exact`` is False when some value could not be kept as it was."""

    header: tuple[Any, ...]
    values: list[int]
    packed: bytes  # the values as little-endian int32
    players: int
    exact: bool

    @property
    def replay(self) -> bool:
        return bool(self.values[1] & _REPLAY)

    @property
    def scoreboard(self) -> bytes:
        """Team scores and every player's stats (packed): a change makes a keyframe."""
        return self.packed[4 * (_GAME_COLUMNS + _PER_PLAYER * self.players) :]


def _pack(values: list[int]) -> bytes:
    packed = array("i", values)  # OverflowError beyond int32, TypeError for non-integers
    if sys.byteorder == "big":
        packed.byteswap()
    return packed.tobytes()


def values_of(data: dict[str, Any]) -> TickValues:
    """The header key and column values of one tick; raises ``Unpackable``."""
    try:
        return _values_fast(data)
    except (KeyError, TypeError, ValueError, OverflowError, AttributeError):
        return _values_slow(data)


def _values_fast(data: dict[str, Any]) -> TickValues:
    # The hot path, once per tick: lookups go through ``map`` (C loops, not bytecode per field).
    game = data["Game"]
    ball = game["Ball"]
    players = data["Players"]
    teams = game["Teams"]
    if len(players) > _MAX_FAST_PLAYERS:
        raise ValueError("more players than the fast path takes")
    values = [
        game["TimeSeconds"],
        (_OVERTIME if game["bOvertime"] else 0) | (_REPLAY if game["bReplay"] else 0),
        round(ball["Speed"] * 10),
        ball["TeamNum"],
    ]
    get = dict.get
    for speed, boost, car, boosting, ground, wall, slide, demolished, supersonic in zip(
        *[map(get, players, keys) for keys in _TELEMETRY_KEYS], strict=True
    ):
        if (
            speed is None
            and boost is None
            and car is None
            and boosting is None
            and ground is None
            and wall is None
            and slide is None
            and demolished is None
            and supersonic is None
        ):
            values += (0, 0, 0)  # no spectator fields: unknown
        else:
            values += (
                round(speed * 10) if speed else 0,
                boost or 0,
                HAS_TELEMETRY
                | (1 if car else 0)
                | (2 if boosting else 0)
                | (4 if ground else 0)
                | (8 if wall else 0)
                | (16 if slide else 0)
                | (32 if demolished else 0)
                | (64 if supersonic else 0),
            )
    values += map(_score_of, teams)
    values += chain.from_iterable(map(_stats_of, players))
    packed = _pack(values)
    if min(values) == UNKNOWN:
        raise ValueError("a number that reads as unknown")
    header = (
        data.get("MatchGuid"),
        list(map(_roster_of, players)),
        list(map(_team_of, teams)),
        list(map(game.get, _GAME_HEADER_FIELDS, _ABSENT)),
    )
    return TickValues(header, values, packed, len(players), True)


class _Absent:
    """A game header field that was not there (distinct from null)."""


_ABSENT = (_Absent,) * len(_GAME_HEADER_FIELDS)


def _exact(value: Any) -> int | None:
    if type(value) is int and UNKNOWN < value <= _MAX:
        return value
    return None


def _tenths(value: Any) -> int | None:
    if type(value) in (int, float) and abs(value) < 2e8:
        return round(float(value) * 10)
    return None


def _values_slow(data: dict[str, Any]) -> TickValues:
    """Like ``_values_fast``, value by value: a missing or null number is ``UNKNOWN``, and so is
    one the columns cannot hold exactly, which also makes the tick inexact (kept verbatim)."""
    game = data.get("Game")
    players = data.get("Players")
    if not isinstance(game, dict) or not isinstance(players, list):
        raise Unpackable("an UpdateState without a Game object and a Players list")
    teams = game.get("Teams")
    if teams is None:
        teams = []
    if not isinstance(teams, list) or not all(isinstance(t, dict) for t in teams + players):
        raise Unpackable("an UpdateState team or player is not an object")
    ball = game.get("Ball")
    exact = ball is None or isinstance(ball, dict)
    if not isinstance(ball, dict):
        ball = {}

    def keep(value: Any, convert: Any = _exact) -> int:
        nonlocal exact
        if value is None:
            return UNKNOWN
        number: int | None = convert(value)
        if number is None:
            exact = False
            return UNKNOWN
        return number

    values = [
        keep(game.get("TimeSeconds")),
        (_OVERTIME if game.get("bOvertime") else 0) | (_REPLAY if game.get("bReplay") else 0),
        keep(ball.get("Speed"), _tenths),
        keep(ball.get("TeamNum")),
    ]
    for p in players:
        if all(p.get(key) is None for key in _SPECTATOR):
            values += (0, 0, 0)
        else:
            flags = HAS_TELEMETRY
            for name, bit in _FLAG_BITS.items():
                if p.get(name):
                    flags |= bit
            values += (keep(p.get("Speed", 0), _tenths), keep(p.get("Boost", 0)), flags)
    values += [keep(t.get("Score")) for t in teams]
    for p in players:
        values += [keep(p.get(name)) for name in STAT_FIELDS]
    header = (
        data.get("MatchGuid"),
        [tuple(p.get(k) for k in ("Name", "PrimaryId", "Shortcut", "TeamNum")) for p in players],
        [
            tuple(t.get(k) for k in ("Name", "TeamNum", "ColorPrimary", "ColorSecondary"))
            for t in teams
        ],
        [game.get(key, _Absent) for key in _GAME_HEADER_FIELDS],
    )
    return TickValues(header, values, _pack(values), len(players), exact)


def _header_json(header: tuple[Any, ...]) -> dict[str, Any]:
    guid, roster, teams, game = header
    return {
        "MatchGuid": guid,
        "Roster": [list(p) for p in roster],
        "Teams": [list(t) for t in teams],
        "Game": {
            key: value
            for key, value in zip(_GAME_HEADER_FIELDS, game, strict=True)
            if value is not _Absent
        },
    }


@cache
def _lanes(columns: int) -> tuple[int, int, int, int, int]:
    """Masks to treat a big integer as ``columns`` int32 lanes (SWAR): the high bit of each lane,
    all bits but it, all bits, all but the low bit, and the low bit."""

    def repeat(lane: bytes) -> int:
        return int.from_bytes(lane * columns, "little")

    high = repeat(b"\x00\x00\x00\x80")
    every = (1 << (32 * columns)) - 1
    return (
        high,
        every ^ high,
        every,
        repeat(b"\xfe\xff\xff\xff"),
        repeat(b"\x01\x00\x00\x00"),
    )


def _encode_matrix(previous: bytes, rows: list[bytes], columns: int) -> bytes:
    """Rows of packed int32 lanes → zigzag deltas along time, as column-major byte planes.

    Lane-wise arithmetic on whole rows as big integers (no carry crosses a lane), so the cost is
    per tick, not per value."""
    high, not_high, every, not_low, _ = _lanes(columns)
    size = 4 * columns
    before = int.from_bytes(previous, "little")
    out = []
    for row in rows:
        now = int.from_bytes(row, "little")
        delta = ((now | high) - (before & not_high)) ^ ((now ^ before ^ every) & high)
        zigzag = ((delta << 1) & not_low) ^ (((delta & high) >> 31) * 0xFFFFFFFF)
        out.append(zigzag.to_bytes(size, "little"))
        before = now
    interleaved = b"".join(out)
    zero = bytes(len(rows))
    present = 0
    kept = []
    k = 0
    for b in range(4):
        plane = interleaved[b::4]
        for c in range(columns):
            segment = plane[c::columns]
            if segment != zero:  # most are all zero: stats that did not change, high bytes
                kept.append(segment)
                present |= 1 << k
            k += 1
    return present.to_bytes((4 * columns + 7) // 8, "little") + b"".join(kept)


def _decode_matrix(previous: bytes, planes: bytes, columns: int, count: int) -> list[bytes]:
    """The inverse of ``_encode_matrix``: the rows, packed."""
    high, not_high, _, _, low = _lanes(columns)
    size = 4 * columns
    at = (4 * columns + 7) // 8
    present = int.from_bytes(planes[:at], "little")
    interleaved = bytearray(size * count)
    k = 0
    for b in range(4):
        for c in range(columns):
            if present >> k & 1:
                interleaved[c * 4 + b :: size] = planes[at : at + count]
                at += count
            k += 1
    if at != len(planes) or present >> k:
        raise ValueError("the tick block's matrix has the wrong size")
    rows = []
    before = int.from_bytes(previous, "little")
    for i in range(count):
        zigzag = int.from_bytes(interleaved[i * size : (i + 1) * size], "little")
        delta = ((zigzag >> 1) & not_high) ^ ((zigzag & low) * 0xFFFFFFFF)
        before = ((before & not_high) + (delta & not_high)) ^ ((before ^ delta) & high)
        rows.append(before.to_bytes(size, "little"))
    return rows


def _unpack(row: bytes) -> list[int]:
    values = array("i")
    values.frombytes(row)
    if sys.byteorder == "big":
        values.byteswap()
    return values.tolist()


class TickBlockEncoder:
    """Collects consecutive ticks of one stream sharing one header; ``encode`` makes the row's
    data and payload. Keeps what the next block refers to, so use one encoder per stream."""

    def __init__(self, sync_every_us: int = SYNC_EVERY_US, level: int = COMPRESS_LEVEL) -> None:
        self._sync_every_us = sync_every_us
        self._level = level
        # The stream: what the previous block left for the next one to refer to.
        self._header: tuple[Any, ...] | None = None
        self._last_row = b""
        self._reference = b""
        self._previous_first_seq = 0
        self._synced_at_us = 0
        self._reset()

    def _reset(self) -> None:
        self.count = 0
        self.first_seq = 0
        self.t0_us = 0
        self._block_header: tuple[Any, ...] | None = None
        self._rows: list[bytes] = []
        self._keyframes: list[tuple[int, bytes]] = []

    def fits(self, seq: int, received_at_us: int, tick: TickValues) -> bool:
        """Whether the tick can join this block: empty, or the next seq with the same header
        (and a receive time the time column can hold)."""
        return self.count == 0 or (
            seq == self.first_seq + self.count
            and UNKNOWN < _ms(received_at_us - self.t0_us) <= _MAX
            and self.count < 0xFFFF
            and tick.header == self._block_header
        )

    def add(
        self,
        seq: int,
        received_at_us: int,
        tick: TickValues,
        keyframe_text: bytes | None = None,
    ) -> None:
        """Add a tick; ``keyframe_text`` (its ``Data`` JSON) keeps it verbatim as well, which a
        tick whose values are not all exact (``tick.exact``) needs."""
        if keyframe_text is None and not tick.exact:
            raise ValueError("a tick the columns cannot hold exactly must be kept verbatim")
        if self.count == 0:
            self._block_header = tick.header
            self.first_seq = seq
            self.t0_us = received_at_us
        elif not self.fits(seq, received_at_us, tick):
            raise ValueError("the tick does not belong to this block; encode it first")
        self._rows.append(_TIME.pack(_ms(received_at_us - self.t0_us)) + tick.packed)
        if keyframe_text is not None:
            self._keyframes.append((self.count, keyframe_text))
        self.count += 1

    def encode(self, coalesced: int = 0) -> tuple[dict[str, Any], bytes]:
        """The row's data and payload for this block; the encoder is empty again afterwards."""
        if not self.count or self._block_header is None:
            raise ValueError("an empty tick block")
        header = self._block_header
        size = len(self._rows[0])
        columns = size // 4
        with_header = (
            self._header is None
            or header != self._header
            or len(self._last_row) != size
            or self.t0_us - self._synced_at_us >= self._sync_every_us
        )
        flags = 0
        texts: list[bytes] = []
        reference = self._reference
        if with_header:
            flags |= _HAS_HEADER
            header_text = orjson.dumps(_header_json(header))
            texts += (struct.pack("<I", len(header_text)), header_text)
            reference = header_text
            previous = bytes(size)
        else:
            previous = bytes(4) + self._last_row[4:]
        if self._keyframes:
            texts.append(struct.pack("<H", len(self._keyframes)))
            for index, text in self._keyframes:
                texts += (struct.pack("<HI", index, len(text)), text)
                reference = text
        matrix = zlib.compressobj(self._level, zlib.DEFLATED, -15, 8, zlib.Z_RLE)
        parts = [
            _PREFIX.pack(flags | (_HAS_TEXT if texts else 0), self._previous_first_seq),
            matrix.compress(_BODY.pack(self.count, columns)),
            matrix.compress(_encode_matrix(previous, self._rows, columns)),
            matrix.flush(),
        ]
        if texts:
            # Header and keyframes: text, deflated against the stream's reference (none after a
            # header: such a block stands alone).
            if with_header:
                deflater = zlib.compressobj(self._level, zlib.DEFLATED, -15)
            else:
                deflater = zlib.compressobj(self._level, zlib.DEFLATED, -15, zdict=self._reference)
            parts += (deflater.compress(b"".join(texts)), deflater.flush())
        data: dict[str, Any] = {
            "v": FORMAT_VERSION,
            "first_seq": self.first_seq,
            "count": self.count,
            "t0_us": self.t0_us,
        }
        if with_header:
            data["header"] = True
        if coalesced:
            data["coalesced"] = coalesced
        self._header = header
        self._last_row = self._rows[-1]
        self._reference = reference
        self._previous_first_seq = self.first_seq & 0xFFFFFFFF
        if with_header:
            self._synced_at_us = self.t0_us
        self._reset()
        return data, b"".join(parts)


class TickBlockDecoder:
    """Expands the tick blocks of one stream, in journal order; see the module docstring."""

    def __init__(self) -> None:
        self._header: dict[str, Any] | None = None
        self._last_row = b""
        self._reference = b""
        self._previous_first_seq = 0

    def expand(self, block: Mapping[str, Any], payload: bytes) -> list[Tick]:
        """The ticks of a block, in order, each as ``UpdateState``-shaped data.

        Raises ``MissingHeaderError`` when the block refers to a header (or a previous block)
        this decoder has not seen, ``ValueError`` when the block is not one it can read."""
        if block.get("v") != FORMAT_VERSION:
            raise ValueError(f"unknown tick block version {block.get('v')!r}")
        first_seq: int = block["first_seq"]
        t0_us: int = block["t0_us"]
        if len(payload) < _PREFIX.size:
            raise ValueError("a tick block payload too short to be one")
        flags, previous_seq = _PREFIX.unpack_from(payload)
        with_header = bool(flags & _HAS_HEADER)
        if not with_header:
            if self._header is None:
                raise MissingHeaderError(
                    f"the tick block at seq {first_seq} needs the header of an earlier block of "
                    "its stream, which this decoder has not seen: decode the stream in order, "
                    "from its first block or from a block with a header"
                )
            if previous_seq != self._previous_first_seq & 0xFFFFFFFF:
                raise MissingHeaderError(
                    f"the tick block at seq {first_seq} follows the block at seq "
                    f"{previous_seq}, but this decoder last read the block at seq "
                    f"{self._previous_first_seq}: decode the stream in order"
                )
        try:
            inflater = zlib.decompressobj(-15)
            body = inflater.decompress(payload[_PREFIX.size :]) + inflater.flush()
            ended = inflater.eof
            rest = inflater.unused_data
            text = b""
            if flags & _HAS_TEXT:
                if with_header:
                    inflater = zlib.decompressobj(-15)
                else:
                    inflater = zlib.decompressobj(-15, zdict=self._reference)
                text = inflater.decompress(rest) + inflater.flush()
                ended = ended and inflater.eof
            if not ended:
                raise zlib.error("it ends early")
        except zlib.error as exc:
            raise ValueError(f"the tick block at seq {first_seq} is damaged: {exc}") from exc
        try:
            header, rows, keyframes, reference = self._parse(block, with_header, body, text)
        except struct.error as exc:
            raise ValueError(f"the tick block at seq {first_seq} is damaged: {exc}") from exc
        ticks = []
        for i, packed in enumerate(rows):
            row = _unpack(packed)
            received = t0_us + row[0] * 1000
            if i in keyframes:
                ticks.append(Tick(first_seq + i, received, keyframes[i], True))
            else:
                ticks.append(Tick(first_seq + i, received, _tick_data(header, row), False))
        self._header = header
        self._last_row = rows[-1]
        self._reference = reference
        self._previous_first_seq = first_seq
        return ticks

    def _parse(
        self, block: Mapping[str, Any], with_header: bool, body: bytes, text: bytes
    ) -> tuple[dict[str, Any], list[bytes], dict[int, dict[str, Any]], bytes]:
        """Header, packed rows, keyframes and the next reference of one block's streams."""
        count, columns = _BODY.unpack_from(body)
        if count != block["count"] or count < 1:
            raise ValueError("the tick block's count does not match its payload")
        at = 0
        reference = self._reference
        if with_header:
            (size,) = struct.unpack_from("<I", text, at)
            at += 4
            reference = text[at : at + size]
            header = orjson.loads(reference)
            at += size
            previous = bytes(4 * columns)
        else:
            assert self._header is not None
            header = self._header
            if len(self._last_row) != 4 * columns:
                raise ValueError("the tick block's columns do not match its header")
            previous = bytes(4) + self._last_row[4:]
        n_players, n_teams = len(header["Roster"]), len(header["Teams"])
        if columns != 1 + _GAME_COLUMNS + (_PER_PLAYER + len(STAT_FIELDS)) * n_players + n_teams:
            raise ValueError("the tick block's columns do not match its header")
        rows = _decode_matrix(previous, body[_BODY.size :], columns, count)
        keyframes: dict[int, dict[str, Any]] = {}
        if at < len(text):
            (n_keyframes,) = struct.unpack_from("<H", text, at)
            at += 2
            for _ in range(n_keyframes):
                index, size = struct.unpack_from("<HI", text, at)
                at += 6
                reference = text[at : at + size]
                keyframes[index] = orjson.loads(reference)
                at += size
        return header, rows, keyframes, reference


def _ms(us: int) -> int:
    """Microseconds to the nearest millisecond (the reader reads every 50 ms or so: receive times
    within a block need no more)."""
    return (us + 500) // 1000


def _known(value: int) -> int | None:
    return None if value == UNKNOWN else value


def _tick_data(header: dict[str, Any], row: list[int]) -> dict[str, Any]:
    """One tick from its column values (time first) and the block's header."""
    roster = header["Roster"]
    n = len(roster)
    at = 1 + _GAME_COLUMNS
    scores_at = at + _PER_PLAYER * n
    stats_at = scores_at + len(header["Teams"])
    players = []
    for k, (name, primary_id, shortcut, team) in enumerate(roster):
        player: dict[str, Any] = {
            "Name": name,
            "PrimaryId": primary_id,
            "Shortcut": shortcut,
            "TeamNum": team,
        }
        stats = row[stats_at + k * len(STAT_FIELDS) : stats_at + (k + 1) * len(STAT_FIELDS)]
        for field_name, value in zip(STAT_FIELDS, stats, strict=True):
            player[field_name] = _known(value)
        speed, boost, flags = row[at + k * _PER_PLAYER : at + (k + 1) * _PER_PLAYER]
        if flags & HAS_TELEMETRY:
            for bit, flag in enumerate(FLAG_FIELDS):
                if flags & (1 << bit):
                    player[flag] = True
            if speed != UNKNOWN:
                player["Speed"] = speed / 10
            if boost != UNKNOWN:
                player["Boost"] = boost
        players.append(player)
    teams = [
        {
            "Name": name,
            "TeamNum": number,
            "Score": _known(row[scores_at + k]),
            "ColorPrimary": primary,
            "ColorSecondary": secondary,
        }
        for k, (name, number, primary, secondary) in enumerate(header["Teams"])
    ]
    clock, bits, ball_speed, ball_team = row[1 : 1 + _GAME_COLUMNS]
    game: dict[str, Any] = {
        "Teams": teams,
        "TimeSeconds": _known(clock),
        "bOvertime": bool(bits & _OVERTIME),
        "Ball": {
            "Speed": None if ball_speed == UNKNOWN else ball_speed / 10,
            "TeamNum": _known(ball_team),
        },
        "bReplay": bool(bits & _REPLAY),
        **header["Game"],
    }
    return {"MatchGuid": header["MatchGuid"], "Players": players, "Game": game}
