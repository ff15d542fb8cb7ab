"""The one error hierarchy of companion, free of any web framework.

    CompanionError
    ├── ConfigError            a setting has a bad value (exit code 2)
    ├── StartupError           the app cannot start: busy port, damaged database (exit code 1 or 2)
    │   └── DatabaseDamagedError
    ├── AlreadyRunningError    another instance owns the data folder (exit code 3)
    ├── RequestError           an HTTP request is wrong; carries the status and the error code
    │   ├── InvalidJsonError        400 invalid_json
    │   ├── TooLargeError           413 too_large
    │   ├── UnsupportedMediaError   415 unsupported_media_type
    │   ├── InvalidEventError       422 invalid_event
    │   ├── ForbiddenHostError      400 forbidden_host
    │   ├── ForbiddenOriginError    403 forbidden_origin
    │   ├── UnauthorizedError       401 unauthorized
    │   └── NotFoundError           404 not_found
    └── StorageUnavailableError     the journal cannot be written now (503, retry later)

The web layer maps ``RequestError`` and ``StorageUnavailableError`` to the JSON error shape
``{"error": {"code", "message", "details"}}`` in one place.
"""

from __future__ import annotations

from typing import Any


class CompanionError(Exception):
    """Base class of every error companion raises on purpose."""


class ConfigError(CompanionError):
    """A setting has a value companion cannot use; the message names the key and what is allowed."""


class StartupError(CompanionError):
    """The app cannot start; ``exit_code`` says how the process should end."""

    def __init__(self, message: str, exit_code: int = 1) -> None:
        super().__init__(message)
        self.exit_code = exit_code


class DatabaseDamagedError(StartupError):
    """The database file failed its integrity check or cannot be read as a database."""


class AlreadyRunningError(CompanionError):
    """Another companion process holds the lock of this data folder."""

    def __init__(self, message: str, url: str | None) -> None:
        super().__init__(message)
        self.url = url


class RequestError(CompanionError):
    """A client sent something companion refuses; maps to one HTTP status and error code."""

    status = 400
    code = "bad_request"

    def __init__(self, message: str, details: Any = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details


class InvalidJsonError(RequestError):
    status = 400
    code = "invalid_json"


class TooLargeError(RequestError):
    status = 413
    code = "too_large"


class UnsupportedMediaError(RequestError):
    status = 415
    code = "unsupported_media_type"


class InvalidEventError(RequestError):
    status = 422
    code = "invalid_event"


class InvalidParameterError(RequestError):
    """A query or path parameter is wrong (routes other than ingest)."""

    status = 422
    code = "invalid_parameter"


class ForbiddenHostError(RequestError):
    status = 400
    code = "forbidden_host"


class ForbiddenOriginError(RequestError):
    status = 403
    code = "forbidden_origin"


class UnauthorizedError(RequestError):
    status = 401
    code = "unauthorized"


class NotFoundError(RequestError):
    status = 404
    code = "not_found"


class StorageUnavailableError(CompanionError):
    """The journal could not commit (disk full, I/O error, shutting down); nothing was stored."""

    retry_after_s = 5
