"""Benchmark of the game feed path: decoding speed, the app's cost while a match plays, storage.

1. Decode throughput, side by side in one run, alternating, over the same bytes of each recorded
   stream in ../shared/fixtures/rl-stats-api (skipped when absent) and of a synthesised 3v3 match:
   (a) companion's reader path: framing (JsonFramer, fed 64 KiB reads) plus orjson for the
       message and again for ``Data``;
   (b) a bare loop of ``json.JSONDecoder.raw_decode`` over the whole text plus ``json.loads`` of
       ``Data``.
   Prints messages/s, MB/s and the ratio a/b (target >= 0.8).
2. The whole app (``companion --no-tray``, a fresh data folder) connected to the simulator playing
   a synthesised 3v3 match at 120 Hz in real time: CPU time and resident memory of the app's
   process while it plays (target: under 3% of one core on average).
3. Storage: journal bytes per hour of 3v3 play at 120 Hz, measured from the database growth during
   (2) (pages as SQLite counts them, the WAL's included) and scaled to an hour (target <= 10 MB);
   then what the journal holds, per event kind (the rest is SQLite's own: keys, index, pages).

    python bench/feed.py                # everything (about a minute and a half)
    python bench/feed.py --quick        # shorter match, for a smoke check
    python bench/feed.py --seconds 300  # a longer match (less noise in sections 2 and 3)
    python bench/feed.py --decode-only  # 1. alone (a few seconds), e.g. to repeat it
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import orjson

from companion.simulator import StatsApiServer, SynthOptions, synthesize
from companion.sources.framing import JsonFramer

ROOT = Path(__file__).resolve().parents[1]
CAPTURES = ROOT.parent / "shared" / "fixtures" / "rl-stats-api"
READ = 64 * 1024


def ours(wire: bytes) -> int:
    framer = JsonFramer()
    count = 0
    for offset in range(0, len(wire), READ):
        for raw in framer.feed(wire[offset : offset + READ]):
            message = orjson.loads(raw)
            data = message.get("Data")
            if isinstance(data, str):
                orjson.loads(data)
            count += 1
    return count


def bare(text: str) -> int:
    decoder = json.JSONDecoder()
    position = 0
    count = 0
    end = len(text)
    while position < end:
        message, position = decoder.raw_decode(text, position)
        data = message.get("Data")
        if isinstance(data, str):
            json.loads(data)
        count += 1
    return count


def timed(fn: Callable[[], int], repeat: int) -> tuple[int, float]:
    best = float("inf")
    count = 0
    for _ in range(repeat):
        started = time.perf_counter()
        count = fn()
        best = min(best, time.perf_counter() - started)
    return count, best


def decode_section(streams: dict[str, bytes], rounds: int) -> None:
    print("1. Decode throughput (best of alternating rounds)")
    print(f"{'stream':<34} {'msgs':>6} {'ours MB/s':>10} {'bare MB/s':>10} {'ratio':>6}")
    for name, wire in streams.items():
        text = wire.decode("utf-8")
        ours_best = bare_best = float("inf")
        count = 0
        for _ in range(rounds):
            count, elapsed = timed(lambda: ours(wire), 1)  # noqa: B023 (used at once)
            ours_best = min(ours_best, elapsed)
            _, elapsed = timed(lambda: bare(text), 1)  # noqa: B023
            bare_best = min(bare_best, elapsed)
        mb = len(wire) / 1e6
        ratio = bare_best / ours_best
        verdict = "PASS" if ratio >= 0.8 else "BELOW"
        print(
            f"{name:<34} {count:>6} {mb / ours_best:>10.1f} {mb / bare_best:>10.1f} "
            f"{ratio:>6.2f} {verdict} (target >= 0.8; {count / ours_best:,.0f} msgs/s ours)"
        )


def cpu_seconds(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as handle:
        fields = handle.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status") as handle:
        for line in handle:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def database_bytes(folder: Path) -> int:
    """The database's size as SQLite sees it (pages in the file and in the WAL), not the files'
    sizes: the WAL and its index come and go (a fresh start has a 32 KB ``-shm`` and a WAL that
    a clean exit folds into the file), which would skew a short run by megabytes per hour."""
    conn = sqlite3.connect(f"file:{folder / 'companion.db'}?mode=ro", uri=True)
    try:
        pages = conn.execute("PRAGMA page_count").fetchone()[0]
        size = conn.execute("PRAGMA page_size").fetchone()[0]
    finally:
        conn.close()
    return int(pages * size)


def journal_breakdown(folder: Path, wall: float) -> None:
    """What the journal holds, per event kind, scaled to an hour: rows, data and payload bytes."""
    conn = sqlite3.connect(folder / "companion.db")
    try:
        columns = {row[1] for row in conn.execute("PRAGMA table_info(journal)")}
        payload = "coalesce(sum(length(payload)), 0)" if "payload" in columns else "0"
        rows = conn.execute(
            f"SELECT event, count(*), sum(length(data)), {payload} AS binary FROM journal "
            "WHERE source = 'statsapi' GROUP BY event ORDER BY sum(length(data)) + binary DESC"
        ).fetchall()
        pages, free, size = (
            conn.execute(f"PRAGMA {name}").fetchone()[0]
            for name in ("page_count", "freelist_count", "page_size")
        )
    finally:
        conn.close()
    scale = 3600 / wall / 1e6
    total = sum(r[2] + r[3] for r in rows)
    files = ", ".join(
        f"{p.name} {p.stat().st_size / 1e6:.2f} MB" for p in folder.glob("companion.db*")
    )
    print(f"  files: {files}; {pages} pages of {size} B, {free} free")
    print(f"  journal content {total * scale:.2f} MB per hour (the rest is SQLite's own):")
    for event, count, data, binary in rows[:6]:
        print(
            f"    {event:<22} {count:>6} rows  data {data * scale:5.2f} MB/h  "
            f"payload {binary * scale:5.2f} MB/h"
        )


def app_section(seconds: float) -> None:
    print(f"\n2./3. The app while the simulator plays a 3v3 match at 120 Hz ({seconds:.0f} s)")
    synthesis = synthesize(SynthOptions(mode="3v3", rate=120, view="spectator", seed=7))
    with (
        tempfile.TemporaryDirectory(prefix="companion-bench-") as tmp,
        StatsApiServer(port=0) as sim,
    ):
        folder = Path(tmp)
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "companion",
                "--no-tray",
                "--data-dir",
                str(folder),
                "--port",
                "0",
                "--game-port",
                str(sim.port),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            deadline = time.monotonic() + 20
            while not (folder / "server.json").exists():
                if time.monotonic() > deadline:
                    raise SystemExit("companion did not start")
                time.sleep(0.05)
            url = json.loads((folder / "server.json").read_text())["url"]
            if not sim.wait_for_client(10):
                raise SystemExit("companion did not connect to the simulator")
            time.sleep(1.0)  # settle after start-up
            cpu0, bytes0, wall0 = cpu_seconds(process.pid), database_bytes(folder), time.monotonic()
            playback = sim.play_async(synthesis.messages(), speed=1.0)
            peak = 0.0
            while time.monotonic() - wall0 < seconds and not playback.done:
                time.sleep(0.5)
                peak = max(peak, rss_mb(process.pid))
            playback.cancel()
            wall = time.monotonic() - wall0
            cpu = cpu_seconds(process.pid) - cpu0
            status = httpx.get(url + "/api/v1/status").json()
            # Let the last rows commit, then checkpoint so the file sizes are the real ones.
            time.sleep(1.0)
        finally:
            process.send_signal(signal.SIGTERM)
            process.wait(20)
        grown = database_bytes(folder) - bytes0
        feed = status["game_feed"]
        share = cpu / wall * 100
        print(
            f"  messages received {feed['messages']:,} ({feed['messages_per_s']:.0f}/s at the end)"
        )
        print(
            f"  CPU {cpu:.2f} s over {wall:.1f} s = {share:.2f}% of one core "
            f"({'PASS' if share < 3 else 'BELOW'}, target < 3%); peak RSS {peak:.0f} MB"
        )
        per_hour = grown / wall * 3600 / 1e6
        print(
            f"  storage {grown / 1e6:.2f} MB in {wall:.1f} s = {per_hour:.1f} MB per hour "
            f"({'PASS' if per_hour <= 10 else 'BELOW'}, target <= 10 MB)"
        )
        journal_breakdown(folder, wall)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="short runs for a smoke check")
    parser.add_argument(
        "--seconds", type=float, help="how long the match plays in 2./3. (default 60, quick 20)"
    )
    parser.add_argument(
        "--skip-decode", action="store_true", help="leave out 1. (decode throughput)"
    )
    parser.add_argument(
        "--decode-only", action="store_true", help="only 1. (decode throughput), not 2. and 3."
    )
    parser.add_argument(
        "--rounds", type=int, help="alternating rounds of 1. (default 5, quick 2); best of them"
    )
    args = parser.parse_args()
    if not args.skip_decode:
        streams: dict[str, bytes] = {}
        if CAPTURES.is_dir():
            for path in sorted(CAPTURES.glob("*.wire.bin.gz")):
                name = path.name.removesuffix(".wire.bin.gz")
                streams[name] = gzip.decompress(path.read_bytes())
        else:
            print(f"(no recorded captures at {CAPTURES}; synthesised streams only)")
        match = synthesize(SynthOptions(mode="3v3", rate=120, view="spectator", seed=3))
        streams["synthesised 3v3 120 Hz"] = match.wire_bytes()
        decode_section(streams, rounds=args.rounds or (2 if args.quick else 5))
    if not args.decode_only:
        app_section(args.seconds or (20.0 if args.quick else 60.0))


if __name__ == "__main__":
    main()
