"""The shapes of the stats read API, for its OpenAPI document (and the tests that hold the
answers to them). Handlers return JSON built by the storage layer directly; these models say
what it contains. Times are RFC 3339 UTC strings; speeds km/h; locations ``[x, y, z]`` in the
game's units (blue, team 0, defends -Y)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class _Shape(BaseModel):
    model_config = ConfigDict(extra="forbid")


class PlayerRef(_Shape):
    name: str
    primary_id: str | None
    team: int | None


class Team(_Shape):
    num: int
    name: str | None
    score: int | None
    color_primary: str | None
    color_secondary: str | None


class Match(_Shape):
    id: int
    key: str
    guid: str | None
    segment: int | None
    arena: str | None
    mode: str | None
    playlist_id: int | None
    started_at: str
    ended_at: str | None
    duration_s: float | None
    played_s: int | None
    overtime: bool
    state: str
    forfeit: bool
    teams: list[Team]
    winner_team: int | None
    mvp: PlayerRef | None
    me: str | None
    my_team: int | None
    result: str | None
    telemetry_approximate: bool


class MatchPage(_Shape):
    matches: list[Match]
    next_before: int | None


class Telemetry(_Shape):
    seconds: float
    avg_speed: float | None
    top_speed: float | None
    supersonic_share: float | None
    ground_share: float | None
    wall_share: float | None
    air_share: float | None
    boosting_share: float | None
    avg_boost: float | None
    boost_used: float | None
    zero_boost_s: float | None
    full_boost_s: float | None
    approximate: bool


class PlayerLine(_Shape):
    name: str
    primary_id: str | None
    shortcut: int | None
    team: int | None
    bot: bool
    score: int
    goals: int
    shots: int
    assists: int
    saves: int
    touches: int
    car_touches: int
    demos: int
    demos_taken: int
    is_me: bool
    is_mvp: bool
    telemetry: Telemetry | None


class Goal(_Shape):
    at: str
    clock_s: int | None
    overtime: bool
    team: int | None
    scorer: PlayerRef | None
    assister: PlayerRef | None
    last_touch: PlayerRef | None
    speed_kph: float | None
    last_touch_speed_kph: float | None
    impact: list[float] | None
    scorer_last_hit: list[float] | None


class StatfeedEvent(_Shape):
    at: str
    event: str
    player: PlayerRef | None
    victim: PlayerRef | None
    clock_s: int | None
    overtime: bool


class CrossbarHit(_Shape):
    at: str
    location: list[float] | None
    ball_speed_kph: float | None
    last_touch: PlayerRef | None


class Touch(_Shape):
    player: str
    primary_id: str | None
    team: int | None
    location: list[float] | None
    post_speed_kph: float | None
    kickoff: bool
    clock_s: int | None


class MatchDetail(Match):
    players: list[PlayerLine]
    goals: list[Goal]
    events: list[StatfeedEvent]
    crossbar_hits: list[CrossbarHit]
    touches: list[Touch]


class Scoreboard(Match):
    players: list[PlayerLine]


class LiveScoreboard(_Shape):
    version: int
    live: bool
    match: Scoreboard | None


class LiveMatch(_Shape):
    match: MatchDetail | None


class SessionSummary(_Shape):
    number: int
    started_at: str | None
    ended_at: str | None
    games: int
    wins: int
    losses: int
    abandoned: int
    streak: int
    best_win_streak: int
    goals_per_game: float | None
    saves_per_game: float | None
    shots_per_game: float | None
    assists_per_game: float | None
    match_ids: list[int]


class SessionList(_Shape):
    sessions: list[SessionSummary]


class PlayerMet(_Shape):
    primary_id: str
    name: str
    games: int
    games_with: int
    games_against: int
    win_rate_with: float | None
    win_rate_against: float | None
    last_played: str | None


class PlayerList(_Shape):
    players: list[PlayerMet]


class CareerGoal(_Shape):
    match_id: int
    speed_kph: float | None
    impact: list[float] | None
    struck_from: list[float] | None


class Career(_Shape):
    primary_id: str
    name: str
    is_me: bool
    games: int
    wins: int
    losses: int
    abandoned: int
    win_rate: float | None
    shooting_pct: float | None
    per_game: dict[str, float]
    field_per_game: dict[str, float | None]
    form: list[str]
    first_played: str | None
    last_played: str | None
    touches: list[list[float]]
    goals: list[CareerGoal]


class Me(_Shape):
    primary_id: str | None
    source: str | None


class SummaryRow(_Shape):
    period: str
    games: int
    wins: int
    losses: int
    win_rate: float | None
    goals_per_game: float | None
    shots_per_game: float | None
    saves_per_game: float | None
    assists_per_game: float | None
    score_per_game: float | None
    shooting_pct: float | None


class Summary(_Shape):
    period: str
    rows: list[SummaryRow]
