"""Rendering pages: the Jinja2 environment, its filters, the navigation and the HTML error pages.

Every page answer carries a strict Content-Security-Policy: scripts, styles and images only from
the app itself (the pages work offline and a stray injected tag cannot load anything).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, Undefined, select_autoescape
from starlette.requests import Request
from starlette.responses import HTMLResponse

from companion import __version__
from companion.web.pages import pitch

TEMPLATES_DIR = Path(__file__).resolve().parents[1] / "templates"

# (path, label): the order of the navigation bar.
NAV: tuple[tuple[str, str], ...] = (
    ("/", "Dashboard"),
    ("/matches", "Matches"),
    ("/trends", "Trends"),
    ("/players", "Players"),
    ("/sessions", "Sessions"),
    ("/status", "Status"),
    ("/settings", "Settings"),
    ("/overlay", "Overlay"),
)

# Statfeed events by their stable EventName, as the match timeline words them.
EVENT_LABELS = {
    "Save": "Save",
    "EpicSave": "Epic save",
    "Demolish": "Demolition",
    "Shot": "Shot",
    "Assist": "Assist",
    "Goal": "Goal",
    "MVP": "MVP",
    "Win": "Win",
}

_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'"
)
# same-origin, not no-referrer: with no-referrer a browser sends "Origin: null" on a form's POST,
# and the pages' plain forms (settings, new session) must show companion's own origin to pass the
# cross-origin check. Nothing leaks to other sites either way.
PAGE_HEADERS = {
    "Content-Security-Policy": _CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}


def human_bytes(size: int) -> str:
    value = float(size)
    for unit in ("bytes", "KB", "MB", "GB"):
        if value < 1024 or unit == "GB":
            return f"{size} bytes" if unit == "bytes" else f"{value:.1f} {unit}"
        value /= 1024
    raise AssertionError("unreachable")


def human_duration(seconds: float) -> str:
    """``3 h 12 min``, ``4 min 5 s``, ``12 s``: what a person reads at a glance."""
    total = int(seconds)
    days, rest = divmod(total, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days} d {hours} h"
    if hours:
        return f"{hours} h {minutes} min"
    if minutes:
        return f"{minutes} min {secs} s"
    return f"{secs} s"


def local_time(value_us: int | None) -> str:
    """A moment in this machine's time zone (the browser runs on the same machine)."""
    if value_us is None:
        return "never"
    moment = dt.datetime.fromtimestamp(value_us / 1e6).astimezone()
    return moment.strftime("%Y-%m-%d %H:%M:%S")


def local_from_iso(text: str | None) -> str:
    """An RFC 3339 time from the API (``2026-11-25T18:42:13.123Z``) as ``local_time`` shows it."""
    if not text:
        return "never"
    try:
        moment = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return text
    return local_time(int(moment.timestamp() * 1e6))


def iso_time(value_us: int | None) -> str:
    if value_us is None:
        return ""
    return dt.datetime.fromtimestamp(value_us / 1e6, tz=dt.UTC).isoformat(timespec="milliseconds")


def setting_value(value: Any) -> str:
    """A setting's value as the settings page words it: on/off, "empty", or as is."""
    if isinstance(value, bool):
        return "on" if value else "off"
    if value == "":
        return "empty"
    return str(value)


def dash(value: Any, digits: int = 2) -> str:
    """A figure, or "—" where it is unknown (never 0 for unknown)."""
    if value is None or isinstance(value, Undefined):
        return "—"
    if isinstance(value, float):
        text = f"{value:.{digits}f}".rstrip("0").rstrip(".")
        return text or "0"
    return str(value)


def percent(share: float | None, digits: int = 0) -> str:
    """A share (0 to 1) as a percentage, or "—"."""
    if share is None or isinstance(share, Undefined):
        return "—"
    return f"{share * 100:.{digits}f}%"


def clock(seconds: int | None, overtime: bool = False) -> str:
    """A goal's clock as the game shows it: ``3:12`` left, or ``OT +0:45`` played in overtime."""
    if seconds is None:
        return "—"
    minutes, secs = divmod(int(seconds), 60)
    return f"OT +{minutes}:{secs:02d}" if overtime else f"{minutes}:{secs:02d}"


def streak(value: int | None) -> str:
    """A signed streak (+3 three wins, -2 two losses) as ``3 wins``, ``2 losses`` or ``none``."""
    if not value:
        return "none"
    count = abs(value)
    if value > 0:
        return f"{count} win" + ("s" if count > 1 else "")
    return f"{count} loss" + ("es" if count > 1 else "")


def arena(name: str | None) -> str:
    """The game's arena id as a person reads it: ``NeoTokyo_Standard_P`` is "NeoTokyo Standard"."""
    if not name:
        return "unknown arena"
    words = name.removesuffix("_P").removesuffix("_p").replace("_", " ").strip()
    return words[:1].upper() + words[1:] if words else name


def length_played(match: Mapping[str, Any]) -> str:
    """How long a match was (``5:00``, ``6:55``): the game seconds played where known, else
    its wall-clock span."""
    seconds = match.get("played_s")
    if seconds is None:
        seconds = match.get("duration_s")
    if seconds is None:
        return "—"
    minutes, secs = divmod(int(seconds), 60)
    return f"{minutes}:{secs:02d}"


def make_environment(templates_dir: Path = TEMPLATES_DIR) -> Environment:
    env = Environment(
        loader=FileSystemLoader(templates_dir),
        autoescape=select_autoescape(["html"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(
        bytes=human_bytes,
        duration=human_duration,
        local_time=local_time,
        iso_time=iso_time,
        local_from_iso=local_from_iso,
        setting_value=setting_value,
        dash=dash,
        percent=percent,
        streak=streak,
        arena=arena,
        length_played=length_played,
    )
    env.globals.update(
        nav=NAV,
        version=__version__,
        clock=clock,
        pitch=pitch,
        EVENT_LABELS=EVENT_LABELS,
    )
    return env


class PageRenderer:
    """Renders a template into an HTML answer with the pages' security headers."""

    def __init__(self, env: Environment) -> None:
        self.env = env

    def render(
        self,
        request: Request,
        name: str,
        context: Mapping[str, Any],
        status: int = 200,
    ) -> HTMLResponse:
        template = self.env.get_template(name)
        path = request.url.path
        html = template.render(**context, request_path=path, current=_current_nav(path))
        return HTMLResponse(html, status_code=status, headers=PAGE_HEADERS)

    def error(self, request: Request, status: int, title: str, message: str) -> HTMLResponse:
        """The HTML error page (404 with the ways on, 500 with where the log is)."""
        context = {"status": status, "title": title, "message": message}
        try:
            return self.render(request, "error.html", context, status)
        except Exception:
            # The error page must not fail in turn (a broken template, say): plain text will do.
            text = f"<!doctype html><title>{status}</title><h1>{status}</h1>"
            return HTMLResponse(text, status_code=status, headers=PAGE_HEADERS)


def _current_nav(path: str) -> str | None:
    """The navigation entry a path belongs to (``/matches/12`` is under Matches)."""
    best = None
    for target, _ in NAV:
        if path == target or (target != "/" and path.startswith(target + "/")):
            best = target
    return best


def wants_html(request: Request) -> bool:
    """A browser asking for a page (not the API, not a script) gets HTML errors."""
    path = request.url.path
    if path.startswith(("/api/", "/static/")) or path in ("/openapi.json", "/docs"):
        return False
    return "text/html" in request.headers.get("accept", "")
