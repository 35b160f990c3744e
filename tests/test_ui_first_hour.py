"""The first hour with the desktop app (offscreen, real widgets, real session): settings
that apply at once, a player that remembers, the everyday controls and menus."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import Qt

pytest.importorskip("pytestqt")

from tests.test_ui import SONGS, App, _isolated, _open, library_db, music  # noqa: F401


def _engine_config(app: App) -> Any:
    session = app.session

    def read() -> Any:
        host = session._recommender._get()
        return host.engine.upnext.config, host.engine.upnext.taste.signal_config

    return session.call(read)


def test_listening_settings_apply_at_once(qtbot: Any, library_db: Path) -> None:  # noqa: F811
    from PySide6.QtWidgets import QLabel

    from player.ui.settings import SettingsDialog

    app = _open(qtbot, library_db)
    try:
        dialog = SettingsDialog(app.window)
        notes = " ".join(label.text() for label in dialog.findChildren(QLabel))
        assert "next start" not in notes and "at once" in notes
        dialog.skip.setValue(12)
        dialog.repeat.setValue(7)
        dialog.spacing.setValue(5)
        dialog.accept()
        app.session.wait_idle()
        config, signals = _engine_config(app)
        assert config.artist_spacing == 5
        assert config.repeat_window_s == 7 * 60
        assert signals.skip_seconds == 12
    finally:
        app.window.shutdown()
        app.window.bridge.close()


def test_the_app_reopens_paused_where_it_was_with_its_queue(
    library_db: Path,  # noqa: F811
) -> None:
    from player.library import open_library
    from player.playback.null import NullBackend
    from player.ui.app import make_session

    with open_library(library_db) as db:
        by_title = {r["title"]: r["id"] for r in db.query("SELECT id, title FROM tracks")}
    first = make_session(str(library_db), backend=NullBackend(), remember=True)
    first.play_track(by_title["Night Walk"])
    first.enqueue(by_title["Paper Moon"])
    first.wait_idle()
    first.seek(0.5)
    first.wait_idle()
    queued = [(e.track.id, e.pinned) for e in first.snapshot().upnext]
    first.close()

    second = make_session(str(library_db), backend=NullBackend(), remember=True)
    try:
        second.restore()
        second.wait_idle()
        state = second.snapshot()
        assert state.now_playing.id == by_title["Night Walk"]
        assert state.play_state == "paused" and state.position == pytest.approx(0.5, abs=0.01)
        assert [(e.track.id, e.pinned) for e in state.upnext] == queued
        assert queued[0] == (by_title["Paper Moon"], True)
    finally:
        second.close()


def test_untagged_tracks_show_under_unknown_album_and_artist(
    qtbot: Any,
    tmp_path: Path,
    music: Path,  # noqa: F811
) -> None:
    import shutil

    from player.library import open_library
    from tests.audiogen import write_audio
    from tests.scanhelp import scan

    folder = tmp_path / "music"
    shutil.copytree(music, folder)
    for i in range(4):  # files with no tags at all
        write_audio(folder / "untagged" / f"rip{i}.flac", seconds=1.0, freq=300 + 20 * i)
    db_path = tmp_path / "library.db"
    with open_library(db_path) as db:
        scan(db, folder)
    app = _open(qtbot, db_path)
    try:
        window = app.window
        window.select_view("albums")
        qtbot.waitUntil(lambda: len(window.albums_model.rows) == 4)
        shown = [window.albums_model.index(r).data() for r in range(4)]
        assert shown == ["Harbour", "Lanterns", "Steel", "Unknown album"]
        tip = window.albums_model.index(3).data(Qt.ItemDataRole.ToolTipRole)
        assert "Unknown artist" in tip and "4 tracks" in tip
        window._album_activated(window.albums_model.index(3))
        qtbot.waitUntil(lambda: app.model.total() == 4)
        assert "Unknown album" in window.chip.text()
        window.clear_filter()
        window.select_view("artists")
        qtbot.waitUntil(lambda: len(window.artists_model.rows) == 4)
        last = window.artists_model.index(3).data()
        assert last.startswith("Unknown artist\n") and last.endswith("4 tracks")
        window._artist_activated(window.artists_model.index(3))
        qtbot.waitUntil(lambda: app.model.total() == 4)
    finally:
        app.window.shutdown()
        app.window.bridge.close()
