"""The composition root: builds every part once, starts them in order and stops them in reverse.

Start: instance lock → database check and migrations → token → writer (and worker) → game feed
reader → HTTP server on its socket → ``server.json``. Stop: stop accepting (the server drains
requests still waiting for their commit) → the feed reader journals what it holds → the writer
commits what is queued and stops applying → readers close → ``server.json`` removed → lock
released. Rows accepted but not applied are applied at next start.
"""

from __future__ import annotations

import logging
import os
import signal
import threading
from types import FrameType

from companion import __version__
from companion.instance import InstanceLock
from companion.live import LiveBoard
from companion.paths import Paths
from companion.pipeline.derivation import Derivations, LatestStateDerivation
from companion.pipeline.match_derivation import MatchDerivation
from companion.pipeline.worker import Worker
from companion.pipeline.writer import Writer
from companion.server import HOST, ServerThread, bind_socket
from companion.services import Services
from companion.settings import Settings
from companion.sources.outbox import JournalOutbox
from companion.sources.statsapi import StatsApiReader, off_status
from companion.storage.database import open_database
from companion.storage.readers import Readers
from companion.timefmt import format_us, now_us
from companion.web.asgi import CompanionASGI, serve_app
from companion.web.security import load_or_create_token

log = logging.getLogger(__name__)


class CompanionApp:
    """The running application. The tray (or the headless loop) owns the main thread."""

    def __init__(self, settings: Settings, paths: Paths) -> None:
        self.settings = settings
        self.paths = paths
        self.stop_requested = threading.Event()
        self._lock = InstanceLock(paths.lock_file, paths.server_file)
        self._services: Services | None = None
        self._server: ServerThread | None = None
        self._front: CompanionASGI | None = None
        self._reader: StatsApiReader | None = None
        self._started: list[str] = []

    @property
    def services(self) -> Services:
        assert self._services is not None, "start() first"
        return self._services

    @property
    def url(self) -> str:
        return self.services.base_url

    def start(self, *, defer_api: bool = False) -> None:
        """Start everything; on failure, stop what had started and raise.

        The HTTP API is built on a thread while the server already answers health checks and
        ingest (``companion.web.asgi``). With ``defer_api`` it is built only when first needed:
        the first request for it, or :meth:`build_api_now` (the tray's Open dashboard), so an
        app left in the tray does not hold it in memory."""
        try:
            self._start()
        except BaseException:
            self.stop()
            raise
        if not defer_api:
            self.build_api_now()

    def _start(self) -> None:
        self.paths.create()
        self._lock.acquire()
        self._started.append("lock")
        open_database(self.paths.database)
        token = load_or_create_token(self.paths.token_file)
        board = LiveBoard()
        matches = MatchDerivation(
            silence_us=self.settings.match_silence_minutes * 60_000_000,
            me=self._configured_me,
            on_summary=board.publish,
        )
        derivation = Derivations([LatestStateDerivation(), matches])
        writer = Writer(self.paths.database, Worker(derivation))
        writer.start()
        self._started.append("writer")
        self._services = Services(
            settings=self.settings,
            paths=self.paths,
            writer=writer,
            readers=Readers(self.paths.database),
            token=token,
            request_quit=self.stop_requested.set,
            last_match=lambda: matches.summaries()[0],
            live_match=lambda: matches.summaries()[1],
            live_board=board,
            stats_outdated=lambda: matches.outdated,
        )
        if self.settings.game:
            outbox = JournalOutbox(writer.submit)
            self._reader = StatsApiReader(
                self.settings.game_host,
                self.settings.game_port,
                outbox,
                self._services.started_at_us,
            )
            self._reader.start()
            self._started.append("reader")
            self._services.feed_status = self._reader.status
        else:
            self._services.feed_status = off_status(
                self.settings.game_host, self.settings.game_port
            )
        sock = bind_socket(self.settings.port)
        self._front = serve_app(self._services)
        self._server = ServerThread(self._front, sock)
        self._services.port = self._server.port
        self._server.start()
        self._started.append("server")
        self._lock.publish(
            {
                "pid": os.getpid(),
                "port": self._server.port,
                "url": self._services.base_url,
                "version": __version__,
                "started_at": format_us(now_us()),
            }
        )
        log.info(
            "companion %s listening on %s (data folder %s)",
            __version__,
            self._services.base_url,
            self.paths.data_dir,
        )

    def _configured_me(self) -> str | None:
        settings = self._services.settings if self._services is not None else self.settings
        return settings.me or None

    def stop(self) -> None:
        """Stop in order; safe to call twice and after a failed start."""
        if "server" in self._started and self._server is not None:
            self._server.stop()
        if "reader" in self._started and self._reader is not None:
            self._reader.stop()
        if "writer" in self._started and self._services is not None:
            self._services.writer.stop()
            self._services.readers.close()
        if "lock" in self._started:
            self._lock.unpublish()
            self._lock.release()
        if self._started:
            log.info("companion stopped")
        self._started.clear()

    def build_api_now(self) -> None:
        """Start building the HTTP API now, if it is not built yet (after
        ``start(defer_api=True)``)."""
        if self._front is not None:
            self._front.build_now()

    def run_headless(self) -> int:
        """Serve until SIGINT/SIGTERM or a quit request, then stop in order. Returns 0."""
        self.build_api_now()

        def on_signal(signum: int, frame: FrameType | None) -> None:
            self.stop_requested.set()

        previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
        try:
            while not self.stop_requested.wait(0.5):
                pass
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
            self.stop()
        return 0


__all__ = ["HOST", "CompanionApp"]
