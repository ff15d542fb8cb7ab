"""Time values: integer microseconds since the Unix epoch inside, RFC 3339 UTC with ms outside."""

from __future__ import annotations

import math
import time
from datetime import UTC, datetime

_MAX_US = 253_402_300_799_000_000  # 9999-12-31T23:59:59Z, the largest RFC 3339 year


def now_us() -> int:
    return time.time_ns() // 1000


def format_us(value_us: int | None) -> str | None:
    """``2026-11-25T18:42:13.123Z`` (UTC, milliseconds), or None."""
    if value_us is None:
        return None
    moment = datetime.fromtimestamp(value_us / 1_000_000, tz=UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def parse_timestamp(value: object) -> int:
    """Read a client's ``ts``: Unix seconds (int or float) or an RFC 3339 string with an offset.

    Raises ValueError with a short reason when the value is neither.
    """
    if isinstance(value, bool):
        raise ValueError("must be Unix seconds or an RFC 3339 date-time")
    if isinstance(value, int | float):
        if not math.isfinite(value) or value < 0:
            raise ValueError("must be a non-negative number of Unix seconds")
        result = round(value * 1_000_000)
    elif isinstance(value, str):
        text = value.strip()
        if len(text) > 40 or "T" not in text.upper():
            raise ValueError("must be an RFC 3339 date-time such as 2026-11-25T18:42:13.123Z")
        try:
            moment = datetime.fromisoformat(text.replace("z", "Z"))
        except ValueError:
            raise ValueError(
                "must be an RFC 3339 date-time such as 2026-11-25T18:42:13.123Z"
            ) from None
        if moment.tzinfo is None:
            raise ValueError("RFC 3339 date-time needs a time zone offset or Z")
        result = round(moment.timestamp() * 1_000_000)
    else:
        raise ValueError("must be Unix seconds or an RFC 3339 date-time")
    if not 0 <= result <= _MAX_US:
        raise ValueError("is out of range")
    return result
