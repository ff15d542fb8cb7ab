"""The read API of the match stats: matches, sessions, players, trends and export.

Handlers stay thin: they check parameters and ask the shared ``StatsReader`` (who "me" is, the
cache over finished matches; the pages use the same one), whose answers are already JSON-ready.
Answers are serialised with orjson (a match with its touches is a few hundred objects; the
shapes are documented by the models in ``stats_models``).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import date, datetime
from typing import Annotated, Any, TypeVar

import orjson
from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response, StreamingResponse

from companion.errors import InvalidParameterError, NotFoundError
from companion.model import NewEvent
from companion.pipeline.match_derivation import CONTROL_SOURCE, NEW_SESSION_EVENT
from companion.services import Services
from companion.storage.match_queries import MatchFilter
from companion.timefmt import now_us, parse_timestamp
from companion.web import stats_models as models
from companion.web.security import check_control_access
from companion.web.stats_reader import StatsReader

T = TypeVar("T")
RESULTS = ("win", "loss", "abandoned")
MODES = ("1v1", "2v2", "3v3", "4v4")
STATES = ("live", "complete", "abandoned", "incomplete")


def json_response(content: Any) -> Response:
    return Response(orjson.dumps(content), media_type="application/json")


def parse_moment(value: str | None, name: str, *, end: bool = False) -> int | None:
    """An RFC 3339 date-time, or a date (``2026-11-25``: the local day; with ``end``, the day
    after, so a range of dates includes its last day)."""
    if value is None or value == "":
        return None
    try:
        day = date.fromisoformat(value)
    except ValueError:
        try:
            return parse_timestamp(value)
        except ValueError as exc:
            raise InvalidParameterError(
                f"{name}: {exc} (or a date such as 2026-11-25)",
                [{"field": name, "problem": str(exc)}],
            ) from None
    moment = datetime(day.year, day.month, day.day).astimezone()  # local midnight
    micros = int(moment.timestamp()) * 1_000_000
    return micros + 86_400_000_000 if end else micros


def _choice(value: str | None, name: str, allowed: tuple[str, ...]) -> str | None:
    if value is None or value == "":
        return None
    if value not in allowed:
        problem = f"must be one of {', '.join(allowed)}"
        raise InvalidParameterError(f"{name}: {problem}", [{"field": name, "problem": problem}])
    return value


def match_filter_of(
    result: str | None,
    mode: str | None,
    player: str | None,
    side: str | None,
    state: str | None,
    since: str | None,
    until: str | None,
) -> MatchFilter:
    """The match list's query values checked (``InvalidParameterError`` names the field)."""
    return MatchFilter(
        result=_choice(result, "result", RESULTS),
        mode=_choice(mode, "mode", MODES),
        player=player or None,
        side=_choice(side, "side", ("with", "against")),
        state=_choice(state, "state", STATES),
        since_us=parse_moment(since, "from"),
        until_us=parse_moment(until, "to", end=True),
    )


def create_stats_router(services: Services, reader: StatsReader | None = None) -> APIRouter:
    router = APIRouter(prefix="/api/v1", tags=["stats"])
    reader = reader or StatsReader(services)

    def control(request: Request) -> None:
        check_control_access(request, services.token, services.port)

    match_filter = match_filter_of

    @router.get("/matches", response_model=models.MatchPage)
    def list_matches(
        limit: Annotated[int, Query(ge=1, le=500)] = 50,
        before: Annotated[int | None, Query(ge=1, description="cursor: a match id")] = None,
        result: Annotated[str | None, Query(description="win, loss or abandoned")] = None,
        mode: Annotated[str | None, Query(description="1v1, 2v2, 3v3 or 4v4")] = None,
        player: Annotated[str | None, Query(description="a PrimaryId who played")] = None,
        side: Annotated[str | None, Query(description="with player: with or against")] = None,
        state: Annotated[str | None, Query(description="live, complete, ...")] = None,
        since: Annotated[str | None, Query(alias="from", description="date or time")] = None,
        until: Annotated[str | None, Query(alias="to", description="date or time")] = None,
    ) -> Response:
        """Matches, newest first. Page with ``next_before`` (pass it as ``before``).
        ``result`` is for me (the ``me`` setting, else the player detected most often)."""
        where = match_filter(result, mode, player, side, state, since, until)
        page, cursor = reader.matches(limit=limit, before=before, where=where)
        return json_response({"matches": page, "next_before": cursor})

    @router.get("/matches/live", response_model=models.LiveMatch)
    def live_match() -> Response:
        """The match being played now, whole (``match`` is null between matches)."""
        return json_response({"match": reader.live_match()})

    @router.get(
        "/live",
        response_model=models.LiveScoreboard,
        responses={204: {"description": "nothing changed since the version given"}},
    )
    def live_scoreboard(
        since: Annotated[int | None, Query(ge=0, description="the version you have")] = None,
    ) -> Response:
        """For pages that poll (a few times a second): the live match (or, between matches,
        the last one) with its scoreboard. With ``since`` equal to the current ``version``, an
        empty 204 at once: nothing changed."""
        version, last, live = services.live_board.snapshot()
        if since is not None and since == version:
            return Response(status_code=204)
        shown = live or last
        match = None if shown is None else reader.match(shown.match_id, whole=False)
        return json_response({"version": version, "live": live is not None, "match": match})

    @router.get("/matches/{match_id}", response_model=models.MatchDetail)
    def get_match(match_id: int) -> Response:
        """One match whole: players (with telemetry where the feed gave it), goals, statfeed
        events, crossbar hits and ball touches (for heatmaps)."""
        match = reader.match(match_id)
        if match is None:
            raise NotFoundError(f"no match with id {match_id}", {"id": match_id})
        return json_response(match)

    @router.get("/sessions", response_model=models.SessionList)
    def list_sessions(limit: Annotated[int, Query(ge=1, le=1000)] = 50) -> Response:
        """Sessions, newest first: matches grouped by the ``session_gap_minutes`` pause, or
        cut where a new session was started."""
        return json_response({"sessions": reader.sessions(limit)})

    @router.get("/sessions/current", response_model=models.SessionSummary)
    def current_session() -> Response:
        """The session going on now (empty when the gap has passed or a new one was started)."""
        return json_response(reader.current_session())

    @router.post("/sessions/new", status_code=202, dependencies=[Depends(control)])
    async def new_session() -> Response:
        """Start a new session now: the next match opens it. Journaled, so a rebuild keeps it."""
        event = NewEvent(CONTROL_SOURCE, "control", None, NEW_SESSION_EVENT, "{}")
        outcome = await services.writer.submit_async([event], now_us())
        return Response(
            orjson.dumps({"status": "new session", "id": outcome.ids[0]}),
            status_code=202,
            media_type="application/json",
        )

    @router.get("/players", response_model=models.PlayerList)
    def list_players(
        limit: Annotated[int, Query(ge=1, le=1000)] = 100,
        q: Annotated[str | None, Query(max_length=64, description="name or PrimaryId")] = None,
    ) -> Response:
        """Everyone met (bots left out), most games first: games with me and against me and
        my win rate in each."""
        return json_response({"players": reader.players(limit, q)})

    @router.get("/players/{primary_id}", response_model=models.Career)
    def player_career(primary_id: str) -> Response:
        """One player's career: record, per-game averages against the field, form over the
        last 10, touches (rotated so they always attack +Y) and goals for the maps."""
        career = reader.career(primary_id)
        if career is None:
            raise NotFoundError(f"no games with a player {primary_id!r}", {"id": primary_id})
        return json_response(career)

    @router.get("/me", response_model=models.Me)
    def who_am_i() -> Response:
        """Who "me" is: the setting, else the player the camera followed most (detected)."""
        primary_id, source = reader.me_source()
        return json_response({"primary_id": primary_id, "source": source})

    @router.get("/summary", response_model=models.Summary)
    def summary(
        since: Annotated[str | None, Query(alias="from", description="date or time")] = None,
        until: Annotated[str | None, Query(alias="to", description="date or time")] = None,
        period: Annotated[str, Query(description="day or week (weeks start on Monday)")] = "day",
        mode: Annotated[str | None, Query(description="1v1, 2v2, 3v3 or 4v4")] = None,
    ) -> Response:
        """My figures per local day or week, oldest first (for trends; finished matches)."""
        since_us = parse_moment(since, "from")
        until_us = parse_moment(until, "to", end=True)
        period = _choice(period, "period", ("day", "week")) or "day"
        mode = _choice(mode, "mode", MODES)
        rows = reader.summary(since_us=since_us, until_us=until_us, period=period, mode=mode)
        return json_response({"period": period, "rows": rows})

    @router.get("/export.json", response_class=StreamingResponse)
    def export_json(
        since: Annotated[str | None, Query(alias="from")] = None,
        until: Annotated[str | None, Query(alias="to")] = None,
    ) -> StreamingResponse:
        """Every match (or a date range) whole, oldest first, as one JSON document."""
        where = match_filter(None, None, None, None, None, since, until)
        matches = reader.export_rows(where)

        def body() -> Iterator[bytes]:
            yield b'{"matches": ['
            for i, match in enumerate(matches):
                yield (b"," if i else b"") + orjson.dumps(match)
            yield b"]}"

        return StreamingResponse(
            body(),
            media_type="application/json",
            headers={"Content-Disposition": 'attachment; filename="companion-matches.json"'},
        )

    @router.get("/export.csv", response_class=StreamingResponse)
    def export_csv(
        since: Annotated[str | None, Query(alias="from")] = None,
        until: Annotated[str | None, Query(alias="to")] = None,
    ) -> StreamingResponse:
        """One line per player per match (or a date range), oldest first."""
        where = match_filter(None, None, None, None, None, since, until)
        matches = reader.export_rows(where)
        return StreamingResponse(
            _csv_lines(matches),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": 'attachment; filename="companion-matches.csv"'},
        )

    return router


CSV_COLUMNS = (
    "match_id", "started_at", "ended_at", "arena", "mode", "state", "overtime", "winner_team",
    "result", "team", "name", "primary_id", "is_me", "score", "goals", "shots", "assists",
    "saves", "touches", "car_touches", "demos", "demos_taken",
)  # fmt: skip


def _csv_lines(matches: Iterator[dict[str, Any]]) -> Iterator[str]:
    buffer = io.StringIO()
    out = csv.writer(buffer)
    out.writerow(CSV_COLUMNS)
    for match in matches:
        for player in match["players"]:
            row = {**match, **player, "match_id": match["id"]}
            out.writerow([row[c] for c in CSV_COLUMNS])
        yield buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
    yield buffer.getvalue()
