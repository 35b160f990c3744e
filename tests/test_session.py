"""The listening session: what happened to every track goes to the log at once."""

from __future__ import annotations

import shutil
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from player.library import events, player_state
from player.library.db import open_library
from player.playback.null import NullBackend
from player.session import ListeningSession, SessionUpdate
from tests.audiogen import tag, write_audio
from tests.scanhelp import scan


class Clock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture(scope="module")
def music_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    music = tmp_path_factory.mktemp("music")
    for i in range(4):
        tag(
            write_audio(music / f"{i}.ogg", seconds=60.0 + i, freq=200 + 50 * i, sr=8000),
            title=f"Song {i}",
            artist=f"Artist {i}",
        )
    return music


@pytest.fixture
def music_db(tmp_path: Path, music_dir: Path) -> tuple[Path, list[int]]:
    music = tmp_path / "music"
    shutil.copytree(music_dir, music)
    db_path = tmp_path / "lib.db"
    with open_library(db_path) as db:
        scan(db, music)
        ids = [r["id"] for r in db.query("SELECT id FROM tracks ORDER BY title")]
    return db_path, ids


@pytest.fixture
def session(
    music_db: tuple[Path, list[int]],
) -> Iterator[tuple[ListeningSession, NullBackend, Clock]]:
    backend = NullBackend()
    clock = Clock()
    s = ListeningSession(music_db[0], backend, clock=clock, autofill=False)
    yield s, backend, clock
    s.close()


def logged(db_path: Path) -> list[tuple[int, str, int | None]]:
    with open_library(db_path) as db:
        return [(e.track_id, e.kind, e.position_ms) for e in events.all_events(db)]


def play_for(backend: NullBackend, clock: Clock, session: ListeningSession, seconds: float) -> None:
    session.wait_idle()
    backend.advance(seconds)
    clock.now += seconds
    session.wait_idle()


def test_complete_skip_and_stop_are_logged_with_positions(
    session: tuple[ListeningSession, NullBackend, Clock], music_db: tuple[Path, list[int]]
) -> None:
    s, backend, clock = session
    db_path, ids = music_db
    for track_id in ids[1:3]:
        s.enqueue(track_id)
    s.play_track(ids[0])
    play_for(backend, clock, s, 60.5)  # song 0 (60 s) ends, song 1 starts
    assert s.snapshot().now_playing.id == ids[1]
    play_for(backend, clock, s, 4.5)
    s.next()  # skip song 1 after 5 s (it started 0.5 s into the last step: no gap)
    play_for(backend, clock, s, 10.0)
    s.close()  # quitting stops song 2 at 10 s
    assert logged(db_path) == [
        (ids[0], "play", 60000),
        (ids[1], "skip", 5000),
        (ids[2], "stop", 10000),
    ]


def test_seeking_is_not_a_skip(
    session: tuple[ListeningSession, NullBackend, Clock], music_db: tuple[Path, list[int]]
) -> None:
    s, backend, clock = session
    db_path, ids = music_db
    s.play_track(ids[0])
    play_for(backend, clock, s, 2.0)
    s.seek(50.0)
    play_for(backend, clock, s, 11.0)
    assert logged(db_path) == [(ids[0], "play", 60000)]


def test_like_and_dislike_of_the_playing_track(
    session: tuple[ListeningSession, NullBackend, Clock], music_db: tuple[Path, list[int]]
) -> None:
    s, backend, clock = session
    db_path, ids = music_db
    s.enqueue(ids[1])
    s.enqueue(ids[2])
    s.play_track(ids[0])
    s.like()
    s.wait_idle()
    assert s.snapshot().liked
    s.enqueue(ids[3])
    s.dislike(ids[3])  # a queued track the user bans leaves the queue
    s.wait_idle()
    assert [e.track.id for e in s.snapshot().upnext] == [ids[1], ids[2]]
    play_for(backend, clock, s, 3.0)
    s.dislike()  # disliking the playing song moves on at once
    s.wait_idle()
    assert s.snapshot().now_playing.id == ids[1]
    kinds = [(t, k) for t, k, _ in logged(db_path)]
    assert kinds == [(ids[0], "like"), (ids[3], "dislike"), (ids[0], "dislike"), (ids[0], "skip")]
    with open_library(db_path) as db:
        assert events.verdicts(db) == {"like": set(), "dislike": {ids[0], ids[3]}}


def test_paused_history_and_forget_this_play(
    session: tuple[ListeningSession, NullBackend, Clock], music_db: tuple[Path, list[int]]
) -> None:
    s, backend, clock = session
    db_path, ids = music_db
    s.set_history_paused(True)
    s.play_track(ids[0])
    play_for(backend, clock, s, 61.0)
    assert logged(db_path) == []
    s.set_history_paused(False)
    s.play_track(ids[1])
    s.forget_current_play()
    play_for(backend, clock, s, 70.0)
    assert logged(db_path) == []
    s.play_track(ids[2])
    play_for(backend, clock, s, 63.0)
    assert logged(db_path) == [(ids[2], "play", 62000)]


def test_unplayable_file_is_logged_as_failed_and_playback_continues(
    tmp_path: Path, music_db: tuple[Path, list[int]]
) -> None:
    db_path, ids = music_db
    with open_library(db_path) as db:
        path = db.query("SELECT path FROM tracks WHERE id = ?", (ids[1],))[0]["path"]
    Path(path).write_bytes(b"")  # the file broke after it was scanned
    backend, clock = NullBackend(), Clock()
    s = ListeningSession(db_path, backend, clock=clock, autofill=False)
    updates: list[SessionUpdate] = []
    s.add_listener(updates.append)
    s.enqueue(ids[2])
    s.play_track(ids[1])
    s.wait_idle()
    play_for(backend, clock, s, 1.0)
    assert s.snapshot().now_playing.id == ids[2]
    assert any(
        u.kind == "error" and "could not play" in (u.state.last_error or "") for u in updates
    )
    s.close()
    assert next((t, k) for t, k, _ in logged(db_path)) == (ids[1], "fail")


def test_commands_return_at_once_and_listeners_hear_on_the_session_thread(
    session: tuple[ListeningSession, NullBackend, Clock], music_db: tuple[Path, list[int]]
) -> None:
    s, _, _ = session
    _, ids = music_db
    threads: set[str] = set()
    s.add_listener(lambda update: threads.add(threading.current_thread().name))
    s.play_track(ids[0])
    s.wait_idle()
    assert threads == {"segue-session"}


def test_previous_and_next_walk_the_history(
    session: tuple[ListeningSession, NullBackend, Clock], music_db: tuple[Path, list[int]]
) -> None:
    s, _, _ = session
    _, ids = music_db
    s.play_track(ids[0])
    s.play_track(ids[1])
    s.previous()
    s.wait_idle()
    assert s.snapshot().now_playing.id == ids[0]
    assert s.snapshot().upnext[0].track.id == ids[1]
    s.next()
    s.wait_idle()
    assert s.snapshot().now_playing.id == ids[1]


def test_the_next_re_rank_is_prepared_after_the_list_is_shown(
    music_db: tuple[Path, list[int]],
) -> None:
    """After an event the session publishes the re-ranked up-next first and only then
    warms what the next re-rank needs: the user never waits for the warming."""
    from player.recommend import EngineHost

    order: list[str] = []

    class Host(EngineHost):
        def warm(self) -> None:
            order.append("warm")
            super().warm()

    def heard(update: SessionUpdate) -> None:
        if update.kind == "queue" and update.state.upnext:
            order.append("shown")

    backend = NullBackend()
    s = ListeningSession(music_db[0], backend, recommender=Host)
    try:
        s.add_listener(heard)
        s.play_track(music_db[1][0])
        s.wait_idle()
        s.wait_idle()  # the warm task posted behind the event's task
        assert "warm" in order and "shown" in order
        assert order.index("shown") < order.index("warm")
    finally:
        s.close()


def test_the_apps_lazily_built_recommender_also_prepares_the_next_re_rank(
    music_db: tuple[Path, list[int]], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The desktop app builds its recommender on the first play (LazyRecommender): the
    next re-rank is prepared there too, not only in the CLI."""
    from player.recommend import EngineHost
    from player.ui.app import LazyRecommender

    warmed: list[EngineHost] = []
    monkeypatch.setattr(EngineHost, "warm", lambda self: warmed.append(self))
    s = ListeningSession(music_db[0], NullBackend(), recommender=LazyRecommender)
    try:
        s.play_track(music_db[1][0])
        s.wait_idle()
        s.wait_idle()  # the warm task posted behind the event's task
        assert len(warmed) >= 1
    finally:
        s.close()


def _wait_until(check: Callable[[], bool], timeout: float = 20.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.05)
    return check()


def test_listens_wait_in_memory_while_another_program_holds_the_db(
    music_db: tuple[Path, list[int]],
) -> None:
    """Another program (a history import) holds the write lock past the busy timeout: the
    queue still advances, Next still skips, and every listen is written once, in order, as
    soon as the lock is free."""
    db_path, ids = music_db
    backend, clock = NullBackend(), Clock()
    s = ListeningSession(
        db_path, backend, clock=clock, autofill=False, remember=True, busy_timeout=0.2, retry_s=0.1
    )
    try:
        s.enqueue(ids[1])
        s.enqueue(ids[2])
        s.enqueue(ids[3])
        s.play_track(ids[0])
        s.wait_idle()
        other = sqlite3.connect(db_path, isolation_level=None)
        other.execute("BEGIN IMMEDIATE")
        try:
            play_for(backend, clock, s, 60.5)  # song 0 ends while the DB is locked
            assert s.snapshot().now_playing.id == ids[1]
            play_for(backend, clock, s, 4.5)
            s.next()  # the skip of song 1 is not dropped
            play_for(backend, clock, s, 1.0)
            assert s.snapshot().now_playing.id == ids[2]
            assert backend.current_path().endswith("2.ogg")
            # Writes keep failing: one calm line says so.
            assert _wait_until(lambda: s.snapshot().history_note is not None)
            assert logged(db_path) == []
        finally:
            other.execute("COMMIT")
            other.close()
        expected = [(ids[0], "play", 60000), (ids[1], "skip", 5000)]
        assert _wait_until(lambda: logged(db_path) == expected)
        s.wait_idle()
        assert s.snapshot().history_note is None
        with open_library(db_path) as db:  # the player state waited too, and is saved
            assert (player_state.load(db) or {})["queue"]["current"] == ids[2]
        play_for(backend, clock, s, 61.5)  # song 2 ends: logged at once, nothing twice
        assert logged(db_path) == [*expected, (ids[2], "play", 62000)]
        assert s.snapshot().now_playing.id == ids[3]
    finally:
        s.close()
    assert logged(db_path)[-1][:2] == (ids[3], "stop")
    assert len(logged(db_path)) == 4


def test_events_left_unwritten_at_close_are_written_when_the_lock_frees(
    music_db: tuple[Path, list[int]],
) -> None:
    db_path, ids = music_db
    backend, clock = NullBackend(), Clock()
    s = ListeningSession(
        db_path, backend, clock=clock, autofill=False, busy_timeout=0.2, retry_s=60.0
    )
    s.play_track(ids[0])
    s.like()
    s.wait_idle()
    other = sqlite3.connect(db_path, isolation_level=None, check_same_thread=False)
    other.execute("BEGIN IMMEDIATE")
    threading.Timer(1.0, lambda: other.execute("COMMIT")).start()
    play_for(backend, clock, s, 5.0)
    s.close()  # quitting while locked: the stop waits for the lock, then is written
    other.close()
    assert [(t, k) for t, k, _ in logged(db_path)] == [(ids[0], "like"), (ids[0], "stop")]


def test_quitting_while_the_library_is_locked_still_resumes_where_the_user_left(
    music_db: tuple[Path, list[int]],
) -> None:
    """The player state waits for the lock with the events; once written it holds the
    track and position of the moment the user quit, not the stopped track's 0:00."""
    db_path, ids = music_db
    backend, clock = NullBackend(), Clock()
    s = ListeningSession(
        db_path, backend, clock=clock, autofill=False, remember=True, busy_timeout=0.2,
        retry_s=60.0,
    )  # fmt: skip
    s.play_track(ids[0])
    s.like()
    s.wait_idle()
    other = sqlite3.connect(db_path, isolation_level=None, check_same_thread=False)
    other.execute("BEGIN IMMEDIATE")
    play_for(backend, clock, s, 5.0)  # the like waits: the library is locked
    threading.Timer(1.0, lambda: other.execute("COMMIT")).start()
    s.close()
    other.close()
    with open_library(db_path) as db:
        state = player_state.load(db) or {}
    assert state["queue"]["current"] == ids[0]
    assert state["position"] == pytest.approx(5.0, abs=0.6)


def test_a_play_of_a_track_a_scan_joins_with_its_moved_twin_lands_on_the_joined_track(
    session: tuple[ListeningSession, NullBackend, Clock], music_db: tuple[Path, list[int]]
) -> None:
    """While a file plays for the first time under a new id, a scan finds it is the moved
    copy of a track with history and joins the two, deleting the new id: the listen goes
    to the joined track (which now holds the file), not lost to the vanished id."""
    from player.library.scanstore import ScanStore

    s, backend, clock = session
    db_path, ids = music_db
    moved, original = ids[0], ids[1]
    s.play_track(moved)
    play_for(backend, clock, s, 5.0)
    with open_library(db_path) as db:
        with db.transaction() as conn:
            conn.execute(
                "UPDATE tracks SET missing = 1, fingerprint = "
                "(SELECT fingerprint FROM tracks WHERE id = ?) WHERE id = ?",
                (moved, original),
            )
        assert ScanStore(db).join_twin(original, moved)
    play_for(backend, clock, s, 56.0)  # the track plays to its end
    assert logged(db_path) == [(original, "play", 60000)]


def test_forget_after_a_private_play_leaves_the_older_real_play(
    session: tuple[ListeningSession, NullBackend, Clock], music_db: tuple[Path, list[int]]
) -> None:
    """With nothing playing, "forget this play" removes only the event this session logged
    for the play that just ended: after a private play (history paused) there is none."""
    s, backend, clock = session
    db_path, ids = music_db
    s.play_track(ids[0])
    play_for(backend, clock, s, 61.0)  # a real play, logged
    s.set_history_paused(True)
    s.play_track(ids[0])
    play_for(backend, clock, s, 61.0)  # the same track again, privately: not logged
    assert s.snapshot().now_playing is None
    s.forget_current_play()
    s.wait_idle()
    assert logged(db_path) == [(ids[0], "play", 60000)]
    s.set_history_paused(False)
    s.play_track(ids[1])
    play_for(backend, clock, s, 62.0)
    s.forget_current_play()  # the play that just ended, and only it
    s.forget_current_play()  # a second press has nothing left to forget
    s.wait_idle()
    assert logged(db_path) == [(ids[0], "play", 60000)]


def test_an_event_the_library_refuses_does_not_hold_back_the_others(
    session: tuple[ListeningSession, NullBackend, Clock], music_db: tuple[Path, list[int]]
) -> None:
    """A verdict on a track the library does not have breaks its rules (a foreign key):
    it is set aside, and the events around it are written as usual."""
    s, backend, clock = session
    db_path, ids = music_db
    s.play_track(ids[0])
    s.like(ids[0])
    s.like(987654)  # no such track
    s.dislike(ids[1])
    s.wait_idle()
    play_for(backend, clock, s, 61.0)
    assert [(t, k) for t, k, _ in logged(db_path)] == [
        (ids[0], "like"),
        (ids[1], "dislike"),
        (ids[0], "play"),
    ]


def test_forget_after_a_wipe_elsewhere_never_deletes_another_programs_event(
    session: tuple[ListeningSession, NullBackend, Clock], music_db: tuple[Path, list[int]]
) -> None:
    """Event ids are reused after a wipe: `segue history wipe` then an import in a
    terminal, before the app's check, may put another listen under the id this session
    kept for "forget this play". Forgetting must leave that listen alone."""
    s, backend, clock = session
    db_path, ids = music_db
    s.play_track(ids[0])
    play_for(backend, clock, s, 61.0)
    s.play_track(ids[1])
    play_for(backend, clock, s, 62.0)  # logged as the second event
    assert len(logged(db_path)) == 2
    with open_library(db_path) as db:
        events.wipe(db)
        for n, track in enumerate((ids[2], ids[2])):
            events.append(db, events.NewEvent(track, "play", ts=1e9 + n, position_ms=1000))
    s.forget_current_play()
    s.wait_idle()
    assert logged(db_path) == [(ids[2], "play", 1000)] * 2


def test_forget_this_play_does_not_hide_another_programs_change(
    session: tuple[ListeningSession, NullBackend, Clock], music_db: tuple[Path, list[int]]
) -> None:
    """A like logged in a terminal while the app plays, then "forget this play" before
    the app's check: the like still reaches the session at the check."""
    s, backend, clock = session
    db_path, ids = music_db
    s.play_track(ids[0])
    play_for(backend, clock, s, 61.0)
    with open_library(db_path) as db:
        events.append(db, events.NewEvent(ids[1], "like", ts=time.time()))
    s.forget_current_play()
    s.wait_idle()
    assert logged(db_path) == [(ids[1], "like", None)]
    s.check_history()
    s.play_track(ids[1])
    s.wait_idle()
    assert s.snapshot().liked
