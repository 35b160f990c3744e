"""The first hour with the desktop app (offscreen, real widgets, real session): settings
that apply at once, a player that remembers, the everyday controls and menus."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import Qt

pytest.importorskip("pytestqt")

from tests.test_ui import (  # noqa: F401
    SONGS,
    App,
    _isolated,
    _open,
    app,
    library_db,
    music,
)


def _engine_config(app: App) -> Any:  # noqa: F811
    session = app.session

    def read() -> Any:
        host = session._recommender._get()
        return host.engine.upnext.config, host.engine.upnext.taste.signal_config

    return session.call(read)


def test_listening_settings_apply_at_once(qtbot: Any, library_db: Path) -> None:  # noqa: F811
    from PySide6.QtWidgets import QLabel

    from player.ui.settings import SettingsDialog

    app = _open(qtbot, library_db)  # noqa: F811
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

    from player.ui import settings as prefs

    second = make_session(str(library_db), backend=NullBackend(), remember=True)
    try:
        second.restore()
        second.configure(**prefs.session_options())  # what the window does at start
        second.set_discover(second.snapshot().discover)
        second.wait_idle()
        state = second.snapshot()
        assert state.now_playing.id == by_title["Night Walk"]
        assert state.play_state == "paused" and state.position == pytest.approx(0.5, abs=0.01)
        assert [(e.track.id, e.pinned) for e in state.upnext] == queued  # not re-ranked
        assert queued[0] == (by_title["Paper Moon"], True)
    finally:
        second.close()


def test_the_bridge_never_misses_a_restore_that_lands_while_it_subscribes(
    qtbot: Any,
    library_db: Path,  # noqa: F811
) -> None:
    """Review 16: the bridge took its snapshot before subscribing, so a restored track
    announced in between never reached the window."""
    from player.library import open_library
    from player.playback.null import NullBackend
    from player.ui.app import make_app, make_session
    from player.ui.session_bridge import SessionBridge

    make_app()
    with open_library(library_db) as db:
        track_id = db.scalar("SELECT id FROM tracks WHERE title = 'Night Walk'")
    first = make_session(str(library_db), backend=NullBackend(), remember=True)
    first.play_track(track_id)
    first.close()

    session = make_session(str(library_db), backend=NullBackend(), remember=True)
    snapshot = session.snapshot

    def snapshot_while_the_restore_lands() -> Any:
        session.snapshot = snapshot  # once: the session's own updates call it too
        state = snapshot()  # taken before the restored track is announced
        session.restore()
        session.wait_idle()
        return state

    session.snapshot = snapshot_while_the_restore_lands
    bridge = SessionBridge(session)
    try:
        qtbot.waitUntil(
            lambda: bridge.state.now_playing is not None and bridge.state.now_playing.id == track_id
        )
    finally:
        bridge.close()


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
    app = _open(qtbot, db_path)  # noqa: F811
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


def _menu_of(window: Any, row: int = 0) -> Any:
    rect = window.table.visualRect(window.songs_model.index(row, 1))
    menu = window.song_menu(rect.center())
    assert menu is not None
    return menu


def _action(menu: Any, text: str) -> Any:
    for action in menu.actions():
        if action.text() == text:
            return action
    raise AssertionError(f"no '{text}' in {[a.text() for a in menu.actions()]}")


def test_track_menu_song_info_folder_album_artist_and_remove(
    qtbot: Any,
    app: App,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
    music: Path,  # noqa: F811
) -> None:
    from PySide6.QtGui import QDesktopServices

    from player.library import events, open_library
    from player.recommend import EngineHost

    window = app.window
    track_id = app.model.track_id(0)  # Ada Lin – Blue Morning, Harbour
    app.session.play_track(track_id)
    app.session.wait_idle()
    app.session.next()
    app.session.wait_idle()
    menu = _menu_of(window)

    _action(menu, "Song info…").trigger()
    info = window.song_info.values
    assert info["Tags/Title"] == "Blue Morning" and info["Tags/Album"] == "Harbour"
    assert info["File/Path"].endswith("01 Blue Morning.flac")
    assert info["File/Format"].startswith("flac")
    assert info["File/Bitrate"].endswith("kbit/s")
    assert "ReplayGain/ReplayGain" in info or "ReplayGain/Track gain" in info
    assert info["Listening/Play count"] == "0 plays" and info["Listening/Skips"] == "1 skip"
    assert info["Listening/Last played"] != "never"
    assert "How it sounds/Analysis" in info  # not analysed in this test
    window.song_info.close()

    opened: list[str] = []
    monkeypatch.setattr(QDesktopServices, "openUrl", lambda url: opened.append(url) or True)
    _action(menu, "Show in folder").trigger()
    assert [u.toLocalFile() for u in opened] == [str(music / "Ada Lin" / "Harbour")]

    _action(menu, "Go to artist").trigger()
    qtbot.waitUntil(lambda: app.model.total() == 3)
    assert window.chip.text() == "Artist: Ada Lin"
    window.clear_filter()
    qtbot.waitUntil(lambda: app.model.total() == len(SONGS))
    _action(menu, "Go to album").trigger()
    qtbot.waitUntil(lambda: app.model.total() == 3)
    assert window.chip.text() == "Album: Harbour"
    window.clear_filter()
    qtbot.waitUntil(lambda: app.model.total() == len(SONGS))

    from player.ui import trackinfo

    assert trackinfo.remove_from_library(window, [track_id], confirm=False)
    qtbot.waitUntil(lambda: app.model.total() == len(SONGS) - 1)
    with open_library(window.db_path) as db:
        assert len([e for e in events.all_events(db) if e.track_id == track_id]) >= 1
        host = EngineHost(db)
        picks = host.recommend(None, count=20)
        assert track_id not in {t for t, _ in picks} and len(picks) == len(SONGS) - 1
    assert (music / "Ada Lin" / "Harbour" / "01 Blue Morning.flac").exists()


def test_playback_menu_has_every_control_with_a_shortcut(
    qtbot: Any,
    app: App,  # noqa: F811
) -> None:
    window = app.window
    actions = window.playback_actions
    wanted = {"stop", "dislike", "shuffle", "repeat", "forward", "back", "volume_up"}
    assert wanted <= set(actions) and "volume_down" in actions and "mute" in actions
    assert all(not a.shortcut().isEmpty() for a in actions.values())
    app.session.play_track(app.model.track_id(0))
    app.session.wait_idle()
    app.session.set_volume(0.5)
    app.backend.seek(0.4)
    actions["back"].trigger()  # back 10 s from 0.4 s: the start
    app.session.wait_idle()
    assert app.backend.position() == 0.0
    actions["forward"].trigger()  # forward 10 s in a 1 s song: its end, the next song
    first = app.model.track_id(0)
    qtbot.waitUntil(lambda: getattr(app.state().now_playing, "id", first) != first)
    assert app.state().now_playing is not None
    actions["volume_up"].trigger()
    qtbot.waitUntil(lambda: app.state().volume == pytest.approx(0.55))
    actions["shuffle"].trigger()
    qtbot.waitUntil(lambda: app.state().shuffle)
    actions["repeat"].trigger()
    qtbot.waitUntil(lambda: app.state().repeat == "all")
    assert actions["repeat"].text() == "Repeat: all"
    actions["mute"].trigger()
    qtbot.waitUntil(lambda: app.state().muted)
    app.session.play_track(app.model.track_id(3))
    app.session.wait_idle()
    actions["stop"].trigger()
    app.session.wait_idle()
    assert app.backend.state().value != "playing"
    assert app.session.snapshot().now_playing.id == app.model.track_id(3)  # still shown
    app.session.toggle_pause()  # play again: from the start
    app.session.wait_idle()
    assert app.backend.state().value == "playing"
    actions["dislike"].trigger()
    app.session.wait_idle()
    assert app.session.snapshot().now_playing.id != app.model.track_id(3)


def test_help_lists_the_shortcuts_and_about_names_version_and_licences(
    app: App,  # noqa: F811
) -> None:
    from player import __version__
    from player.ui import menus

    window = app.window
    help_menu = next(a.menu() for a in window.menuBar().actions() if a.text() == "&Help")
    texts = [a.text() for a in help_menu.actions()]
    assert texts == ["Keyboard shortcuts", "About Segue"]
    help_menu.actions()[0].trigger()
    table = window.help_dialog.findChild(object, "Shortcuts")
    rows = {table.item(r, 0).text(): table.item(r, 1).text() for r in range(table.rowCount())}
    assert rows["Playback › Stop"] and rows["Playback › Forward 10 s"]
    assert rows["Play / pause"] == "Space"
    help_menu.actions()[1].trigger()
    about = window.help_dialog.findChild(object, "About").text()
    assert f"Segue {__version__}" in about and "LGPL-3.0" in about and "GPL-3.0" in about
    assert len(menus.LICENCES) >= 10


def test_map_labels_have_no_dangling_dash_and_the_map_fills_the_view() -> None:
    import numpy as np

    from player.ui.charts import MapPoint, _spread, genre_regions, point_label

    assert point_label(MapPoint(1, "Song", "", "Jazz", 0)) == "Song"
    assert point_label(MapPoint(1, "", "Band", "Jazz", 0)) == "Band"
    assert point_label(MapPoint(1, "Song", "Band", "Jazz", 0)) == "Song — Band"
    assert point_label(MapPoint(1, "", "", "Jazz", 0)) == "Untitled"
    rng = np.random.default_rng(1)
    xy = np.vstack([rng.normal(size=(200, 2)) * 0.05, [[40.0, -30.0]]])  # one far outlier
    spread, _, _ = _spread(xy)
    inner = spread[:200]
    assert inner[:, 0].max() - inner[:, 0].min() > 1.5  # the crowd fills the width
    assert np.abs(spread).max() <= 1.05  # the outlier is clipped at the edge
    genres = ["Jazz", "Rock", "Folk", "Unknown"]
    points = [MapPoint(i, "t", "a", genres[i % 4], 0) for i in range(40)]
    regions = genre_regions(points, rng.normal(size=(40, 2)))
    assert [name for name, _ in regions] == ["Jazz", "Rock", "Folk"]


def test_a_taste_map_of_a_small_library_has_several_regions() -> None:
    import numpy as np

    from recommender.content.tastemap import MapConfig, _regions

    rng = np.random.default_rng(0)
    xy = rng.normal(size=(120, 2)).astype(np.float32)
    _labels, centres, names = _regions(xy, ["jazz"] * 60 + ["rock"] * 60, MapConfig())
    assert centres.shape[0] >= 4 and len(names) == centres.shape[0]


def test_a_narrow_window_clips_nothing(qtbot: Any, library_db: Path) -> None:  # noqa: F811
    from player.ui.charts import play_axis

    app = _open(qtbot, library_db, size=(800, 560))  # noqa: F811
    try:
        window = app.window
        qtbot.waitUntil(lambda: window.width() == 800)
        app.session.play_track(app.model.track_id(0))
        qtbot.waitUntil(lambda: window.upnext.list.count() > 0)
        # The sidebar never scrolls sideways; long names elide.
        assert not window.nav.horizontalScrollBar().isVisible()
        assert window.nav.horizontalScrollBarPolicy() == Qt.ScrollBarPolicy.ScrollBarAlwaysOff
        # Up Next's scrollbar is a thin, styled one (not a stretched black block).
        bar = window.upnext.list.verticalScrollBar()
        assert bar.sizeHint().width() <= 12
        # Every song column is on screen: title, artist, album and time fit the table.
        hh = window.table.horizontalHeader()
        shown = [c for c in range(hh.count()) if not window.table.isColumnHidden(c)]
        assert window.table.isColumnHidden(4)  # genre makes room in a narrow window
        right = max(hh.sectionViewportPosition(c) + hh.sectionSize(c) for c in shown)
        assert right <= window.table.viewport().width() + 1
        assert all(hh.sectionSize(c) >= 40 for c in shown)
        # The player bar still shows the song's title, not three letters of it.
        assert window.nowbar.title.width() >= 100
        # Discover: long reasons wrap whole.
        window.select_view("playlist:discover")
        page = window.playlist_page
        qtbot.waitUntil(lambda: page.table.rowCount() > 0, timeout=10000)
        page._fit()
        for row in range(page.table.rowCount()):
            needed = page.table.sizeHintForRow(row)
            assert page.table.rowHeight(row) >= needed
        # Whole play counts on the stats axis.
        for peak in (1, 3, 7, 13, 120):
            top, ticks = play_axis(peak)
            assert top >= peak and all(isinstance(t, int) for t in ticks) and len(ticks) <= 5
    finally:
        app.window.shutdown()
        app.window.bridge.close()


def test_up_next_entries_have_the_track_menu_too(
    qtbot: Any,
    app: App,  # noqa: F811
) -> None:
    window = app.window
    app.session.play_track(app.model.track_id(0))
    qtbot.waitUntil(lambda: window.upnext.list.count() > 0)
    panel = window.upnext
    rect = panel.list.visualItemRect(panel.list.item(0))
    menu = panel.menu_for(rect.center())
    texts = [a.text() for a in menu.actions()]
    assert {"Play now", "Song info…", "Show in folder", "Go to album", "Go to artist"} <= set(texts)
    _action(menu, "Go to artist").trigger()
    qtbot.waitUntil(lambda: window.chip.isVisible())
    assert window.chip.text().startswith("Artist: ")
