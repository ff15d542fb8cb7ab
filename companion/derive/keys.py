"""Match keys: stable names for matches, the same on every rebuild of the same journal.

This module owns the key formats. Online (and LAN) matches have a ``MatchGuid``; a private
lobby reuses it for every rematch after ``MatchDestroyed``, so the key adds a segment counter:
``<GUID>-<segment>``, segment from 1. Offline matches have an empty GUID: they are keyed by what
the journal fixes about them, start time (the first message's receive time), arena and roster,
never by anything random, so rebuilding gives the same keys.

It must not import storage, web, sources or pipeline code.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from typing import Final

OFFLINE_PREFIX: Final = "offline"


def online_key(guid: str, segment: int) -> str:
    return f"{guid}-{segment}"


def offline_key(
    started_at_us: int, arena: str | None, roster: Iterable[tuple[int | None, str, str | None]]
) -> str:
    """``offline-<start µs>-<arena>-<12 hex>``; ``roster`` is (team, name, PrimaryId) per player.
    The roster is sorted first, so the order players appear in does not matter."""
    lines = sorted(f"{team}\x1f{name}\x1f{primary_id or ''}" for team, name, primary_id in roster)
    digest = hashlib.sha256("\x1e".join(lines).encode("utf-8")).hexdigest()[:12]
    return f"{OFFLINE_PREFIX}-{started_at_us}-{arena or 'unknown'}-{digest}"
