"""``TickBlockEncoder``: collects one stream's ticks into blocks and encodes each block."""

from __future__ import annotations

import struct
import zlib
from typing import Any, Final

import orjson

from companion.tickblock.columns import INT32_MAX, UNKNOWN, TickValues, header_json
from companion.tickblock.payload import (
    BODY,
    FORMAT_VERSION,
    HAS_HEADER,
    HAS_TEXT,
    PREFIX,
    TIME,
    encode_matrix,
    ms,
)

SYNC_EVERY_US: Final = 60_000_000
COMPRESS_LEVEL: Final = 6


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
        self._inexact: list[int] = []

    def fits(self, seq: int, received_at_us: int, tick: TickValues) -> bool:
        """Whether the tick can join this block: empty, or the next seq with the same header
        (and a receive time the time column can hold)."""
        return self.count == 0 or (
            seq == self.first_seq + self.count
            and UNKNOWN < ms(received_at_us - self.t0_us) <= INT32_MAX
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
        self._rows.append(TIME.pack(ms(received_at_us - self.t0_us)) + tick.packed)
        if keyframe_text is not None:
            self._keyframes.append((self.count, keyframe_text))
            if not tick.exact:
                self._inexact.append(self.count)
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
            flags |= HAS_HEADER
            header_text = orjson.dumps(header_json(header))
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
            PREFIX.pack(flags | (HAS_TEXT if texts else 0), self._previous_first_seq),
            matrix.compress(BODY.pack(self.count, columns)),
            matrix.compress(encode_matrix(previous, self._rows, columns)),
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
        if self._inexact:
            data["inexact"] = self._inexact
        self._header = header
        self._last_row = self._rows[-1]
        self._reference = reference
        self._previous_first_seq = self.first_seq & 0xFFFFFFFF
        if with_header:
            self._synced_at_us = self.t0_us
        self._reset()
        return data, b"".join(parts)
