"""Benchmark of derivation's per-tick cost: microseconds per ``UpdateState`` in
``MatchDeriver.apply``.

A synthesised 3v3 match (spectator view, so every player carries the telemetry fields: the
dearest case) is turned into journal items twice: as the timeline sends them, and as the worker
sees them after the reader packed them into tick blocks and the journal expanded them again
(``TickBlockEncoder`` / ``TickBlockDecoder``, keyframes about once a second as the reader keeps
them). The items are built first; only ``apply`` is timed (CPU time of the process, which a busy
machine disturbs less than wall time), best of ``--repeat`` fresh derivers.

    python bench/derive_ticks.py                 # 3v3 at 120 Hz, one match
    python bench/derive_ticks.py --rate 30 --view player
"""

from __future__ import annotations

import argparse
import time
from typing import Any

import orjson

from companion.derive import Item, MatchDeriver
from companion.simulator import SynthOptions, synthesize
from companion.tickblock import TickBlockDecoder, TickBlockEncoder, values_of

BASE_US = 1_790_000_000_000_000
BLOCK_US = 250_000  # the reader cuts a block at least every 250 ms
KEYFRAME_US = 1_000_000


def timeline(options: SynthOptions) -> list[Item]:
    return [
        Item("bench", seq, BASE_US + round(t * 1e6), event, data)
        for seq, (t, event, data) in enumerate(synthesize(options), start=1)
    ]


def through_blocks(items: list[Item]) -> list[Item]:
    """The items as the worker gets them from the journal: ticks via tick blocks."""
    encoder, decoder = TickBlockEncoder(), TickBlockDecoder()
    out: list[Item] = []
    last_keyframe = -KEYFRAME_US

    def cut() -> None:
        if encoder.count:
            block, payload = encoder.encode()
            for tick in decoder.expand(block, payload):
                out.append(Item("bench", tick.seq, tick.received_at_us, "UpdateState", tick.data))

    for item in items:
        if item.event != "UpdateState":
            cut()
            out.append(item)
            continue
        values = values_of(item.data)
        at = item.received_at_us
        if encoder.count and (
            not encoder.fits(item.seq or 0, at, values) or at - encoder.t0_us >= BLOCK_US
        ):
            cut()
        keyframe = None
        if at - last_keyframe >= KEYFRAME_US or not values.exact:
            keyframe, last_keyframe = orjson.dumps(item.data), at
        encoder.add(item.seq or 0, at, values, keyframe)
    cut()
    return out


def per_tick_us(items: list[Item], repeat: int) -> float:
    ticks = sum(1 for i in items if i.event == "UpdateState")
    best = float("inf")
    for _ in range(repeat):
        deriver = MatchDeriver()
        apply = deriver.apply
        started = time.process_time()
        for item in items:
            apply(item)
        best = min(best, time.process_time() - started)
        deriver.snapshot()
    return best / ticks * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rate", type=float, default=120.0)
    parser.add_argument("--mode", default="3v3")
    parser.add_argument("--view", default="spectator", choices=("spectator", "player"))
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    options = SynthOptions(seed=args.seed, mode=args.mode, view=args.view, rate=args.rate)
    items = timeline(options)
    blocks = through_blocks(items)
    ticks = sum(1 for i in items if i.event == "UpdateState")
    result: dict[str, Any] = {
        "match": f"{args.mode} {args.view} view at {args.rate:g} Hz, seed {args.seed}",
        "ticks": ticks,
        "us_per_tick_timeline": round(per_tick_us(items, args.repeat), 2),
        "us_per_tick_from_blocks": round(per_tick_us(blocks, args.repeat), 2),
    }
    for key, value in result.items():
        print(f"{key:>26}: {value}")


if __name__ == "__main__":
    main()
