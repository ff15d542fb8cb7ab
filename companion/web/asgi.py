"""The front of the HTTP app: the fast paths, then the FastAPI app behind them.

``POST /api/v1/events`` (ingest, the hot path) goes to the raw ASGI endpoint after the same
Host/Origin guard the middleware applies; everything else goes to FastAPI. Importing FastAPI and
building its routes and models takes a few tenths of a second, most of start-up, so the running
app builds it on a thread while the server already answers: ingest and ``GET /api/v1/health``
are served by this layer at once, and any other request waits for the API to be ready. With a
tray the API is built only once something needs it (the first other request, or Open dashboard):
it is most of the idle app's memory, and a player may never open the pages in a session.

This module must not import FastAPI (that is the point); ``companion.web.app`` builds the API.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable

from starlette.types import ASGIApp, Receive, Scope, Send

from companion.services import Services
from companion.web.ingest import IngestEndpoint, send_json
from companion.web.responses import error_content
from companion.web.security import guard

log = logging.getLogger(__name__)

INGEST_PATH = "/api/v1/events"
HEALTH_PATH = "/api/v1/health"


class CompanionASGI:
    """The app served to uvicorn. ``api`` is the FastAPI app, or ``None`` while ``build`` is
    making it on a thread (see the module docstring); with ``lazy`` that thread starts at
    :meth:`build_now` or with the first request that needs the API."""

    def __init__(
        self,
        services: Services,
        api: ASGIApp | None = None,
        build: Callable[[], ASGIApp] | None = None,
        *,
        lazy: bool = False,
    ) -> None:
        if (api is None) == (build is None):
            raise ValueError("give the API or a way to build it, not both")
        self.api = api
        self._services = services
        self._ingest = IngestEndpoint(services)
        self._ready = threading.Event()
        self._failure: BaseException | None = None
        self._builder = build
        self._building = threading.Lock()
        if api is not None:
            self._ready.set()
        elif not lazy:
            self.build_now()

    def build_now(self) -> None:
        """Start building the API on a thread, unless it is built or being built."""
        with self._building:
            build, self._builder = self._builder, None
        if build is not None:
            threading.Thread(
                target=self._build, args=(build,), name="companion-api-build", daemon=True
            ).start()

    def _build(self, build: Callable[[], ASGIApp]) -> None:
        try:
            self.api = build()
        except BaseException as exc:  # answered as a 500 by every request that needs the API
            log.exception("the HTTP API could not be built")
            self._failure = exc
        finally:
            self._ready.set()

    def wait_ready(self, timeout: float | None = None) -> bool:
        """Block until the API is built (or failed to); ``False`` after ``timeout``."""
        return self._ready.wait(timeout)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"] == INGEST_PATH:
            error = guard(scope, self._services.port)
            if error is not None:
                await send_json(
                    send, error.status, error_content(error.code, error.message, error.details)
                )
            elif scope["method"] == "POST":
                await self._ingest(scope, receive, send)
            else:
                await send_json(
                    send,
                    405,
                    error_content("method_not_allowed", f"{INGEST_PATH} takes POST only"),
                    {"Allow": "POST"},
                )
            return
        api = self.api
        if api is None:
            if scope["type"] == "http" and scope["path"] == HEALTH_PATH:
                await self._health(scope, send)
                return
            self.build_now()
            await asyncio.get_running_loop().run_in_executor(None, self._ready.wait)
            api = self.api
        if api is None:
            await send_json(
                send, 500, error_content("internal", "companion's API failed to start; see its log")
            )
            return
        await api(scope, receive, send)

    async def _health(self, scope: Scope, send: Send) -> None:
        """What the API's health route answers, before the API is built."""
        error = guard(scope, self._services.port)
        if error is not None:
            await send_json(send, error.status, error_content(error.code, error.message))
        elif scope["method"] not in ("GET", "HEAD"):
            await send_json(send, 405, error_content("method_not_allowed", "GET only"))
        else:
            await send_json(send, 200, {"status": "ok", "version": self._services.version})


def serve_app(services: Services) -> CompanionASGI:
    """The app for the running companion: serving at once, the API built on a thread when
    first needed (see :meth:`CompanionASGI.build_now`)."""

    def build() -> ASGIApp:
        from companion.web.app import build_api

        return build_api(services)

    return CompanionASGI(services, build=build, lazy=True)
