"""Tick block decoders: checkpoint and roll back (a rolled-back transaction undoes its blocks)."""

from __future__ import annotations

import dataclasses
from typing import Any

import orjson
import pytest

from companion.tickblock import (
    DecoderState,
    MissingHeaderError,
    TickBlockDecoder,
    TickBlockEncoder,
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
