"""Sessions: matches grouped by an inactivity gap, or cut where the player asked for a new one.

A session ends when the next match starts more than ``gap`` after the previous one ended (its
end, or its last message for a match that never closed), or when a "new session" mark lies
between them. Pure functions of the match outlines; the storage layer supplies them.

Streaks follow the stats rules of DESIGN.md: an abandoned match (or one whose result for me is
unknown) neither extends nor breaks a streak. ``streak`` is signed: +3 is three wins in a row,
-2 two losses.
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from companion.timefmt import format_us

_PER_GAME = ("goals", "saves", "shots", "assists")


@dataclass(frozen=True, slots=True)
class SessionMatch:
    """What a session needs of a match. ``mine``: my goals, saves, shots and assists (None
    when me was not in it)."""

    match_id: int
    started_at_us: int
    ended_at_us: int
    result: str | None
    mine: tuple[int, int, int, int] | None


@dataclass(slots=True)
class Session:
    number: int
    matches: list[SessionMatch] = field(default_factory=list)

    def summary(self) -> dict[str, Any]:
        wins = sum(m.result == "win" for m in self.matches)
        losses = sum(m.result == "loss" for m in self.matches)
        streak, best = streaks(m.result for m in self.matches)
        mine = [m.mine for m in self.matches if m.mine is not None]
        per_game = {
            f"{name}_per_game": round(sum(v[i] for v in mine) / len(mine), 2) if mine else None
            for i, name in enumerate(_PER_GAME)
        }
        return {
            "number": self.number,
            "started_at": format_us(self.matches[0].started_at_us) if self.matches else None,
            "ended_at": format_us(self.matches[-1].ended_at_us) if self.matches else None,
            "games": len(self.matches),
            "wins": wins,
            "losses": losses,
            "abandoned": sum(m.result == "abandoned" for m in self.matches),
            "streak": streak,
            "best_win_streak": best,
            **per_game,
            "match_ids": [m.match_id for m in self.matches],
        }


def streaks(results: Any) -> tuple[int, int]:
    """``(current, best win streak)`` over results in order (see the module docstring)."""
    current = best = 0
    for result in results:
        if result == "win":
            current = current + 1 if current > 0 else 1
            best = max(best, current)
        elif result == "loss":
            current = current - 1 if current < 0 else -1
    return current, best


def group(matches: Sequence[SessionMatch], marks_us: Sequence[int], gap_us: int) -> list[Session]:
    """Sessions, oldest first; ``matches`` oldest first, ``marks_us`` sorted."""
    sessions: list[Session] = []
    previous: SessionMatch | None = None
    for match in matches:
        if previous is None or _breaks(previous, match, marks_us, gap_us):
            sessions.append(Session(len(sessions) + 1))
        sessions[-1].matches.append(match)
        previous = match
    return sessions


def _breaks(before: SessionMatch, after: SessionMatch, marks_us: Sequence[int], gap: int) -> bool:
    if after.started_at_us - before.ended_at_us > gap:
        return True
    # A mark after the earlier match began and up to the later one's start cuts between them.
    i = bisect.bisect_right(marks_us, before.started_at_us)
    return i < len(marks_us) and marks_us[i] <= after.started_at_us


def current(
    sessions: Sequence[Session], marks_us: Sequence[int], gap_us: int, now_us: int
) -> Session:
    """The session going on now: the last one, unless the gap has passed since it ended or the
    player started a new one since (then an empty one that the next match will open)."""
    if sessions:
        last = sessions[-1]
        end = last.matches[-1].ended_at_us
        began = last.matches[-1].started_at_us
        marked = bool(marks_us) and marks_us[-1] > began
        if now_us - end <= gap_us and not marked:
            return last
    return Session(len(sessions) + 1)
