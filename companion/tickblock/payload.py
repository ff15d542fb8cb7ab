"""A tick block's payload, at the byte level: its prefix and body layouts, and the matrix codec
(int32 columns as zigzag deltas along time, cut into byte planes; see ``companion.tickblock``).
"""

from __future__ import annotations

import struct
import sys
from array import array
from functools import cache

TICK_BLOCK_EVENT = "TickBlock"
FORMAT_VERSION = 3
READABLE_VERSIONS = (2, 3)  # version 2 did not say which keyframes are inexact
PREFIX = struct.Struct("<BI")
BODY = struct.Struct("<HH")
TIME = struct.Struct("<i")
HAS_HEADER = 1
HAS_TEXT = 2


def ms(us: int) -> int:
    """Microseconds to the nearest millisecond (the reader reads every 50 ms or so: receive times
    within a block need no more)."""
    return (us + 500) // 1000


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


def encode_matrix(previous: bytes, rows: list[bytes], columns: int) -> bytes:
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


def decode_matrix(previous: bytes, planes: bytes, columns: int, count: int) -> bytes:
    """The inverse of ``encode_matrix``: the rows, packed one after another."""
    high, not_high, _, _, low = _lanes(columns)
    size = 4 * columns
    at = (4 * columns + 7) // 8
    present = int.from_bytes(planes[:at], "little")
    if present >> (4 * columns):
        raise ValueError("the tick block's matrix has the wrong size")
    interleaved = bytearray(size * count)
    # Only the runs that are there (most are not): a loop over every run cost more than the rest.
    rest = present
    while rest:
        lowest = rest & -rest
        b, c = divmod(lowest.bit_length() - 1, columns)
        interleaved[c * 4 + b :: size] = planes[at : at + count]
        at += count
        rest ^= lowest
    if at != len(planes):
        raise ValueError("the tick block's matrix has the wrong size")
    out = bytearray()
    before = int.from_bytes(previous, "little")
    for i in range(count):
        zigzag = int.from_bytes(interleaved[i * size : (i + 1) * size], "little")
        delta = ((zigzag >> 1) & not_high) ^ ((zigzag & low) * 0xFFFFFFFF)
        before = ((before & not_high) + (delta & not_high)) ^ ((before ^ delta) & high)
        out += before.to_bytes(size, "little")
    return bytes(out)


def unpack(packed: bytes) -> array[int]:
    """Packed little-endian int32 lanes as an array (one or many rows)."""
    values = array("i")
    values.frombytes(packed)
    if sys.byteorder == "big":
        values.byteswap()
    return values
