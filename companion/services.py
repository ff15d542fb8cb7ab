"""What the HTTP layer (and later the tray) works with, built once by the composition root."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field

from companion import __version__
from companion.live import LiveBoard
from companion.model import MatchSummary
from companion.paths import Paths
from companion.pipeline.writer import Writer
from companion.settings import Settings
from companion.sources.statsapi import FeedStatus, off_status
from companion.storage.readers import Readers
from companion.timefmt import now_us


@dataclass
class Services:
    """The running app's parts. ``settings`` is swapped whole, never mutated."""

    settings: Settings
    paths: Paths
    writer: Writer
    readers: Readers
    token: str
    port: int = 0
    version: str = __version__
    started_at_us: int = field(default_factory=now_us)
    request_quit: Callable[[], None] = lambda: None
    feed_status: Callable[[], FeedStatus] = field(
        default_factory=lambda: off_status("127.0.0.1", 49123)
    )
    # The newest listed match (live or finished) and the live one, as the worker last saw them.
    last_match: Callable[[], MatchSummary | None] = lambda: None
    live_match: Callable[[], MatchSummary | None] = lambda: None
    live_board: LiveBoard = field(default_factory=LiveBoard)
    # True when the stored stats come from an older derivation (``companion rebuild`` redoes them)
    stats_outdated: Callable[[], bool] = lambda: False
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def swap_settings(self, settings: Settings) -> None:
        with self._lock:
            self.settings = settings

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"
