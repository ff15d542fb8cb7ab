"""Shared by the comparison servers: companion's uvicorn settings on a socket bound here.

The socket is created with ``IPPROTO_TCP`` like companion's (asyncio sets TCP_NODELAY only on
sockets it recognises as TCP; without it every answer waits ~40 ms for a delayed ACK). The chosen
port is printed as ``PORT <n>`` on stdout, which ``bench/ingest.py`` reads.
"""

from __future__ import annotations

import asyncio
import socket
import sys
from collections.abc import Awaitable, Callable
from typing import Any

import uvicorn

HOST = "127.0.0.1"


def bind_socket(port: int = 0) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((HOST, port))
    sock.listen(2048)
    sock.setblocking(False)
    return sock


def make_server(app: Any) -> uvicorn.Server:
    """A uvicorn server with exactly companion's settings (see ``companion/server.py``)."""
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
    return uvicorn.Server(config)


def serve(app: Any, before: Callable[[], Awaitable[None]] | None = None) -> None:
    """Bind, announce the port, then serve ``app`` until SIGINT/SIGTERM.

    ``before`` runs on the server's event loop first (the seed app starts its worker there).
    """
    sock = bind_socket()
    server = make_server(app)

    async def main() -> None:
        if before is not None:
            await before()
        await server.serve(sockets=[sock])

    print(f"PORT {sock.getsockname()[1]}", flush=True)
    try:
        # What uvicorn.Server.run does, with ``before`` on the same loop.
        with asyncio.Runner(loop_factory=server.config.get_loop_factory()) as runner:
            runner.run(main())
    finally:
        sock.close()
    sys.exit(0)
