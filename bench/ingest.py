"""Ingest benchmark: companion's durable ingest route against two reference servers, side by side.

What is compared (all on 127.0.0.1, each server in its own process, same uvicorn settings as
companion: loop=asyncio, http=httptools, ws=none, lifespan=off, no access log, no server header,
a listening socket created with IPPROTO_TCP):

  (a) companion   the real app, ``python -m companion --no-tray --no-game --data-dir <tmp>
                  --port 0``; ``POST /api/v1/events`` answers 202 only after the group commit that
                  holds the event (SQLite WAL, synchronous=FULL).
  (b) bare        a FastAPI endpoint that only parses the JSON body and answers 202
                  (``bench/bare_app.py``): the ceiling of the HTTP stack, no storage at all.
  (c) seed        the old "seed design" (``bench/seed_app.py``): asyncio.Queue + one worker
                  coroutine doing one INSERT + COMMIT per event on the event loop; answers 202
                  before the write, so its 202 promises nothing.

How: one load generator, wrk, with ``bench/seq.lua``, which gives every wrk thread its own stream
and numbers the events 1, 2, 3, ... (a unique, increasing ``seq``), so companion never sees a
duplicate. For each connection count (``-t1`` for one connection, ``-t2`` otherwise, the machine
has 2 cores) every target gets a warm-up run, then the targets alternate a, b, c, a, b, c, ... for
``--rounds`` rounds of ``--duration`` seconds, so drift of the machine hits them alike. After a
run the benchmark waits until the target is idle again (companion's queue depth 0, the seed's
backlog empty) before the next one starts. The table shows the median req/s over the rounds and
the median of the rounds' p50 and p99 latency (exact values from wrk's ``done()`` hook).

Then 500-event batches (a JSON array of envelopes) go to companion alone, reported as events/s.
At the end companion's ``/api/v1/status`` is checked: ``duplicates_total`` must be 0 and
``accepted_total`` at least the number of 2xx answers wrk counted.

Targets from DESIGN.md (Speed): companion >= 0.8x bare at 8 and 64 connections, >= 0.6x at 1;
batches >= 50,000 events/s. The verdicts are printed; the exit status is 0 whenever the run
completed (2 when wrk is missing, 1 when a server fails), because benchmarks report, not gate.

    python bench/ingest.py            # full run (~4 minutes)
    python bench/ingest.py --quick    # smoke check: one short round
    python bench/ingest.py --batch-only --rounds 5   # batches alone, companion alone
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import http.client
import json
import os
import platform
import secrets
import select
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from types import FrameType
from typing import IO, Any

BENCH_DIR = Path(__file__).resolve().parent
REPO_DIR = BENCH_DIR.parent
LUA_SCRIPT = BENCH_DIR / "seq.lua"
HOST = "127.0.0.1"
EVENTS_PATH = "/api/v1/events"

# A small, realistic tick (~200 bytes of JSON): the clock, the ball and one player's state.
TICK_DATA: dict[str, Any] = {
    "MatchGuid": "5C1F0E9A4B7D2E31A9C8",
    "TimeSeconds": 187,
    "bOvertime": False,
    "Ball": {"Speed": 1432.57, "TeamNum": 1},
    "Player": {
        "PrimaryId": "Steam|76561198000000001|0",
        "Speed": 1203.4,
        "Boost": 45,
        "bSupersonic": False,
        "Score": 320,
    },
}
TICK_JSON = json.dumps(TICK_DATA, separators=(",", ":"))

LABELS = {"a": "a companion", "b": "b bare", "c": "c seed"}


class BenchError(Exception):
    """A server did not start or answer as expected; the run cannot go on."""


# -- processes ---------------------------------------------------------------------------------


def _die_with_parent() -> None:
    """In the child before exec: get SIGTERM if the benchmark dies (even by SIGKILL)."""
    with contextlib.suppress(Exception):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def _spawn(args: Sequence[str], log: IO[bytes], stdout: int | IO[bytes]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        list(args),
        stdin=subprocess.DEVNULL,
        stdout=stdout,
        stderr=log,
        cwd=REPO_DIR,
        # Own session: Ctrl+C reaches only the benchmark, which then stops the servers in order.
        start_new_session=True,
        preexec_fn=_die_with_parent if sys.platform == "linux" else None,
    )


def _stop_process(proc: subprocess.Popen[bytes], timeout: float = 15.0) -> int | None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)
    return proc.returncode


def _tail(path: Path, lines: int = 20) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


# -- HTTP on loopback --------------------------------------------------------------------------


def http_json(port: int, method: str, path: str, body: bytes | None = None) -> tuple[int, Any]:
    conn = http.client.HTTPConnection(HOST, port, timeout=10)
    try:
        headers = {"Content-Type": "application/json"} if body is not None else {}
        conn.request(method, path, body=body, headers=headers)
        response = conn.getresponse()
        raw = response.read()
        return response.status, json.loads(raw) if raw else None
    finally:
        conn.close()


# -- targets -----------------------------------------------------------------------------------


@dataclass
class Target:
    key: str
    workdir: Path
    port: int = 0
    proc: subprocess.Popen[bytes] | None = None
    log_path: Path = field(init=False)
    wrk_ok_answers: int = 0
    max_in_flight: int = 0
    exit_code: int | None = None

    def __post_init__(self) -> None:
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.log_path = self.workdir / "server.log"

    @property
    def label(self) -> str:
        return LABELS[self.key]

    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.proc is not None else None

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}{EVENTS_PATH}"

    def start(self, timeout: float = 30.0) -> None:
        with self.log_path.open("wb") as log:
            if self.key == "a":
                data_dir = self.workdir / "data"
                args = [sys.executable, "-m", "companion", "--no-tray", "--no-game"]
                args += ["--data-dir", str(data_dir), "--port", "0"]
                self.proc = _spawn(args, log, log)
                self.port = self._wait_for_server_json(data_dir / "server.json", timeout)
            else:
                script = BENCH_DIR / ("bare_app.py" if self.key == "b" else "seed_app.py")
                args = [sys.executable, str(script)]
                if self.key == "c":
                    args.append(str(self.workdir / "seed.db"))
                self.proc = _spawn(args, log, subprocess.PIPE)
                self.port = self._wait_for_port_line(timeout)
        self._probe()

    def _failed(self, what: str) -> BenchError:
        return BenchError(f"{self.label}: {what}\n--- {self.log_path} ---\n{_tail(self.log_path)}")

    def _wait_for_server_json(self, path: Path, timeout: float) -> int:
        assert self.proc is not None
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise self._failed(f"exited with {self.proc.returncode} during start-up")
            with contextlib.suppress(OSError, ValueError, KeyError):
                return int(json.loads(path.read_text())["port"])
            time.sleep(0.05)
        raise self._failed(f"no port in {path} after {timeout:.0f} s")

    def _wait_for_port_line(self, timeout: float) -> int:
        assert self.proc is not None and self.proc.stdout is not None
        deadline = time.monotonic() + timeout
        line = b""
        while time.monotonic() < deadline and not line.endswith(b"\n"):
            ready, _, _ = select.select([self.proc.stdout], [], [], 0.1)
            if ready:
                chunk = os.read(self.proc.stdout.fileno(), 256)
                if not chunk:
                    break
                line += chunk
            elif self.proc.poll() is not None:
                break
        if not line.startswith(b"PORT "):
            code = self.proc.poll()
            raise self._failed(f"did not announce its port (exit status {code})")
        return int(line.split()[1])

    def _probe(self) -> None:
        """One request before any load: the route must answer 202."""
        envelope = {"source": "bench", "stream": "probe", "seq": 1, "event": "Tick"}
        body = json.dumps({**envelope, "data": TICK_DATA}).encode()
        deadline = time.monotonic() + 10
        while True:
            try:
                status, _ = http_json(self.port, "POST", EVENTS_PATH, body)
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
        if status != 202:
            raise self._failed(f"the probe request got HTTP {status}, not 202")
        self.wrk_ok_answers += 1

    def status(self) -> dict[str, Any]:
        path = "/api/v1/status" if self.key == "a" else "/stats"
        code, body = http_json(self.port, "GET", path)
        if code != 200 or not isinstance(body, dict):
            raise self._failed(f"GET {path} answered HTTP {code}")
        return body

    def wait_idle(self, timeout: float = 120.0) -> float:
        """Wait until queued work is done (so it does not slow the next run); seconds waited."""
        if self.key == "b":
            return 0.0
        start = time.monotonic()
        key = "queue_depth" if self.key == "a" else "queued"
        while self.status()[key] != 0:
            if time.monotonic() - start > timeout:
                raise self._failed(f"still busy after {timeout:.0f} s")
            time.sleep(0.05)
        return time.monotonic() - start

    def stop(self) -> None:
        if self.proc is not None:
            self.exit_code = _stop_process(self.proc)
            if self.proc.stdout is not None:
                self.proc.stdout.close()
            self.proc = None


# -- wrk ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class WrkResult:
    requests: int
    seconds: float
    errors: int
    non_2xx: int
    p50_ms: float
    p99_ms: float
    cpu_us_per_event: float = 0.0  # the target's CPU time per event (batches only)

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds > 0 else 0.0


_running_wrk: list[subprocess.Popen[bytes]] = []


def cpu_seconds(pid: int | None) -> float:
    """User + system CPU time of a process so far, all its threads (0 when unknown)."""
    if pid is None:
        return 0.0
    try:
        with open(f"/proc/{pid}/stat") as handle:
            fields = handle.read().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def run_wrk(
    target: Target, connections: int, seconds: int, stream_prefix: str, batch: int = 0
) -> WrkResult:
    threads = 1 if connections == 1 else 2
    args = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "--timeout", "10s"]
    args += ["--latency", "-s", str(LUA_SCRIPT), target.url, "--", stream_prefix, str(batch)]
    args.append(TICK_JSON)
    proc = subprocess.Popen(
        args, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    _running_wrk.append(proc)
    try:
        out, err = proc.communicate(timeout=seconds + 60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        _running_wrk.remove(proc)
    text = out.decode(errors="replace")
    line = next((ln for ln in text.splitlines() if ln.startswith("BENCH_JSON ")), None)
    if proc.returncode != 0 or line is None:
        raise BenchError(
            f"wrk failed against {target.label} (exit {proc.returncode}):\n{text}\n"
            + err.decode(errors="replace")
        )
    data = json.loads(line.removeprefix("BENCH_JSON "))
    errors = sum(data[k] for k in ("err_connect", "err_read", "err_write", "err_timeout"))
    result = WrkResult(
        requests=data["requests"],
        seconds=data["duration_us"] / 1e6,
        errors=errors,
        non_2xx=data["err_status"],
        p50_ms=data["p50_us"] / 1000,
        p99_ms=data["p99_us"] / 1000,
    )
    target.wrk_ok_answers += (result.requests - result.non_2xx) * max(batch, 1)
    # Requests still in flight when wrk stops are not counted by wrk but may well be committed.
    target.max_in_flight += connections * max(batch, 1)
    if result.errors or result.non_2xx:
        print(
            f"  ! {target.label}, {connections} conn: {result.non_2xx} non-2xx answers, "
            f"{result.errors} socket errors/timeouts",
            flush=True,
        )
    return result


# -- the run -----------------------------------------------------------------------------------


@dataclass
class Row:
    key: str
    connections: int
    runs: list[WrkResult] = field(default_factory=list)

    @property
    def rps(self) -> float:
        return statistics.median(r.rps for r in self.runs)

    @property
    def p50(self) -> float:
        return statistics.median(r.p50_ms for r in self.runs)

    @property
    def p99(self) -> float:
        return statistics.median(r.p99_ms for r in self.runs)


def ratio_floor(connections: int) -> float:
    return 0.6 if connections == 1 else 0.8


def verdict(value: float, floor: float) -> str:
    return "PASS" if value >= floor else "BELOW"


def _fmt_rps(values: Iterator[float]) -> str:
    return " ".join(f"{v:,.0f}" for v in values)


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Benchmark companion's ingest route against a bare FastAPI endpoint and the "
        "seed design, side by side with wrk."
    )
    parser.add_argument("--quick", action="store_true", help="smoke check: 2 s runs, one round")
    parser.add_argument("--duration", type=int, default=None, help="seconds per run (default 5)")
    parser.add_argument("--rounds", type=int, default=None, help="rounds per target (default 3)")
    parser.add_argument(
        "--warmup", type=int, default=None, help="warm-up seconds per target (default 2)"
    )
    parser.add_argument(
        "--connections", default="1,8,64", help="comma-separated connection counts (1,8,64)"
    )
    parser.add_argument("--batch-size", type=int, default=500, help="events per batch (500)")
    parser.add_argument(
        "--batch-connections", default="2,8", help="connection counts for batches (2,8)"
    )
    parser.add_argument("--no-batch", action="store_true", help="skip the batch measurement")
    parser.add_argument(
        "--batch-only",
        action="store_true",
        help="only the batch measurement (companion alone, no single events, no other targets)",
    )
    args = parser.parse_args(argv)
    if args.batch_only and args.no_batch:
        parser.error("--batch-only and --no-batch leave nothing to measure")
    if args.batch_only:
        args.connections = ""
    quick = args.quick
    args.duration = args.duration or (2 if quick else 5)
    args.rounds = args.rounds or (1 if quick else 3)
    args.warmup = args.warmup if args.warmup is not None else (1 if quick else 2)
    try:
        args.connections = [int(c) for c in args.connections.split(",") if c.strip()]
        args.batch_connections = [int(c) for c in args.batch_connections.split(",") if c.strip()]
    except ValueError:
        parser.error("connection counts must be comma-separated integers, e.g. 1,8,64")
    if min(args.connections + args.batch_connections + [args.duration, args.rounds]) < 1 or not (
        args.connections or args.batch_connections
    ):
        parser.error("connections, duration and rounds must be at least 1")
    if not 1 <= args.batch_size <= 10_000:
        parser.error("--batch-size must be from 1 to 10000 (companion's default limit)")
    return args


def _on_sigterm(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    if shutil.which("wrk") is None:
        print(
            "bench/ingest.py: wrk is not installed; it is the load generator of this benchmark.\n"
            "Install it (Debian/Ubuntu: `apt-get install -y wrk`) and run again.",
            file=sys.stderr,
        )
        return 2
    signal.signal(signal.SIGTERM, _on_sigterm)
    workdir = Path(tempfile.mkdtemp(prefix="companion-bench-"))
    targets = {key: Target(key, workdir / key) for key in ("a" if args.batch_only else "abc")}
    try:
        return _run(args, targets)
    except KeyboardInterrupt:
        print("\ninterrupted; stopping the servers", file=sys.stderr)
        return 130
    except BenchError as exc:
        print(f"bench/ingest.py: {exc}", file=sys.stderr)
        return 1
    finally:
        for proc in list(_running_wrk):
            proc.kill()
            proc.wait()
        for target in targets.values():
            target.stop()
        shutil.rmtree(workdir, ignore_errors=True)


def _run(args: argparse.Namespace, targets: dict[str, Target]) -> int:
    wrk_version = subprocess.run(["wrk", "-v"], capture_output=True, text=True).stdout
    print(
        f"ingest benchmark: {wrk_version.splitlines()[0] if wrk_version else 'wrk'}; "
        f"Python {platform.python_version()}; {os.cpu_count()} CPUs; {platform.platform()}; "
        f"load average {os.getloadavg()[0]:.2f}"
    )
    print(
        f"runs of {args.duration} s, {args.rounds} round(s), {args.warmup} s warm-up; "
        f"body: one envelope of {len(TICK_JSON)} bytes of data; "
        f"temp dir {next(iter(targets.values())).workdir.parent}",
        flush=True,
    )
    for target in targets.values():
        target.start()
        print(f"  started {target.label} on port {target.port} (pid {target.pid})")
    run_id = secrets.token_hex(3)
    rows: dict[tuple[str, int], Row] = {}
    drained: dict[str, float] = {key: 0.0 for key in targets}

    for conns in args.connections:
        print(f"\n{conns} connection(s):", flush=True)
        if args.warmup > 0:
            for key, target in targets.items():
                run_wrk(target, conns, args.warmup, f"{run_id}-c{conns}-warm")
                drained[key] += target.wait_idle()
        for round_no in range(1, args.rounds + 1):
            for key, target in targets.items():
                result = run_wrk(target, conns, args.duration, f"{run_id}-c{conns}-r{round_no}")
                drained[key] += target.wait_idle()
                rows.setdefault((key, conns), Row(key, conns)).runs.append(result)
                print(
                    f"  round {round_no} {target.label:<12} {result.rps:>10,.0f} req/s  "
                    f"p50 {result.p50_ms:7.2f} ms  p99 {result.p99_ms:7.2f} ms",
                    flush=True,
                )

    batch_rows: dict[int, Row] = {}
    if not args.no_batch:
        print(f"\nbatches of {args.batch_size} events to {targets['a'].label}:", flush=True)
        companion = targets["a"]
        for conns in args.batch_connections:
            if args.warmup > 0:
                run_wrk(companion, conns, args.warmup, f"{run_id}-b{conns}-warm", args.batch_size)
                companion.wait_idle()
            for round_no in range(1, args.rounds + 1):
                prefix = f"{run_id}-b{conns}-r{round_no}"
                cpu = cpu_seconds(companion.pid)
                result = run_wrk(companion, conns, args.duration, prefix, args.batch_size)
                companion.wait_idle()
                # CPU time per event, applying included: steadier than events/s on a busy machine.
                events = (result.requests - result.non_2xx) * args.batch_size
                used = (cpu_seconds(companion.pid) - cpu) / max(events, 1) * 1e6
                result = replace(result, cpu_us_per_event=used)
                batch_rows.setdefault(conns, Row("a", conns)).runs.append(result)
                print(
                    f"  round {round_no} {conns} conn  {result.rps * args.batch_size:>10,.0f} "
                    f"events/s  p50 {result.p50_ms:7.2f} ms  p99 {result.p99_ms:7.2f} ms  "
                    f"companion CPU {result.cpu_us_per_event:5.1f} us/event",
                    flush=True,
                )

    _report(args, targets, rows, batch_rows, drained)
    return 0


def _report(
    args: argparse.Namespace,
    targets: dict[str, Target],
    rows: dict[tuple[str, int], Row],
    batch_rows: dict[int, Row],
    drained: dict[str, float],
) -> None:
    if args.connections:
        print("\nSingle events (median over rounds):")
        print(
            f"{'target':<13} {'conns':>5} {'req/s':>10} {'p50 ms':>8} {'p99 ms':>8}   rounds req/s"
        )
    for conns in args.connections:
        for key in targets:
            row = rows[(key, conns)]
            print(
                f"{LABELS[key]:<13} {conns:>5} {row.rps:>10,.0f} {row.p50:>8.2f} {row.p99:>8.2f}"
                f"   {_fmt_rps(r.rps for r in row.runs)}"
            )

    if args.connections:
        print(
            "\nRatios of req/s (target from DESIGN.md: a/b >= 0.8 at 8 and 64 conns, >= 0.6 at 1):"
        )
        print(f"{'conns':>5} {'a/b':>6} {'floor':>6} {'verdict':<8} {'a/c':>6}  (a/c: no target)")
    for conns in args.connections:
        a, b, c = (rows[(key, conns)].rps for key in "abc")
        ab = a / b if b else 0.0
        ac = a / c if c else 0.0
        floor = ratio_floor(conns)
        print(f"{conns:>5} {ab:>6.2f} {floor:>6.1f} {verdict(ab, floor):<8} {ac:>6.2f}")

    if batch_rows:
        print(f"\nBatches of {args.batch_size} events to companion (target >= 50,000 events/s):")
        print(
            f"{'conns':>5} {'req/s':>8} {'events/s':>10} {'p50 ms':>8} {'p99 ms':>8}  verdict"
            "   CPU us/event"
        )
        for conns, row in batch_rows.items():
            events = row.rps * args.batch_size
            cpu = statistics.median(r.cpu_us_per_event for r in row.runs)
            print(
                f"{conns:>5} {row.rps:>8,.1f} {events:>10,.0f} {row.p50:>8.2f} {row.p99:>8.2f}"
                f"  {verdict(events, 50_000):<8} {cpu:6.1f}"
            )

    print(f"\nload average at the end: {os.getloadavg()[0]:.2f} (other work skews the figures)")
    print("\nCorrectness:")
    status = targets["a"].status()
    accepted, dups = status["accepted_total"], status["duplicates_total"]
    answered = targets["a"].wrk_ok_answers
    print(
        f"  companion /api/v1/status: accepted_total={accepted:,} duplicates_total={dups} "
        f"applied_total={status['applied_total']:,} dead_letters={status['dead_letters']} "
        f"storage_error={status['storage_error']}"
    )
    in_flight, bound = accepted - answered, targets["a"].max_in_flight
    ok = dups == 0 and 0 <= in_flight <= bound
    print(
        f"  events in 2xx answers counted by wrk (+ probe): {answered:,}; accepted - answered = "
        f"{in_flight:,} (in flight when wrk stopped; at most {bound:,})"
        f"  -> {'OK' if ok else 'MISMATCH'}"
    )
    if "c" in targets:
        seed = targets["c"].status()
        print(
            f"  seed: {seed['written']:,} rows written, backlog {seed['queued']}; waited "
            f"{drained['c']:.1f} s in total for its backlog, {drained['a']:.1f} s for companion's"
        )
    for target in targets.values():
        target.stop()
        # uvicorn re-raises the SIGTERM it caught once it has shut down gracefully.
        normal = target.exit_code in (0, -signal.SIGTERM)
        how = "normally" if normal else f"ABNORMALLY (exit status {target.exit_code})"
        print(f"  {target.label} stopped {how}")


if __name__ == "__main__":
    sys.exit(main())
