"""Who is who within a match: player keys, bots, and resolving PlayerRefs.

This module owns player identity. A human is keyed by ``PrimaryId``; bots all share
``Unknown|0|0``, so a bot (or anyone without a usable id) is keyed within the match by
PrimaryId, team, shortcut and name. Events name players only by PlayerRef ``{Name, Shortcut,
TeamNum}``; :class:`Roster` resolves those against the latest roster first, then against
everyone seen in the match (a player who left is still who they were).

It must not import storage, web, sources or pipeline code.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from companion.derive.payloads import PlayerRow, Ref
from companion.derive.records import Who

BOT_PLATFORM: Final = "Unknown"
_BOT_PREFIX: Final = BOT_PLATFORM + "|"


def is_bot(primary_id: str | None) -> bool:
    """Bots get ``Unknown|0|0`` (not unique: every bot in the match has it)."""
    # Called per player per tick: a prefix test rather than a split.
    return primary_id is not None and (
        primary_id.startswith(_BOT_PREFIX) or primary_id == BOT_PLATFORM
    )


def player_key(row: PlayerRow) -> str:
    """A key unique within the match and the same on every rebuild."""
    if row.primary_id and not is_bot(row.primary_id):
        return row.primary_id
    return f"{row.primary_id or '?'}#{row.team}#{row.shortcut}#{row.name}"


@dataclass(slots=True)
class PlayerState:
    """A player's standing in a match. Mutable; the match copies it for a checkpoint."""

    key: str
    name: str
    primary_id: str | None
    shortcut: int | None
    team: int | None
    stats: tuple[int, ...]
    demos_taken: int = 0

    def copy(self) -> PlayerState:
        return PlayerState(
            self.key,
            self.name,
            self.primary_id,
            self.shortcut,
            self.team,
            self.stats,
            self.demos_taken,
        )

    def update(self, row: PlayerRow) -> None:
        """Take a non-replay tick's figures (cumulative: the latest wins). A figure missing
        from this tick keeps its previous value rather than dropping to zero."""
        self.name = row.name
        self.shortcut = row.shortcut
        self.team = row.team
        if None in row.stats:
            self.stats = tuple(
                old if new is None else new for old, new in zip(self.stats, row.stats, strict=True)
            )
        else:
            self.stats = row.stats  # type: ignore[assignment]  # no None in it: all ints

    def who(self) -> Who:
        return Who(self.name, self.shortcut, self.team, self.key, self.primary_id)


def new_player(key: str, row: PlayerRow) -> PlayerState:
    player = PlayerState(key, row.name, row.primary_id, row.shortcut, row.team, (0,) * 8)
    player.update(row)
    return player


class Roster:
    """Resolves PlayerRefs: exact (shortcut, team, name) first, then looser matches, first in
    the latest tick's roster and then among everyone seen in the match."""

    def __init__(self, latest: tuple[str, ...], players: dict[str, PlayerState]) -> None:
        self.latest = latest
        self.players = players

    def resolve(self, found: Ref | None) -> Who | None:
        if found is None:
            return None
        candidates = [self.players[k] for k in self.latest if k in self.players]
        for pool in (candidates, list(self.players.values())):
            for same in (
                lambda p: (p.shortcut, p.team, p.name) == (found.shortcut, found.team, found.name),
                lambda p: (p.shortcut, p.team) == (found.shortcut, found.team),
                lambda p: (p.name, p.team) == (found.name, found.team),
                lambda p: p.name == found.name,
            ):
                hits = [p for p in pool if same(p)]
                if len(hits) == 1:
                    return hits[0].who()
        # Nobody (or nobody unambiguously): keep what the game said, unresolved.
        return Who(found.name, found.shortcut, found.team, None, None)
