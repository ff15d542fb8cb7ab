"""A match's state turned into its frozen records: the bundle the storage layer upserts.

This module owns the assembling only: which rule decides what lives in
:mod:`companion.derive.outcome` (mode, MVP, me, result) and
:mod:`companion.derive.telemetry`.

It must not import storage, web, sources or pipeline code.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from companion.derive import outcome
from companion.derive.players import is_bot
from companion.derive.records import MatchBundle, MatchRecord, PlayerLine, TeamRecord

if TYPE_CHECKING:
    from companion.derive.match import MatchState


def bundle(state: MatchState, me: str | None) -> MatchBundle:
    """Everything derived for ``state`` so far as frozen records (it must have a key)."""
    if state.key is None:
        raise ValueError("this match has no key yet")
    key = state.key
    me_id, me_source = outcome.who_is_me(state.players, state.targets, me)
    mvp = outcome.mvp(state.players, state.winner_team) if state.ended else None
    my_team = next((p.team for p in state.players.values() if p.primary_id == me_id), None)
    ended_at = state.ended_at_us
    telemetry = state.telemetry.records()
    played = None
    if state.regulation_s is not None and state.regulation_left is not None:
        played = state.regulation_s - state.regulation_left + (state.overtime_s or 0)
    match = MatchRecord(
        key=key,
        guid=state.guid,
        segment=state.segment,
        arena=state.arena,
        mode=outcome.mode(state.team_sizes, state.playlist_id),
        playlist_id=state.playlist_id,
        started_at_us=state.started_at_us,
        ended_at_us=ended_at,
        duration_s=None if ended_at is None else (ended_at - state.started_at_us) / 1e6,
        played_s=played,
        overtime=state.overtime,
        state=state.state,
        forfeit=state.forfeit,
        teams=tuple(
            TeamRecord(t.num, t.name, t.color_primary, t.color_secondary, t.score)
            for _, t in sorted(state.teams.items())
        ),
        winner_team=state.winner_team,
        mvp=mvp,
        me_primary_id=me_id,
        me_source=me_source,
        result=outcome.result(state.state, state.winner_team, my_team, me_id is not None),
        last_at_us=state.last_at_us,
    )
    players = tuple(
        PlayerLine(
            match_key=key,
            player_key=p.key,
            name=p.name,
            primary_id=p.primary_id,
            shortcut=p.shortcut,
            team=p.team,
            bot=is_bot(p.primary_id),
            score=p.stats[0],
            goals=p.stats[1],
            shots=p.stats[2],
            assists=p.stats[3],
            saves=p.stats[4],
            touches=p.stats[5],
            car_touches=p.stats[6],
            demos=p.stats[7],
            demos_taken=p.demos_taken,
            is_me=me_id is not None and p.primary_id == me_id,
            telemetry=telemetry.get(p.key),
        )
        for p in state.players.values()
    )
    return MatchBundle(
        match,
        players,
        tuple(state.goals),
        tuple(state.events),
        tuple(state.hits),
        tuple(state.crossbars),
    )
