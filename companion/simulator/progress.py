"""Progress lines for ``companion simulate``: one line per thing worth seeing.

:class:`Progress` watches the messages as the server writes them (and clients as they come and
go) and prints matches starting and ending, goals with the running score, forfeits and abandoned
matches. It decodes only the few events it reports (plus ``ClockUpdatedSeconds`` for the clock),
never the ``UpdateState`` ticks, so it costs nothing at 120 Hz. It works for synthesised sessions
(where the truth adds arena, mode and team names) and for recorded captures alike.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Sequence
from typing import Any

from companion.simulator.server import PlayResult
from companion.simulator.truth import MatchTruth
from companion.simulator.wire import WireMessage, decode_message

_WATCHED = frozenset(
    ("MatchCreated", "ClockUpdatedSeconds", "GoalScored", "MatchEnded", "MatchDestroyed")
)
_lock = threading.Lock()  # lines come from the writer, accept and main threads


def say(line: str) -> None:
    """Print one line to stdout at once (the CLI's only output channel besides errors)."""
    with _lock:
        sys.stdout.write(line + "\n")
        sys.stdout.flush()


class Progress:
    """Turns server callbacks into progress lines; ``quiet`` keeps only client lines."""

    def __init__(self, matches: Sequence[MatchTruth], *, quiet: bool = False) -> None:
        self.matches = matches
        self.quiet = quiet
        self.reset()

    def reset(self) -> None:
        """Start counting again (a new playback from the top)."""
        self.number = 0
        self.score = [0, 0]
        self.clock = "5:00"
        self.open = False
        self.ended = False

    def client(self, kind: str, peer: str) -> None:
        """``StatsApiServer.on_client``."""
        what = {"replaced": "replaced by a newer connection"}.get(kind, kind)
        say(f"client {peer} {what}")

    def sent(self, message: WireMessage) -> None:
        """``on_sent``: report the message if it is worth a line."""
        if self.quiet or message.event not in _WATCHED:
            return
        try:
            event, data = decode_message(message.raw)
        except ValueError:
            return
        if event == "ClockUpdatedSeconds":
            seconds = int(data.get("TimeSeconds", 0))
            sign = "+" if data.get("bOvertime") else ""
            self.clock = f"{sign}{seconds // 60}:{seconds % 60:02d}"
        elif event == "MatchCreated":
            self._created(data)
        elif event == "GoalScored" and data.get("Scorer", {}).get("Name"):
            self._goal(data)
        elif event == "MatchEnded":
            self.ended = True
            winner = int(data.get("WinnerTeamNum", 0))
            early = self.clock != "0:00" and not self.clock.startswith("+")
            how = " by forfeit" if early else ""
            say(f"{self._label()}: ended{how} {self._score()}, {self._team(winner)} win")
        elif event == "MatchDestroyed":
            if self.open and not self.ended:
                say(f"{self._label()}: abandoned (MatchDestroyed without MatchEnded)")
            self.open = False

    def finished(self, result: PlayResult, seconds: float) -> None:
        """The closing line of a playback."""
        if self.open and not self.ended:
            say(f"{self._label()}: stream ended mid-match (incomplete)")
        how = "done" if result.completed else ("stopped" if result.stopped else "ended early")
        dropped = f", {result.dropped:,} dropped" if result.dropped else ""
        say(
            f"{how}: {result.sent:,} messages ({result.bytes_sent / 1e6:.1f} MB{dropped}) "
            f"in {seconds:.1f} s to {result.connections} connection(s)"
        )

    def _created(self, data: dict[str, Any]) -> None:
        if self.open and not self.ended:
            say(f"{self._label()}: stream ended mid-match (incomplete)")
        self.number += 1
        self.score, self.clock, self.open, self.ended = [0, 0], "5:00", True, False
        guid = data.get("MatchGuid") or "none (offline)"
        truth = self._truth()
        where = "" if truth is None else f"{truth.mode} on {truth.arena}, "
        earlier = None if truth is None or truth.index == 0 else self.matches[truth.index - 1]
        reused = " (reused)" if earlier is not None and truth and earlier.guid == guid else ""
        say(f"{self._label()}: created, {where}guid {guid}{reused}")

    def _goal(self, data: dict[str, Any]) -> None:
        scorer = data["Scorer"]
        team = int(scorer.get("TeamNum", 0))
        self.score[team] += 1
        assist = data.get("Assister", {}).get("Name")
        speed = float(data.get("GoalSpeed", 0.0))
        line = f"{self._label()}: {self.clock} goal by {scorer.get('Name')} ({self._team(team)})"
        line += f", {speed:.0f} km/h" + (f", assist {assist}" if assist else "")
        say(f"{line}; {self._score()}")

    def _truth(self) -> MatchTruth | None:
        index = self.number - 1
        return self.matches[index] if 0 <= index < len(self.matches) else None

    def _label(self) -> str:
        if self.number == 0:  # a capture that starts mid-match: no MatchCreated seen
            return "match in progress"
        total = f" of {len(self.matches)}" if self.matches else ""
        return f"match {self.number}{total}"

    def _team(self, team: int) -> str:
        truth = self._truth()
        names = truth.team_names if truth is not None else ("Blue", "Orange")
        return names[team] if team in (0, 1) else f"team {team}"

    def _score(self) -> str:
        return f"{self._team(0)} {self.score[0]}-{self.score[1]} {self._team(1)}"
