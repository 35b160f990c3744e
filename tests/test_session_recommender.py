"""The session with the real recommender: every event re-ranks Up Next, with reasons."""

from __future__ import annotations

import itertools
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from player.library import events, playlists
from player.library.db import open_library
from player.playback.null import NullBackend
from player.recommend import EngineHost
from player.session import ListeningSession
from tests.audiogen import tag, write_audio
from tests.scanhelp import scan

ROOT = Path(__file__).resolve().parent.parent
GENRES = ("Jazz", "Techno", "Folk")


@pytest.fixture(scope="module")
def music_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """18 short tracks: 3 genres x 2 artists x 3 tracks, one album per artist."""
    music = tmp_path_factory.mktemp("music")
    for g, genre in enumerate(GENRES):
        for a in range(2):
            artist = f"{genre} Artist {a}"
            for t in range(3):
                path = write_audio(
                    music / f"{genre}-{a}-{t}.flac",
                    seconds=4.0,
                    sr=8000,
                    freq=150.0 + 40 * g + 10 * t,
                )
                tag(
                    path,
                    title=f"{genre} {a}.{t}",
                    artist=artist,
                    album=f"{artist} LP",
                    genre=genre,
                    date=str(1970 + 10 * g),
                )
    return music


@pytest.fixture
def library_path(tmp_path: Path, music_dir: Path) -> Path:
    db_path = tmp_path / "lib.db"
    with open_library(db_path) as db:
        scan(db, music_dir)
    return db_path


def ids_by_title(db_path: Path) -> dict[str, int]:
    with open_library(db_path) as db:
        return {r["title"]: r["id"] for r in db.query("SELECT id, title FROM tracks")}


def genre_of(title: str) -> str:
    return title.split()[0]


@pytest.fixture
def session(library_path: Path) -> Iterator[tuple[ListeningSession, NullBackend]]:
    backend = NullBackend()
    s = ListeningSession(library_path, backend, recommender=EngineHost)
    yield s, backend
    s.close()


def test_up_next_fills_with_reasons_and_no_artist_twice_in_a_row(
    session: tuple[ListeningSession, NullBackend], library_path: Path
) -> None:
    s, _ = session
    ids = ids_by_title(library_path)
    s.play_track(ids["Jazz 0.0"])
    s.wait_idle()
    upnext = s.snapshot().upnext
    assert len(upnext) == 10
    assert all(entry.reason and not entry.pinned for entry in upnext)
    artists = [s.snapshot().now_playing.artist] + [e.track.artist for e in upnext]
    assert all(a != b for a, b in itertools.pairwise(artists))
    # Tags lead when there is no history: the first picks share the genre.
    assert genre_of(upnext[0].track.title) == "Jazz"


def test_skip_pushes_similar_tracks_down_and_like_pulls_them_up(
    session: tuple[ListeningSession, NullBackend], library_path: Path
) -> None:
    s, _ = session
    ids = ids_by_title(library_path)
    s.play_track(ids["Techno 0.0"])
    s.wait_idle()
    before = [e.track.title for e in s.snapshot().upnext]
    techno_before = sum(genre_of(t) == "Techno" for t in before[:3])
    s.next()  # skip straight away: a clear "not this"
    s.wait_idle()
    after = s.snapshot()
    techno_after = sum(genre_of(e.track.title) == "Techno" for e in after.upnext[:3])
    assert techno_after < techno_before

    playing = after.now_playing
    s.like()
    s.wait_idle()
    liked_genre = genre_of(playing.title)
    top = [genre_of(e.track.title) for e in s.snapshot().upnext[:3]]
    assert top.count(liked_genre) >= 2
    with open_library(library_path) as db:
        kinds = [(e.track_id, e.kind) for e in events.all_events(db)]
    assert kinds == [(ids["Techno 0.0"], "skip"), (playing.id, "like")]


def test_pinned_items_stay_put_while_the_tail_is_reranked(
    session: tuple[ListeningSession, NullBackend], library_path: Path
) -> None:
    s, _ = session
    ids = ids_by_title(library_path)
    s.play_track(ids["Folk 0.0"])
    s.enqueue(ids["Techno 1.2"])
    s.wait_idle()
    assert s.snapshot().upnext[0].track.id == ids["Techno 1.2"]
    assert s.snapshot().upnext[0].pinned
    s.dislike(ids["Folk 1.1"])
    s.next()
    s.wait_idle()
    state = s.snapshot()
    assert state.now_playing.id == ids["Techno 1.2"]
    assert ids["Folk 1.1"] not in [e.track.id for e in state.upnext]


def segue(db: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "player", "--db", str(db), *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_segue_upnext_gives_reasons_and_respects_a_dislike(library_path: Path) -> None:
    ids = ids_by_title(library_path)
    result = segue(library_path, "upnext", "--seed", str(ids["Jazz 1.0"]), "-n", "17", "--json")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["seed"]["id"] == ids["Jazz 1.0"]
    assert len(data["upnext"]) == 17
    for entry in data["upnext"]:
        assert set(entry) == {"id", "path", "title", "artist", "reason"}
        assert entry["reason"].strip()
    banned = data["upnext"][0]["id"]
    assert segue(library_path, "log", "dislike", str(banned)).returncode == 0
    again = json.loads(
        segue(library_path, "upnext", "--seed", str(ids["Jazz 1.0"]), "-n", "17", "--json").stdout
    )
    assert banned not in [e["id"] for e in again["upnext"]]
    assert len(again["upnext"]) == 16
    plain = segue(library_path, "upnext", "--seed", str(ids["Jazz 1.0"]), "-n", "3")
    assert plain.stdout.count("—") == 3


def test_segue_play_in_a_pipe(library_path: Path) -> None:
    ids = ids_by_title(library_path)
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "player",
            "--db",
            str(library_path),
            "play",
            str(ids["Folk 0.1"]),
            "--no-audio",
        ],
        cwd=ROOT,
        input="l\nn\nq\n",
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert "▶ Folk Artist 0 – Folk 0.1" in result.stdout
    assert "♥ liked" in result.stdout
    assert "up next:" in result.stdout
    with open_library(library_path) as db:
        kinds = [e.kind for e in events.all_events(db)]
    assert kinds[:2] == ["like", "skip"]


def test_killed_mid_track_keeps_every_finished_event(library_path: Path) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "player", "--db", str(library_path), "play", "--no-audio"],
        cwd=ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    finished = 0
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline and finished < 2:  # 4-second tracks play through
        time.sleep(0.2)
        with sqlite3.connect(library_path, timeout=5) as probe:
            finished = probe.execute("SELECT COUNT(*) FROM events WHERE kind = 'play'").fetchone()[
                0
            ]
    time.sleep(1.0)  # well inside the third track
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert finished >= 2
    with sqlite3.connect(library_path) as check:
        assert check.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        plays = check.execute(
            "SELECT position_ms, duration_ms FROM events WHERE kind = 'play'"
        ).fetchall()
    assert len(plays) >= finished
    assert all(pos == dur == 4000 for pos, dur in plays)


def test_listening_settings_reach_the_recommender(
    session: tuple[ListeningSession, NullBackend], library_path: Path
) -> None:
    s, _ = session
    ids = ids_by_title(library_path)
    s.configure(artist_spacing=0, repeat_window_minutes=30, skip_threshold=10)
    s.play_track(ids["Jazz 0.0"])
    s.wait_idle()
    artists = [s.snapshot().now_playing.artist] + [e.track.artist for e in s.snapshot().upnext]
    # Without spacing, the same artist may follow itself (the album-mates rank first).
    assert any(a == b for a, b in itertools.pairwise(artists))
    engine = s.call(lambda: s._recommender.engine)  # type: ignore[union-attr]
    assert engine.upnext.config.repeat_window_s == 1800.0
    assert engine.upnext.taste.signal_config.skip_seconds == 10.0


def test_the_music_keeps_playing_once_every_track_played_within_the_repeat_window(
    session: tuple[ListeningSession, NullBackend], library_path: Path
) -> None:
    """18 four-second tracks under an hour's repeat window: after one round every track
    is in the window, and the least recently played come back instead of Up Next running
    dry and playback stopping."""
    s, backend = session
    ids = ids_by_title(library_path)
    s.configure(repeat_window_minutes=60)
    s.play_track(ids["Jazz 0.0"])
    s.wait_idle()
    played = []
    for _ in range(45):  # two and a half rounds of the library
        state = s.snapshot()
        assert state.now_playing is not None
        assert len(state.upnext) == 10
        played.append(state.now_playing.id)
        backend.advance(4.01)  # the track ends; the next starts by itself
        s.wait_idle()
    assert set(played) == set(ids.values())
    # Up Next holds the ten played longest ago of the other 17: a track comes back only
    # after at least 7 others played since.
    last_at: dict[int, int] = {}
    for i, track_id in enumerate(played):
        assert i - last_at.get(track_id, -99) >= 8
        last_at[track_id] = i
    with open_library(library_path) as db:
        plays = [e.track_id for e in events.all_events(db) if e.kind == "play"]
    assert plays == played


def test_a_wiped_history_is_forgotten_by_the_running_session(
    session: tuple[ListeningSession, NullBackend], library_path: Path
) -> None:
    """Likes, bans and what the personal model learned go at once; the saved learned
    state beside the DB too."""
    from player.personal_cache import load_state, save_state

    s, _ = session
    ids = ids_by_title(library_path)
    s.play_track(ids["Jazz 0.0"])
    s.like()
    s.dislike(ids["Folk 1.1"])
    s.wait_idle()
    assert s.snapshot().liked
    host = s.call(lambda: s._recommender)  # type: ignore[union-attr]
    others = s.call(lambda: host.recommend(ids["Jazz 0.0"], count=17))
    assert len(others) == 16 and ids["Folk 1.1"] not in dict(others)
    save_state(library_path, {"w": np.ones(3)})
    with open_library(library_path) as db:
        assert events.wipe(db) == 2  # Settings' wipe, on another connection

    s.history_replaced(wiped=True)
    s.wait_idle()
    assert not s.snapshot().liked
    taste = s.call(lambda: host.engine.upnext.taste)
    assert not taste.liked.any() and not taste.banned.any()
    again = s.call(lambda: host.recommend(ids["Jazz 0.0"], count=17))
    assert len(again) == 17 and ids["Folk 1.1"] in dict(again)
    # The state learned from the old log is gone (a fresh model may have saved its own).
    assert "w" not in (load_state(library_path) or {})
    s.like()  # the heart works as before
    s.wait_idle()
    assert s.snapshot().liked


def test_a_history_import_or_wipe_in_a_terminal_reaches_the_running_session(
    session: tuple[ListeningSession, NullBackend], library_path: Path
) -> None:
    """`segue history import` / `wipe` run while the app plays: the next check (the
    app's half-minute tick) takes the log in; the session's own plays and likes, and
    other programs' writes that are not events, change nothing."""
    s, backend = session
    ids = ids_by_title(library_path)
    s.play_track(ids["Jazz 0.0"])
    s.like()
    s.wait_idle()
    backend.advance(4.01)  # a play of its own
    s.wait_idle()
    playing = s.snapshot().now_playing.id
    assert playing != ids["Jazz 0.0"] and not s.snapshot().liked
    host = s.call(lambda: s._recommender)  # type: ignore[union-attr]
    engine = s.call(lambda: host.engine)
    with open_library(library_path) as db:  # another program writes, but no events
        playlists.save_user(db, "Mine", [playing])
    s.check_history()
    s.wait_idle()
    assert s.call(lambda: host.engine) is engine  # nothing new in the log: kept

    with open_library(library_path) as db:  # an import: a like and a ban from elsewhere
        events.append(db, events.NewEvent(playing, "like", ts=time.time()))
        events.append(db, events.NewEvent(ids["Folk 1.1"], "dislike", ts=time.time()))
    s.check_history()
    s.wait_idle()
    assert s.snapshot().liked
    taste = s.call(lambda: host.engine.upnext.taste)
    assert taste.banned.sum() == 1 and taste.liked.sum() == 2

    with open_library(library_path) as db:
        events.wipe(db)
    s.check_history()
    s.wait_idle()
    assert not s.snapshot().liked
    taste = s.call(lambda: host.engine.upnext.taste)
    assert not taste.banned.any() and not taste.liked.any()


def test_a_wipe_in_a_terminal_is_a_wipe_whatever_is_logged_before_the_check(
    session: tuple[ListeningSession, NullBackend], library_path: Path
) -> None:
    """Review: the check took a change for a wipe only when the log was empty then; a
    like in the half-minute before it (or an import, whose reused ids may even bring the
    count and the highest id back to what they were) made the rebuild load the state
    learned from the wiped log."""
    from player.personal_cache import load_state, save_state

    s, backend = session
    ids = ids_by_title(library_path)
    s.play_track(ids["Jazz 0.0"])
    s.like()
    s.wait_idle()
    backend.advance(4.01)
    s.wait_idle()
    save_state(library_path, {"w": np.ones(3)})
    with open_library(library_path) as db:
        events.wipe(db)
    s.like()  # the user likes the next song before the half-minute check
    s.wait_idle()
    s.check_history()
    s.wait_idle()
    assert "w" not in (load_state(library_path) or {})

    # Again, now with an import after the wipe bringing the log's stamp back as it was.
    s.wait_idle()
    with open_library(library_path) as db:
        known = events.stamp(db)
    save_state(library_path, {"w": np.ones(3)})
    with open_library(library_path) as db:
        events.wipe(db)
        for n in range(known[0]):
            events.append(db, events.NewEvent(ids["Folk 1.1"], "play", ts=1e9 + n))
        assert events.stamp(db) == known
    s.check_history()
    s.wait_idle()
    assert "w" not in (load_state(library_path) or {})
    assert not s.snapshot().liked  # the wiped like is gone


def test_an_empty_log_is_not_wiped_again_at_each_write_elsewhere(
    session: tuple[ListeningSession, NullBackend], library_path: Path
) -> None:
    """With nothing logged yet, another program's writes that are not events (a playlist
    saved in a terminal) leave the recommender as it is, not rebuilt as after a wipe."""
    s, _ = session
    ids = ids_by_title(library_path)
    s.wait_idle()
    host = s.call(lambda: s._recommender)  # type: ignore[union-attr]
    engine = s.call(lambda: host.engine)
    with open_library(library_path) as db:
        assert events.count(db) == 0
        playlists.save_user(db, "Mine", [ids["Jazz 0.0"]])
    s.check_history()
    s.wait_idle()
    assert s.call(lambda: host.engine) is engine
