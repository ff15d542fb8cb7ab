"""``POST /api/v1/events``: the hot path, as a raw ASGI handler.

It skips FastAPI's routing, dependency solving and response models: it checks the media type and
size, parses with orjson, validates both envelopes, hands the events to the writer and answers 202
only after the group commit that holds them. Its OpenAPI description lives in ``openapi.py``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

import orjson
from starlette.types import Receive, Scope, Send

from companion.envelope import parse_events
from companion.errors import (
    RequestError,
    StorageUnavailableError,
    TooLargeError,
    UnsupportedMediaError,
)
from companion.services import Services
from companion.timefmt import now_us
from companion.web.responses import error_content, storage_error_parts

_JSON_HEADERS = [(b"content-type", b"application/json")]


def check_media_type(content_type: str | None) -> None:
    if content_type is None:
        raise UnsupportedMediaError(
            "send the events as JSON with 'Content-Type: application/json'",
            {"content_type": None},
        )
    media, _, params = content_type.partition(";")
    media = media.strip().lower()
    if media != "application/json" and not (
        media.startswith("application/") and media.endswith("+json")
    ):
        raise UnsupportedMediaError(
            f"Content-Type {media!r} is not accepted; send 'application/json'",
            {"content_type": content_type},
        )
    for param in params.split(";"):
        key, _, value = param.partition("=")
        charset = value.strip().strip('"').lower()
        if key.strip().lower() == "charset" and charset not in ("utf-8", "utf8"):
            raise UnsupportedMediaError(
                "JSON must be sent as UTF-8", {"content_type": content_type}
            )


def _loop_is_idle() -> bool:
    """True when the event loop has nothing else to do: no ready callbacks, no readable socket.

    Only then is it worth committing on the loop's own thread (it blocks for one fsync); with
    other requests waiting, the writer thread's group commit serves them all with one fsync.
    Peeks at the selector of asyncio's default loop; any other loop simply never commits here.
    """
    loop = asyncio.get_running_loop()
    selector = getattr(loop, "_selector", None)
    ready = getattr(loop, "_ready", None)
    if selector is None or ready is None or ready:
        return False
    try:
        return not selector.select(0)
    except (OSError, ValueError):
        return False


class ClientGone(Exception):
    """The client disconnected before its body arrived; there is nobody to answer."""


async def read_body(receive: Receive, limit: int, declared: int | None) -> bytes:
    if declared is not None and declared > limit:
        raise TooLargeError(
            f"request body of {declared} bytes is over the limit of {limit} bytes",
            {"max_body_bytes": limit},
        )
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ClientGone()
        chunk: bytes = message.get("body", b"")
        if chunk:
            size += len(chunk)
            if size > limit:
                raise TooLargeError(
                    f"request body is over the limit of {limit} bytes", {"max_body_bytes": limit}
                )
            chunks.append(chunk)
        if not message.get("more_body", False):
            return chunks[0] if len(chunks) == 1 else b"".join(chunks)


async def send_json(
    send: Send, status: int, content: Any, headers: Mapping[str, str] | None = None
) -> None:
    body = orjson.dumps(content)
    raw_headers = [*_JSON_HEADERS, (b"content-length", str(len(body)).encode())]
    if headers:
        raw_headers += [(k.lower().encode(), v.encode()) for k, v in headers.items()]
    await send({"type": "http.response.start", "status": status, "headers": raw_headers})
    await send({"type": "http.response.body", "body": body})


class IngestEndpoint:
    """The ASGI handler of ``POST /api/v1/events`` (Host and Origin are checked before it)."""

    def __init__(self, services: Services) -> None:
        self._services = services

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        received_at = now_us()
        services = self._services
        settings = services.settings
        content_type: str | None = None
        declared: int | None = None
        for name, value in scope["headers"]:
            if name == b"content-type":
                content_type = value.decode("latin-1")
            elif name == b"content-length" and value.isdigit():
                declared = int(value)
        try:
            check_media_type(content_type)
            body = await read_body(receive, settings.max_body_bytes, declared)
            events = parse_events(body, settings.max_batch_items)
        except ClientGone:
            return
        except RequestError as exc:
            await send_json(send, exc.status, error_content(exc.code, exc.message, exc.details))
            return
        writer = services.writer
        if events:
            outcome = writer.commit_now(events, received_at) if _loop_is_idle() else None
            try:
                if outcome is None:
                    result = await writer.submit_async(events, received_at)
                elif isinstance(outcome, StorageUnavailableError):
                    raise outcome
                else:
                    result = outcome
            except StorageUnavailableError as exc:
                await send_json(send, 503, *storage_error_parts(exc))
                return
            answer = {
                "accepted": result.accepted,
                "duplicates": result.duplicates,
                "ids": result.ids,
                "queue_depth": writer.queue_depth,
            }
        else:
            answer = {"accepted": 0, "duplicates": 0, "ids": [], "queue_depth": writer.queue_depth}
        await send_json(send, 202, answer)
