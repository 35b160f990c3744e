"""A player that remembers: what played, where, and the queue with its pins, restored
paused at the next start; listening settings that apply at once."""

from __future__ import annotations

from pathlib import Path

import pytest

from player.library import player_state
from player.library.db import open_library
from player.playback.null import NullBackend
from player.recommend import EngineHost
from player.session import ListeningSession
from tests.test_session_recommender import ids_by_title, library_path, music_dir  # noqa: F401


def test_relaunch_restores_track_position_paused_and_queue_with_pins(
    library_path: Path,  # noqa: F811
) -> None:
    ids = ids_by_title(library_path)
    first = ListeningSession(library_path, NullBackend(), recommender=EngineHost, remember=True)
    try:
        first.play_track(ids["Jazz 0.0"])
        first.enqueue(ids["Folk 1.2"])
        first.play_next(ids["Techno 0.1"])
        first.set_repeat("all")
        first.set_discover(0.8)
        first.wait_idle()
        first.seek(2.5)
        first.wait_idle()
        before = first.snapshot()
        assert [e.pinned for e in before.upnext[:2]] == [True, True]
        assert len(before.upnext) > 2  # the automatic tail too
    finally:
        first.close()

    backend = NullBackend()
    second = ListeningSession(library_path, backend, recommender=EngineHost, remember=True)
    try:
        second.restore()
        second.wait_idle()
        after = second.snapshot()
        assert after.now_playing is not None and after.now_playing.id == ids["Jazz 0.0"]
        assert after.play_state == "paused"
        assert after.position == pytest.approx(2.5, abs=0.01)
        assert [(e.track.id, e.pinned, e.reason) for e in after.upnext] == [
            (e.track.id, e.pinned, e.reason) for e in before.upnext
        ]
        assert after.repeat == "all" and after.discover == pytest.approx(0.8)
        assert backend.state().value != "playing"  # nothing starts by itself
        second.toggle_pause()  # play resumes where it was
        second.wait_idle()
        assert backend.state().value == "playing"
        assert backend.position() == pytest.approx(2.5, abs=0.05)
    finally:
        second.close()


def test_a_session_that_does_not_remember_leaves_the_saved_state_alone(
    library_path: Path,  # noqa: F811
) -> None:
    ids = ids_by_title(library_path)
    app = ListeningSession(library_path, NullBackend(), recommender=EngineHost, remember=True)
    app.play_track(ids["Jazz 0.0"])
    app.close()
    cli = ListeningSession(library_path, NullBackend(), recommender=EngineHost)
    cli.play_track(ids["Techno 1.1"])
    cli.close()
    again = ListeningSession(library_path, NullBackend(), recommender=EngineHost)
    try:
        again.restore()
        again.wait_idle()
        playing = again.snapshot().now_playing
        assert playing is not None and playing.id == ids["Jazz 0.0"]
    finally:
        again.close()


def test_a_vanished_track_is_left_out_of_the_restored_queue(
    library_path: Path,  # noqa: F811
) -> None:
    ids = ids_by_title(library_path)
    app = ListeningSession(library_path, NullBackend(), recommender=None, remember=True)
    app.play_track(ids["Jazz 0.0"])
    app.enqueue(ids["Folk 1.2"])
    app.enqueue(ids["Folk 0.0"])
    app.close()
    with open_library(library_path) as db, db.transaction() as conn:
        conn.execute(
            "UPDATE tracks SET missing = 1 WHERE id IN (?, ?)", (ids["Jazz 0.0"], ids["Folk 1.2"])
        )
    again = ListeningSession(library_path, NullBackend(), remember=True)
    try:
        again.restore()
        again.wait_idle()
        state = again.snapshot()
        assert state.now_playing is None
        assert [e.track.id for e in state.upnext] == [ids["Folk 0.0"]]
    finally:
        again.close()


def test_reasons_follow_the_track_that_plays_now(library_path: Path) -> None:  # noqa: F811
    ids = ids_by_title(library_path)
    session = ListeningSession(library_path, NullBackend(), recommender=EngineHost)
    try:
        session.play_track(ids["Jazz 0.0"])
        session.wait_idle()
        first = [e.reason for e in session.snapshot().upnext]
        assert any("Jazz 0.0" in r for r in first), first
        session.play_track(ids["Techno 1.1"])
        session.wait_idle()
        now = [e.reason for e in session.snapshot().upnext]
        assert "Techno 1.1" in now[0] and now != first
        # Most picks now follow the new track; a few may still cite what was just heard.
        assert sum("Techno 1.1" in r for r in now) > sum("Jazz 0.0" in r for r in now)
    finally:
        session.close()


def _played_then_quit(db_file: Path, track_id: int, at: float) -> None:
    """An earlier app run: plays ``track_id`` with another track queued after it, seeks
    to ``at`` and quits."""
    app = ListeningSession(db_file, NullBackend(), recommender=None, remember=True)
    app.play_track(track_id)
    app.enqueue(ids_by_title(db_file)["Folk 0.0"])
    app.wait_idle()
    app.seek(at)
    app.close()


def _listens(db_file: Path) -> list[tuple[int, str, int | None]]:
    with open_library(db_file) as db:
        return [
            (r["track_id"], r["kind"], r["position_ms"])
            for r in db.query(
                "SELECT track_id, kind, position_ms FROM events "
                "WHERE kind IN ('play', 'skip', 'stop', 'fail') ORDER BY id"
            )
        ]


def test_a_restored_track_logs_nothing_until_the_user_plays_it(
    library_path: Path,  # noqa: F811
) -> None:
    """Review 2: a launch-then-quit logged a `stop`, and picking another track logged a
    `skip`, for a restored track nobody heard in that run."""
    ids = ids_by_title(library_path)
    _played_then_quit(library_path, ids["Jazz 0.0"], 2.5)
    before = _listens(library_path)
    assert before == [(ids["Jazz 0.0"], "stop", 2500)]

    for _ in range(2):  # launch, restore, quit without pressing play: twice
        app = ListeningSession(library_path, NullBackend(), remember=True)
        app.restore()
        app.close()
    assert _listens(library_path) == before

    app = ListeningSession(library_path, NullBackend(), remember=True)
    try:
        app.restore()
        app.next()  # Next before play: the restored track was not skipped
        app.wait_idle()
        assert _listens(library_path) == before
    finally:
        app.close()  # the track Next started was heard: its stop counts
    assert _listens(library_path) == [*before, (ids["Folk 0.0"], "stop", 0)]

    _played_then_quit(library_path, ids["Jazz 0.0"], 2.5)
    before = _listens(library_path)
    app = ListeningSession(library_path, NullBackend(), remember=True)
    try:
        app.restore()
        app.play_track(ids["Techno 1.1"])  # another track before play: no skip
        app.wait_idle()
        assert _listens(library_path) == before
    finally:
        app.close()


def test_a_restored_track_counts_once_the_user_plays_it(
    library_path: Path,  # noqa: F811
) -> None:
    ids = ids_by_title(library_path)
    _played_then_quit(library_path, ids["Jazz 0.0"], 2.5)
    before = _listens(library_path)
    backend = NullBackend()
    app = ListeningSession(library_path, backend, remember=True)
    try:
        app.restore()
        app.toggle_pause()  # play: resumes at 2.5
        app.wait_idle()
        backend.advance(0.5)
        app.next()
        app.wait_idle()
        after = _listens(library_path)
        assert after[: len(before)] == before
        assert after[len(before)][:2] == (ids["Jazz 0.0"], "skip")
        assert after[len(before)][2] == pytest.approx(3000, abs=60)
    finally:
        app.close()


def test_the_restored_position_is_saved_at_once(
    library_path: Path,  # noqa: F811
) -> None:
    """Review 4: restoring saved position 0.0, so an app killed before its next save
    reopened at 0:00."""
    ids = ids_by_title(library_path)
    _played_then_quit(library_path, ids["Jazz 0.0"], 2.5)
    app = ListeningSession(library_path, NullBackend(), remember=True)
    try:
        app.restore()
        app.wait_idle()
        # Killed here: what the next start finds is what is saved now.
        with open_library(library_path) as db:
            saved = player_state.load(db)
        assert saved is not None
        assert saved["queue"]["current"] == ids["Jazz 0.0"]
        assert saved["position"] == pytest.approx(2.5, abs=0.01)
    finally:
        app.close()
