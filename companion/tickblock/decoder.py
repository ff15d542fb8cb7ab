"""``TickBlockDecoder``: expands one stream's tick blocks, in order, back into ticks."""

from __future__ import annotations

import struct
import zlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import orjson

from companion.tickblock.columns import GAME_COLUMNS, PER_PLAYER, STAT_FIELDS, tick_data
from companion.tickblock.payload import (
    BODY,
    HAS_HEADER,
    HAS_TEXT,
    PREFIX,
    READABLE_VERSIONS,
    decode_matrix,
)


class MissingHeaderError(ValueError):
    """A block refers to a header (and previous block) its decoder has not seen."""


@dataclass(frozen=True, slots=True)
class Tick:
    """One ``UpdateState`` as derivation sees it; ``keyframe`` when ``data`` is verbatim."""

    seq: int
    received_at_us: int
    data: dict[str, Any]
    keyframe: bool


@dataclass(frozen=True, slots=True)
class DecodedBlock:
    """One block's ticks as column values: ``values`` holds ``count`` rows of ``width`` values
    one after another, in the layout of the package docstring (time in ms after ``t0_us``
    first; ``UNKNOWN`` where unknown), so column ``c`` is ``values[c::width]``.
    ``keyframe_texts`` maps a tick's index to its verbatim ``UpdateState`` data, as text
    (parsed on demand: ``keyframe(i)``, ``keyframes``); ``inexact`` is the set of those whose
    values the columns could not hold exactly (``None`` for a block that does not say: every
    keyframe then)."""

    first_seq: int
    t0_us: int
    header: dict[str, Any]
    values: list[int]
    width: int
    count: int
    keyframe_texts: dict[int, bytes]
    inexact: frozenset[int] | None

    @property
    def keyframes(self) -> dict[int, dict[str, Any]]:
        """Every keyframe's data, by tick index."""
        return {i: orjson.loads(text) for i, text in self.keyframe_texts.items()}

    def keyframe(self, index: int) -> dict[str, Any]:
        data: dict[str, Any] = orjson.loads(self.keyframe_texts[index])
        return data

    def verbatim(self) -> list[int]:
        """The keyframes (tick indexes, in order) that hold what the columns do not: the ones
        a reader of the columns must read whole instead."""
        if self.inexact is None:
            return sorted(self.keyframe_texts)
        return sorted(self.inexact)

    def row(self, index: int) -> list[int]:
        """Tick ``index``'s values."""
        width = self.width
        return self.values[index * width : (index + 1) * width]

    def received_at_us(self, index: int) -> int:
        return self.t0_us + self.values[index * self.width] * 1000

    def ticks(self) -> list[Tick]:
        """The ticks as ``expand`` gives them (keyframes verbatim)."""
        first, t0, header, keyframes = self.first_seq, self.t0_us, self.header, self.keyframes
        ticks = []
        for i in range(self.count):
            row = self.row(i)
            data = keyframes[i] if i in keyframes else tick_data(header, row)
            ticks.append(Tick(first + i, t0 + row[0] * 1000, data, i in keyframes))
        return ticks


@dataclass(frozen=True, slots=True)
class DecoderState:
    """What a ``TickBlockDecoder`` remembers between blocks, as an immutable snapshot: the
    stream's header (the decoder never changes the dict it holds), the previous block's last
    row (its values; never changed either), the text reference and the previous block's
    ``first_seq``."""

    header: dict[str, Any] | None = None
    last_row: list[int] = field(default_factory=list)
    reference: bytes = b""
    previous_first_seq: int = 0


class TickBlockDecoder:
    """Expands the tick blocks of one stream, in journal order; see the package docstring.

    ``state()`` and ``restore(state)`` checkpoint and roll back what it remembers (both O(1)),
    so a worker can undo the blocks of a transaction that was rolled back."""

    def __init__(self) -> None:
        # One immutable snapshot, replaced after every block: a checkpoint is just a reference.
        self._state = DecoderState()

    def state(self) -> DecoderState:
        """A snapshot of what this decoder remembers now, for ``restore`` later."""
        return self._state

    def restore(self, state: DecoderState) -> None:
        """Go back to a snapshot from ``state()`` (of this decoder, or of another of the same
        stream): the next block decodes as it would have right after that snapshot."""
        if not isinstance(state, DecoderState):
            raise TypeError(f"restore takes a DecoderState, not {type(state).__name__}")
        self._state = state

    def expand(self, block: Mapping[str, Any], payload: bytes) -> list[Tick]:
        """The ticks of a block, in order, each as ``UpdateState``-shaped data.

        Raises ``MissingHeaderError`` when the block refers to a header (or a previous block)
        this decoder has not seen, ``ValueError`` when the block is not one it can read."""
        return self.expand_rows(block, payload).ticks()

    def expand_rows(self, block: Mapping[str, Any], payload: bytes) -> DecodedBlock:
        """The block's ticks as column values (no ``UpdateState`` dicts built): for readers
        that go through many ticks and need only some of their values. Raises as ``expand``."""
        if block.get("v") not in READABLE_VERSIONS:
            raise ValueError(f"unknown tick block version {block.get('v')!r}")
        first_seq: int = block["first_seq"]
        t0_us: int = block["t0_us"]
        if len(payload) < PREFIX.size:
            raise ValueError("a tick block payload too short to be one")
        flags, previous_seq = PREFIX.unpack_from(payload)
        with_header = bool(flags & HAS_HEADER)
        state = self._state
        if not with_header:
            if state.header is None:
                raise MissingHeaderError(
                    f"the tick block at seq {first_seq} needs the header of an earlier block of "
                    "its stream, which this decoder has not seen: decode the stream in order, "
                    "from its first block or from a block with a header"
                )
            if previous_seq != state.previous_first_seq & 0xFFFFFFFF:
                raise MissingHeaderError(
                    f"the tick block at seq {first_seq} follows the block at seq "
                    f"{previous_seq}, but this decoder last read the block at seq "
                    f"{state.previous_first_seq}: decode the stream in order"
                )
        try:
            inflater = zlib.decompressobj(-15)
            body = inflater.decompress(payload[PREFIX.size :]) + inflater.flush()
            ended = inflater.eof
            rest = inflater.unused_data
            text = b""
            if flags & HAS_TEXT:
                if with_header:
                    inflater = zlib.decompressobj(-15)
                else:
                    inflater = zlib.decompressobj(-15, zdict=state.reference)
                text = inflater.decompress(rest) + inflater.flush()
                ended = ended and inflater.eof
            if not ended:
                raise zlib.error("it ends early")
        except zlib.error as exc:
            raise ValueError(f"the tick block at seq {first_seq} is damaged: {exc}") from exc
        try:
            header, values, keyframes, reference = _parse(state, block, with_header, body, text)
        except struct.error as exc:
            raise ValueError(f"the tick block at seq {first_seq} is damaged: {exc}") from exc
        width = len(values) // block["count"]
        self._state = DecoderState(header, values[len(values) - width :], reference, first_seq)
        return DecodedBlock(
            first_seq,
            t0_us,
            header,
            values,
            width,
            block["count"],
            keyframes,
            _inexact(block, keyframes),
        )


def _parse(
    state: DecoderState, block: Mapping[str, Any], with_header: bool, body: bytes, text: bytes
) -> tuple[dict[str, Any], list[int], dict[int, bytes], bytes]:
    """Header, the rows (their values one after another), keyframe texts and the next
    reference of one block's streams."""
    count, columns = BODY.unpack_from(body)
    if count != block["count"] or count < 1:
        raise ValueError("the tick block's count does not match its payload")
    at = 0
    reference = state.reference
    if with_header:
        (size,) = struct.unpack_from("<I", text, at)
        at += 4
        reference = text[at : at + size]
        header = orjson.loads(reference)
        at += size
        previous = [0] * columns
    else:
        assert state.header is not None
        header = state.header
        if len(state.last_row) != columns:
            raise ValueError("the tick block's columns do not match its header")
        previous = [0, *state.last_row[1:]]  # time restarts from the block's t0
    n_players, n_teams = len(header["Roster"]), len(header["Teams"])
    if columns != 1 + GAME_COLUMNS + (PER_PLAYER + len(STAT_FIELDS)) * n_players + n_teams:
        raise ValueError("the tick block's columns do not match its header")
    values = decode_matrix(previous, body[BODY.size :], columns, count)
    keyframes: dict[int, bytes] = {}
    if at < len(text):
        (n_keyframes,) = struct.unpack_from("<H", text, at)
        at += 2
        for _ in range(n_keyframes):
            index, size = struct.unpack_from("<HI", text, at)
            at += 6
            reference = text[at : at + size]
            keyframes[index] = reference
            at += size
    return header, values, keyframes, reference


def _inexact(block: Mapping[str, Any], keyframes: dict[int, bytes]) -> frozenset[int] | None:
    """The block's inexact keyframes, as its data lists them (``None``: it does not say)."""
    if block["v"] < 3:
        return None
    listed = block.get("inexact", [])
    if not isinstance(listed, list) or not all(i in keyframes for i in listed):
        raise ValueError("the tick block's inexact keyframes are not among its keyframes")
    return frozenset(listed)
