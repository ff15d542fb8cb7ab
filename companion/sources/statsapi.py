"""The Stats API reader: companion as the TCP client of the game's live feed.

It runs on its own thread and never waits on the database (a reader that stops draining the
socket can freeze the game's thread in ``send``): it reads into a large receive buffer, frames,
turns messages into journal rows (``FeedSession``) and hands them to the outbox. While the game is
closed or the feed is off, it retries forever with capped exponential back-off and jitter, and
says so in the log once, not every second.

Each connection is its own journal stream, ``<this run's start, UTC, to the µs>-<connection
number>``, so no restart ever reuses a stream name (one run at a time per data folder); ``seq``
counts the connection's messages from 1.

Waking up costs more than the work of one message: at 120 ticks a second, reading each message as
it arrives would spend most of the thread's time waking. So once a read has emptied the socket,
the thread waits until ``READ_EVERY_S`` has passed since that read before reading again (the
socket's large buffer holds what arrives meanwhile; a full read goes on at once, so a backlog
drains at line rate). The messages of one read share its receive time.
"""

from __future__ import annotations

import contextlib
import logging
import random
import socket
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from companion.sources.feed_session import FeedSession
from companion.sources.framing import JsonFramer
from companion.sources.outbox import JournalOutbox
from companion.timefmt import format_us, now_us

log = logging.getLogger(__name__)

RECEIVE_BUFFER_BYTES = 4 * 1024 * 1024
READ_BYTES = 256 * 1024
POLL_S = 0.1
READ_EVERY_S = 0.05
BACKOFF_START_S = 0.5
BACKOFF_MAX_S = 10.0
RECEIVING_WITHIN_S = 2.0


@dataclass(frozen=True, slots=True)
class FeedStatus:
    """What the status route and the tray show about the game feed."""

    state: str  # "off", "disconnected", "connected" or "receiving"
    address: str
    connections: int
    messages: int
    bytes: int
    messages_per_s: float
    last_message_at: str | None
    ticks_coalesced: int
    echoes_dropped: int
    undecodable: int
    oversize_dropped: int
    pending_rows: int
    stream: str | None

    def as_dict(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self.__slots__}


class StatsApiReader:
    """Connects to the game's Stats API and journals what it sends, on its own thread."""

    def __init__(
        self,
        host: str,
        port: int,
        outbox: JournalOutbox,
        run_started_us: int | None = None,
    ) -> None:
        self.host = host
        self.port = port
        self._outbox = outbox
        started = run_started_us if run_started_us is not None else now_us()
        # To the microsecond: a run started within the same second as the one before it (a
        # restart right after a crash) must not reuse its stream names, whose seqs it repeats.
        second = time.strftime("%Y%m%dT%H%M%S", time.gmtime(started // 1_000_000))
        self._run_id = f"{second}.{started % 1_000_000:06d}Z"
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._sock: socket.socket | None = None
        self._session: FeedSession | None = None
        self._framer = JsonFramer()
        self._connections = 0
        self._messages = 0
        self._bytes = 0
        self._last_message_us: int | None = None
        self._recent: deque[float] = deque(maxlen=1024)  # arrival times, for the rate
        self._totals = {"ticks_coalesced": 0, "echoes_dropped": 0, "undecodable": 0}

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="companion-statsapi", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 3.0) -> None:
        """Stop reading, journal what the open connection still holds, and wait for it."""
        self._stop.set()
        with self._lock:
            sock = self._sock
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
        if self._thread is not None:
            self._thread.join(timeout)
        self._outbox.drain(timeout)

    # -- the thread ---------------------------------------------------------------------------

    def _run(self) -> None:
        delay = BACKOFF_START_S
        announced = False
        while not self._stop.is_set():
            try:
                sock = socket.create_connection((self.host, self.port), timeout=2.0)
            except OSError as exc:
                if not announced:
                    log.info(
                        "game feed not available at %s:%s (%s); is Rocket League running with "
                        "the Stats API on? companion keeps trying",
                        self.host,
                        self.port,
                        exc.strerror or exc,
                    )
                    announced = True
                self._stop.wait(delay * random.uniform(0.8, 1.2))
                delay = min(delay * 2, BACKOFF_MAX_S)
                continue
            delay = BACKOFF_START_S
            announced = False
            try:
                self._serve(sock)
            except Exception:
                log.exception("the game feed reader failed; reconnecting")
            finally:
                sock.close()

    def _serve(self, sock: socket.socket) -> None:
        with contextlib.suppress(OSError):  # else the OS keeps its size; the thread matters more
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, RECEIVE_BUFFER_BYTES)
        sock.settimeout(POLL_S)
        with self._lock:
            self._connections += 1
            self._sock = sock
            stream = f"{self._run_id}-{self._connections}"
            session = FeedSession(stream, self._outbox.put, lambda: self._outbox.stalled)
            self._session = session
        self._framer.reset()
        log.info("connected to the game feed at %s:%s (stream %s)", self.host, self.port, stream)
        # One buffer for every read: recv(n) would allocate (and give back) n bytes each time,
        # which at a quarter of a megabyte per message costs more than decoding it.
        buffer = bytearray(READ_BYTES)
        view = memoryview(buffer)
        try:
            while not self._stop.is_set():
                try:
                    size = sock.recv_into(buffer)
                except TimeoutError:
                    session.poll(now_us())
                    self._outbox.pump()
                    continue
                except OSError:
                    break
                if not size:
                    break
                started = time.monotonic()
                received = now_us()
                messages = self._framer.feed(view[:size])
                for raw in messages:
                    session.on_message(raw, received)
                session.poll(received)
                with self._lock:
                    self._bytes += size
                    self._messages += len(messages)
                    if messages:
                        self._last_message_us = received
                        self._recent.extend([started] * min(len(messages), 1024))
                if size < READ_BYTES:  # the socket is empty: let messages gather a while
                    pause = READ_EVERY_S - (time.monotonic() - started)
                    if pause > 0:
                        time.sleep(pause)
        finally:
            session.close()
            with self._lock:
                for key in self._totals:
                    self._totals[key] += getattr(session.counters, key)
                self._session = None
                self._sock = None
            log.info("the game feed at %s:%s closed (stream %s)", self.host, self.port, stream)

    # -- status -------------------------------------------------------------------------------

    def status(self) -> FeedStatus:
        with self._lock:
            connected = self._sock is not None
            session = self._session
            now = time.monotonic()
            while self._recent and now - self._recent[0] > 5.0:
                self._recent.popleft()
            rate = len(self._recent) / 5.0
            last = self._last_message_us
            receiving = (
                connected and last is not None and (now_us() - last) / 1e6 < RECEIVING_WITHIN_S
            )
            totals = dict(self._totals)
            if session is not None:
                for key in totals:
                    totals[key] += getattr(session.counters, key)
            return FeedStatus(
                state="receiving" if receiving else "connected" if connected else "disconnected",
                address=f"{self.host}:{self.port}",
                connections=self._connections,
                messages=self._messages,
                bytes=self._bytes,
                messages_per_s=round(rate, 1),
                last_message_at=format_us(last),
                ticks_coalesced=totals["ticks_coalesced"],
                echoes_dropped=totals["echoes_dropped"],
                undecodable=totals["undecodable"],
                oversize_dropped=self._framer.stats.oversize_dropped,
                pending_rows=self._outbox.pending_rows,
                stream=session.stream if session else None,
            )


def off_status(host: str, port: int) -> Callable[[], FeedStatus]:
    """The status of a feed that is switched off (``--no-game``)."""

    def status() -> FeedStatus:
        return FeedStatus("off", f"{host}:{port}", 0, 0, 0, 0.0, None, 0, 0, 0, 0, 0, None)

    return status
