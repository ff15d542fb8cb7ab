"""``GET`` and ``PATCH /api/v1/settings``, and the ``SettingsEditor`` the settings page shares.

Saving is a control action: it needs the token or the dashboard session with a same-origin
``Origin`` (checked by the route's dependency). The editor serialises saves, so two at once cannot
interleave their read-modify-write of ``config.toml``.
"""

from __future__ import annotations

import threading
from typing import Annotated, Any

from fastapi import APIRouter, Body
from fastapi.params import Depends
from pydantic import BaseModel, Field

from companion.errors import InvalidParameterError
from companion.services import Services
from companion.settings import SPECS
from companion.settings_file import (
    SettingsChange,
    SettingsChangeError,
    SettingsWriteError,
    apply_changes,
    pinned_by,
)
from companion.web.responses import JSONBytesResponse, error_response


class SettingItem(BaseModel):
    """One setting as the settings page shows it."""

    name: str
    value: Any
    default: Any
    kind: str = Field(description="int, bool, str or choice")
    choices: list[str] = Field(default_factory=list)
    minimum: int | None = None
    maximum: int | None = None
    origin: str = Field(description="where the value comes from: default, file, env or flag")
    pinned_by: str | None = Field(
        default=None, description="the environment variable or flag that fixes it; read-only here"
    )
    needs_restart: bool
    help: str
    allowed: str


class SettingsView(BaseModel):
    settings: list[SettingItem]
    config_file: str


class SettingsSaved(SettingsView):
    changed: list[str] = Field(description="settings whose value changed")
    restart_required: list[str] = Field(
        description="changed settings that take effect only after companion restarts"
    )


class SettingsEditor:
    """Reads the settings in force and saves changes (``config.toml`` plus a swap)."""

    def __init__(self, services: Services) -> None:
        self._services = services
        self._lock = threading.Lock()

    def view(self) -> SettingsView:
        settings = self._services.settings
        items = [
            SettingItem(
                name=spec.name,
                value=getattr(settings, spec.name),
                default=spec.default,
                kind=spec.kind,
                choices=list(spec.choices),
                minimum=spec.minimum,
                maximum=spec.maximum,
                origin=settings.origin(spec.name),
                pinned_by=pinned_by(spec, settings.origin(spec.name)),
                needs_restart=spec.needs_restart,
                help=spec.help,
                allowed=spec.allowed(),
            )
            for spec in SPECS
        ]
        return SettingsView(settings=items, config_file=str(self._services.paths.config_file))

    def save(self, requested: dict[str, Any]) -> SettingsChange:
        """Apply ``requested``; raises ``InvalidParameterError`` naming the fields that are wrong,
        or ``SettingsWriteError`` when the file cannot be written (nothing changes then)."""
        with self._lock:
            try:
                change = apply_changes(
                    self._services.settings, requested, self._services.paths.config_file
                )
            except SettingsChangeError as exc:
                raise InvalidParameterError(str(exc), exc.problems) from exc
            if change.changed:
                self._services.swap_settings(change.settings)
            return change


def add_settings_routes(router: APIRouter, editor: SettingsEditor, control: Depends) -> None:
    """Add the settings routes to the API router (``control`` guards the write)."""

    @router.get("/settings", response_model=SettingsView, tags=["settings"])
    def read_settings() -> SettingsView:
        """Every setting with its value, where the value comes from, and whether it is pinned."""
        return editor.view()

    @router.patch(
        "/settings",
        response_model=SettingsSaved,
        tags=["settings", "control"],
        dependencies=[control],
        responses={
            401: {"description": "No token and no dashboard session with a same-origin Origin"},
            422: {"description": "Unknown, pinned or invalid fields (details: field, problem)"},
            500: {"description": "config.toml could not be written; nothing changed"},
        },
    )
    def change_settings(
        changes: Annotated[
            dict[str, Any],
            Body(examples=[{"session_gap_minutes": 45, "me": "Steam|7656119|0"}]),
        ],
    ) -> SettingsSaved | JSONBytesResponse:
        """Change settings: writes ``config.toml`` and puts the new values in force at once
        (those marked ``needs_restart`` after the next start). Values pinned by an environment
        variable or a flag cannot be changed here. Needs the token or the dashboard session."""
        try:
            change = editor.save(changes)
        except SettingsWriteError as exc:
            return error_response(500, "internal", f"{exc}; nothing was changed")
        view = editor.view()
        return SettingsSaved(
            settings=view.settings,
            config_file=view.config_file,
            changed=list(change.changed),
            restart_required=list(change.restart_required),
        )
