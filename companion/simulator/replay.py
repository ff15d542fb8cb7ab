"""Load a recorded Stats API stream so the server can play it back byte for byte.

Accepted recordings (the formats of ``fixtures/rl-stats-api/``, see ``docs/fixtures.md``):

* ``NAME.wire.bin.gz`` / ``NAME.wire.bin``: the exact bytes of the TCP stream, JSON messages back
  to back with no delimiter; split into messages with a streaming ``raw_decode``;
* ``NAME.frames.ndjson.gz`` / ``NAME.frames.ndjson``: one message per line, unchanged (joining the
  lines without their newlines gives the wire bytes back).

Timing comes from the sibling ``NAME.timing.csv`` (``index,t_seconds,bytes,event``) when it is
there, checked against the messages; without it, messages are spaced as a 60 Hz feed would space
them (each ``UpdateState`` starts a new 1/60 s tick, other events share the tick before it).
"""

from __future__ import annotations

import csv
import gzip
import itertools
from dataclasses import dataclass
from pathlib import Path

from companion.simulator.wire import WireMessage, split_stream

_SUFFIXES = (".wire.bin.gz", ".wire.bin", ".frames.ndjson.gz", ".frames.ndjson")
UNTIMED_RATE = 60.0  # the rate of both public captures


@dataclass(frozen=True, slots=True)
class Capture:
    """A loaded recording. ``timed``: times come from a ``.timing.csv``."""

    path: Path
    messages: tuple[WireMessage, ...]
    timed: bool

    @property
    def duration(self) -> float:
        """Seconds from the first message to the last."""
        return self.messages[-1].t - self.messages[0].t if self.messages else 0.0

    def wire_bytes(self) -> bytes:
        """The stream exactly as recorded."""
        return b"".join(m.raw for m in self.messages)


def capture_stem(path: Path) -> str | None:
    """The recording's name without its format suffix, or ``None`` if it is not a recording."""
    for suffix in _SUFFIXES:
        if path.name.endswith(suffix):
            return path.name[: -len(suffix)]
    return None


def timing_path(path: Path) -> Path | None:
    """The sibling ``.timing.csv`` of a recording, if it exists."""
    stem = capture_stem(path)
    candidate = None if stem is None else path.with_name(stem + ".timing.csv")
    return candidate if candidate is not None and candidate.is_file() else None


def load_capture(path: Path) -> Capture:
    """Read a recording (see the module docstring for the formats).

    Raises ``ValueError`` for an unknown file name, bytes that do not split into messages, or a
    timing file that disagrees with the messages; ``OSError`` when a file cannot be read.
    """
    stem = capture_stem(path)
    if stem is None:
        raise ValueError(f"{path.name}: expected a {', '.join(_SUFFIXES)} file")
    data = path.read_bytes()
    if path.name.endswith(".gz"):
        data = gzip.decompress(data)
    if ".frames.ndjson" in path.name:
        lines = data.split(b"\n")
        if lines and lines[-1] == b"":
            lines.pop()
        pieces = split_stream(b"".join(lines))
        if len(pieces) != len(lines):
            raise ValueError(f"{path.name}: {len(lines)} lines but {len(pieces)} messages")
    else:
        pieces = split_stream(data)
    timing = timing_path(path)
    if timing is None:
        return Capture(path, _untimed(pieces), timed=False)
    times = _read_timing(timing, pieces)
    messages = tuple(
        WireMessage(t, event, raw) for t, (event, raw) in zip(times, pieces, strict=True)
    )
    return Capture(path, messages, timed=True)


def _read_timing(path: Path, pieces: list[tuple[str, bytes]]) -> list[float]:
    """``t_seconds`` per message, after checking each row's size and event name."""
    with path.open(newline="", encoding="utf-8") as file:
        rows = list(csv.DictReader(file))
    if len(rows) != len(pieces):
        raise ValueError(f"{path.name}: {len(rows)} rows for {len(pieces)} messages")
    times = []
    for row, (event, raw) in zip(rows, pieces, strict=True):
        if int(row["bytes"]) != len(raw) or row["event"] != event:
            raise ValueError(f"{path.name}: row {row['index']} does not match its message")
        times.append(float(row["t_seconds"]))
    if any(b < a for a, b in itertools.pairwise(times)):
        raise ValueError(f"{path.name}: times go backwards")
    return times


def _untimed(pieces: list[tuple[str, bytes]]) -> tuple[WireMessage, ...]:
    messages = []
    ticks = 0
    for event, raw in pieces:
        if event == "UpdateState":
            ticks += 1
        messages.append(WireMessage(max(0, ticks - 1) / UNTIMED_RATE, event, raw))
    return tuple(messages)
