"""A rebuild in spans, side by side in worker processes, gives the tables of a rebuild in one
process; where it could not, it runs in one process instead."""

from __future__ import annotations

import shutil
from collections.abc import Sequence
from pathlib import Path

import pytest

from companion.model import NewEvent
from companion.pipeline import parallel_rebuild
from companion.pipeline.parallel_rebuild import Diverged, Span, SpanReport, check
from companion.pipeline.rebuild import RebuildOutcome, rebuild
from companion.simulator import SynthOptions, synthesize
from companion.sources.feed_session import FeedSession
from companion.storage import match_store
from companion.storage.database import connect, open_database
from tests.test_match_derivation import BASE_US, append, journal_rows
from tests.test_rebuild import derived_tables

SILENCE_US = 300_000_000  # five minutes
GAP_S = 400  # between matches: longer than the silence, and than the header minute


def season(db: Path, extra: Sequence[tuple[int, NewEvent]] = ()) -> None:
    """Six matches with quiet gaps between them, journaled as the reader does; ``extra`` rows
    go in after the row at each given index."""
    options = SynthOptions(seed=33, scenario="mixed", view="player", rate=6, matches=6, gap=GAP_S)
    rows = journal_rows(options)
    for index, row in sorted(extra, key=lambda e: e[0], reverse=True):
        rows.insert(index, row)
    open_database(db)
    conn = connect(db)
    append(conn, rows)
    conn.close()


def rebuilt(
    original: Path, workers: int
) -> tuple[RebuildOutcome, dict[str, list[tuple[object, ...]]]]:
    db = original.parent / f"rebuilt-{workers}" / "companion.db"
    db.parent.mkdir()
    shutil.copyfile(original, db)
    conn = connect(db)
    try:
        outcome = rebuild(
            conn, silence_us=SILENCE_US, database=db, workers=workers, clock=lambda: BASE_US
        )
    finally:
        conn.close()
    return outcome, derived_tables(db)


@pytest.fixture(autouse=True)
def small_spans(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(parallel_rebuild, "MIN_SPAN_ROWS", 200)


def test_a_rebuild_in_spans_equals_one_in_one_process(tmp_path: Path) -> None:
    db = tmp_path / "companion.db"
    season(db)
    one, expected = rebuilt(db, 1)
    three, got = rebuilt(db, 3)
    assert one.spans == 1 and three.spans == 3
    assert len(expected["matches"]) == 6 and expected["match_players"]
    assert got == expected
    assert (three.rows, three.dead, three.matches) == (one.rows, one.dead, one.matches)
    assert not list(db.parent.glob("rebuilt-3/rebuild-*")), "the span databases are removed"


def test_a_stream_that_goes_back_in_seq_after_a_cut_is_rebuilt_in_one_process(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # Another source's stream: seq 10 early on, seq 5 at the very end (after the last quiet
    # gap). In one process the late row is stale; a span of its own would take it.
    late = NewEvent("plugin", "other", 5, "Note", '{"n": 5}', BASE_US)
    early = NewEvent("plugin", "other", 10, "Note", '{"n": 10}', BASE_US)
    db = tmp_path / "companion.db"
    season(db, [(10, early), (10**9, late)])
    _, expected = rebuilt(db, 1)
    fallen_back, got = rebuilt(db, 3)
    assert fallen_back.spans == 1, "the spans could not be joined: one process instead"
    assert "one process instead: stream plugin/other goes back in seq" in caplog.text
    assert got == expected
    assert ("plugin", "other", 10) in [row[:3] for row in got["stream_state"]]


def test_spans_that_cannot_be_joined_exactly_are_refused() -> None:
    spans = [Span(1, 10, 1_000), Span(11, 20, None)]

    def reports(**second: object) -> list[SpanReport]:
        return [SpanReport(last_guid="A"), SpanReport(**second)]  # type: ignore[arg-type]

    check(spans, reports(first_guid="B"))  # another lobby: fine
    with pytest.raises(Diverged, match="GUID of the one before"):
        check(spans, reports(first_guid="A"))
    with pytest.raises(Diverged, match="header"):
        check(spans, reports(missing_header=True))
    with pytest.raises(Diverged, match="open"):
        check(spans, [SpanReport(open_at_end=True), SpanReport()])
    seqs = {("statsapi", "s"): (5, 9)}
    with pytest.raises(Diverged, match="seq"):
        check(spans, [SpanReport(seqs={("statsapi", "s"): (1, 5)}), SpanReport(seqs=seqs)])
    check(spans, [SpanReport(seqs={("statsapi", "s"): (1, 4)}), SpanReport(seqs=seqs)])


def test_when_worker_processes_cannot_run_the_rebuild_runs_in_one_process(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def no_processes(*args: object, **kwargs: object) -> None:
        raise OSError("no processes here")

    db = tmp_path / "companion.db"
    season(db)
    _, expected = rebuilt(db, 1)
    monkeypatch.setattr(parallel_rebuild, "derive_spans", no_processes)
    outcome, got = rebuilt(db, 3)
    assert outcome.spans == 1 and got == expected
    assert "one process instead: the worker processes failed (OSError" in caplog.text


def test_a_lobby_seen_in_an_earlier_span_goes_on_with_its_segments(tmp_path: Path) -> None:
    # Two sessions three hours apart; the second opens in the lobby of the first session's first
    # match (a private lobby kept open): one process numbers that match segment 2, and so must
    # the join of two spans.
    first = synthesize(SynthOptions(seed=5, scenario="normal", view="player", rate=6, matches=2))
    second = synthesize(SynthOptions(seed=6, scenario="normal", view="player", rate=6, matches=2))
    lobby, reused = first.truth.matches[0].guid, second.truth.matches[0].guid
    rows: list[NewEvent] = []
    for k, (synthesis, start_s) in enumerate([(first, 0.0), (second, 3 * 3600.0)]):
        feed = FeedSession(f"test-{k + 1}", rows.extend)
        for message in synthesis.messages():
            raw = message.raw.replace(reused.encode(), lobby.encode())
            feed.on_message(raw, BASE_US + round((start_s + message.t) * 1e6))
        feed.close()
    db = tmp_path / "companion.db"
    open_database(db)
    conn = connect(db)
    append(conn, rows)
    conn.close()
    _, expected = rebuilt(db, 1)
    two, got = rebuilt(db, 2)
    assert two.spans == 2 and got == expected
    keys = [row[1] for row in got["matches"]]
    assert f"{lobby}-1" in keys and f"{lobby}-2" in keys, keys


def test_a_match_still_open_at_the_journal_end_is_left_open_as_in_one_process(
    tmp_path: Path,
) -> None:
    options = SynthOptions(seed=33, scenario="normal", view="player", rate=6, matches=4, gap=GAP_S)
    rows = journal_rows(options)
    db = tmp_path / "companion.db"
    open_database(db)
    conn = connect(db)
    append(conn, rows[: len(rows) * 7 // 8])  # the last match stops in its middle
    conn.close()
    results = []
    for workers in (1, 3):
        outcome, tables = rebuilt(db, workers)
        state = connect(db.parent / f"rebuilt-{workers}" / "companion.db")
        open_from = match_store.open_from(state)
        live = state.execute("SELECT count(*) FROM matches WHERE state = 'live'").fetchone()[0]
        state.close()
        results.append((tables, open_from, live))
        assert outcome.spans == (1 if workers == 1 else 3)
    assert results[0] == results[1]
    assert results[0][1] is not None and results[0][2] == 1, "resumable: the open match and where"
