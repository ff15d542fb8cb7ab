"""Tick block decoders: checkpoint and roll back (a rolled-back transaction undoes its blocks)."""

from __future__ import annotations

import dataclasses
import random
import struct
from typing import Any

import orjson
import pytest

from companion.tickblock import (
    DecoderState,
    MissingHeaderError,
    TickBlockDecoder,
    TickBlockEncoder,
    payload,
    values_of,
)
from tests.test_feed import TICK_US, state


def blocks_with_keyframes() -> list[tuple[dict[str, Any], bytes]]:
    """Six blocks of one stream: a header, blocks that depend on the one before (their keyframes
    are deflated against the previous keyframe), a roster change (a new header), more after it."""
    renamed = state()
    renamed["Players"][1]["Name"] = "Bot Kévin II"
    runs = [[state(clock=300 - 3 * b - n, touches=b) for n in range(3)] for b in range(4)]
    runs += [[renamed] * 2, [renamed] * 3]
    encoder = TickBlockEncoder()
    blocks = []
    seq = 1
    for b, run in enumerate(runs):
        for n, data in enumerate(run):
            keyframe = orjson.dumps(data) if n == b % 3 else None
            encoder.add(seq, 1_000_000 + seq * TICK_US, values_of(data), keyframe)
            seq += 1
        blocks.append(encoder.encode())
    assert [b.get("header", False) for b, _ in blocks] == [True, False, False, False, True, False]
    return blocks


def test_restore_goes_back_to_a_snapshot_and_decodes_the_same_ticks_again() -> None:
    blocks = blocks_with_keyframes()
    decoder = TickBlockDecoder()
    for block in blocks[:2]:
        decoder.expand(*block)
    snapshot = decoder.state()

    first = [decoder.expand(*block) for block in blocks[2:]]
    assert decoder.state() != snapshot, "decoding moved on; the snapshot did not"
    decoder.restore(snapshot)
    assert decoder.state() == snapshot
    again = [decoder.expand(*block) for block in blocks[2:]]
    assert again == first

    # And the same as one decoder that never went back.
    straight = TickBlockDecoder()
    expected = [straight.expand(*block) for block in blocks]
    assert first == expected[2:]


def test_a_snapshot_can_be_restored_again_and_into_another_decoder() -> None:
    blocks = blocks_with_keyframes()
    decoder = TickBlockDecoder()
    decoder.expand(*blocks[0])
    snapshot = decoder.state()
    expected = decoder.expand(*blocks[1])
    for _ in range(2):
        decoder.restore(snapshot)
        assert decoder.expand(*blocks[1]) == expected
    other = TickBlockDecoder()
    other.restore(snapshot)
    assert other.expand(*blocks[1]) == expected


def test_after_a_rollback_the_rolled_back_blocks_are_not_remembered() -> None:
    blocks = blocks_with_keyframes()
    decoder = TickBlockDecoder()
    empty = decoder.state()
    decoder.expand(*blocks[0])
    decoder.restore(empty)
    with pytest.raises(MissingHeaderError, match="needs the header"):
        decoder.expand(*blocks[1])

    decoder.expand(*blocks[0])
    snapshot = decoder.state()
    decoder.expand(*blocks[1])
    decoder.restore(snapshot)
    with pytest.raises(MissingHeaderError, match="decode the stream in order"):
        decoder.expand(*blocks[2])


def test_a_failed_block_leaves_the_state_as_it_was() -> None:
    blocks = blocks_with_keyframes()
    decoder = TickBlockDecoder()
    decoder.expand(*blocks[0])
    before = decoder.state()
    block, payload = blocks[1]
    with pytest.raises(ValueError, match="damaged"):
        decoder.expand(block, payload[:-3])
    assert decoder.state() is before
    decoder.expand(block, payload)


def test_a_snapshot_is_immutable_and_restore_takes_only_snapshots() -> None:
    decoder = TickBlockDecoder()
    decoder.expand(*blocks_with_keyframes()[0])
    snapshot = decoder.state()
    assert isinstance(snapshot, DecoderState)
    with pytest.raises(dataclasses.FrozenInstanceError):
        snapshot.previous_first_seq = 5  # type: ignore[misc]
    with pytest.raises(TypeError, match="DecoderState"):
        decoder.restore({"header": None})  # type: ignore[arg-type]


def test_a_block_lists_its_inexact_keyframes_and_a_reader_of_columns_reads_only_those() -> None:
    ticks = [state(clock=300 - n) for n in range(5)]
    ticks[3]["Game"]["Teams"][1]["Score"] = 2**40  # too big for a column: inexact
    encoder = TickBlockEncoder()
    for n, data in enumerate(ticks):
        values = values_of(data)
        routine = n == 1  # a keyframe the reader keeps though the columns hold it exactly
        text = orjson.dumps(data) if routine or not values.exact else None
        encoder.add(n + 1, 1_000_000 + n * TICK_US, values, text)
    block, payload = encoder.encode()
    assert block["v"] == 3 and block["inexact"] == [3]
    decoded = TickBlockDecoder().expand_rows(block, payload)
    assert sorted(decoded.keyframe_texts) == [1, 3]
    assert decoded.verbatim() == [3]
    assert decoded.keyframe(3) == ticks[3]

    # A version 2 block did not say: every keyframe counts as inexact.
    old = {k: v for k, v in block.items() if k != "inexact"} | {"v": 2}
    assert TickBlockDecoder().expand_rows(old, payload).verbatim() == [1, 3]

    # A list that names a tick that is no keyframe is a damaged block, not a guess.
    with pytest.raises(ValueError, match="inexact"):
        TickBlockDecoder().expand_rows(block | {"inexact": [2]}, payload)


def _pack(values: list[int]) -> bytes:
    return struct.pack(f"<{len(values)}i", *values)


def _matrix_case(rng: random.Random) -> tuple[list[int], list[bytes], int]:
    """A random matrix as the encoder meets them: most values still, some stepping, a few
    jumping anywhere in int32 (where the lanes wrap)."""
    columns, count = rng.randint(1, 80), rng.randint(1, 40)
    top = 2**31 - 1
    current = [rng.randint(-top - 1, top) if rng.random() < 0.3 else 0 for _ in range(columns)]
    previous = list(current)
    rows = []
    for _ in range(count):
        for c in range(columns):
            roll = rng.random()
            if 0.6 <= roll < 0.9:
                current[c] = max(-top - 1, min(top, current[c] + rng.randint(-300, 300)))
            elif roll >= 0.9:
                current[c] = rng.randint(-top - 1, top)
        rows.append(_pack(current))
    return previous, rows, columns


def test_both_matrix_decoders_give_back_the_encoded_rows() -> None:
    """The by-row decoder (Python's) and the by-value one (the compiled build's) agree with
    each other and with what was encoded, including values that wrap around int32."""
    rng = random.Random(5)
    for _ in range(200):
        previous, rows, columns = _matrix_case(rng)
        planes = payload.encode_matrix(_pack(previous), rows, columns)
        expected = payload.unpack(b"".join(rows)).tolist()
        by_row = payload.decode_matrix_by_row(previous, planes, columns, len(rows))
        by_value = payload.decode_matrix_by_value(previous, planes, columns, len(rows))
        assert by_row == by_value == expected
        assert payload.decode_matrix(previous, planes, columns, len(rows)) == expected
        for damaged in (planes[:-1], planes + b"\x00"):
            for decode in (payload.decode_matrix_by_row, payload.decode_matrix_by_value):
                with pytest.raises(ValueError, match="wrong size"):
                    decode(previous, damaged, columns, len(rows))
