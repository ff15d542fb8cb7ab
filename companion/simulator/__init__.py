"""A fake Rocket League speaking the Stats API over TCP: replays captures, synthesises matches.

The public API, for tests, demos and the ``companion simulate`` command:

* :func:`synthesize` / :class:`SynthOptions` → :class:`Synthesis` (lazy, deterministic timeline
  of :class:`TimelineEvent` plus its :class:`SessionTruth`);
* :func:`load_capture` → :class:`Capture` (a recorded stream, byte for byte, with its timing);
* :class:`StatsApiServer` plays either to a TCP client at any speed;
* :func:`encode_message`, :func:`decode_message`, :func:`split_stream`: the wire format.
"""

from companion.simulator.replay import Capture, load_capture
from companion.simulator.server import DEFAULT_PORT, Playback, PlayResult, StatsApiServer
from companion.simulator.synth import Synthesis, SynthOptions, synthesize
from companion.simulator.truth import GoalTruth, MatchTruth, PlayerRef, PlayerTruth, SessionTruth
from companion.simulator.wire import (
    TimelineEvent,
    WireMessage,
    decode_message,
    encode_message,
    split_stream,
)

__all__ = [
    "DEFAULT_PORT",
    "Capture",
    "GoalTruth",
    "MatchTruth",
    "PlayResult",
    "Playback",
    "PlayerRef",
    "PlayerTruth",
    "SessionTruth",
    "StatsApiServer",
    "SynthOptions",
    "Synthesis",
    "TimelineEvent",
    "WireMessage",
    "decode_message",
    "encode_message",
    "load_capture",
    "split_stream",
    "synthesize",
]
