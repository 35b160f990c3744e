"""A first run: the engine and the session on an empty, a one-track and a growing library."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from player.library.db import open_library
from player.playback.null import NullBackend
from player.recommend import EngineHost
from player.session import ListeningSession, SessionUpdate
from recommender.api import LIKE, PLAY, Context, Event
from recommender.collab.signals import EventLog
from recommender.engine import Catalog, Engine
from tests.audiogen import tag, write_audio
from tests.scanhelp import scan


@pytest.mark.parametrize("n", [0, 1, 2])
def test_engine_ranks_and_learns_on_a_tiny_library(n: int) -> None:
    catalog = Catalog(titles=[f"t{i}" for i in range(n)], artists=[None] * n)
    for vectors in (None, np.random.default_rng(0).random((n, 8), dtype=np.float32)):
        engine = Engine.build(
            catalog,
            EventLog.from_events([]),
            vector_items=None if vectors is None else np.arange(n),
            vectors=vectors,
        )
        picks = engine.recommend(Context(current=None), 5)
        assert sorted(p.item for p in picks) == list(range(n))
        if n:
            engine.observe(Event(item=0, ts=1.0, kind=PLAY, session=1, position_s=9, duration_s=9))
            engine.observe(Event(item=0, ts=2.0, kind=LIKE, session=1))
            engine.steer(0, 1.0)
            picks = engine.recommend(Context(current=0, session=(0,), now=3.0), 5)
            assert [p.item for p in picks] == list(range(1, n))
            assert all(p.reason for p in picks)


def _add_tracks(music: Path, db_path: Path, names: list[str]) -> dict[str, int]:
    for i, name in enumerate(names):
        path = write_audio(music / f"{name}.flac", seconds=2.0, sr=8000, freq=200.0 + 30 * i)
        tag(path, title=name, artist=f"Artist {name}", genre="Folk")
    with open_library(db_path) as db:
        scan(db, music)
        return {r["title"]: r["id"] for r in db.query("SELECT id, title FROM tracks")}


def test_session_on_an_empty_then_growing_library_never_errors(tmp_path: Path) -> None:
    db_path = tmp_path / "lib.db"
    music = tmp_path / "music"
    music.mkdir()
    open_library(db_path).close()
    errors: list[str] = []

    def listen(update: SessionUpdate) -> None:
        if update.state.last_error:
            errors.append(update.state.last_error)

    session = ListeningSession(db_path, NullBackend(), recommender=EngineHost)
    session.add_listener(listen)
    try:
        # The app's first moves on an empty library: the slider, settings, next.
        session.set_discover(0.5)
        session.configure(skip_threshold=20, artist_spacing=2)
        session.next()
        session.wait_idle()
        assert session.snapshot().upnext == ()

        ids = _add_tracks(music, db_path, ["one"])  # the first scan finds one track
        session.play_track(ids["one"])
        session.wait_idle()
        state = session.snapshot()
        assert state.now_playing is not None and state.now_playing.id == ids["one"]
        assert state.upnext == ()

        # More tracks arrive while it plays: Up Next takes them in at the next change.
        ids = _add_tracks(music, db_path, ["two", "three", "four"])
        session.play_track(ids["two"])
        session.wait_idle()
        queued = [e.track.id for e in session.snapshot().upnext]
        # "One" just played: the new tracks first; it comes back only after them, as the
        # library holds less than the repeat window (the music never stops).
        assert set(queued[:2]) == {ids["three"], ids["four"]}
        assert queued[2:] == [ids["one"]]
    finally:
        session.close()
    assert errors == []


def test_an_old_error_clears_when_the_user_plays_something(tmp_path: Path) -> None:
    db_path = tmp_path / "lib.db"
    music = tmp_path / "music"
    music.mkdir()
    ids = _add_tracks(music, db_path, ["a", "b"])
    backend = NullBackend()
    session = ListeningSession(db_path, backend, recommender=EngineHost)
    try:
        session.call(lambda: session._publish("error", last_error="could not play x"))
        session.play_track(ids["a"])
        session.wait_idle()
        assert session.snapshot().last_error is None
    finally:
        session.close()
