"""OpenAPI for the routes FastAPI does not describe itself, and ``/docs`` served from the app.

The ingest route is a plain Starlette endpoint for speed, so its request and answers are described
here from pydantic models used for documentation only. Swagger UI's files are vendored under
``static/vendor/swagger-ui`` (no CDN: the app works offline).
"""

from __future__ import annotations

from typing import Any, Literal

from fastapi import FastAPI
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.openapi.utils import get_openapi
from pydantic import BaseModel, Field
from starlette.requests import Request
from starlette.responses import HTMLResponse


class CompanionEnvelope(BaseModel):
    """companion's own envelope."""

    source: str = Field(pattern=r"^[A-Za-z0-9._-]{1,64}$", examples=["bakkesmod"])
    stream: str = Field("default", min_length=1, max_length=128)
    seq: int | None = Field(None, ge=0, lt=2**63, description="repeats are acknowledged once")
    event: str = Field(min_length=1, max_length=64, examples=["GoalScored"])
    data: Any = Field(default_factory=dict)
    ts: float | str | None = Field(None, description="Unix seconds or an RFC 3339 date-time")


class GameEnvelope(BaseModel):
    """The game's Stats API message, forwarded unchanged."""

    Event: str = Field(min_length=1, max_length=64, examples=["UpdateState"])
    Data: dict[str, Any] | str = Field(default_factory=dict, description="object or JSON string")
    source: str = Field("http", pattern=r"^[A-Za-z0-9._-]{1,64}$")
    stream: str = Field("default", min_length=1, max_length=128)
    seq: int | None = Field(None, ge=0, lt=2**63)


class IngestAccepted(BaseModel):
    accepted: int = Field(description="events newly stored")
    duplicates: int = Field(description="events repeating a stored (source, stream, seq)")
    ids: list[int] = Field(description="one journal id per item, in order")
    queue_depth: int


class ErrorDetail(BaseModel):
    code: Literal[
        "invalid_json",
        "too_large",
        "unsupported_media_type",
        "invalid_event",
        "invalid_parameter",
        "forbidden_host",
        "forbidden_origin",
        "unauthorized",
        "not_found",
        "method_not_allowed",
        "storage_unavailable",
        "internal",
    ]
    message: str
    details: Any = None


class ErrorBody(BaseModel):
    error: ErrorDetail


_DOC_MODELS: tuple[type[BaseModel], ...] = (
    CompanionEnvelope,
    GameEnvelope,
    IngestAccepted,
    ErrorBody,
    ErrorDetail,
)


def _ref(model: type[BaseModel]) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{model.__name__}"}


def _error(description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {"application/json": {"schema": _ref(ErrorBody)}},
    }


def _ingest_path() -> dict[str, Any]:
    one = {"oneOf": [_ref(CompanionEnvelope), _ref(GameEnvelope)]}
    return {
        "post": {
            "tags": ["ingest"],
            "summary": "Append events to the journal",
            "description": (
                "One event or an array (a batch, at most `max_batch_items`). Answers 202 only "
                "after the events are committed to disk; applied in journal order afterwards. "
                "No token needed, but JSON only and no foreign Origin."
            ),
            "operationId": "ingest_events",
            "requestBody": {
                "required": True,
                "content": {
                    "application/json": {
                        "schema": {"oneOf": [one, {"type": "array", "items": one}]}
                    }
                },
            },
            "responses": {
                "202": {
                    "description": "Committed",
                    "content": {"application/json": {"schema": _ref(IngestAccepted)}},
                },
                "400": _error("Malformed JSON (details: line, column, offset) or foreign Host"),
                "403": _error("Cross-origin write"),
                "413": _error("Body or batch over the limit"),
                "415": _error("Not application/json"),
                "422": _error("Schema errors (details: index, field, problem per item)"),
                "503": _error("Storage cannot write now; see Retry-After"),
            },
        }
    }


def install_openapi(app: FastAPI) -> None:
    def openapi() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        schema = get_openapi(
            title=app.title, version=app.version, description=app.description, routes=app.routes
        )
        schemas = schema.setdefault("components", {}).setdefault("schemas", {})
        for model in _DOC_MODELS:
            model_schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
            schemas.update(model_schema.pop("$defs", {}))
            schemas[model.__name__] = model_schema
        schema["paths"]["/api/v1/events"] = _ingest_path()
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]

    async def docs(request: Request) -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url="/openapi.json",
            title="companion API",
            swagger_js_url="/static/vendor/swagger-ui/swagger-ui-bundle.js",
            swagger_css_url="/static/vendor/swagger-ui/swagger-ui.css",
            swagger_favicon_url="/static/vendor/swagger-ui/favicon-32x32.png",
        )

    app.add_route("/docs", docs, include_in_schema=False)
