"""Framing of the Stats API stream: every split point, multi-byte characters, garbage, oversize,
and random chunkings of whole captures give exactly the original messages."""

from __future__ import annotations

import gzip
import json
import random
from collections.abc import Iterator

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from companion.sources.framing import JsonFramer
from tests.conftest import SHARED

CAPTURES = SHARED / "fixtures" / "rl-stats-api"


def game_message(event: str, data: object) -> bytes:
    """A message as the game frames it: Data is the payload encoded as a JSON string."""
    return json.dumps(
        {"Event": event, "Data": json.dumps(data, ensure_ascii=False)}, ensure_ascii=False
    ).encode()


SAMPLES = [
    game_message(
        "UpdateState",
        {
            "MatchGuid": "",
            "Players": [{"Name": 'Zoë "}{" ⚽', "Shortcut": 1, "Speed": 51.5}],
            "Game": {"Arena": "Stadium_P", "Teams": [{"Name": "Blue"}, {"Name": "Orange"}]},
        },
    ),
    game_message("GoalScored", {"Scorer": {"Name": "Kévin\\", "Shortcut": 2}, "GoalSpeed": 98.1}),
    game_message("StatfeedEvent", {"EventName": "Demolish", "Type": "Démolition"}),
    game_message("ClockUpdatedSeconds", {"TimeSeconds": 183, "bOvertime": False}),
    b'{"Event":"BallHit","Data":{"Players":[{"Name":"\\u00e9\\"{"}],"Ball":{"PreHitSpeed":1}}}',
]


def feed_in_chunks(framer: JsonFramer, data: bytes, cuts: list[int]) -> list[bytes]:
    out: list[bytes] = []
    last = 0
    for cut in [*sorted(cuts), len(data)]:
        out += framer.feed(data[last:cut])
        last = cut
    return out


@pytest.mark.parametrize("sample", SAMPLES, ids=lambda s: s[10:30].decode("utf-8", "replace"))
def test_every_split_point_of_every_sample(sample: bytes) -> None:
    stream = sample + sample
    for cut in range(len(stream) + 1):
        framer = JsonFramer()
        assert feed_in_chunks(framer, stream, [cut]) == [sample, sample], cut
        assert framer.buffered == 0


def test_byte_by_byte() -> None:
    stream = b"".join(SAMPLES)
    framer = JsonFramer()
    out = feed_in_chunks(framer, stream, list(range(1, len(stream))))
    assert out == SAMPLES
    assert framer.stats.messages == len(SAMPLES)


def test_garbage_between_objects_is_skipped() -> None:
    framer = JsonFramer()
    stream = b"\x00\xff junk }" + SAMPLES[0] + b'\r\n"text" ] ' + SAMPLES[1] + b"tail"
    assert framer.feed(stream) == [SAMPLES[0], SAMPLES[1]]
    assert framer.stats.garbage_bytes == len(b"\x00\xff junk }") + len(b'\r\n"text" ] ') + 4


def test_oversize_message_is_dropped_and_the_framer_resynchronises() -> None:
    framer = JsonFramer(max_message_bytes=200)
    big = game_message("UpdateState", {"Players": [{"Name": "x" * 50, "Nested": {"a": {}}}] * 10})
    assert len(big) > 200
    stream = SAMPLES[3] + big + SAMPLES[2]
    for chunking in ([len(stream)], list(range(7, len(stream), 7))):
        framer = JsonFramer(max_message_bytes=200)
        out = feed_in_chunks(framer, stream, chunking)
        assert out == [SAMPLES[3], SAMPLES[2]]
        assert framer.stats.oversize_dropped == 1
        assert framer.buffered < 200


def reference_frames(stream: bytes) -> list[bytes]:
    """Top-level objects by the plain rule, byte by byte: brace depth outside strings."""
    out = []
    depth = start = 0
    in_string = escaped = False
    for i, byte in enumerate(stream):
        if in_string:
            if escaped:
                escaped = False
            elif byte == 0x5C:
                escaped = True
            elif byte == 0x22:
                in_string = False
        elif depth and byte == 0x22:
            in_string = True
        elif byte == 0x7B:
            if depth == 0:
                start = i
            depth += 1
        elif byte == 0x7D and depth:
            depth -= 1
            if depth == 0:
                out.append(stream[start : i + 1])
    return out


# Near misses of the game's shape: what looks like the end of Data is not, or Data is not alone.
NEAR_CANONICAL = [
    rb'{"Event":"A","Data":"x","More":"y"}',  # a quote inside what would be Data
    rb'{"Event":"A","Data":"x","N":{"k":"v"}}',  # "} inside, the object ends later
    rb'{"Event":"A","Data":"x\\"}',  # an escaped backslash, then the real end
    rb'{"Event":"A","Data":"x\\"y"}',  # Data ends after the escaped backslash: y is outside
    rb'{"Event":"A","Data":"x\\\"}{\"y"}',  # \\ then an escaped quote: "}{ is inside Data
    rb'{"Event":"A","Data":"\"}{\"x\"}"}',  # an escaped "}{ inside Data
    rb'{"Event":"A","Data":""}',  # empty Data
    rb'{"Event":"A","Data":"\\"}',  # Data is one escaped backslash
    rb'{"Event":"A","Data":"x\"}',  # the end is escaped: the message goes on
    rb'{"Event":"A","Data":"x"} ',  # canonical, then a space before the next message
]


@pytest.mark.parametrize("sample", NEAR_CANONICAL, ids=lambda s: s[20:].decode())
def test_near_canonical_messages_frame_like_the_plain_rule(sample: bytes) -> None:
    canonical = game_message("ClockUpdatedSeconds", {"TimeSeconds": 183})
    for stream in (sample + canonical, canonical + sample, sample + sample + canonical):
        expected = reference_frames(stream)
        assert JsonFramer().feed(stream) == expected, stream
        for cut in range(len(stream) + 1):
            assert feed_in_chunks(JsonFramer(), stream, [cut]) == expected, (stream, cut)


def test_reset_forgets_a_partial_message() -> None:
    framer = JsonFramer()
    assert framer.feed(SAMPLES[0][:40]) == []
    framer.reset()  # the connection dropped mid-message; the next one starts clean
    assert framer.feed(SAMPLES[1]) == [SAMPLES[1]]


@settings(max_examples=200, deadline=None)
@given(
    picks=st.lists(st.integers(0, len(SAMPLES) - 1), min_size=1, max_size=12),
    seed=st.integers(0, 2**32),
)
def test_random_chunkings_give_the_original_messages(picks: list[int], seed: int) -> None:
    messages = [SAMPLES[i] for i in picks]
    stream = b"".join(messages)
    rng = random.Random(seed)
    cuts = rng.sample(range(1, len(stream)), k=min(len(stream) - 1, rng.randint(0, 40)))
    assert feed_in_chunks(JsonFramer(), stream, cuts) == messages


def capture_streams() -> Iterator[tuple[str, bytes, list[bytes]]]:
    if not CAPTURES.is_dir():
        pytest.skip("the recorded Stats API captures (../shared/fixtures) are not here")
    for wire in sorted(CAPTURES.glob("*.wire.bin.gz")):
        frames_file = wire.with_name(wire.name.replace(".wire.bin.gz", ".frames.ndjson.gz"))
        frames = gzip.decompress(frames_file.read_bytes()).splitlines()
        yield wire.name, gzip.decompress(wire.read_bytes()), frames


def test_recorded_captures_frame_exactly() -> None:
    for name, wire, frames in capture_streams():
        assert b"".join(frames) == wire, name
        assert JsonFramer().feed(wire) == frames, name
        rng = random.Random(name)
        for _ in range(5):
            cuts = rng.sample(range(1, len(wire)), k=500)
            assert feed_in_chunks(JsonFramer(), wire, cuts) == frames, name


def test_every_split_point_of_real_messages_of_every_kind() -> None:
    for name, _, frames in capture_streams():
        by_kind: dict[bytes, bytes] = {}
        for frame in frames:
            kind = json.loads(frame)["Event"].encode()
            by_kind.setdefault(kind, frame)
        for kind, frame in by_kind.items():
            stream = frame + frame
            for cut in range(len(stream) + 1):
                framer = JsonFramer()
                assert feed_in_chunks(framer, stream, [cut]) == [frame, frame], (name, kind, cut)
