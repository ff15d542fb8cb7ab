"""Ticks read straight from a block's columns equal the ticks expanded and parsed the long way."""

from __future__ import annotations

import orjson
import pytest

from companion.derive.block_ticks import BlockTicks
from companion.derive.deriver import MatchDeriver
from companion.derive.payloads import TickView, read_tick
from companion.derive.records import Item
from companion.simulator import SynthOptions
from companion.tickblock import FLAG_FIELDS, TICK_BLOCK_EVENT, TickBlockDecoder
from companion.tickblock.columns import tick_data
from tests.test_match_derivation import journal_rows

SPECTATOR = ("Speed", "Boost", *FLAG_FIELDS)


def spectator_only(view: TickView) -> TickView:
    """A player's ``raw`` entry is read only for its spectator fields: compare those."""
    players = tuple(
        p._replace(raw={k: p.raw[k] for k in SPECTATOR if k in p.raw}) for p in view.players
    )
    return view._replace(players=players)


@pytest.mark.parametrize(
    ("view", "scenario"), [("spectator", "normal"), ("player", "bots"), ("player", "overtime")]
)
def test_views_from_columns_equal_the_parsed_ticks(view: str, scenario: str) -> None:
    options = SynthOptions(seed=12, scenario=scenario, view=view, rate=8, mode="mixed", matches=2)
    rows = journal_rows(options)
    slow, fast = TickBlockDecoder(), TickBlockDecoder()
    reader = BlockTicks()
    ticks = keyframes = 0
    for row in rows:
        if row.event != TICK_BLOCK_EVENT:
            continue
        assert row.payload is not None
        block = orjson.loads(row.data)
        expected = [
            (t.seq, t.received_at_us, spectator_only(read_tick(t.data)))
            for t in slow.expand(block, row.payload)
        ]
        decoded = fast.expand_rows(block, row.payload)
        got = [(seq, at, spectator_only(view)) for seq, at, view in reader.views(decoded)]
        assert got == expected
        ticks += len(expected)
        keyframes += len(decoded.keyframes)
    assert ticks > 1000 and 0 < keyframes < ticks


@pytest.mark.parametrize(
    ("view", "scenario"), [("spectator", "mixed"), ("player", "mixed"), ("player", "bots")]
)
def test_blocks_derived_by_columns_equal_ticks_derived_one_by_one(view: str, scenario: str) -> None:
    options = SynthOptions(seed=21, scenario=scenario, view=view, rate=8, mode="mixed", matches=4)
    rows = journal_rows(options)
    one_by_one, by_columns = MatchDeriver(), MatchDeriver()
    slow, fast, reader = TickBlockDecoder(), TickBlockDecoder(), BlockTicks()
    for row in rows:
        data = orjson.loads(row.data)
        if row.event == TICK_BLOCK_EVENT:
            assert row.payload is not None
            decoded = slow.expand_rows(data, row.payload)
            verbatim = set(decoded.verbatim())
            for i, tick in enumerate(decoded.ticks()):
                # A keyframe the columns hold exactly is derived as the columns say.
                exact = tick.keyframe and i not in verbatim
                tick_data_ = tick_data(decoded.header, decoded.row(i)) if exact else tick.data
                one_by_one.apply(
                    Item("s", tick.seq, tick.received_at_us, "UpdateState", tick_data_)
                )
            by_columns.apply_block("s", fast.expand_rows(data, row.payload), reader)
        else:
            item = Item("s", row.seq, row.ts_us or 0, row.event, data)
            one_by_one.apply(item)
            by_columns.apply(item)
    expected = one_by_one.snapshot()
    assert len(expected) == options.matches
    assert by_columns.snapshot() == expected
    assert by_columns.counters == one_by_one.counters
