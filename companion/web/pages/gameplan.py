"""What ``companion setup-game`` would change on this machine, for the dashboard's first-run help.

A dry run of the same code the command uses (``companion.gamesetup``): it reads the game's Stats
API ini files where they are usually found and writes nothing.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from companion.gamefiles import Environment, discover
from companion.gameini import DEFAULT_RATE, format_rate
from companion.gamesetup import enable, inspect, protected_folders


@dataclass(frozen=True, slots=True)
class PlannedFile:
    """One ini file and what the command would do to it."""

    path: str
    where: str
    status: str  # would-change, already, missing, failed
    diff: tuple[str, ...]
    error: str | None
    needs_admin: bool


@dataclass(frozen=True, slots=True)
class FeedPlan:
    """The dry run's outcome: the files found (or looked for) and the rate it would set."""

    rate: str
    files: tuple[PlannedFile, ...]

    @property
    def found(self) -> tuple[PlannedFile, ...]:
        return tuple(item for item in self.files if item.status != "missing")

    @property
    def feed_enabled(self) -> bool:
        """True when every file found already has the feed on."""
        return bool(self.found) and all(item.status == "already" for item in self.found)


def feed_plan(env: Environment | None = None) -> FeedPlan:
    """Dry-run ``companion setup-game`` (``env`` replaces this machine's in tests)."""
    env = env or Environment.current()
    protected = protected_folders(env)
    stamp = time.strftime("%Y%m%dT%H%M%S")
    files = []
    for location in discover(env).locations:
        state = inspect(location, protected)
        outcome = enable(state, DEFAULT_RATE, dry_run=True, stamp=stamp)
        files.append(
            PlannedFile(
                path=str(location.ini),
                where=location.where,
                status=outcome.status,
                diff=tuple(outcome.diff),
                error=outcome.error,
                needs_admin=state.protected and outcome.status == "would-change",
            )
        )
    return FeedPlan(rate=format_rate(DEFAULT_RATE), files=tuple(files))
