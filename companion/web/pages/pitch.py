"""Pitch drawings for the pages: game coordinates turned into SVG coordinates, touch heatmap
cells and goal arrows, computed here so the templates only draw (server-rendered SVG: no
script, and a text alternative beside each drawing).

The field is about x ±4096 and y ±5120 (the goal lines), goals 1786 wide and 880 deep; blue
(team 0) defends -Y. The drawing has +Y at the top, in tenths of game units (SVG y grows down).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

HALF_X = 4096.0
HALF_Y = 5120.0
GOAL_HALF_WIDTH = 893.0
GOAL_DEPTH = 880.0
SCALE = 10.0
# The drawing's viewBox: the field, the goals and a small margin.
VIEW_BOX = "-430 -620 860 1240"
CELL = 512.0  # heatmap cells: 16 x 20 over the field


def sx(x: float) -> float:
    return round(max(-HALF_X, min(HALF_X, x)) / SCALE, 1)


def sy(y: float) -> float:
    return round(-max(-HALF_Y - GOAL_DEPTH, min(HALF_Y + GOAL_DEPTH, y)) / SCALE, 1)


@dataclass(frozen=True, slots=True)
class Dot:
    x: float
    y: float
    team: int | None
    label: str


@dataclass(frozen=True, slots=True)
class Arrow:
    """A goal: from where the scorer last hit the ball to where it crossed the line."""

    x1: float | None
    y1: float | None
    x2: float
    y2: float
    team: int | None
    label: str


@dataclass(frozen=True, slots=True)
class Cell:
    x: float
    y: float
    size: float
    opacity: float
    count: int


def touch_dots(touches: Iterable[Mapping[str, Any]]) -> list[Dot]:
    """A match's touches as dots, by team."""
    dots = []
    for touch in touches:
        location = touch.get("location")
        if not location:
            continue
        kind = "kickoff touch" if touch.get("kickoff") else "touch"
        dots.append(
            Dot(sx(location[0]), sy(location[1]), touch.get("team"), f"{touch['player']}: {kind}")
        )
    return dots


def goal_arrows(goals: Iterable[Mapping[str, Any]]) -> list[Arrow]:
    """A match's goals (``impact`` and ``scorer_last_hit``), or a career's (``impact`` and
    ``struck_from``)."""
    arrows = []
    for goal in goals:
        impact = goal.get("impact")
        if not impact:
            continue
        struck = goal.get("scorer_last_hit") or goal.get("struck_from")
        scorer = goal.get("scorer")
        name = scorer["name"] if isinstance(scorer, Mapping) else "goal"
        arrows.append(
            Arrow(
                sx(struck[0]) if struck else None,
                sy(struck[1]) if struck else None,
                sx(impact[0]),
                sy(impact[1]),
                goal.get("team"),
                name,
            )
        )
    return arrows


def heatmap(points: Sequence[Sequence[float]]) -> list[Cell]:
    """Touches ``[x, y]`` binned into cells of the field; opacity grows with the count."""
    counts: dict[tuple[int, int], int] = {}
    columns, rows = int(2 * HALF_X / CELL), int(2 * HALF_Y / CELL)
    for x, y, *_ in points:
        col = min(columns - 1, max(0, int((x + HALF_X) // CELL)))
        row = min(rows - 1, max(0, int((y + HALF_Y) // CELL)))
        counts[col, row] = counts.get((col, row), 0) + 1
    if not counts:
        return []
    top = max(counts.values())
    size = CELL / SCALE
    return [
        Cell(
            x=round((col * CELL - HALF_X) / SCALE, 1),
            y=round(-((row + 1) * CELL - HALF_Y) / SCALE, 1),
            size=size,
            opacity=round(0.12 + 0.83 * count / top, 2),
            count=count,
        )
        for (col, row), count in sorted(counts.items())
    ]


def halves(points: Sequence[Sequence[float]]) -> tuple[int, int]:
    """How many touches were in the player's own half (y < 0, attacking +Y) and in the other."""
    own = sum(1 for point in points if point[1] < 0)
    return own, len(points) - own


@dataclass(frozen=True, slots=True)
class Moment:
    """One line of a match timeline."""

    at: str
    clock: int | None
    overtime: bool
    kind: str  # goal, save, epic-save, demolition, crossbar, other
    team: int | None
    text: str
    detail: str


_TIMELINE_EVENTS = {"Save": "save", "EpicSave": "epic-save", "Demolish": "demolition"}


def timeline(match: Mapping[str, Any]) -> list[Moment]:
    """Goals (scorer, assister, speed), saves, epic saves, demolitions and crossbar hits, in
    the order they happened (goals, shots and assists of the statfeed are the goals' lines)."""
    moments = []
    for goal in match.get("goals", ()):
        scorer = goal["scorer"]["name"] if goal.get("scorer") else "unknown"
        parts = []
        if goal.get("assister"):
            parts.append(f"assist {goal['assister']['name']}")
        if goal.get("speed_kph") is not None:
            parts.append(f"{goal['speed_kph']:.0f} km/h")
        moments.append(
            Moment(
                goal["at"], goal["clock_s"], goal["overtime"], "goal", goal.get("team"),
                f"Goal: {scorer}", ", ".join(parts),
            )
        )  # fmt: skip
    for event in match.get("events", ()):
        kind = _TIMELINE_EVENTS.get(event["event"])
        if kind is None:
            continue
        player = event.get("player") or {}
        who = player.get("name", "someone")
        if kind == "demolition":
            victim = (event.get("victim") or {}).get("name", "someone")
            text, detail = f"{who} demolished {victim}", ""
        else:
            text, detail = f"{'Epic save' if kind == 'epic-save' else 'Save'}: {who}", ""
        moments.append(
            Moment(
                event["at"], event["clock_s"], event["overtime"], kind, player.get("team"),
                text, detail,
            )
        )  # fmt: skip
    for hit in match.get("crossbar_hits", ()):
        touch = hit.get("last_touch") or {}
        speed = hit.get("ball_speed_kph")
        moments.append(
            Moment(
                hit["at"], None, False, "crossbar", touch.get("team"),
                f"Crossbar: {touch.get('name', 'the ball')}",
                "" if speed is None else f"{speed:.0f} km/h",
            )
        )  # fmt: skip
    return in_game_order(moments)


def in_game_order(moments: list[Moment]) -> list[Moment]:
    """By the game's clock (it counts down in regulation, up in overtime); a moment without a
    clock (a crossbar hit) keeps its place after the moment received before it."""
    moments = sorted(moments, key=lambda moment: moment.at)
    keyed = []
    progress: tuple[int, int] = (0, -(10**9))
    for n, moment in enumerate(moments):
        if moment.clock is not None:
            progress = (1, moment.clock) if moment.overtime else (0, -moment.clock)
        keyed.append((progress, n, moment))
    return [moment for _, _, moment in sorted(keyed, key=lambda item: (item[0], item[1]))]


def team_lines(match: Mapping[str, Any], team: int) -> list[Mapping[str, Any]]:
    return [p for p in match.get("players", ()) if p.get("team") == team]


def has_telemetry(match: Mapping[str, Any]) -> bool:
    return any(p.get("telemetry") for p in match.get("players", ()))
