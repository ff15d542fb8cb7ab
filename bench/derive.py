"""How fast the stats are rebuilt, and how fast the read API answers with many matches stored.

1. Rebuild: a synthesised season (real-length matches, the game feed's default 30 ticks a second,
   journaled through the real reader's tick blocks, in sessions of a few matches with hours
   between them) is rebuilt with ``companion rebuild``'s code, in one process (matches/s, CPU per
   tick) and then with ``--workers`` processes side by side (the wall-clock time, checked to give
   the same tables); prints the time a 2,000-match season would take (target: under a minute).
2. Read latency: the derived tables are copied up to 10,000 matches, the real app serves them on
   a loopback port, and the list, detail and other routes are timed (target: list and detail p95
   under 20 ms). Side by side, ``/api/v1/health`` gives the floor of a request on this machine.

    python bench/derive.py            # 24 matches rebuilt, 10,000 for the read API
    python bench/derive.py --quick    # fewer of everything
    python bench/derive.py --compiled build/compiled   # also the executable's compiled build

With ``--compiled DIR`` (a folder from ``packaging/compile_derivation.py``, the derivation
compiled with mypyc as the executable ships it) each one-process rebuild runs in a process of
its own, Python and compiled taking turns on copies of the same journal, and the tables must
come out equal; the rebuild with workers then runs compiled.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

# Last, not first: a compiled build named on PYTHONPATH (--compiled) must win over the checkout.
sys.path.append(str(Path(__file__).resolve().parents[1]))

from companion.app import CompanionApp
from companion.model import NewEvent
from companion.paths import Paths
from companion.pipeline.rebuild import rebuild
from companion.settings import Settings
from companion.simulator import SynthOptions, synthesize
from companion.sources.feed_session import FeedSession
from companion.storage import journal
from companion.storage.database import connect, open_database
from companion.storage.match_store import DERIVED_TABLES

BASE_US = 1_790_000_000_000_000
SEASON = 2000
SESSION_BREAK_S = 3 * 3600
SILENCE_US = 15 * 60_000_000  # the default match silence


def journal_season(db: Path, matches: int, rate: float, session: int) -> tuple[int, int]:
    """Journal a synthesised season as the reader would: sessions of ``session`` matches a
    minute apart, each its own connection to the game, three hours between sessions. Returns
    (rows, ticks)."""
    rows: list[NewEvent] = []
    ticks = 0
    start = 0.0
    for k, first in enumerate(range(0, matches, session)):
        synthesis = synthesize(
            SynthOptions(
                seed=1 + k,
                scenario="mixed",
                view="spectator",
                rate=rate,
                matches=min(session, matches - first),
                gap=60,
            )
        )
        feed = FeedSession(f"bench-{k + 1}", rows.extend)
        last = 0.0
        for message in synthesis.messages():
            feed.on_message(message.raw, BASE_US + round((start + message.t) * 1e6))
            last = message.t
        feed.close()
        ticks += feed.counters.ticks
        start += last + SESSION_BREAK_S
    conn = connect(db)
    for begin in range(0, len(rows), 5000):
        conn.execute("BEGIN IMMEDIATE")
        journal.append(conn, rows[begin : begin + 5000], BASE_US)
        conn.execute("COMMIT")
    conn.close()
    return len(rows), ticks


def rebuild_section(
    folder: Path,
    matches: int,
    rate: float,
    session: int,
    workers: int,
    compiled: Path | None,
    rounds: int,
) -> Path:
    db = folder / "companion.db"
    open_database(db)
    started = time.perf_counter()
    rows, ticks = journal_season(db, matches, rate, session)
    print(
        f"journaled {matches} matches in sessions of {session}: {rows:,} rows, {ticks:,} ticks "
        f"at {rate:g}/s ({time.perf_counter() - started:.1f} s to synthesise and journal)"
    )
    if compiled is not None:
        return compiled_section(folder, db, ticks, compiled.resolve(), workers, rounds)
    twin = folder / "twin" / "companion.db"
    twin.parent.mkdir()
    shutil.copyfile(db, twin)
    conn = connect(db)
    cpu = time.process_time()
    outcome = rebuild(conn, silence_us=SILENCE_US)
    cpu = time.process_time() - cpu
    conn.close()
    per_s = outcome.matches / outcome.seconds
    print(
        f"rebuild in one process: {outcome.matches} matches in {outcome.seconds:.2f} s = "
        f"{per_s:.1f} matches/s, {ticks / outcome.seconds:,.0f} ticks/s, "
        f"{outcome.seconds / ticks * 1e6:.1f} µs per tick"
    )
    # CPU time is steadier than wall time on a busy machine (the rebuild is one thread).
    print(
        f"  CPU: {cpu:.2f} s, {cpu / ticks * 1e6:.1f} µs per tick; a season of {SEASON:,} "
        f"matches: about {SEASON * cpu / outcome.matches:.0f} s of CPU (target under 60 s)"
    )
    if workers > 1:
        conn = connect(twin)
        side = rebuild(conn, silence_us=SILENCE_US, database=twin, workers=workers)
        conn.close()
        same = tables(db) == tables(twin)
        print(
            f"rebuild with {workers} workers: {side.spans} spans side by side in "
            f"{side.seconds:.2f} s ({outcome.seconds / side.seconds:.2f}x one process; "
            f"{'the same tables' if same else 'DIFFERENT TABLES'}); a season: about "
            f"{SEASON * side.seconds / side.matches:.0f} s"
        )
    return db


def child_rebuild(db: Path, compiled: Path | None, workers: int = 1) -> dict[str, float]:
    """Rebuild ``db`` in a process of its own (``compiled``: that build first on its path);
    returns what ``--child-rebuild`` printed."""
    env = dict(os.environ)
    env.pop("PYTHONPATH", None)
    if compiled is not None:
        env["PYTHONPATH"] = str(compiled)
    command = [sys.executable, "-P", __file__, "--child-rebuild", str(db)]
    command += ["--workers", str(workers)]
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=True)
    result: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
    expect = compiled is not None
    if bool(result["compiled"]) != expect:
        raise SystemExit(f"the child ran {'compiled' if result['compiled'] else 'Python'} code")
    return result


def run_child_rebuild(db: Path, workers: int) -> None:
    """``--child-rebuild``: one rebuild, its figures as one JSON line on stdout."""
    from companion.tickblock.payload import COMPILED

    conn = connect(db)
    cpu = time.process_time()
    outcome = rebuild(conn, silence_us=SILENCE_US, database=db, workers=workers)
    cpu = time.process_time() - cpu
    conn.close()
    figures = {"cpu": cpu, "seconds": outcome.seconds, "matches": outcome.matches}
    figures["spans"] = outcome.spans
    figures["compiled"] = COMPILED
    print(json.dumps(figures))


def compiled_section(
    folder: Path, db: Path, ticks: int, compiled: Path, workers: int, rounds: int
) -> Path:
    """Python against the compiled build, one process each, taking turns; then workers.
    Returns a rebuilt copy (for the read section)."""
    cpu: dict[str, list[float]] = {"Python": [], "compiled": []}
    results: dict[str, Path] = {}
    for k in range(rounds):
        order = [("Python", None), ("compiled", compiled)]
        for name, path in order if k % 2 == 0 else order[::-1]:
            copy = folder / f"{name}-{k}" / "companion.db"
            copy.parent.mkdir()
            shutil.copyfile(db, copy)
            cpu[name].append(child_rebuild(copy, path)["cpu"])
            results[name] = copy
    same = tables(results["Python"]) == tables(results["compiled"])
    python, native = min(cpu["Python"]), min(cpu["compiled"])
    print(
        f"one process, {rounds} rounds taking turns (CPU, best of each): Python "
        f"{python / ticks * 1e6:.1f} µs per tick, compiled {native / ticks * 1e6:.1f} µs per "
        f"tick: {python / native:.2f}x ({'the same tables' if same else 'DIFFERENT TABLES'})"
    )
    for name, values in cpu.items():
        print(f"  {name}: CPU per round {', '.join(f'{v:.2f}' for v in values)} s")
    if workers > 1:
        copy = folder / "workers" / "companion.db"
        copy.parent.mkdir()
        shutil.copyfile(db, copy)
        side = child_rebuild(copy, compiled, workers)
        same = tables(copy) == tables(results["compiled"])
        matches = side["matches"]
        print(
            f"compiled, {workers} workers: {side['spans']:.0f} spans in {side['seconds']:.2f} s "
            f"({'the same tables' if same else 'DIFFERENT TABLES'}); a season of {SEASON:,} "
            f"matches: about {SEASON * side['seconds'] / matches:.0f} s (target under 60 s)"
        )
    return results["compiled"]


def tables(db: Path) -> list[list[tuple[object, ...]]]:
    conn = connect(db)
    try:
        return [sorted(conn.execute(f"SELECT * FROM {t}").fetchall()) for t in DERIVED_TABLES]
    finally:
        conn.close()


def grow(db: Path, target: int) -> int:
    """Copy the derived matches (with all their rows) until there are ``target``."""
    conn = connect(db)
    conn.execute("BEGIN IMMEDIATE")
    (count,) = conn.execute("SELECT count(*) FROM matches").fetchone()
    originals = count
    round_ = 0
    while count < target:
        round_ += 1
        (top,) = conn.execute("SELECT max(id) FROM matches").fetchone()
        (span,) = conn.execute(
            "SELECT max(started_at) - min(started_at) + 3600e6 FROM matches WHERE id <= ?",
            (originals,),
        ).fetchone()
        take = min(originals, target - count)
        conn.execute(
            "INSERT INTO matches SELECT id + :top, key || '-copy' || :r, guid, segment, arena, "
            "mode, playlist_id, started_at + :shift, ended_at + :shift, last_at + :shift, "
            "duration_s, played_s, overtime, state, forfeit, winner_team, mvp, me_primary_id, "
            "me_team, teams, approximate FROM matches WHERE id <= :take",
            {"top": top, "r": round_, "shift": int(span * round_), "take": take},
        )
        for table in (
            "match_players",
            "match_goals",
            "match_events",
            "match_touches",
            "crossbar_hits",
        ):
            columns = [r[1] for r in conn.execute(f"PRAGMA table_info({table})")]
            rest = ", ".join(columns[1:])
            conn.execute(
                f"INSERT INTO {table} (match_id, {rest}) SELECT match_id + ?, {rest} "
                f"FROM {table} WHERE match_id <= ?",
                (top, take),
            )
        count += take
    conn.execute("COMMIT")
    conn.close()
    return count


def timed(client: httpx.Client, path: str, n: int) -> list[float]:
    times = []
    for _ in range(n):
        start = time.perf_counter()
        answer = client.get(path)
        times.append((time.perf_counter() - start) * 1000)
        assert answer.status_code == 200, (path, answer.text[:200])
    return times


def p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=20)[-1]


def read_section(db: Path, target: int, n: int) -> None:
    stored = grow(db, target)
    app = CompanionApp(Settings(port=0, game=False), Paths.resolve(db.parent))
    app.start()
    try:
        with httpx.Client(base_url=app.url, timeout=30) as client:
            first = client.get("/api/v1/matches", params={"limit": 1}).json()["matches"][0]["id"]
            player = client.get("/api/v1/players", params={"limit": 1}).json()["players"][0]
            routes = [
                ("health (floor)", "/api/v1/health"),
                ("list, 50 newest", "/api/v1/matches?limit=50"),
                ("list, deep page", f"/api/v1/matches?limit=50&before={first // 2}"),
                ("list, result=win", "/api/v1/matches?limit=50&result=win"),
                ("detail", f"/api/v1/matches/{first}"),
                ("detail, old", f"/api/v1/matches/{max(1, first // 3)}"),
                ("sessions/current", "/api/v1/sessions/current"),
                ("players", "/api/v1/players?limit=100"),
                ("player career", f"/api/v1/players/{player['primary_id']}"),
                ("summary per week", "/api/v1/summary?period=week"),
            ]
            print(f"read API with {stored:,} matches stored ({n} requests each, ms):")
            print(f"  {'route':<22} {'p50':>7} {'p95':>7}")
            for name, path in routes:
                timed(client, path, 3)  # warm
                times = timed(client, path, n)
                print(f"  {name:<22} {statistics.median(times):7.2f} {p95(times):7.2f}")
    finally:
        app.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--matches", type=int, default=24, help="matches to rebuild")
    parser.add_argument("--rate", type=float, default=30.0, help="ticks per second")
    parser.add_argument("--session", type=int, default=6, help="matches per session")
    parser.add_argument(
        "--workers", type=int, default=os.cpu_count() or 1, help="processes for the second rebuild"
    )
    parser.add_argument("--stored", type=int, default=10_000, help="matches for the read API")
    parser.add_argument("--requests", type=int, default=200, help="requests per route")
    parser.add_argument("--quick", action="store_true", help="6 matches, 2,000 stored, 50 requests")
    parser.add_argument(
        "--reads-on", type=Path, help="skip the rebuild: time reads on a copy of this database"
    )
    parser.add_argument(
        "--compiled",
        type=Path,
        metavar="DIR",
        help="also rebuild with this compiled build (packaging/compile_derivation.py's output)",
    )
    parser.add_argument(
        "--rounds", type=int, default=5, help="with --compiled: one-process rounds of each"
    )
    parser.add_argument("--child-rebuild", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child_rebuild is not None:
        run_child_rebuild(args.child_rebuild, args.workers)
        return
    if args.quick:
        args.matches, args.stored, args.requests = 6, 2000, 50
    with tempfile.TemporaryDirectory() as tmp:
        if args.reads_on is not None:
            db = Path(tmp) / "companion.db"
            shutil.copyfile(args.reads_on, db)
        else:
            db = rebuild_section(
                Path(tmp),
                args.matches,
                args.rate,
                args.session,
                args.workers,
                args.compiled,
                args.rounds,
            )
        read_section(db, args.stored, args.requests)


if __name__ == "__main__":
    main()
