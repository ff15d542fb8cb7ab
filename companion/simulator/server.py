"""The fake game's TCP endpoint: listens like Rocket League's Stats API ``Port`` and writes a
timeline of messages to whoever connects.

Like the real game, the server only writes; it never reads what the client sends. It serves one
client at a time: a new connection replaces the old one (the old socket is shut down), and the
stream continues on the new one from the next whole message, so a client always starts at a
message boundary. How the real game treats several clients is unknown.

Playback runs on the server's own writer thread and paces messages by their timeline times: real
speed (``speed=1``), N times faster (``speed=N``) or as fast as the client reads (``speed=0``).
If the client goes away mid-stream, ``on_disconnect`` decides:

* ``wait`` (default): pause the timeline until a client connects, then resend the interrupted
  message whole and carry on (nothing is skipped, but bytes already in the dead socket's buffers
  are lost, as with any TCP peer that vanishes);
* ``drop``: keep the clock running and discard messages while nobody listens, as the real game
  does (it does not wait for anyone);
* ``stop``: end the playback.

Example::

    with StatsApiServer(port=0) as server:        # port 0: any free port
        port = server.port
        playback = server.play_async(synthesis.messages(), speed=0)
        ...                                       # connect to 127.0.0.1:port and read
        result = playback.wait_result(timeout=30)
"""

from __future__ import annotations

import contextlib
import socket
import sys
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from companion.simulator.wire import WireMessage

DEFAULT_PORT = 49123
DISCONNECT_POLICIES = ("wait", "drop", "stop")


@dataclass(slots=True)
class PlayResult:
    """How a playback went. ``completed``: the timeline ran to its end (under ``drop``, some
    messages may have been discarded). ``stopped``: ended by :meth:`Playback.cancel` or
    :meth:`StatsApiServer.stop`. ``connections``: how many client connections received data."""

    completed: bool = False
    stopped: bool = False
    sent: int = 0
    dropped: int = 0
    bytes_sent: int = 0
    connections: int = 0


class _Client:
    """One accepted connection; ``gone`` makes sure it is reported and closed once."""

    __slots__ = ("gone", "number", "peer", "sock")

    def __init__(self, sock: socket.socket, peer: str, number: int) -> None:
        self.sock, self.peer, self.number, self.gone = sock, peer, number, False


class Playback:
    """A playback running on the server's writer thread."""

    def __init__(self) -> None:
        self.result = PlayResult()
        self._done = threading.Event()
        self._cancel = threading.Event()

    @property
    def done(self) -> bool:
        return self._done.is_set()

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the playback ends (or ``timeout`` seconds pass); ``True`` if it ended."""
        return self._done.wait(timeout)

    def wait_result(self, timeout: float | None = None) -> PlayResult:
        """Block until the playback ends and return its result; ``TimeoutError`` if it does not
        end within ``timeout`` seconds."""
        if not self._done.wait(timeout):
            raise TimeoutError("playback still running")
        return self.result

    def cancel(self) -> None:
        """Ask the playback to stop after the message it is writing."""
        self._cancel.set()


class StatsApiServer:
    """A TCP server that plays timelines of Stats API messages (see the module docstring).

    ``on_client(kind, peer)`` is called from the server's threads with ``kind`` one of
    ``connected``, ``replaced`` (a newer connection took over) and ``disconnected``.
    ``max_write``: write each message in pieces of at most this many bytes (so a reader sees
    messages split across reads, multi-byte characters included).
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = DEFAULT_PORT,
        *,
        on_disconnect: str = "wait",
        max_write: int | None = None,
        on_client: Callable[[str, str], None] | None = None,
    ) -> None:
        if on_disconnect not in DISCONNECT_POLICIES:
            raise ValueError(f"on_disconnect must be one of {', '.join(DISCONNECT_POLICIES)}")
        if max_write is not None and max_write < 1:
            raise ValueError("max_write must be at least 1")
        self.host, self._port = host, port
        self.on_disconnect, self.max_write, self.on_client = on_disconnect, max_write, on_client
        self._changed = threading.Condition()  # guards _client and _connections
        self._client: _Client | None = None
        self._connections = 0
        self._send_lock = threading.Lock()  # held while a socket is written: close waits for it
        self._stopping = threading.Event()
        self._listener: socket.socket | None = None
        self._acceptor: threading.Thread | None = None
        self._writer: threading.Thread | None = None
        self._playback: Playback | None = None

    # -- lifecycle ---------------------------------------------------------------------------

    def start(self) -> int:
        """Bind and listen; returns the bound port (useful with ``port=0``). ``OSError`` when the
        port is taken."""
        family = socket.AF_INET6 if ":" in self.host else socket.AF_INET
        listener = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        if sys.platform == "win32":  # SO_REUSEADDR on Windows would let two servers share a port
            listener.setsockopt(socket.SOL_SOCKET, socket.SO_EXCLUSIVEADDRUSE, 1)
        else:  # rebind at once after a restart, despite connections in TIME_WAIT
            listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            listener.bind((self.host, self._port))
            listener.listen(4)
        except OSError:
            listener.close()
            raise
        listener.settimeout(0.2)  # so the accept loop notices stop()
        self._listener = listener
        self._port = listener.getsockname()[1]
        self._acceptor = threading.Thread(target=self._accept_loop, name="simulator-accept")
        self._acceptor.daemon = True
        self._acceptor.start()
        return self._port

    def stop(self) -> None:
        """Stop playback, disconnect the client and stop listening. Safe to call twice."""
        self._stopping.set()
        if self._playback is not None:
            self._playback.cancel()
        self.kick()
        for thread in (self._writer, self._acceptor):
            if thread is not None and thread is not threading.current_thread():
                thread.join(timeout=5.0)
        if self._listener is not None:
            self._listener.close()

    def __enter__(self) -> StatsApiServer:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        """The listening port (the requested one until :meth:`start` binds)."""
        return self._port

    @property
    def connections(self) -> int:
        """How many connections have been accepted so far."""
        return self._connections

    @property
    def connected(self) -> bool:
        return self._client is not None

    def wait_for_client(self, timeout: float | None = None, *, newer_than: int = 0) -> bool:
        """Block until a client is connected whose connection number (1, 2, …) is above
        ``newer_than``; ``False`` after ``timeout`` seconds or on :meth:`stop`."""

        def ready() -> bool:
            client = self._client
            return self._stopping.is_set() or (client is not None and client.number > newer_than)

        with self._changed:
            return self._changed.wait_for(ready, timeout) and not self._stopping.is_set()

    def kick(self) -> None:
        """Disconnect the current client from the server's side (tests: a lost connection)."""
        with self._changed:
            client, self._client = self._client, None
            self._changed.notify_all()
        if client is not None:
            self._close(client, "disconnected")

    # -- playback ----------------------------------------------------------------------------

    def play(
        self,
        messages: Iterable[WireMessage],
        speed: float = 1.0,
        *,
        on_sent: Callable[[WireMessage], None] | None = None,
        hang_up: bool = False,
    ) -> PlayResult:
        """Play ``messages`` and block until done; see :meth:`play_async`."""
        return self.play_async(messages, speed, on_sent=on_sent, hang_up=hang_up).wait_result()

    def play_async(
        self,
        messages: Iterable[WireMessage],
        speed: float = 1.0,
        *,
        on_sent: Callable[[WireMessage], None] | None = None,
        hang_up: bool = False,
    ) -> Playback:
        """Start writing ``messages`` on the writer thread and return at once.

        The timeline starts when a client is connected (it waits for the first one). ``speed``:
        1 real time, N times faster, 0 as fast as the client reads. ``on_sent(message)`` runs on
        the writer thread after each message is written whole. ``hang_up``: close the
        connection once the last message is written (as if the game quit), so the client sees
        the end of the stream; otherwise it stays open and silent, like the game in its menus.
        One playback at a time.
        """
        if speed < 0:
            raise ValueError("speed must be 0 (as fast as possible) or positive")
        if self._listener is None:
            raise RuntimeError("start() the server first")
        if self._playback is not None and not self._playback.done:
            raise RuntimeError("a playback is already running")
        playback = Playback()
        self._playback = playback
        self._writer = threading.Thread(
            target=self._play,
            args=(playback, messages, speed, on_sent, hang_up),
            name="simulator-writer",
        )
        self._writer.daemon = True
        self._writer.start()
        return playback

    def _play(
        self,
        playback: Playback,
        messages: Iterable[WireMessage],
        speed: float,
        on_sent: Callable[[WireMessage], None] | None,
        hang_up: bool,
    ) -> None:
        result = playback.result
        served: set[int] = set()
        try:
            started = False
            start = first_t = 0.0
            for message in messages:
                if not started:
                    if not self._await_client(playback):
                        break
                    started, start, first_t = True, time.monotonic(), message.t
                if speed > 0:
                    delay = start + (message.t - first_t) / speed - time.monotonic()
                    if delay > 0 and self._halted(playback, delay):
                        break
                outcome = self._deliver(playback, message, served)
                if outcome is None:
                    break
                waited, sent = outcome
                start += waited  # a pause while waiting for a reconnect shifts the schedule
                if sent and on_sent is not None:
                    on_sent(message)
            else:
                result.completed = True
                if hang_up:
                    self.kick()
        finally:
            result.stopped = not result.completed and (
                playback._cancel.is_set() or self._stopping.is_set()
            )
            result.connections = len(served)
            playback._done.set()

    def _deliver(
        self, playback: Playback, message: WireMessage, served: set[int]
    ) -> tuple[float, bool] | None:
        """Write one message whole to the current client, applying the disconnect policy.
        Returns (seconds spent waiting for a client, whether it was sent rather than dropped),
        or ``None`` to end the playback."""
        waited = 0.0
        result = playback.result
        while not self._halted(playback):
            client = self._client
            if client is None:
                if self.on_disconnect == "stop":
                    return None
                if self.on_disconnect == "drop":
                    result.dropped += 1
                    return waited, False
                began = time.monotonic()
                if not self._await_client(playback):
                    return None
                waited += time.monotonic() - began
                continue
            try:
                with self._send_lock:
                    if client.gone:
                        raise OSError("connection replaced")
                    self._write(client.sock, message.raw)
            except OSError:
                with self._changed:
                    if self._client is client:
                        self._client = None
                replaced = self._client is not None
                self._close(client, "replaced" if replaced else "disconnected")
                if replaced or self.on_disconnect == "wait":
                    continue  # the whole message again, to whoever is (or will be) connected
                if self.on_disconnect == "drop":
                    result.dropped += 1
                    return waited, False
                return None
            served.add(client.number)
            result.sent += 1
            result.bytes_sent += len(message.raw)
            return waited, True
        return None

    def _write(self, sock: socket.socket, raw: bytes) -> None:
        step = self.max_write or max(len(raw), 1)
        view = memoryview(raw)
        for at in range(0, len(raw), step):
            sock.sendall(view[at : at + step])

    def _await_client(self, playback: Playback) -> bool:
        with self._changed:
            while self._client is None:
                if self._halted(playback):
                    return False
                self._changed.wait(0.1)
        return True

    def _halted(self, playback: Playback, delay: float = 0.0) -> bool:
        """Whether playback must end, after sleeping up to ``delay`` seconds (interruptibly)."""
        if delay > 0:
            playback._cancel.wait(delay)
        return playback._cancel.is_set() or self._stopping.is_set()

    # -- connections -------------------------------------------------------------------------

    def _accept_loop(self) -> None:
        listener = self._listener
        assert listener is not None
        while not self._stopping.is_set():
            try:
                sock, address = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                if self._stopping.is_set():
                    return
                time.sleep(0.05)  # e.g. out of file descriptors: do not spin
                continue
            sock.settimeout(None)
            with contextlib.suppress(OSError):  # each message leaves at once, as the game's do
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            peer = f"{address[0]}:{address[1]}"
            with self._changed:
                self._connections += 1
                old, self._client = self._client, _Client(sock, peer, self._connections)
                self._changed.notify_all()
            if old is not None:
                self._close(old, "replaced")
            self._notify("connected", peer)

    def _close(self, client: _Client, kind: str) -> None:
        """Shut the socket down (this wakes a writer blocked on it), then close it once the
        writer has let go, and report it once."""
        with self._changed:
            if client.gone:
                return
            client.gone = True
        with contextlib.suppress(OSError):
            client.sock.shutdown(socket.SHUT_RDWR)
        with self._send_lock:
            client.sock.close()
        self._notify(kind, client.peer)

    def _notify(self, kind: str, peer: str) -> None:
        if self.on_client is not None:
            self.on_client(kind, peer)
