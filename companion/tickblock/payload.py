"""A tick block's payload, at the byte level: its prefix and body layouts, and the matrix codec
(int32 columns as zigzag deltas along time, cut into byte planes; see ``companion.tickblock``).
"""

from __future__ import annotations

import struct
import sys
from array import array
from functools import cache
from typing import Final

TICK_BLOCK_EVENT: Final = "TickBlock"
FORMAT_VERSION: Final = 3
READABLE_VERSIONS: Final = (2, 3)  # version 2 did not say which keyframes are inexact
PREFIX: Final = struct.Struct("<BI")
BODY: Final = struct.Struct("<HH")
TIME: Final = struct.Struct("<i")
HAS_HEADER: Final = 1
HAS_TEXT: Final = 2
# Whether this module runs compiled (mypyc, as in the executable) rather than as Python source.
COMPILED: Final = not __file__.endswith(".py")


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


def decode_matrix(previous: list[int], planes: bytes, columns: int, count: int) -> list[int]:
    """The inverse of ``encode_matrix``, from the row before (``previous``, its values): the
    rows' values one after another.

    Two ways to the same values: lane-wise arithmetic on whole rows as big integers costs
    Python the least (a few operations per tick), a plain loop per value costs compiled code
    the least (machine integers, no big-integer objects)."""
    if COMPILED:
        return decode_matrix_by_value(previous, planes, columns, count)
    return decode_matrix_by_row(previous, planes, columns, count)


def _present_runs(planes: bytes, columns: int) -> tuple[int, int]:
    """The bit set of byte runs present in ``planes`` and where the first one starts."""
    at = (4 * columns + 7) // 8
    present = int.from_bytes(planes[:at], "little")
    if present >> (4 * columns):
        raise ValueError("the tick block's matrix has the wrong size")
    return present, at


def decode_matrix_by_row(previous: list[int], planes: bytes, columns: int, count: int) -> list[int]:
    """``decode_matrix`` a row at a time (SWAR on big integers)."""
    high, not_high, _, _, low = _lanes(columns)
    size = 4 * columns
    present, at = _present_runs(planes, columns)
    interleaved = bytearray(size * count)
    # Only the runs that are there (most are not): a loop over every run cost more than the rest.
    rest = present
    while rest:
        lowest = rest & -rest
        b, c = divmod(lowest.bit_length() - 1, columns)
        if at + count > len(planes):
            raise ValueError("the tick block's matrix has the wrong size")
        interleaved[c * 4 + b :: size] = planes[at : at + count]
        at += count
        rest ^= lowest
    if at != len(planes):
        raise ValueError("the tick block's matrix has the wrong size")
    out = bytearray()
    before = int.from_bytes(_row(columns).pack(*previous), "little")
    for i in range(count):
        zigzag = int.from_bytes(interleaved[i * size : (i + 1) * size], "little")
        delta = ((zigzag >> 1) & not_high) ^ ((zigzag & low) * 0xFFFFFFFF)
        before = ((before & not_high) + (delta & not_high)) ^ ((before ^ delta) & high)
        out += before.to_bytes(size, "little")
    return unpack(out).tolist()


def decode_matrix_by_value(
    previous: list[int], planes: bytes, columns: int, count: int
) -> list[int]:
    """``decode_matrix`` a value at a time: each present column's zigzag deltas summed along
    time, modulo 2**32 as the encoder's lanes; an absent column repeats the row before."""
    present, at = _present_runs(planes, columns)
    deltas: dict[int, list[int]] = {}  # the zigzag deltas of the columns that change
    rest = present
    while rest:  # low byte planes first (run k is byte k // columns of column k % columns)
        lowest = rest & -rest
        k = lowest.bit_length() - 1
        b = k // columns
        c = k - b * columns
        if at + count > len(planes):
            raise ValueError("the tick block's matrix has the wrong size")
        if b == 0:
            deltas[c] = list(planes[at : at + count])
        else:
            zigzag = deltas.get(c)
            if zigzag is None:
                zigzag = deltas[c] = [0] * count
            shift = 8 * b
            for i in range(count):
                zigzag[i] |= planes[at + i] << shift
        at += count
        rest ^= lowest
    if at != len(planes):
        raise ValueError("the tick block's matrix has the wrong size")
    out = previous * count  # every column as it was, until its deltas say otherwise
    for c, zigzag in deltas.items():
        value = out[c]
        k = c
        for z in zigzag:
            value = ((value + ((z >> 1) ^ -(z & 1)) + 0x80000000) & 0xFFFFFFFF) - 0x80000000
            out[k] = value
            k += columns
    return out


@cache
def _row(columns: int) -> struct.Struct:
    """One row of ``columns`` int32 lanes, little-endian."""
    return struct.Struct(f"<{columns}i")


def unpack(packed: bytes | bytearray) -> array[int]:
    """Packed little-endian int32 lanes as an array (one or many rows)."""
    values = array("i")
    values.frombytes(packed)
    if sys.byteorder == "big":
        values.byteswap()
    return values
