"""The page routes: each reads through ``PageData`` and renders one template (no SQL, no logic
beyond choosing what to show).

Settings are saved by ``PATCH /api/v1/settings`` from the page's script; without JavaScript the
form posts here to ``POST /settings``, which needs the same dashboard session and same-origin
``Origin`` and answers with the page again (303 after a save, so a reload does not repeat it).
"""

from __future__ import annotations

import hmac
from typing import Any
from urllib.parse import parse_qs, urlencode

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from companion.errors import InvalidParameterError, UnauthorizedError
from companion.services import Services
from companion.settings_file import SettingsWriteError
from companion.web.pages.data import PageData
from companion.web.pages.render import PageRenderer
from companion.web.security import SESSION_COOKIE, check_control_access, session_value
from companion.web.settings_api import SettingsEditor

_MAX_FORM_BYTES = 64 * 1024


def has_session(request: Request, token: str) -> bool:
    """Whether the browser holds the dashboard session (got through ``/auth?token=...``)."""
    cookie = request.cookies.get(SESSION_COOKIE)
    return cookie is not None and hmac.compare_digest(
        cookie.encode(), session_value(token).encode()
    )


def create_pages_router(
    services: Services, editor: SettingsEditor, pages: PageRenderer, data: PageData | None = None
) -> APIRouter:
    router = APIRouter(include_in_schema=False)
    data = data or PageData(services)

    @router.get("/")
    def dashboard(request: Request) -> Response:
        has_matches = data.has_matches()
        context = {
            "health": data.health(),
            "has_matches": has_matches,
            "plan": None if has_matches else data.feed_plan(),
            "session": data.current_session(),
            "live": data.live_match(),
            "recent": data.recent_matches(10),
        }
        return pages.render(request, "dashboard.html", context)

    @router.get("/matches")
    def matches(request: Request) -> Response:
        filters = dict(request.query_params)
        context = {"matches": data.matches(filters), "filters": filters}
        return pages.render(request, "matches.html", context)

    @router.get("/trends")
    def trends(request: Request) -> Response:
        return pages.render(request, "trends.html", {"days": data.trends()})

    @router.get("/players")
    def players(request: Request) -> Response:
        return pages.render(request, "players.html", {"players": data.players()})

    @router.get("/sessions")
    def sessions(request: Request) -> Response:
        return pages.render(request, "sessions.html", {"sessions": data.sessions()})

    @router.get("/status")
    def status(request: Request) -> Response:
        letters, total = data.dead_letters(50)
        context = {"facts": data.status(), "dead_letters": letters, "dead_total": total}
        return pages.render(request, "status.html", context)

    def settings_page(request: Request, status: int = 200, **extra: Any) -> Response:
        context = {
            "view": editor.view(),
            "session": has_session(request, services.token),
            "token_file": services.paths.token_file,
            "saved": _names(request.query_params.get("saved", "")),
            "restart": _names(request.query_params.get("restart", "")),
            "errors": {},
            "message": None,
            "values": {},
            **extra,
        }
        return pages.render(request, "settings.html", context, status)

    @router.get("/settings")
    def settings(request: Request) -> Response:
        return settings_page(request)

    @router.post("/settings")
    async def save_settings(request: Request) -> Response:
        try:
            check_control_access(request, services.token, services.port)
        except UnauthorizedError as exc:
            return settings_page(request, 401, message=exc.message)
        requested = await _form_values(request)
        try:
            change = editor.save(requested)
        except InvalidParameterError as exc:
            errors = {item["field"]: item["problem"] for item in exc.details}
            message = "Nothing was saved: " + "; ".join(f"{k}: {v}" for k, v in errors.items())
            return settings_page(request, 422, errors=errors, message=message, values=requested)
        except SettingsWriteError as exc:
            return settings_page(request, 500, message=f"Nothing was saved: {exc}")
        query = urlencode(
            {"saved": ",".join(change.changed), "restart": ",".join(change.restart_required)}
        )
        return RedirectResponse(f"/settings?{query}", status_code=303)

    @router.get("/overlay")
    def overlay(request: Request) -> Response:
        context = {"session": data.current_session(), "live": data.live_match()}
        return pages.render(request, "overlay.html", context)

    return router


def _names(text: str) -> list[str]:
    return [name for name in text.split(",") if name]


async def _form_values(request: Request) -> dict[str, str]:
    """The posted form's settings; a checkbox follows its hidden "false" twin, so the last wins."""
    media = request.headers.get("content-type", "").partition(";")[0].strip().lower()
    if media != "application/x-www-form-urlencoded":
        raise InvalidParameterError("the settings form must be sent as a form")
    body = await request.body()
    if len(body) > _MAX_FORM_BYTES:
        raise InvalidParameterError("the settings form is too large")
    fields = parse_qs(body.decode("utf-8", "replace"), keep_blank_values=True)
    return {name: values[-1] for name, values in fields.items() if not name.startswith("_")}
