"""``companion rebuild``: the command around :func:`companion.pipeline.rebuild.rebuild`: takes
the instance lock (the app must not be running), shows progress with an ETA, reports."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import TextIO

from companion.errors import AlreadyRunningError
from companion.instance import InstanceLock
from companion.paths import Paths
from companion.pipeline.rebuild import rebuild
from companion.settings import Settings
from companion.storage.database import connect, open_database


class ProgressLine:
    """``rebuilding stats: 42% (12,345 of 29,000 journal rows), about 0:07 left`` on one line,
    redrawn at most a few times a second (only on a terminal; otherwise at 25% steps)."""

    def __init__(self, out: TextIO, clock: Callable[[], float] = time.monotonic) -> None:
        self._out = out
        self._clock = clock
        self._start = clock()
        self._shown = -1.0
        self._tty = out.isatty()
        self._step = -1

    def __call__(self, done: int, total: int) -> None:
        now = self._clock()
        share = done / total if total else 1.0
        if self._tty:
            if now - self._shown < 0.2 and done < total:
                return
        else:
            step = int(share * 4)
            if step == self._step:
                return
            self._step = step
        self._shown = now
        elapsed = now - self._start
        left = elapsed / share - elapsed if share > 0 else 0.0
        minutes, seconds = divmod(int(left + 0.5), 60)
        text = (
            f"rebuilding stats: {share:4.0%} ({done:,} of {total:,} journal rows), "
            f"about {minutes}:{seconds:02d} left"
        )
        self._out.write(("\r" + text) if self._tty else text + "\n")
        self._out.flush()

    def finish(self) -> None:
        if self._tty and self._shown >= 0:
            self._out.write("\n")
            self._out.flush()


def run(settings: Settings, paths: Paths, say: Callable[[str], None], *, workers: int = 1) -> int:
    lock = InstanceLock(paths.lock_file, paths.server_file)
    try:
        lock.acquire()
    except AlreadyRunningError as exc:
        raise AlreadyRunningError(f"{exc}; quit it first, then rebuild", exc.url) from None
    try:
        open_database(paths.database)
        conn = connect(paths.database)
        bar = ProgressLine(sys.stderr)
        try:
            outcome = rebuild(
                conn,
                silence_us=settings.match_silence_minutes * 60_000_000,
                progress=bar,
                database=paths.database,
                workers=workers,
            )
        finally:
            bar.finish()
            conn.close()
    finally:
        lock.release()
    rate = outcome.matches / outcome.seconds if outcome.seconds else 0.0
    say(
        f"rebuilt the stats of {outcome.matches:,} matches from {outcome.rows:,} journal rows "
        f"in {outcome.seconds:.1f} s ({rate:,.0f} matches/s"
        + (f", {outcome.spans} spans side by side)" if outcome.spans > 1 else ")")
        + (f"; {outcome.dead} rows still fail and stay in dead letters" if outcome.dead else "")
    )
    return 0
