"""``companion simulate``: run the game simulator from the command line.

Synthesises matches (or loads a recorded capture with ``--replay``), listens where the game would
(127.0.0.1:49123 by default) and plays the stream to whoever connects, printing one line per
thing worth seeing: where it listens, clients coming and going, matches starting and ending,
goals with the score. Ctrl+C stops it cleanly (exit code 0). Exit code 2 for bad options, an
unreadable capture or a busy port.

Every option's ``dest`` starts with ``sim_``: the main parser already has settings flags such as
``--port`` whose values must not be overwritten by this subcommand's.
"""

from __future__ import annotations

import argparse
import secrets
import sys
import time
from collections.abc import Callable, Iterable
from pathlib import Path

from companion.simulator.progress import Progress, say
from companion.simulator.replay import load_capture
from companion.simulator.server import DEFAULT_PORT, DISCONNECT_POLICIES, StatsApiServer
from companion.simulator.synth import (
    MODES,
    REPLAY_EVENTS,
    SCENARIOS,
    VIEWS,
    SynthOptions,
    synthesize,
)
from companion.simulator.vocab import STATFEED_LABELS
from companion.simulator.wire import WireMessage, decode_message, encode_message

EXIT_OK, EXIT_USAGE = 0, 2

_Source = tuple[Callable[[], Iterable[WireMessage]], Progress]
"""What to play (a fresh iterable per playback) and how to report it."""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the ``simulate`` options to ``parser`` (all dests prefixed ``sim_``)."""
    what = parser.add_argument_group("what to play")
    what.add_argument(
        "--replay",
        dest="sim_replay",
        type=Path,
        metavar="PATH",
        help="play a recorded capture (.wire.bin[.gz] or .frames.ndjson[.gz]; real timing from "
        "the sibling .timing.csv) instead of synthesising matches",
    )
    what.add_argument("--scenario", dest="sim_scenario", choices=SCENARIOS, default="normal")
    what.add_argument(
        "--mode",
        dest="sim_mode",
        choices=[*MODES, "mixed"],
        default=None,
        help="team size (default 3v3; with --scenario mixed, a mix)",
    )
    what.add_argument(
        "--view",
        dest="sim_view",
        choices=VIEWS,
        default="player",
        help="player: car telemetry for my team only; spectator: for everyone",
    )
    what.add_argument(
        "--rate",
        dest="sim_rate",
        type=float,
        default=30.0,
        help="UpdateState ticks per second, 1-120 (the game's PacketSendRate; default 30)",
    )
    what.add_argument("--matches", dest="sim_matches", type=int, default=1, metavar="N")
    what.add_argument(
        "--seed", dest="sim_seed", type=int, default=None, help="same seed, same bytes"
    )
    what.add_argument(
        "--gap", dest="sim_gap", type=float, default=8.0, help="seconds between matches"
    )
    what.add_argument(
        "--replay-events",
        dest="sim_replay_events",
        choices=REPLAY_EVENTS,
        default="random",
        help="goal-replay events the simulated build sends (default: one set, chosen by seed)",
    )
    what.add_argument(
        "--locale",
        dest="sim_locale",
        choices=sorted(STATFEED_LABELS),
        default="en",
        help="language of the statfeed Type text",
    )
    what.add_argument(
        "--truth", dest="sim_truth", type=Path, metavar="PATH", help="write what was sent as JSON"
    )
    serve = parser.add_argument_group("how to serve it")
    serve.add_argument("--host", dest="sim_host", default="127.0.0.1")
    serve.add_argument("--port", dest="sim_port", type=int, default=DEFAULT_PORT)
    serve.add_argument(
        "--speed",
        dest="sim_speed",
        type=float,
        default=1.0,
        help="1 = real time, N = N times faster, 0 = as fast as the client reads",
    )
    serve.add_argument(
        "--once",
        dest="sim_once",
        action="store_true",
        help="exit after one client has been served the whole stream",
    )
    serve.add_argument(
        "--on-disconnect",
        dest="sim_on_disconnect",
        choices=DISCONNECT_POLICIES,
        default="wait",
        help="if the client goes away mid-stream: wait and resume (default), drop messages "
        "while nobody listens (like the game), or stop",
    )
    serve.add_argument(
        "--data-object",
        dest="sim_data_object",
        action="store_true",
        help="send Data as a JSON object (the documented shape) instead of a JSON string",
    )
    serve.add_argument(
        "--max-write",
        dest="sim_max_write",
        type=int,
        default=None,
        metavar="BYTES",
        help="write each message in pieces of at most this size",
    )
    serve.add_argument("--quiet", dest="sim_quiet", action="store_true", help="no progress lines")


def run(args: argparse.Namespace) -> int:
    """Run the simulator until Ctrl+C (or, with ``--once``, until one client got everything)."""
    if args.sim_speed < 0:
        return _usage("--speed must be 0 or more")
    if args.sim_max_write is not None and args.sim_max_write < 1:
        return _usage("--max-write must be at least 1")
    made = _replay(args) if args.sim_replay is not None else _synthesise(args)
    if isinstance(made, int):
        return made
    messages, progress = made
    server = StatsApiServer(
        args.sim_host,
        args.sim_port,
        on_disconnect=args.sim_on_disconnect,
        max_write=args.sim_max_write,
        on_client=progress.client,
    )
    try:
        port = server.start()
    except OSError as exc:
        return _usage(f"cannot listen on {args.sim_host}:{args.sim_port}: {exc.strerror or exc}")
    try:
        say(f"listening on {args.sim_host}:{port} (speed {_speed(args.sim_speed)}); Ctrl+C to stop")
        served = 0
        while True:
            while not server.wait_for_client(0.25, newer_than=served):
                pass
            began = time.monotonic()
            progress.reset()
            playback = server.play_async(messages(), args.sim_speed, on_sent=progress.sent)
            while not playback.wait(0.25):
                pass
            progress.finished(playback.result, time.monotonic() - began)
            if args.sim_once or not playback.result.completed:
                break
            served = server.connections
            say("waiting for a new connection to play it again (Ctrl+C to quit)")
    except KeyboardInterrupt:
        say("stopped")
    finally:
        server.stop()
    return EXIT_OK


def _synthesise(
    args: argparse.Namespace,
) -> tuple[Callable[[], Iterable[WireMessage]], Progress] | int:
    seed = secrets.randbelow(1_000_000) if args.sim_seed is None else args.sim_seed
    mode = args.sim_mode or ("mixed" if args.sim_scenario == "mixed" else "3v3")
    try:
        options = SynthOptions(
            seed=seed,
            scenario=args.sim_scenario,
            mode=mode,
            view=args.sim_view,
            rate=args.sim_rate,
            matches=args.sim_matches,
            gap=args.sim_gap,
            replay_events=args.sim_replay_events,
            locale=args.sim_locale,
        )
    except ValueError as exc:
        return _usage(str(exc))
    began = time.perf_counter()
    synthesis = synthesize(options)
    truth = synthesis.truth
    count = len(truth.matches)
    say(
        f"synthesised {count} match{'es' if count != 1 else ''} ({args.sim_scenario}, {mode}, "
        f"{options.rate:g} Hz, {options.view} view, seed {seed}): {synthesis.duration:.0f} s of "
        f"play, planned in {time.perf_counter() - began:.2f} s"
    )
    if args.sim_truth is not None:
        try:
            truth.write(args.sim_truth)
        except OSError as exc:
            return _usage(f"cannot write the truth to {args.sim_truth}: {exc.strerror or exc}")
        say(f"truth written to {args.sim_truth}")
    as_string = not args.sim_data_object
    return (lambda: synthesis.messages(data_as_string=as_string)), Progress(
        truth.matches, quiet=args.sim_quiet
    )


def _replay(args: argparse.Namespace) -> _Source | int:
    if args.sim_truth is not None:
        return _usage("--truth needs synthesised matches; a replay has no truth to write")
    try:
        capture = load_capture(args.sim_replay)
    except (OSError, ValueError) as exc:
        return _usage(f"cannot replay {args.sim_replay}: {exc}")
    timing = "recorded timing" if capture.timed else "no timing file: spaced as a 60 Hz feed"
    say(
        f"replaying {capture.path.name}: {len(capture.messages)} messages over "
        f"{capture.duration:.1f} s ({timing})"
    )
    messages: tuple[WireMessage, ...] = capture.messages
    if args.sim_data_object:  # re-encoded, so no longer byte-identical to the recording
        messages = tuple(
            WireMessage(m.t, m.event, encode_message(*decode_message(m.raw), data_as_string=False))
            for m in messages
        )
    return (lambda: messages), Progress((), quiet=args.sim_quiet)


def _speed(speed: float) -> str:
    return "as fast as the client reads" if speed == 0 else f"{speed:g}x"


def _usage(problem: str) -> int:
    sys.stderr.write(f"companion simulate: {problem}\n")
    return EXIT_USAGE
