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


def error_content(code: str, message: str, details: Any = None) -> dict[str, Any]:
    """The body of every error answer."""
    return {"error": {"code": code, "message": message, "details": details}}


def error_response(
    status: int,
    code: str,
    message: str,
    details: Any = None,
    headers: Mapping[str, str] | None = None,
) -> JSONBytesResponse:
    return JSONBytesResponse(error_content(code, message, details), status, headers)


def request_error_response(exc: RequestError) -> JSONBytesResponse:
    return error_response(exc.status, exc.code, exc.message, exc.details)


def storage_error_parts(exc: StorageUnavailableError) -> tuple[dict[str, Any], dict[str, str]]:
    """Body and headers of the 503 answer when the journal cannot be written."""
    content = error_content(
        "storage_unavailable", f"{exc} Nothing from this request was stored; retry later."
    )
    return content, {"Retry-After": str(exc.retry_after_s)}


def storage_error_response(exc: StorageUnavailableError) -> JSONBytesResponse:
    content, headers = storage_error_parts(exc)
    return JSONBytesResponse(content, 503, headers)
