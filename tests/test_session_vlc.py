"""A whole listening session through real libVLC (dummy audio output) on real files:
play, skip after 5 s, like, play to the end. Asserts the log and the re-ranked queue."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from player.library import events
from player.library.db import open_library
from player.library.paths import from_db
from player.playback import create_backend
from player.recommend import EngineHost
from player.session import ListeningSession, SessionUpdate
from tests.audiogen import tag, write_audio
from tests.scanhelp import scan

RECORDINGS = Path(__file__).resolve().parent.parent.parent / "shared" / "data" / "audio"


def _wait(condition, timeout: float = 30.0) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.05)
    raise AssertionError("timed out waiting")


def test_vlc_session_play_skip_like_complete(tmp_path: Path) -> None:
    choice = create_backend(vlc_args=["--aout=dummy"])
    if choice.unavailable_reason:
        pytest.fail(f"libVLC must be installed for this test: {choice.unavailable_reason}")
    music = tmp_path / "music"
    for genre, artists in (("Jazz", 2), ("Techno", 2)):
        for a in range(artists):
            for t in range(2):
                long_first = genre == "Jazz" and a == 0 and t == 0
                path = write_audio(
                    music / f"{genre}{a}{t}.ogg",
                    seconds=20.0 if long_first else 2.5,
                    freq=220.0 + 30 * t + (0 if genre == "Jazz" else 200),
                )
                tag(path, title=f"{genre} {a}{t}", artist=f"{genre} Band {a}", genre=genre)
    db_path = tmp_path / "lib.db"
    with open_library(db_path) as db:
        scan(db, music)
        ids = {r["title"]: r["id"] for r in db.query("SELECT id, title FROM tracks")}

    session = ListeningSession(db_path, choice.backend, recommender=EngineHost)
    updates: list[SessionUpdate] = []
    session.add_listener(updates.append)
    try:
        session.play_track(ids["Jazz 00"])
        _wait(lambda: session.snapshot().position >= 5.0)
        queue_before_skip = [e.track.id for e in session.snapshot().upnext]
        session.next()  # skip after 5 s
        session.wait_idle()
        second = session.snapshot().now_playing
        assert second is not None and second.id != ids["Jazz 00"]
        queue_after_skip = [e.track.id for e in session.snapshot().upnext]
        reasons = [e.reason for e in session.snapshot().upnext]
        print(queue_before_skip, queue_after_skip, reasons)
        assert all(reasons)
        # Re-ranked around what plays now: reasons refer to it, not to the skipped track.
        assert not any("Jazz 00" in r for r in reasons)
        assert any(second.title in r for r in reasons)
        session.like()
        # Let the liked track play to its end: the next one starts by itself.
        _wait(lambda: (session.snapshot().now_playing or second).id != second.id, timeout=30)
    finally:
        session.close()
        choice.backend.close()

    with open_library(db_path) as db:
        logged = [(e.track_id, e.kind, e.position_ms) for e in events.all_events(db)]
    assert logged[0][:2] == (ids["Jazz 00"], "skip")
    assert 4500 <= (logged[0][2] or 0) <= 7000
    assert logged[1][:2] == (second.id, "like")
    assert logged[2][:2] == (second.id, "play")
    assert logged[2][2] == pytest.approx(2500, abs=150)
    assert any(u.kind == "queue" for u in updates)


def test_vlc_session_seeks_where_asked_in_a_real_recording_and_past_its_end_moves_on(
    tmp_path: Path,
) -> None:
    """The user drags the seek bar half-way into a real 2-min Ogg recording: it plays
    from there (libVLC seeking by time landed 7.5 s late in it). Then "Forward 10 s"
    near its end: the next queued track plays."""
    if not any(RECORDINGS.glob("*.ogg")):
        pytest.skip("the real recordings of ../shared/data are not present")
    choice = create_backend(vlc_args=["--aout=dummy"])
    if choice.unavailable_reason:
        pytest.fail(f"libVLC must be installed for this test: {choice.unavailable_reason}")
    db_path = tmp_path / "lib.db"
    with open_library(db_path) as db:
        scan(db, RECORDINGS)  # read in place
        rows = db.query("SELECT id, path, duration FROM tracks")
        by_name = {Path(from_db(r["path"])).name: (r["id"], r["duration"]) for r in rows}
    ((long_id, length),) = [v for k, v in by_name.items() if "Tchaikovsky" in k]
    ((next_id, _),) = [v for k, v in by_name.items() if "trumpet" in k]
    session = ListeningSession(db_path, choice.backend, recommender=None)
    try:
        session.play_track(long_id)
        session.enqueue(next_id)
        _wait(lambda: session.snapshot().play_state == "playing")
        target = round(length / 2, 1)
        session.seek(target)
        asked = time.monotonic()
        _wait(lambda: session.snapshot().position == pytest.approx(target, abs=1e-3))
        _wait(lambda: session.snapshot().position != pytest.approx(target, abs=1e-3))
        since, now = time.monotonic() - asked, session.snapshot()
        assert target - 0.25 <= now.position <= target + 1.2 * since + 0.5
        assert now.now_playing is not None and now.now_playing.id == long_id

        session.seek(length - 4.0)
        _wait(lambda: session.snapshot().position >= length - 4.0)
        session.seek_by(10.0)
        _wait(lambda: (session.snapshot().now_playing or now.now_playing).id == next_id)
        assert session.snapshot().play_state == "playing"
    finally:
        session.close()
        choice.backend.close()


def test_a_file_without_audio_is_a_failed_play_never_a_listen(
    tmp_path: Path, shared_data: Path
) -> None:
    """libVLC "plays" a file of tags alone for a few milliseconds and reports its end:
    that is logged as a failed play (which stats and the recommender ignore), not as a
    completed play, said once, and the queue moves on, even with repeat-one on (which
    replayed it as fast as it ended, logging a play every few milliseconds)."""
    import shutil

    choice = create_backend(vlc_args=["--aout=dummy"])
    if choice.unavailable_reason:
        pytest.fail(f"libVLC must be installed for this test: {choice.unavailable_reason}")
    music = tmp_path / "music"
    music.mkdir()
    shutil.copy(shared_data / "tags" / "chinese_id3.mp3", music / "tags-only.mp3")
    tag(write_audio(music / "after.ogg", seconds=2.5), title="After", artist="Someone")
    db_path = tmp_path / "lib.db"
    with open_library(db_path) as db:
        scan(db, music)
        ids = {from_db(r["path"]): r["id"] for r in db.query("SELECT id, path FROM tracks")}
    silent, after = ids[str(music / "tags-only.mp3")], ids[str(music / "after.ogg")]

    session = ListeningSession(db_path, choice.backend)
    updates: list[SessionUpdate] = []
    session.add_listener(updates.append)
    try:
        session.set_repeat("one")
        session.play_track(silent)
        session.enqueue(after)
        _wait(lambda: getattr(session.snapshot().now_playing, "id", None) == after)
        time.sleep(0.5)
    finally:
        session.close()
    with open_library(db_path) as db:
        logged = [(e.track_id, e.kind) for e in events.all_events(db)]
    assert [kind for track, kind in logged if track == silent] == ["fail"]
    errors = {u.state.last_error for u in updates if u.kind == "error"}
    assert errors == {"could not play tags-only.mp3: the file holds no playable audio"}
