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

Format, version 3. The journal row (event ``TickBlock``, ``seq`` = the first tick's seq, ``ts`` =
the first tick's receive time) has:

- ``data``: a small JSON description, ``{"v": 2, "first_seq", "count", "t0_us"}``, plus
  ``"header": true`` when the block carries its header, ``"coalesced": n`` when ``n`` ticks
  were folded into it while storage was behind, and ``"inexact": [i, …]`` when some keyframes
  (by tick index) hold values the columns could not hold exactly. Tick seqs are consecutive
  within a block, from ``first_seq``. (Version 2, still read, did not list the inexact
  keyframes: every keyframe of such a block counts as inexact.)
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
``UpdateState`` data (keyframes verbatim), so derivation reads both the same way
(``expand_rows`` gives the column values, and keyframe texts parsed only on demand). A decoder's
``state()`` is an immutable snapshot that ``restore(state)`` goes back to (a rolled-back
transaction takes its blocks back with it).

The package: ``columns`` (what a block keeps of a tick, both ways), ``payload`` (the byte layout
and the matrix codec), ``encoder`` and ``decoder``; everything public is importable from here.
"""

from companion.tickblock.columns import (
    ANY_FLAG,
    FLAG_BOOSTING,
    FLAG_CAR,
    FLAG_DEMOLISHED,
    FLAG_FIELDS,
    FLAG_ON_GROUND,
    FLAG_ON_WALL,
    FLAG_SUPERSONIC,
    GAME_COLUMNS,
    HAS_TELEMETRY,
    PER_PLAYER,
    STAT_FIELDS,
    UNKNOWN,
    TickValues,
    Unpackable,
    values_of,
)
from companion.tickblock.decoder import (
    DecodedBlock,
    DecoderState,
    MissingHeaderError,
    Tick,
    TickBlockDecoder,
)
from companion.tickblock.encoder import COMPRESS_LEVEL, SYNC_EVERY_US, TickBlockEncoder
from companion.tickblock.payload import FORMAT_VERSION, READABLE_VERSIONS, TICK_BLOCK_EVENT

__all__ = [
    "ANY_FLAG",
    "COMPRESS_LEVEL",
    "FLAG_BOOSTING",
    "FLAG_CAR",
    "FLAG_DEMOLISHED",
    "FLAG_FIELDS",
    "FLAG_ON_GROUND",
    "FLAG_ON_WALL",
    "FLAG_SUPERSONIC",
    "FORMAT_VERSION",
    "GAME_COLUMNS",
    "HAS_TELEMETRY",
    "PER_PLAYER",
    "READABLE_VERSIONS",
    "STAT_FIELDS",
    "SYNC_EVERY_US",
    "TICK_BLOCK_EVENT",
    "UNKNOWN",
    "DecodedBlock",
    "DecoderState",
    "MissingHeaderError",
    "Tick",
    "TickBlockDecoder",
    "TickBlockEncoder",
    "TickValues",
    "Unpackable",
    "values_of",
]
