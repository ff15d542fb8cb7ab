"""What a match means once its figures are known: mode, MVP, who "me" is, and my result.

This module owns the stats rules of ``DESIGN.md`` that judge a match: the mode (from the
playlist where it fixes one, else the roster); the MVP is the highest ``Score`` on the winning
team (the game's rule; a tie goes to the player listed first); an abandoned match is neither a
win nor a loss; "me" is the configured ``PrimaryId`` when it played in the match, else the
player the camera followed in player view (outside replays). All pure functions of the match's
state.

It must not import storage, web, sources or pipeline code.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

from companion.derive.players import PlayerState, is_bot
from companion.derive.records import ABANDONED, COMPLETE, Who

CONFIGURED, DETECTED = "configured", "detected"
WIN, LOSS = "win", "loss"


# Team size of the game's playlists that fix one (``Game.PlaylistId``, builds from August 2026):
# the ids every public client agrees on. Private matches (6), tournaments and the rest are not
# here: their size is whatever the lobby was, so the roster tells.
PLAYLIST_TEAM_SIZE: Final = {
    1: 1,  # casual duel
    2: 2,  # casual doubles
    3: 3,  # casual standard
    4: 4,  # casual chaos
    10: 1,  # ranked duel
    11: 2,  # ranked doubles
    12: 3,  # ranked solo standard
    13: 3,  # ranked standard
    15: 3,  # snow day
    17: 2,  # hoops
    18: 3,  # rumble
    23: 3,  # dropshot
    27: 2,  # ranked hoops
    28: 3,  # ranked rumble
    29: 3,  # ranked dropshot
    30: 3,  # ranked snow day
}


def mode(team_sizes: Mapping[int, int], playlist_id: int | None = None) -> str | None:
    """``1v1`` … ``4v4``: from ``PlaylistId`` where it fixes the team size (a ranked 3v3 stays
    3v3 when somebody never joined), else from the largest team sizes seen at once (a player
    leaving does not shrink it, a replacement joining does not grow it)."""
    size = PLAYLIST_TEAM_SIZE.get(playlist_id) if playlist_id is not None else None
    if size is not None:
        return f"{size}v{size}"
    blue, orange = team_sizes.get(0, 0), team_sizes.get(1, 0)
    if not blue and not orange:
        return None
    return f"{blue}v{orange}"


def mvp(players: Mapping[str, PlayerState], winner: int | None) -> Who | None:
    if winner is None:
        return None
    best: PlayerState | None = None
    for player in players.values():  # roster order: on a tie the first listed keeps it
        if player.team == winner and (best is None or player.stats[0] > best.stats[0]):
            best = player
    return None if best is None else best.who()


def who_is_me(
    players: Mapping[str, PlayerState], targets: Mapping[str, int], me: str | None
) -> tuple[str | None, str | None]:
    """``(PrimaryId, how it is known)``, or ``(None, None)`` (a spectated match, say)."""
    if me is not None and any(p.primary_id == me for p in players.values()):
        return me, CONFIGURED
    if targets:
        # The most followed player; a tie goes to the one followed first (dict order).
        key = max(targets, key=lambda k: targets[k])
        player = players.get(key)
        if player is not None and player.primary_id and not is_bot(player.primary_id):
            return player.primary_id, DETECTED
    return None, None


def result(state: str, winner: int | None, my_team: int | None, me_known: bool) -> str | None:
    """``win`` / ``loss`` for a complete match, ``abandoned``, else ``None`` (live, incomplete,
    or nobody is me)."""
    if not me_known:
        return None
    if state == ABANDONED:
        return ABANDONED
    if state == COMPLETE and winner is not None and my_team is not None:
        return WIN if my_team == winner else LOSS
    return None
