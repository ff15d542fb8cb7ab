"""How fast the stats pages render with many matches stored, and what the dashboard weighs.

A synthesised season is journaled and rebuilt (``bench/derive.py``'s code), its derived matches
are copied up to 10,000 (``grow()``), the real app serves them on a loopback port, and each page
is timed as a browser would ask for it (``Accept: text/html``); server time is what the request
takes on loopback. Targets: every page's p95 under 50 ms, ``/matches`` and ``/matches/{id}`` well
under 100 ms; the dashboard with its assets under 300 KB uncompressed.

    python bench/pages.py            # 10,000 matches, 100 requests per page
    python bench/pages.py --quick    # 2,000 matches, 30 requests per page
"""

from __future__ import annotations

import argparse
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import quote

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.derive import grow, p95, rebuild_section
from companion.app import CompanionApp
from companion.paths import Paths
from companion.settings import Settings

HTML = {"Accept": "text/html"}


def timed(client: httpx.Client, path: str, n: int) -> list[float]:
    times = []
    for _ in range(n):
        start = time.perf_counter()
        answer = client.get(path, headers=HTML)
        times.append((time.perf_counter() - start) * 1000)
        assert answer.status_code == 200, (path, answer.status_code, answer.text[:200])
    return times


def page_weight(client: httpx.Client, path: str) -> tuple[int, int]:
    """The page's bytes and those of the scripts and stylesheets it loads."""
    html = client.get(path, headers=HTML).text
    assets = re.findall(r'(?:src|href)="(/static/[^"]+)"', html)
    return len(html.encode()), sum(len(client.get(a).content) for a in set(assets))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--matches", type=int, default=24, help="matches synthesised")
    parser.add_argument("--stored", type=int, default=10_000, help="matches stored")
    parser.add_argument("--requests", type=int, default=100, help="requests per page")
    parser.add_argument("--quick", action="store_true", help="2,000 stored, 30 requests")
    args = parser.parse_args()
    if args.quick:
        args.matches, args.stored, args.requests = 8, 2000, 30
    with tempfile.TemporaryDirectory() as tmp:
        db = rebuild_section(Path(tmp), args.matches, 30.0)
        stored = grow(db, args.stored)
        app = CompanionApp(Settings(port=0, game=False), Paths.resolve(db.parent))
        app.start()
        try:
            with httpx.Client(base_url=app.url, timeout=60) as client:
                newest = client.get("/api/v1/matches", params={"limit": 1}).json()["matches"][0]
                player = client.get("/api/v1/players", params={"limit": 3}).json()["players"]
                ids = ",".join(quote(p["primary_id"], safe="") for p in player)
                first = newest["id"]
                pages = [
                    ("dashboard", "/"),
                    ("matches", "/matches"),
                    ("matches, deep page", f"/matches?before={first // 2}"),
                    ("matches, result=win", "/matches?result=win"),
                    ("matches, with player", f"/matches?player={quote(player[0]['primary_id'])}"),
                    ("match detail", f"/matches/{first}"),
                    ("match detail, old", f"/matches/{max(1, first // 3)}"),
                    ("trends (weeks)", "/trends"),
                    ("trends (days)", "/trends?period=day"),
                    ("players", "/players"),
                    ("career", "/players/" + quote(player[0]["primary_id"], safe="")),
                    ("compare three", f"/players/compare?ids={ids}"),
                    ("sessions", "/sessions"),
                    ("overlay", "/overlay"),
                    ("status", "/status"),
                    ("settings", "/settings"),
                ]
                print(f"pages with {stored:,} matches stored ({args.requests} requests each, ms):")
                print(f"  {'page':<22} {'first':>7} {'p50':>7} {'p95':>7}")
                for name, path in pages:
                    cold = timed(client, path, 1)[0]  # the first: caches empty for this page
                    timed(client, path, 2)
                    times = timed(client, path, args.requests)
                    print(
                        f"  {name:<22} {cold:7.1f} {statistics.median(times):7.2f} "
                        f"{p95(times):7.2f}"
                    )
                html, assets = page_weight(client, "/")
                print(
                    f"dashboard weight: {html / 1024:.1f} KB page + {assets / 1024:.1f} KB "
                    f"scripts and styles = {(html + assets) / 1024:.1f} KB uncompressed "
                    "(target under 300 KB)"
                )
        finally:
            app.stop()


if __name__ == "__main__":
    main()
