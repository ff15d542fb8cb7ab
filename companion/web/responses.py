"""JSON responses, and the one shape of every error answer."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson
from starlette.responses import Response

from companion.errors import RequestError, StorageUnavailableError


class JSONBytesResponse(Response):
    """A JSON response rendered by orjson (faster than the standard library on the hot path)."""

    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content)


def error_response(
    status: int,
    code: str,
    message: str,
    details: Any = None,
    headers: Mapping[str, str] | None = None,
) -> JSONBytesResponse:
    body = {"error": {"code": code, "message": message, "details": details}}
    return JSONBytesResponse(body, status_code=status, headers=headers)


def request_error_response(exc: RequestError) -> JSONBytesResponse:
    return error_response(exc.status, exc.code, exc.message, exc.details)


def storage_error_response(exc: StorageUnavailableError) -> JSONBytesResponse:
    return error_response(
        503,
        "storage_unavailable",
        f"{exc} Nothing from this request was stored; retry later.",
        None,
        headers={"Retry-After": str(exc.retry_after_s)},
    )
