"""Sessions and streaks: pure rules, no database."""

from __future__ import annotations

from companion.stats.sessions import SessionMatch, current, group, streaks

MIN = 60_000_000


def match(
    n: int, start_min: float, length_min: float = 6, result: str | None = "win"
) -> SessionMatch:
    start = round(start_min * MIN)
    return SessionMatch(n, start, start + round(length_min * MIN), result, (n, 1, 2, 0))


def test_a_gap_longer_than_the_setting_starts_a_new_session() -> None:
    matches = [match(1, 0), match(2, 10), match(3, 10 + 6 + 31), match(4, 60)]
    sessions = group(matches, [], 30 * MIN)
    assert [[m.match_id for m in s.matches] for s in sessions] == [[1, 2], [3, 4]]
    assert [s.number for s in sessions] == [1, 2]
    # A gap of exactly the setting still belongs to the session.
    assert len(group([match(1, 0), match(2, 36)], [], 30 * MIN)) == 1


def test_a_mark_cuts_between_the_matches_around_it() -> None:
    matches = [match(1, 0), match(2, 8), match(3, 16)]
    during_second = [round(10 * MIN)]  # pressed while match 2 was on: match 3 opens a new one
    sessions = group(matches, during_second, 30 * MIN)
    assert [[m.match_id for m in s.matches] for s in sessions] == [[1, 2], [3]]
    assert len(group(matches, [round(100 * MIN)], 30 * MIN)) == 1  # after everything: no cut


def test_streaks_ignore_abandoned_and_unknown_results() -> None:
    assert streaks(["win", "win", "abandoned", "win", None, "loss"]) == (-1, 3)
    assert streaks(["loss", "loss", "abandoned"]) == (-2, 0)
    assert streaks(["win", "loss", "win", "win"]) == (2, 2)
    assert streaks([]) == (0, 0)


def test_a_session_summary_counts_and_averages_my_figures() -> None:
    matches = [match(1, 0), match(2, 8, result="loss"), match(3, 16, result="abandoned")]
    (session,) = group(matches, [], 30 * MIN)
    summary = session.summary()
    assert (summary["games"], summary["wins"], summary["losses"], summary["abandoned"]) == (
        3,
        1,
        1,
        1,
    )
    assert summary["streak"] == -1 and summary["best_win_streak"] == 1
    assert summary["goals_per_game"] == 2.0  # (1 + 2 + 3) / 3
    assert summary["saves_per_game"] == 1.0
    assert summary["started_at"].endswith("Z") and summary["match_ids"] == [1, 2, 3]


def test_the_current_session_ends_with_the_gap_or_a_mark() -> None:
    sessions = group([match(1, 0), match(2, 8)], [], 30 * MIN)
    end = 14 * MIN
    assert current(sessions, [], 30 * MIN, end + 29 * MIN).number == 1
    later = current(sessions, [], 30 * MIN, end + 31 * MIN)
    assert later.number == 2 and later.summary()["games"] == 0
    marked = current(sessions, [end + MIN], 30 * MIN, end + 2 * MIN)
    assert marked.number == 2 and marked.matches == []
    assert current([], [], 30 * MIN, end).summary()["games"] == 0
