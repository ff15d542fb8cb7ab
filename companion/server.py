"""uvicorn in a background thread, on a socket companion binds itself (127.0.0.1 only).

Binding first gives a clear one-line error for a busy port, the real port for ``--port 0``, and
``IPPROTO_TCP`` on the socket: asyncio only sets TCP_NODELAY on sockets it recognises as TCP, and
without it every answer waits ~40 ms for delayed ACKs.
"""

from __future__ import annotations

import errno
import logging
import socket
import sys
import threading
import time
from typing import Any

import uvicorn

from companion.errors import StartupError

log = logging.getLogger(__name__)

HOST = "127.0.0.1"


def bind_socket(port: int, host: str = HOST) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    try:
        if sys.platform == "win32":
            # On Windows SO_REUSEADDR would let a second process bind the same port.
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_EXCLUSIVEADDRUSE, 1)  # type: ignore[attr-defined,unused-ignore]
        else:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(2048)
    except OSError as exc:
        sock.close()
        if exc.errno in (errno.EADDRINUSE, errno.EACCES) or getattr(exc, "winerror", 0) == 10048:
            raise StartupError(
                f"port {port} on {host} is already in use; quit what uses it or start "
                f"companion with another port, e.g. `companion --port {port + 1}` "
                "(or --port 0 for any free one)",
                exit_code=2,
            ) from exc
        raise StartupError(f"cannot listen on {host}:{port}: {exc.strerror}", exit_code=2) from exc
    sock.setblocking(False)
    return sock


class ServerThread:
    """Runs a uvicorn server for ``app`` on a daemon thread; ``stop`` ends it gracefully."""

    def __init__(self, app: Any, sock: socket.socket) -> None:
        self.sock = sock
        self.port: int = sock.getsockname()[1]
        config = uvicorn.Config(
            app,
            loop="asyncio",
            http="httptools",
            ws="none",
            lifespan="off",
            log_config=None,
            access_log=False,
            server_header=False,
            timeout_graceful_shutdown=5,
        )
        self.server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=self.server.run, kwargs={"sockets": [sock]}, name="companion-http", daemon=True
        )

    def start(self, timeout: float = 15.0) -> None:
        self._thread.start()
        deadline = time.monotonic() + timeout
        # A failed start ends the thread (uvicorn calls sys.exit in it) and `started` stays False.
        while not self.server.started and self._thread.is_alive():
            if time.monotonic() > deadline:
                raise StartupError("the HTTP server did not start in time")
            time.sleep(0.005)
        if not self.server.started:
            raise StartupError("the HTTP server failed to start; see the log")

    def stop(self, timeout: float = 10.0) -> None:
        self.server.should_exit = True
        self._thread.join(timeout)
        if self._thread.is_alive():
            self.server.force_exit = True
            self._thread.join(2.0)
        self.sock.close()
