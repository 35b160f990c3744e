"""The app's automatic playlists and taste map follow the library while it runs."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest

from player import playlists as playlist_builds
from player.library import Database, events
from player.ui import playlists_view
from tests.audiogen import tag, write_audio
from tests.scanhelp import scan

DAY = 86400.0


def _write(music: Path, genre: str, count: int, start: int = 0) -> None:
    for i in range(start, start + count):
        tag(
            write_audio(music / genre / f"{i}.wav", seconds=0.3, freq=200.0 + 50 * i),
            title=f"{genre} {i}",
            artist=f"{genre} Band {i % 3}",
            album=f"{genre} Album",
            genre=genre,
        )


@pytest.fixture
def lib(tmp_path: Path) -> tuple[Path, Path, dict[str, int]]:
    music = tmp_path / "music"
    for genre in ("Jazz", "Ambient"):
        _write(music, genre, 6)
    db_path = tmp_path / "library.db"
    with Database(db_path) as db:
        scan(db, music)
        ids = {r["title"]: int(r["id"]) for r in db.query("SELECT id, title FROM tracks")}
        for k in range(6):  # loved long ago: a forgotten favourite
            events.append(
                db, events.NewEvent(ids["Jazz 0"], "play", ts=time.time() - 200 * DAY - k)
            )
    return db_path, music, ids


def _playlist(built: list[dict], key: str) -> list[int]:
    return [t[0] for t in next(p for p in built if p["key"] == key)["tracks"]]


def _map_ids(db_path: Path) -> set[int]:
    with np.load(db_path.with_name("library.tastemap.npz")) as data:
        return {int(i) for i in data["ids"]}


def test_a_rebuild_after_new_plays_and_a_scan_really_rebuilds(lib) -> None:
    db_path, music, ids = lib
    built = playlists_view.build_playlists(str(db_path))
    assert _playlist(built, "forgotten") == [ids["Jazz 0"]]
    # The app's build keeps the taste map the map view draws.
    assert _map_ids(db_path) == set(ids.values())
    # Nothing changed: the last build answers.
    with Database(db_path) as db:
        first = playlist_builds.load_engine(db)[0]
        assert playlist_builds.load_engine(db)[0] is first
        assert not playlist_builds.refresh_engine(db)

    # The favourite is played again (by the session's own connection, say).
    with Database(db_path) as db:
        events.append(db, events.NewEvent(ids["Jazz 0"], "play", ts=time.time()))
    built = playlists_view.build_playlists(str(db_path))
    assert ids["Jazz 0"] not in _playlist(built, "forgotten")

    # A scan adds tracks: the taste map places them at the next refresh.
    _write(music, "Ambient", 3, start=6)
    with Database(db_path) as db:
        scan(db, music)
        added = {int(r["id"]) for r in db.query("SELECT id FROM tracks")} - set(ids.values())
    assert len(added) == 3
    assert playlists_view.update_taste_map(str(db_path))
    assert _map_ids(db_path) == set(ids.values()) | added
    assert not playlists_view.update_taste_map(str(db_path))  # unchanged: nothing to do
