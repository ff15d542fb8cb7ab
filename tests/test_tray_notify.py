"""Notifications: announced once when a condition starts, and only the ones switched on."""

from __future__ import annotations

import dataclasses

from companion.model import MatchSummary
from companion.settings import Settings
from companion.tray.notify import Notifier
from companion.tray.status import Snapshot

LIVE = MatchSummary(1, "guid-1", "live", None, 0, (1, 0), "2v2", None, 1_000, None)
DONE = dataclasses.replace(LIVE, state="complete", result="win", scores=(3, 1), ended_at_us=9_000)


def snap(**changes: object) -> Snapshot:
    base = Snapshot(
        version="0.1.0",
        port=49133,
        feed_state="receiving",
        queue_depth=0,
        paused=False,
        writer_running=True,
        storage_error=None,
        dead_letters=0,
        last_event_at_us=None,
        last_match=None,
        live_match=None,
        taken_at_us=10_000,
    )
    return dataclasses.replace(base, **changes)  # type: ignore[arg-type]


def notifier(settings: Settings) -> tuple[Notifier, list[tuple[str, str]]]:
    sent: list[tuple[str, str]] = []
    return Notifier(lambda title, text: sent.append((title, text)), lambda: settings), sent


def test_feed_stopping_mid_match_is_announced_once() -> None:
    watch, sent = notifier(Settings())
    watch.observe(snap(live_match=LIVE, last_match=LIVE))
    watch.observe(snap(feed_state="disconnected", live_match=LIVE, last_match=LIVE))
    watch.observe(snap(feed_state="disconnected", live_match=LIVE, last_match=LIVE))
    assert [title for title, _ in sent] == ["Game feed stopped"]


def test_feed_stopping_between_matches_or_switched_off_is_quiet() -> None:
    watch, sent = notifier(Settings())
    watch.observe(snap(last_match=DONE))
    watch.observe(snap(feed_state="disconnected", last_match=DONE))
    watch.observe(snap(live_match=LIVE))
    watch.observe(snap(feed_state="off", live_match=LIVE))
    assert sent == []


def test_storage_errors_are_announced_when_they_start() -> None:
    watch, sent = notifier(Settings())
    watch.observe(snap())
    watch.observe(snap(storage_error="database or disk is full"))
    watch.observe(snap(storage_error="database or disk is full"))
    watch.observe(snap(storage_error="database or disk is full", writer_running=False))
    assert sent == [("companion cannot save", "Storage failed: database or disk is full")]
    watch2, sent2 = notifier(Settings())
    watch2.observe(snap())
    watch2.observe(snap(writer_running=False))
    assert sent2 == [("companion cannot save", "Storage stopped; see the logs.")]


def test_match_summary_only_when_asked_for() -> None:
    quiet, sent = notifier(Settings())
    quiet.observe(snap(last_match=LIVE))
    quiet.observe(snap(last_match=DONE))
    assert sent == []
    loud, sent = notifier(Settings(notify_match_summary=True))
    loud.observe(snap(last_match=LIVE))
    loud.observe(snap(last_match=DONE))
    loud.observe(snap(last_match=DONE))
    assert sent == [("Match over", "W 3\u20131 · 2v2")]


def test_notifications_off_silences_everything() -> None:
    watch, sent = notifier(Settings(notifications=False, notify_match_summary=True))
    watch.observe(snap(live_match=LIVE, last_match=LIVE))
    watch.observe(snap(feed_state="disconnected", storage_error="x", last_match=DONE))
    assert sent == []


def test_the_first_snapshot_announces_nothing() -> None:
    watch, sent = notifier(Settings(notify_match_summary=True))
    assert watch.observe(snap(storage_error="x", last_match=DONE)) == []
    assert sent == []
