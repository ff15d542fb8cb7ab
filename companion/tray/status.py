"""What the tray shows, worked out from one in-memory snapshot of the running app.

The tray is a client of the app's status: ``Snapshot.take`` reads only values the app keeps in
memory (the writer's counters, the feed reader's status, the worker's match summaries), never the
database, so it is cheap enough to call twice a second from the tray's refresher thread. Every text
the tray shows (status line, tooltip, last match) is a pure function of a snapshot and the time,
which is what the unit tests exercise.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from companion.model import MatchSummary
from companion.services import Services
from companion.timefmt import now_us

# Windows cuts a tray tooltip at 127 characters (NOTIFYICONDATA.szTip holds 128 with the NUL).
TOOLTIP_MAX = 127
# A queue this deep is a backlog worth showing on the icon: a live match adds a few rows a
# second and the worker applies them within a fraction of a second, so a healthy queue stays low.
BACKLOG_ROWS = 500
# HTTP ingest (a plugin) counts as receiving while its last event is this recent.
RECENT_EVENT_US = 5_000_000
DASH = "\u2013"  # an en dash between the two scores

_FEED_WORDS = {
    "off": "game feed off",
    "disconnected": "game not running",
    "connected": "game connected",
    "receiving": "receiving",
}


class IconState(enum.Enum):
    """The four looks of the tray icon; each differs from the others in shape and colour."""

    IDLE = "idle"  # the game is not running (or its feed is off) and nothing else arrives
    RECEIVING = "receiving"  # match data is arriving
    BACKLOG = "backlog"  # applying is paused, or a large queue waits to be applied
    ERROR = "error"  # storage failed or the writer stopped


@dataclass(frozen=True, slots=True)
class Snapshot:
    """The app's state at one moment, as far as the tray cares."""

    version: str
    port: int
    feed_state: str
    queue_depth: int
    paused: bool
    writer_running: bool
    storage_error: str | None
    dead_letters: int
    last_event_at_us: int | None
    last_match: MatchSummary | None
    live_match: MatchSummary | None
    taken_at_us: int

    @classmethod
    def take(cls, services: Services) -> Snapshot:
        """Read the running app's in-memory status (never the database)."""
        pipeline = services.writer.status()
        return cls(
            version=services.version,
            port=services.port,
            feed_state=services.feed_status().state,
            queue_depth=pipeline.queue_depth,
            paused=pipeline.paused,
            writer_running=pipeline.running,
            storage_error=pipeline.storage_error,
            dead_letters=pipeline.dead_letters,
            last_event_at_us=pipeline.last_event_at_us,
            last_match=services.last_match(),
            live_match=services.live_match(),
            taken_at_us=now_us(),
        )

    @property
    def receiving(self) -> bool:
        if self.feed_state == "receiving":
            return True
        last = self.last_event_at_us
        return last is not None and self.taken_at_us - last < RECENT_EVENT_US

    @property
    def icon_state(self) -> IconState:
        if self.storage_error is not None or not self.writer_running:
            return IconState.ERROR
        if self.paused or self.queue_depth >= BACKLOG_ROWS:
            return IconState.BACKLOG
        if self.receiving:
            return IconState.RECEIVING
        return IconState.IDLE

    def activity(self) -> str:
        """A few words on what companion is doing, most important first."""
        if self.storage_error is not None:
            return "cannot save: " + self.storage_error
        if not self.writer_running:
            return "storage stopped"
        words = _FEED_WORDS.get(self.feed_state, self.feed_state)
        if self.feed_state != "receiving" and self.receiving:
            words = "receiving"
        if self.paused:
            words += ", stats paused"
        return words

    def status_line(self) -> str:
        """The menu's first (disabled) line: version, where it listens, what it does."""
        return f"companion {self.version} · port {self.port} · {self.activity()}"

    def tooltip(self) -> str:
        """The one-line status for the icon's tooltip, at most ``TOOLTIP_MAX`` characters."""
        text = f"companion: {self.activity()}"
        if self.queue_depth > 0:
            text += f" · {self.queue_depth:,} queued"
        return text if len(text) <= TOOLTIP_MAX else text[: TOOLTIP_MAX - 1] + "…"

    def last_match_line(self) -> str:
        return last_match_text(self.last_match, self.taken_at_us)

    def queue_line(self) -> str | None:
        """``Queue: N pending`` when rows wait to be applied, else None (the item is hidden)."""
        if self.queue_depth <= 0:
            return None
        return f"Queue: {self.queue_depth:,} pending"


def score_text(match: MatchSummary) -> str | None:
    """``3-2`` (en dash) with "my" team first when known, else blue then orange; None without
    scores."""
    blue, orange = match.scores
    if blue is None or orange is None:
        return None
    if match.my_team == 1:
        blue, orange = orange, blue
    return f"{blue}{DASH}{orange}"


def ago_text(then_us: int, now: int) -> str:
    seconds = max(0, (now - then_us) // 1_000_000)
    if seconds < 60:
        return "just now"
    if seconds < 3600:
        return f"{seconds // 60} min ago"
    if seconds < 86400:
        return f"{seconds // 3600} h ago"
    return f"{seconds // 86400} d ago"


_RESULT_LETTERS = {"win": "W", "loss": "L"}


def match_text(match: MatchSummary) -> str:
    """The match in a few characters: ``W 3-2``, ``2-1``, ``abandoned 1-1`` (en dashes)."""
    score = score_text(match)
    parts: list[str] = []
    if match.state == "abandoned" or match.result == "abandoned":
        parts.append("abandoned")
    elif match.result in _RESULT_LETTERS:
        parts.append(_RESULT_LETTERS[match.result])
    if score is not None:
        parts.append(score)
    if match.state == "incomplete":
        parts.append("(incomplete)")
    return " ".join(parts) if parts else match.state


def last_match_text(match: MatchSummary | None, now: int) -> str:
    """``Last match: W 3-2 · 2 min ago``, ``Live match: 1-0`` or ``No matches yet``."""
    if match is None:
        return "No matches yet"
    if match.state == "live":
        score = score_text(match)
        return "Live match" + (f": {score}" if score is not None else "")
    when = match.ended_at_us if match.ended_at_us is not None else match.started_at_us
    return f"Last match: {match_text(match)} · {ago_text(when, now)}"
