"""Localhost is hostile: Host and Origin checks for every request, a token for control routes.

- A foreign ``Host`` (DNS rebinding: an attacker's name resolving to 127.0.0.1) is refused.
- A write (any method but GET/HEAD/OPTIONS) carrying a foreign ``Origin``, ``Origin: null`` or
  ``Sec-Fetch-Site: cross-site`` is refused: browsers send "simple" cross-site POSTs without a
  preflight, and CORS would only hide the answer, not stop the write.
- Control routes need ``Authorization: Bearer <token>``, or the dashboard's session cookie together
  with a same-origin ``Origin``.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import os
import secrets
from collections.abc import Callable
from pathlib import Path

from starlette.requests import Request
from starlette.types import ASGIApp, Receive, Scope, Send

from companion.errors import (
    ForbiddenHostError,
    ForbiddenOriginError,
    RequestError,
    UnauthorizedError,
)
from companion.web.responses import request_error_response

LOCAL_HOSTS = frozenset({"127.0.0.1", "localhost", "[::1]"})
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
SESSION_COOKIE = "companion_session"


def load_or_create_token(path: Path) -> str:
    """The per-install secret: created at first run, readable by this user only (0600)."""
    try:
        token = path.read_text(encoding="ascii").strip()
        if len(token) >= 32:
            return token
    except FileNotFoundError:
        pass
    token = secrets.token_urlsafe(32)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.unlink(missing_ok=True)
    # os.open with the mode so the secret is never readable by others, not even briefly.
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="ascii") as handle:
        handle.write(token + "\n")
    os.replace(tmp, path)
    return token


def session_value(token: str) -> str:
    """The cookie value the dashboard holds: derived from the token, not the token itself."""
    return hmac.new(token.encode(), b"companion_session", hashlib.sha256).hexdigest()


def _host_name(host_header: str) -> str:
    host = host_header.strip().lower()
    if host.startswith("["):
        end = host.find("]")
        return host[: end + 1] if end != -1 else host
    return host.rsplit(":", 1)[0] if ":" in host else host


@functools.lru_cache(maxsize=8)
def allowed_origins(port: int) -> frozenset[str]:
    return frozenset(f"http://{host}:{port}" for host in LOCAL_HOSTS)


def guard(scope: Scope, port: int) -> RequestError | None:
    """The error for a request with a foreign Host, or a cross-origin write; else None."""
    host = origin = fetch_site = None
    for name, value in scope["headers"]:
        if name == b"host":
            host = value.decode("latin-1")
        elif name == b"origin":
            origin = value.decode("latin-1")
        elif name == b"sec-fetch-site":
            fetch_site = value.decode("latin-1")
    if host is None or _host_name(host) not in LOCAL_HOSTS:
        return ForbiddenHostError(
            f"Host {host!r} is not allowed: companion answers only to 127.0.0.1 and "
            "localhost (this protects it from DNS rebinding)",
            {"host": host},
        )
    if scope["method"] not in SAFE_METHODS and (
        (origin is not None and origin.lower() not in allowed_origins(port))
        or (origin is None and fetch_site == "cross-site")
    ):
        return ForbiddenOriginError(
            f"cross-origin writes are refused (Origin {origin!r})", {"origin": origin}
        )
    return None


class LocalOnlyMiddleware:
    """Applies ``guard`` to every HTTP request (pure ASGI, cheap)."""

    def __init__(self, app: ASGIApp, port: Callable[[], int]) -> None:
        self.app = app
        self._port = port

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            error = guard(scope, self._port())
            if error is not None:
                await request_error_response(error)(scope, receive, send)
                return
        await self.app(scope, receive, send)


def check_control_access(request: Request, token: str, port: int) -> None:
    """Raise UnauthorizedError unless the request carries the token or a same-origin session."""
    authorization = request.headers.get("authorization", "")
    scheme, _, presented = authorization.partition(" ")
    if scheme.lower() == "bearer" and presented:
        if hmac.compare_digest(presented.strip().encode(), token.encode()):
            return
        raise UnauthorizedError("the bearer token is wrong")
    cookie = request.cookies.get(SESSION_COOKIE)
    if cookie is not None and hmac.compare_digest(cookie.encode(), session_value(token).encode()):
        origin = request.headers.get("origin")
        if origin is not None and origin.lower() in allowed_origins(port):
            return
        raise UnauthorizedError("a dashboard session must come with this origin's Origin header")
    raise UnauthorizedError(
        "this route needs 'Authorization: Bearer <token>' (the token is in the data folder's "
        "'token' file) or the dashboard session"
    )
