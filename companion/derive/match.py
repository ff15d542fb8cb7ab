"""One match's derived state as the events of the journal build it up.

This module owns what happens *within* a match: the scoreboard of the last non-replay tick,
teams, clock and overtime, goals (never the empty echo), statfeed events, ball and crossbar hits,
demolitions received, who the camera follows, how the match ended, and which ticks feed each
player's telemetry (summed by :mod:`companion.derive.telemetry`). Which match an event belongs
to, keys and segments are :mod:`companion.derive.deriver`'s business; mode, MVP and "result for
me" are worked out when a bundle is built (:mod:`companion.derive.output`,
:mod:`companion.derive.outcome`).

Replay ticks (``Game.bReplay``) never change final figures: they replay the cars of the seconds
before a goal. Ball and crossbar hits while a replay shows are ignored for the same reason.

It must not import storage, web, sources or pipeline code.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any, Final

from companion.derive import output
from companion.derive.block_ticks import TickColumns
from companion.derive.payloads import (
    Ref,
    TeamRow,
    TickView,
    as_dict,
    as_float,
    as_int,
    as_str,
    is_goal_echo,
    location,
    ref,
)
from companion.derive.players import PlayerState, Roster, new_player, player_key
from companion.derive.records import (
    ABANDONED,
    COMPLETE,
    INCOMPLETE,
    LIVE,
    BallHitRecord,
    CrossbarRecord,
    GoalRecord,
    Location,
    MatchBundle,
    StatfeedRecord,
)
from companion.derive.telemetry import MatchTelemetry
from companion.tickblock import UNKNOWN

_UNTOUCHED: Final = 255  # Ball.TeamNum before the first touch of a round
_OVERTIME_BIT, _REPLAY_BIT = 1, 2  # a tick block's game bits


class MatchState:
    """Mutable state of one match. Lists only ever grow (so a checkpoint records their lengths);
    everything else is small and copied by :meth:`clone`."""

    def __init__(self, guid: str, segment: int | None, key: str | None, started_at_us: int):
        self.guid = guid
        self.segment = segment
        self.key = key  # offline: None until the first roster is seen
        self.started_at_us = started_at_us
        self.last_at_us = started_at_us
        self.ended_at_us: int | None = None
        self.state = LIVE
        self.ended = False  # MatchEnded seen (the podium may still send ticks)
        self.closed = False  # nothing more belongs to this match
        self.forfeit = False
        self.arena: str | None = None
        self.playlist_id: int | None = None
        self.teams: dict[int, TeamRow] = {}
        self.winner_team: int | None = None
        self.winner_name: str | None = None
        self.players: dict[str, PlayerState] = {}
        self.latest: tuple[str, ...] = ()  # player keys of the last non-replay tick
        self.team_sizes: dict[int, int] = {}  # largest team size seen at once
        self.clock: int | None = None
        self.clock_overtime = False
        self.regulation_s: int | None = None  # the largest regulation clock seen
        self.regulation_left: int | None = None  # the smallest
        self.overtime_s: int | None = None
        self.overtime = False
        self.replaying = False
        self.kickoff_pending = True
        self.ball_team: int | None = None  # Ball.TeamNum of the last non-replay tick
        self.telemetry = MatchTelemetry()
        self.last_hit: dict[str, Location] = {}
        self.targets: dict[str, int] = {}  # camera target in player view, non-replay ticks
        self.live_ticks = 0
        self.goals: list[GoalRecord] = []
        self.events: list[StatfeedRecord] = []
        self.hits: list[BallHitRecord] = []
        self.crossbars: list[CrossbarRecord] = []
        # The last tick block's scoreboard (``TickColumns.board``) and its camera target in
        # player view: a block that changes no figure skips the scoreboard. A tick read whole
        # clears it (it may set what the columns cannot say).
        self._board: tuple[object, ...] | None = None
        self._board_target: Ref | None = None

    # -- checkpoints -------------------------------------------------------------------------

    def memento(self) -> Memento:
        """What :meth:`Memento.restore` needs to bring this match back to now. Costs a copy of
        the small parts (players, teams), not of the records, which only ever grow."""
        return Memento(self._copy(), self._lengths())

    def _copy(self) -> MatchState:
        # One per discrete event (a checkpoint before it): copied field by field, not through
        # ``copy.copy``'s generic protocol, which cost more than the event itself. Every field
        # by name (no ``__dict__``): the compiled build's native classes have none.
        twin = MatchState(self.guid, self.segment, self.key, self.started_at_us)
        twin.last_at_us = self.last_at_us
        twin.ended_at_us = self.ended_at_us
        twin.state = self.state
        twin.ended = self.ended
        twin.closed = self.closed
        twin.forfeit = self.forfeit
        twin.arena = self.arena
        twin.playlist_id = self.playlist_id
        twin.winner_team = self.winner_team
        twin.winner_name = self.winner_name
        twin.latest = self.latest
        twin.clock = self.clock
        twin.clock_overtime = self.clock_overtime
        twin.regulation_s = self.regulation_s
        twin.regulation_left = self.regulation_left
        twin.overtime_s = self.overtime_s
        twin.overtime = self.overtime
        twin.replaying = self.replaying
        twin.kickoff_pending = self.kickoff_pending
        twin.ball_team = self.ball_team
        twin.live_ticks = self.live_ticks
        twin.goals = self.goals
        twin.events = self.events
        twin.hits = self.hits
        twin.crossbars = self.crossbars
        twin._board = self._board
        twin._board_target = self._board_target
        twin.teams = dict(self.teams)
        twin.players = {k: p.copy() for k, p in self.players.items()}
        twin.team_sizes = dict(self.team_sizes)
        twin.last_hit = dict(self.last_hit)
        twin.targets = dict(self.targets)
        twin.telemetry = self.telemetry.copy()
        return twin

    def _lengths(self) -> tuple[int, int, int, int]:
        return (len(self.goals), len(self.events), len(self.hits), len(self.crossbars))

    # -- ticks ------------------------------------------------------------------------------

    def on_tick(self, tick: TickView, at_us: int) -> None:
        """A non-replay tick updates the scoreboard (latest wins); a replay tick only says a
        replay is showing. The caller has parsed the tick already, so nothing here raises."""
        self.last_at_us = at_us
        telemetry = self.telemetry
        telemetry.tick(at_us)
        if tick.replay:
            if not self.replaying:
                telemetry.break_boost()  # the replay shows old boost; play resumes at a kickoff
            self.replaying = True
            return
        self.replaying = False
        self.live_ticks += 1
        self._board = None
        if tick.ball_team == _UNTOUCHED and self.ball_team != _UNTOUCHED:
            telemetry.break_boost()  # cars back on the kickoff pads, boost reset to 33
        self.ball_team = tick.ball_team
        self._scoreboard(tick)
        telemetry.keep(self.latest, tick.players)
        self._clock(tick.clock, tick.overtime)
        if tick.ball_team == _UNTOUCHED:
            self.kickoff_pending = True
        if tick.target is not None and tick.player_view:
            who = self.roster().resolve(tick.target)
            if who is not None and who.player_key is not None:
                self.targets[who.player_key] = self.targets.get(who.player_key, 0) + 1

    def _scoreboard(self, tick: TickView) -> None:
        """What a non-replay tick says of the game and the players (latest wins)."""
        if tick.arena:
            self.arena = tick.arena
        if tick.playlist_id is not None:
            self.playlist_id = tick.playlist_id
        for team in tick.teams:
            self.teams[team.num] = team
        if tick.winner_name:
            self.winner_name = tick.winner_name
        keys = []
        sizes: dict[int, int] = {}
        for row in tick.players:
            key = player_key(row)
            keys.append(key)
            player = self.players.get(key)
            if player is None:
                self.players[key] = new_player(key, row)
            else:
                player.update(row)
            if row.team is not None:
                sizes[row.team] = sizes.get(row.team, 0) + 1
        self.latest = tuple(keys)
        for num, size in sizes.items():
            self.team_sizes[num] = max(size, self.team_sizes.get(num, 0))

    def on_ticks(self, columns: TickColumns, start: int, end: int) -> None:
        """Ticks ``start`` to ``end - 1`` of a tick block, by its columns: the same as
        :meth:`on_tick` for each, but the scoreboard (latest wins) is read from the last
        non-replay one only, and telemetry keeps a reference to the columns, not a row per
        player. A block has one header, so the roster, teams and camera do not change in it."""
        times, bits, clocks, balls = columns.times, columns.bits, columns.clock, columns.ball_team
        kept: list[int] = []  # for the telemetry: ticks kept, and ~i for a boost break at tick i
        last_live = -1
        live = 0
        for i in range(start, end):
            game = bits[i]
            if game & _REPLAY_BIT:
                if not self.replaying:
                    kept.append(~i)  # the replay shows old boost; play resumes at a kickoff
                self.replaying = True
                continue
            self.replaying = False
            live += 1
            ball = balls[i]
            if ball == _UNTOUCHED and self.ball_team != _UNTOUCHED:
                kept.append(~i)  # cars back on the kickoff pads, boost reset to 33
            self.ball_team = None if ball == UNKNOWN else ball
            kept.append(i)
            clock = clocks[i]
            if clock != UNKNOWN:
                self._clock(clock, bool(game & _OVERTIME_BIT))
            if ball == _UNTOUCHED:
                self.kickoff_pending = True
            last_live = i
        self.telemetry.add_ticks(columns, start, end, kept)
        self.last_at_us = times[end - 1]
        if last_live < 0:
            return
        self.live_ticks += live
        board = columns.board(last_live)
        if board != self._board:  # most blocks change no figure: the scoreboard stands
            tick = columns.view(last_live)
            self._scoreboard(tick)
            self._board = board
            self._board_target = tick.target if tick.player_view else None
        if self._board_target is not None:
            who = self.roster().resolve(self._board_target)
            if who is not None and who.player_key is not None:
                self.targets[who.player_key] = self.targets.get(who.player_key, 0) + live

    def _clock(self, clock: int | None, overtime: bool) -> None:
        if clock is None:
            return
        self.clock, self.clock_overtime = clock, overtime
        if overtime:
            self.overtime = True
            self.overtime_s = max(clock, self.overtime_s or 0)
        else:
            self.regulation_s = max(clock, self.regulation_s or 0)
            left = self.regulation_left
            self.regulation_left = clock if left is None else min(clock, left)

    def roster(self) -> Roster:
        return Roster(self.latest, self.players)

    # -- discrete events ---------------------------------------------------------------------

    def on_event(self, event: str, data: dict[str, Any], at_us: int) -> None:
        self.last_at_us = at_us
        handler = _HANDLERS.get(event)
        if handler is not None:
            handler(self, data, at_us)

    def _on_clock(self, data: dict[str, Any], at_us: int) -> None:
        # Arrives just before the first tick with the new time; a goal in between uses it.
        self._clock(as_int(data.get("TimeSeconds")), bool(data.get("bOvertime")))

    def _on_countdown(self, data: dict[str, Any], at_us: int) -> None:
        self.kickoff_pending = True
        self.telemetry.break_boost()  # cars back on the kickoff pads, boost reset to 33

    def _on_round_started(self, data: dict[str, Any], at_us: int) -> None:
        self.kickoff_pending = True

    def _on_goal(self, data: dict[str, Any], at_us: int) -> None:
        if is_goal_echo(data):
            return  # the empty repeat after the replay is never a goal
        roster = self.roster()
        scorer = roster.resolve(ref(data.get("Scorer")))
        touch = as_dict(data.get("BallLastTouch"))
        team = scorer.team if scorer is not None else None
        last_hit = None
        if scorer is not None and scorer.player_key is not None:
            last_hit = self.last_hit.get(scorer.player_key)
        self.goals.append(
            GoalRecord(
                match_key=self.key or "",
                index=len(self.goals),
                received_at_us=at_us,
                clock_s=self.clock,
                overtime=self.clock_overtime,
                team=team,
                scorer=scorer,
                assister=roster.resolve(ref(data.get("Assister"))),
                speed=as_float(data.get("GoalSpeed")),
                impact=location(data.get("ImpactLocation")),
                last_touch=roster.resolve(ref(touch.get("Player"))),
                last_touch_speed=as_float(touch.get("Speed")),
                goal_time=as_int(data.get("GoalTime")),
                scorer_last_hit=last_hit,
            )
        )

    def _on_statfeed(self, data: dict[str, Any], at_us: int) -> None:
        name = as_str(data.get("EventName"))  # stable; ``Type`` is localised text
        if not name:
            return
        roster = self.roster()
        secondary = roster.resolve(ref(data.get("SecondaryTarget")))
        if name == "Demolish" and secondary is not None and secondary.player_key is not None:
            self.players[secondary.player_key].demos_taken += 1
        self.events.append(
            StatfeedRecord(
                match_key=self.key or "",
                index=len(self.events),
                received_at_us=at_us,
                event_name=name,
                main=roster.resolve(ref(data.get("MainTarget"))),
                secondary=secondary,
                clock_s=self.clock,
                overtime=self.clock_overtime,
            )
        )

    def _on_ball_hit(self, data: dict[str, Any], at_us: int) -> None:
        if self.replaying:
            return
        roster = self.roster()
        who = tuple(
            w for w in (roster.resolve(ref(p)) for p in data.get("Players") or ()) if w is not None
        )
        ball = as_dict(data.get("Ball"))
        where = location(ball.get("Location"))
        kickoff, self.kickoff_pending = self.kickoff_pending, False
        if where is not None:
            for w in who:
                if w.player_key is not None:
                    self.last_hit[w.player_key] = where
        self.hits.append(
            BallHitRecord(
                match_key=self.key or "",
                index=len(self.hits),
                received_at_us=at_us,
                players=who,
                pre_speed=as_float(ball.get("PreHitSpeed")),
                post_speed=as_float(ball.get("PostHitSpeed")),
                location=where,
                kickoff=kickoff,
                clock_s=self.clock,
                overtime=self.clock_overtime,
            )
        )

    def _on_crossbar(self, data: dict[str, Any], at_us: int) -> None:
        if self.replaying:
            return
        touch = as_dict(data.get("BallLastTouch"))
        self.crossbars.append(
            CrossbarRecord(
                match_key=self.key or "",
                index=len(self.crossbars),
                received_at_us=at_us,
                location=location(data.get("BallLocation")),
                ball_speed=as_float(data.get("BallSpeed")),
                impact_force=as_float(data.get("ImpactForce")),
                last_touch=self.roster().resolve(ref(touch.get("Player"))),
                last_touch_speed=as_float(touch.get("Speed")),
            )
        )

    def _on_ended(self, data: dict[str, Any], at_us: int) -> None:
        if self.ended:
            return  # a repeated MatchEnded changes nothing
        self.ended = True
        self.state = COMPLETE
        self.ended_at_us = at_us
        winner = as_int(data.get("WinnerTeamNum"))
        if winner is None and self.winner_name is not None:
            winner = next((t.num for t in self.teams.values() if t.name == self.winner_name), None)
        self.winner_team = winner
        # Ended while regulation time was left: somebody forfeited (still a complete match).
        self.forfeit = not self.clock_overtime and (self.clock or 0) > 0

    def close(self, at_us: int | None = None) -> None:
        """No more events belong here: ``MatchDestroyed`` (``at_us`` given; abandoned unless
        it ended), or the next match or a silence (incomplete unless it ended)."""
        self.closed = True
        if self.ended:
            return
        self.state = ABANDONED if at_us is not None else INCOMPLETE
        self.ended_at_us = at_us if at_us is not None else self.last_at_us

    def assign_key(self, key: str) -> None:
        """Offline matches get their key once the roster is known; records made before that
        (rare: an event before the first tick) are re-labelled."""
        self.key = key
        self.goals[:] = [replace(r, match_key=key) for r in self.goals]
        self.events[:] = [replace(r, match_key=key) for r in self.events]
        self.hits[:] = [replace(r, match_key=key) for r in self.hits]
        self.crossbars[:] = [replace(r, match_key=key) for r in self.crossbars]

    # -- output -------------------------------------------------------------------------------

    def bundle(self, me: str | None) -> MatchBundle:
        """Everything derived so far as frozen records (requires a key)."""
        return output.bundle(self, me)


class Memento:
    """A match as it was at a checkpoint. The record lists are shared with the live match and
    only ever appended to, so restoring truncates them to the recorded lengths. (Records that
    :meth:`MatchState.assign_key` re-labelled since keep their label: harmless, the key is
    assigned again, identically, when the same roster tick comes again.)"""

    def __init__(self, state: MatchState, lengths: tuple[int, int, int, int]) -> None:
        self._state = state
        self._lengths = lengths

    def restore(self) -> MatchState:
        """A fresh object equal to the match at the checkpoint (the memento stays reusable)."""
        state = self._state
        del state.goals[self._lengths[0] :]
        del state.events[self._lengths[1] :]
        del state.hits[self._lengths[2] :]
        del state.crossbars[self._lengths[3] :]
        return state._copy()


_HANDLERS: Final = {
    "ClockUpdatedSeconds": MatchState._on_clock,
    "CountdownBegin": MatchState._on_countdown,
    "RoundStarted": MatchState._on_round_started,
    "GoalScored": MatchState._on_goal,
    "StatfeedEvent": MatchState._on_statfeed,
    "BallHit": MatchState._on_ball_hit,
    "CrossbarHit": MatchState._on_crossbar,
    "MatchEnded": MatchState._on_ended,
}
