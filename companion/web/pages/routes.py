"""The page routes: each reads through ``PageData`` and renders one template (no SQL, no logic
beyond choosing what to show).

Settings are saved by ``PATCH /api/v1/settings`` from the page's script; without JavaScript the
form posts here to ``POST /settings``, which needs the same dashboard session and same-origin
``Origin`` and answers with the page again (303 after a save, so a reload does not repeat it).
The sessions page's "Start a new session" is a plain form posting to ``POST /sessions/new``
under the same rules (it journals what ``POST /api/v1/sessions/new`` does).

A missing match or player gets the HTML 404 page that names what was asked for.
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
from companion.web import stats_api
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
            "board": data.live_board(),
            "recent": data.recent_matches(10),
        }
        return pages.render(request, "dashboard.html", context)

    @router.get("/matches")
    def matches(request: Request) -> Response:
        filters = {k: v for k, v in request.query_params.items() if v}
        me = data.me()[0]
        limit = filters.get("limit", "")
        listing = data.matches(filters, int(limit) if limit.isdigit() else 50)
        context = {
            "listing": listing,
            "matches": listing.matches,
            "filters": filters,
            "people": [p for p in data.recent_people() if p["primary_id"] != me],
            "next_query": _with(filters, before=listing.next_before),
            "first_query": _with(filters, before=None) if "before" in filters else None,
        }
        return pages.render(request, "matches.html", context, 422 if listing.problem else 200)

    @router.get("/matches/{match_id}")
    def match_detail(request: Request, match_id: str) -> Response:
        match = data.match(int(match_id)) if match_id.isdigit() else None
        if match is None:
            message = f"There is no match with id {match_id}: it may have been rebuilt away."
            return pages.error(request, 404, "Match not found", message)
        return pages.render(request, "match.html", {"match": match})

    @router.get("/trends")
    def trends(request: Request) -> Response:
        period = request.query_params.get("period", "week")
        period = period if period in ("day", "week") else "week"
        mode = request.query_params.get("mode") or None
        mode = mode if mode in stats_api.MODES else None
        rows = data.trends(period, mode)
        context = {"rows": rows, "period": period, "mode": mode, "any": bool(data.trends())}
        return pages.render(request, "trends.html", context)

    @router.get("/players")
    def players(request: Request) -> Response:
        search = request.query_params.get("q", "").strip()[:64]
        context = {"players": data.players(search or None), "q": search, "me": data.me()}
        return pages.render(request, "players.html", context)

    @router.get("/players/compare")
    def compare(request: Request) -> Response:
        ids: list[str] = []
        for value in request.query_params.getlist("ids"):
            ids += [part for part in value.split(",") if part and part not in ids]
        careers = [c for c in (data.career(pid) for pid in ids[:3]) if c is not None]
        context = {"careers": careers, "asked": ids, "too_many": len(ids) > 3}
        return pages.render(request, "compare.html", context)

    @router.get("/players/{primary_id}")
    def career(request: Request, primary_id: str) -> Response:
        found = data.career(primary_id)
        if found is None:
            message = f"No games with a player {primary_id!r} are stored."
            return pages.error(request, 404, "Player not found", message)
        return pages.render(request, "career.html", {"career": found})

    @router.get("/sessions")
    def sessions(request: Request) -> Response:
        found, current = data.sessions()
        context = {
            "sessions": found,
            "now_session": current,
            "session_ok": has_session(request, services.token),
            "started": request.query_params.get("started") == "1",
            "message": None,
        }
        return pages.render(request, "sessions.html", context)

    @router.post("/sessions/new")
    async def new_session(request: Request) -> Response:
        """The sessions page's button without script: same rules as the API route."""
        try:
            check_control_access(request, services.token, services.port)
        except UnauthorizedError as exc:
            found, current = data.sessions()
            context = {
                "sessions": found,
                "now_session": current,
                "session_ok": False,
                "started": False,
                "message": exc.message,
            }
            return pages.render(request, "sessions.html", context, 401)
        await data.start_new_session()
        return RedirectResponse("/sessions?started=1", status_code=303)

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
            "people": data.recent_people(50),
            "me": data.me(),
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
        context = {"session": data.current_session(), "board": data.live_board()}
        return pages.render(request, "overlay.html", context)

    return router


def _with(filters: dict[str, str], **changes: Any) -> str:
    """The query string of the filters with some values changed (None drops one)."""
    merged = {**filters, **changes}
    return urlencode({k: v for k, v in merged.items() if v is not None and v != ""})


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
