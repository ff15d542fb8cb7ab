"""Builds the ASGI app: routes, the localhost guard, and one mapping of errors to answers."""

from __future__ import annotations

import hmac
import logging
from pathlib import Path
from urllib.parse import urlsplit

from fastapi import FastAPI
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.staticfiles import StaticFiles

from companion import __version__
from companion.errors import RequestError, StorageUnavailableError, UnauthorizedError
from companion.services import Services
from companion.web.api import create_api_router
from companion.web.asgi import CompanionASGI
from companion.web.openapi import install_openapi
from companion.web.pages.data import PageData
from companion.web.pages.render import PageRenderer, make_environment, wants_html
from companion.web.pages.routes import create_pages_router
from companion.web.responses import (
    error_response,
    request_error_response,
    storage_error_response,
)
from companion.web.security import SESSION_COOKIE, LocalOnlyMiddleware, session_value
from companion.web.settings_api import SettingsEditor
from companion.web.stats_api import create_stats_router
from companion.web.stats_reader import StatsReader

log = logging.getLogger(__name__)

STATIC_DIR = Path(__file__).parent / "static"
_STATUS_CODES = {404: "not_found", 405: "method_not_allowed", 401: "unauthorized"}


def _safe_next(target: str | None) -> str:
    """Only a local path may follow the token exchange (no open redirect)."""
    if not target:
        return "/"
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return "/"
    return target


def create_app(services: Services) -> CompanionASGI:
    """The whole app, built now (tests; the running app builds it in the background, see
    :func:`companion.web.asgi.serve_app`)."""
    return CompanionASGI(services, build_api(services))


def build_api(services: Services) -> FastAPI:
    """The FastAPI app: every route but the front layer's fast paths (see ``asgi``)."""
    app = FastAPI(
        title="companion",
        version=__version__,
        description="Local API of companion: ingest game events, read the journal and stats.",
        docs_url=None,
        redoc_url=None,
    )
    editor = SettingsEditor(services)
    pages = PageRenderer(make_environment())
    app.include_router(create_api_router(services, editor))
    reader = StatsReader(services)  # one "me" and one cache for the read API and the pages
    app.include_router(create_stats_router(services, reader))
    app.include_router(create_pages_router(services, editor, pages, PageData(services, reader)))
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    install_openapi(app)

    @app.get("/auth", include_in_schema=False)
    def exchange_token(token: str = "", next: str = "/") -> Response:
        if not hmac.compare_digest(token.encode(), services.token.encode()):
            raise UnauthorizedError("the token in this link is wrong or out of date")
        response = RedirectResponse(_safe_next(next), status_code=303)
        response.set_cookie(
            SESSION_COOKIE,
            session_value(services.token),
            httponly=True,
            samesite="strict",
            path="/",
        )
        return response

    @app.exception_handler(RequestError)
    async def on_request_error(request: Request, exc: RequestError) -> Response:
        return request_error_response(exc)

    @app.exception_handler(StorageUnavailableError)
    async def on_storage_error(request: Request, exc: StorageUnavailableError) -> Response:
        return storage_error_response(exc)

    @app.exception_handler(RequestValidationError)
    async def on_validation_error(request: Request, exc: RequestValidationError) -> Response:
        details = [
            {"field": ".".join(str(part) for part in err["loc"]), "problem": err["msg"]}
            for err in exc.errors()
        ]
        first = details[0] if details else {"field": "", "problem": "invalid"}
        return error_response(
            422, "invalid_parameter", f"{first['field']}: {first['problem']}", details
        )

    @app.exception_handler(HTTPException)
    async def on_http_error(request: Request, exc: HTTPException) -> Response:
        if exc.status_code == 404 and wants_html(request):
            return pages.error(
                request, 404, "Page not found", f"There is no page at {request.url.path}."
            )
        code = _STATUS_CODES.get(exc.status_code, "http_error")
        message = (
            f"nothing at {request.url.path}; the API lives under /api/v1 (see /docs)"
            if exc.status_code == 404
            else str(exc.detail)
        )
        return error_response(exc.status_code, code, message, None, headers=exc.headers)

    @app.exception_handler(Exception)
    async def on_unexpected(request: Request, exc: Exception) -> Response:
        log.exception("unexpected error in %s %s", request.method, request.url.path)
        if wants_html(request):
            message = (
                "companion hit an unexpected error; the details are in its log in "
                f"{services.paths.log_dir}."
            )
            return pages.error(request, 500, "Something went wrong", message)
        return error_response(500, "internal", "companion hit an unexpected error; see its log")

    app.add_middleware(LocalOnlyMiddleware, port=lambda: services.port)
    return app
