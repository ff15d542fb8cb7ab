"""Desktop notifications, decided from one snapshot to the next.

Three things are worth interrupting a player for: the game feed stopped while a match was live
(the rest of that match will be missing), storage failed (nothing new is being saved), and,
if they asked for it (``notify_match_summary``, off by default), the result of each match as it
ends. ``Notifier.observe`` compares each snapshot with the previous one, so a condition is
announced once when it starts, not on every refresh. ``notifications = false`` silences all.
"""

from __future__ import annotations

from collections.abc import Callable

from companion.settings import Settings
from companion.tray.status import Snapshot, match_text

_FEED_UP = {"connected", "receiving"}
_FINISHED = {"complete", "abandoned", "incomplete"}


class Notifier:
    """Turns changes between snapshots into notifications sent through ``send(title, text)``."""

    def __init__(
        self, send: Callable[[str, str], object], settings: Callable[[], Settings]
    ) -> None:
        self._send = send
        self._settings = settings
        self._previous: Snapshot | None = None

    def observe(self, snapshot: Snapshot) -> list[tuple[str, str]]:
        """Note ``snapshot``; send (and return) the notifications its changes call for."""
        previous, self._previous = self._previous, snapshot
        if previous is None:
            return []
        settings = self._settings()
        if not settings.notifications:
            return []
        messages = []
        if _feed_stopped_mid_match(previous, snapshot):
            messages.append(
                (
                    "Game feed stopped",
                    "The game stopped sending match data in the middle of a match; "
                    "that match will be incomplete.",
                )
            )
        if snapshot.storage_error is not None and previous.storage_error is None:
            messages.append(("companion cannot save", f"Storage failed: {snapshot.storage_error}"))
        elif not snapshot.writer_running and previous.writer_running and not snapshot.storage_error:
            messages.append(("companion cannot save", "Storage stopped; see the logs."))
        if settings.notify_match_summary:
            ended = _match_just_ended(previous, snapshot)
            if ended is not None:
                messages.append(("Match over", ended))
        for title, text in messages:
            self._send(title, text)
        return messages


def _feed_stopped_mid_match(previous: Snapshot, now: Snapshot) -> bool:
    if previous.feed_state not in _FEED_UP or now.feed_state in _FEED_UP:
        return False
    if now.feed_state == "off":  # switched off on purpose
        return False
    live = previous.live_match
    if live is None and previous.last_match is not None and previous.last_match.state == "live":
        live = previous.last_match
    return live is not None


def _match_just_ended(previous: Snapshot, now: Snapshot) -> str | None:
    match = now.last_match
    if match is None or match.state not in _FINISHED:
        return None
    before = previous.last_match
    if before is not None and before.match_id == match.match_id and before.state == match.state:
        return None
    parts = [match_text(match)]
    if match.mode:
        parts.append(match.mode)
    if match.arena:
        parts.append(match.arena)
    return " · ".join(parts)
