"""``POST /api/v1/events``: the hot path.

A plain Starlette endpoint (no per-request model validation): it checks the media type and size,
parses with orjson, validates both envelopes, hands the events to the writer and answers 202 only
after the group commit that holds them. Its OpenAPI description is added in ``openapi.py``.
"""

from __future__ import annotations

import asyncio

from starlette.requests import Request
from starlette.responses import Response

from companion.envelope import parse_events
from companion.errors import (
    RequestError,
    StorageUnavailableError,
    TooLargeError,
    UnsupportedMediaError,
)
from companion.services import Services
from companion.timefmt import now_us
from companion.web.responses import (
    JSONBytesResponse,
    request_error_response,
    storage_error_response,
)

_JSON_TYPES = frozenset({"application/json"})


def _check_media_type(content_type: str | None) -> None:
    if content_type is None:
        raise UnsupportedMediaError(
            "send the events as JSON with 'Content-Type: application/json'", {"content_type": None}
        )
    media, _, params = content_type.partition(";")
    media = media.strip().lower()
    if media not in _JSON_TYPES and not (
        media.startswith("application/") and media.endswith("+json")
    ):
        raise UnsupportedMediaError(
            f"Content-Type {media!r} is not accepted; send 'application/json'",
            {"content_type": content_type},
        )
    for param in params.split(";"):
        key, _, value = param.partition("=")
        if key.strip().lower() == "charset" and value.strip().strip('"').lower() not in (
            "utf-8",
            "utf8",
        ):
            raise UnsupportedMediaError(
                "JSON must be sent as UTF-8", {"content_type": content_type}
            )


async def _read_body(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise TooLargeError(
            f"request body of {int(declared)} bytes is over the limit of {limit} bytes",
            {"max_body_bytes": limit},
        )
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise TooLargeError(
                f"request body is over the limit of {limit} bytes", {"max_body_bytes": limit}
            )
        chunks.append(chunk)
    return b"".join(chunks)


def make_ingest_endpoint(services: Services) -> object:
    async def ingest(request: Request) -> Response:
        received_at = now_us()
        settings = services.settings
        try:
            _check_media_type(request.headers.get("content-type"))
            body = await _read_body(request, settings.max_body_bytes)
            events = parse_events(body, settings.max_batch_items)
        except RequestError as exc:
            return request_error_response(exc)
        if not events:
            depth = services.writer.status().queue_depth
            return JSONBytesResponse(
                {"accepted": 0, "duplicates": 0, "ids": [], "queue_depth": depth}, status_code=202
            )
        try:
            result = await asyncio.wrap_future(services.writer.submit(events, received_at))
        except StorageUnavailableError as exc:
            return storage_error_response(exc)
        return JSONBytesResponse(
            {
                "accepted": result.accepted,
                "duplicates": result.duplicates,
                "ids": result.ids,
                "queue_depth": services.writer.status().queue_depth,
            },
            status_code=202,
        )

    return ingest
