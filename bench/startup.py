"""Start-up and idle cost of companion with its tray icon.

Launches ``companion`` the way a player does (tray on; the game feed on, pointed at a port where
no game answers, so it retries in the background as it does while the game is closed) and
measures:

1. time from launch to the server answering ``GET /api/v1/health`` (target: under 1 s) and to the
   icon being docked in the tray (an X window inside the tray panel), for the first start of a
   fresh data folder and for later starts of the same folder (median of ``--runs``);
2. resident memory (RSS) and CPU of the app's process while it sits idle for ``--seconds``
   (targets: under 80 MB and under 0.5% of one core);
3. then the first dashboard page (the tray's Open dashboard link, ``/auth?token=...`` followed
   to ``/``): how long it takes and the memory afterwards (the pages are built when first
   needed, so this is what a player who opened the dashboard once has).

It needs a desktop with a tray: run inside ``../shared/tools/traybox`` (it re-runs itself there
when that script is beside the project and no tray session is active).

    python bench/startup.py                 # about a minute and a half
    python bench/startup.py --seconds 10    # a quick look
"""

from __future__ import annotations

import argparse
import os
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
TRAYBOX = ROOT.parent / "shared" / "tools" / "traybox"
_GEOMETRY = re.compile(r"(\d+)x(\d+)\+-?\d+\+-?\d+\s+\+(-?\d+)\+(-?\d+)\s*$")
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
READY_CPU: list[float] = []


def icon_docked() -> bool:
    """Whether a window of icon size sits inside trayer's panel."""
    tree = subprocess.run(
        ["xwininfo", "-root", "-tree"], capture_output=True, text=True, check=False
    ).stdout.splitlines()
    panel = None
    for line in tree:
        indent = len(line) - len(line.lstrip())
        if panel is None:
            panel = indent if '"panel"' in line else None
            continue
        if line.strip() and indent <= panel:
            return False
        found = _GEOMETRY.search(line)
        if found and all(8 <= int(v) <= 64 for v in found.groups()[:2]):
            return True
    return False


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS  # utime + stime


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def smaps_mb(pid: int) -> dict[str, float]:
    """Pss (shared pages split between their users) and private memory, from smaps_rollup."""
    values = {"Pss": 0.0, "Private": 0.0}
    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
        name, _, rest = line.partition(":")
        if name == "Pss":
            values["Pss"] = int(rest.split()[0]) / 1024
        elif name in ("Private_Clean", "Private_Dirty"):
            values["Private"] += int(rest.split()[0]) / 1024
    return values


def first_page(data_dir: Path) -> float:
    """Seconds for the first dashboard page, as the tray's Open dashboard link loads it."""
    url = re.search(r'"url": "([^"]+)"', (data_dir / "server.json").read_text())
    token = (data_dir / "token").read_text().strip()
    assert url is not None
    started = time.perf_counter()
    answer = httpx.get(f"{url.group(1)}/auth?token={token}", follow_redirects=True, timeout=30)
    took = time.perf_counter() - started
    if answer.status_code != 200 or "<html" not in answer.text.lower():
        raise SystemExit(f"the dashboard answered {answer.status_code}")
    return took


def launch(data_dir: Path, tray: bool) -> tuple[subprocess.Popen[bytes], float, float | None]:
    """Start companion; returns the process, seconds to health, seconds to a docked icon.
    ``READY_CPU`` collects the CPU seconds the process had used when it first answered."""
    command = [sys.executable, "-m", "companion", "--data-dir", str(data_dir), "--port", "0"]
    command += ["--game-port", str(free_port())] + ([] if tray else ["--no-tray"])
    server_file = data_dir / "server.json"
    server_file.unlink(missing_ok=True)
    started = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    ready = icon = None
    url = None
    while time.perf_counter() - started < 20 and (ready is None or (tray and icon is None)):
        if process.poll() is not None:
            raise SystemExit(f"companion exited with {process.returncode}")
        if url is None and server_file.exists():
            text = server_file.read_text()
            found = re.search(r'"url": "([^"]+)"', text)
            url = found.group(1) if found else None
        if ready is None and url is not None:
            try:
                if httpx.get(url + "/api/v1/health", timeout=1).status_code == 200:
                    ready = time.perf_counter() - started
                    READY_CPU.append(cpu_seconds(process.pid))
            except httpx.HTTPError:
                pass
        if tray and icon is None and icon_docked():
            icon = time.perf_counter() - started
        time.sleep(0.01)
    if ready is None:
        raise SystemExit("companion did not answer within 20 s")
    return process, ready, icon


def stop(process: subprocess.Popen[bytes]) -> float:
    """SIGTERM and wait; returns the seconds until the process had exited."""
    started = time.perf_counter()
    process.terminate()
    process.wait(10)
    took = time.perf_counter() - started
    deadline = time.monotonic() + 10  # the next launch must not see this icon
    while os.environ.get("DISPLAY") and icon_docked() and time.monotonic() < deadline:
        time.sleep(0.05)
    return took


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=60.0, help="idle time measured")
    parser.add_argument("--runs", type=int, default=5, help="later starts timed")
    args = parser.parse_args()
    tray = bool(os.environ.get("DISPLAY"))
    if not tray and TRAYBOX.exists() and not os.environ.get("COMPANION_BENCH_IN_TRAYBOX"):
        os.environ["COMPANION_BENCH_IN_TRAYBOX"] = "1"
        command = [str(TRAYBOX), "--no-install", "--", sys.executable, *sys.argv]
        os.execv(command[0], command)
    if not tray:
        print("no display and no traybox: measuring without the tray (--no-tray)")

    data_dir = Path(tempfile.mkdtemp(prefix="companion-startup-")) / "data"
    first, ready, icon = launch(data_dir, tray)
    stop(first)
    print(f"first start (fresh data folder): server answers {ready:.2f} s, icon {fmt(icon)}")
    readies, icons, stops = [], [], []
    READY_CPU.clear()
    for _ in range(args.runs):
        process, ready, icon = launch(data_dir, tray)
        readies.append(ready)
        if icon is not None:
            icons.append(icon)
        time.sleep(1)
        stops.append(stop(process))
    print(
        f"later starts (median of {args.runs}): server answers {statistics.median(readies):.2f} s "
        f"(having used {statistics.median(READY_CPU):.2f} s of CPU), "
        f"icon {fmt(statistics.median(icons) if icons else None)}   (target: ready under 1 s)"
    )
    print(f"SIGTERM to exit (median): {statistics.median(stops):.2f} s   (target: under 2 s)")

    process, _, _ = launch(data_dir, tray)
    time.sleep(3)  # let start-up work (imports, first refreshes) settle
    cpu_before, wall_before = cpu_seconds(process.pid), time.perf_counter()
    peak = 0.0
    end = wall_before + args.seconds
    while time.perf_counter() < end:
        peak = max(peak, rss_mb(process.pid))
        time.sleep(1)
    cpu = (cpu_seconds(process.pid) - cpu_before) / (time.perf_counter() - wall_before)
    final, shares = rss_mb(process.pid), smaps_mb(process.pid)
    page = first_page(data_dir)
    time.sleep(1)
    opened, opened_shares = rss_mb(process.pid), smaps_mb(process.pid)
    stop(process)
    print(
        f"idle for {args.seconds:.0f} s: RSS {final:.1f} MB (peak {peak:.1f} MB; Pss "
        f"{shares['Pss']:.1f} MB, private {shares['Private']:.1f} MB), "
        f"CPU {cpu * 100:.2f}% of one core   (targets: under 80 MB, under 0.5%)"
    )
    print(
        f"then the first dashboard page: {page:.2f} s; RSS after it {opened:.1f} MB "
        f"(Pss {opened_shares['Pss']:.1f} MB)"
    )
    if tray:
        # For comparison: the same app without the tray (what GTK and the icon add).
        process, _, _ = launch(data_dir, tray=False)
        time.sleep(3)
        headless, shares = rss_mb(process.pid), smaps_mb(process.pid)
        stop(process)
        print(
            f"without the tray (--no-tray): RSS {headless:.1f} MB (Pss {shares['Pss']:.1f} MB, "
            f"private {shares['Private']:.1f} MB)"
        )
    return 0


def fmt(seconds: float | None) -> str:
    return "n/a" if seconds is None else f"{seconds:.2f} s"


if __name__ == "__main__":
    sys.exit(main())
