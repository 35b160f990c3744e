"""The desktop app, driven like a user would (pytest-qt, offscreen): real widgets, a real
SQLite library scanned from generated audio, the real listening session on the null
playback backend."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("pytestqt")

from PySide6.QtCore import QSettings, Qt, QTimer

from tests.audiogen import tag, write_audio
from tests.scanhelp import scan

ROOT = Path(__file__).resolve().parent.parent

SONGS = [
    # title, artist, album, genre
    ("Blue Morning", "Ada Lin", "Harbour", "Jazz"),
    ("Night Walk", "Ada Lin", "Harbour", "Jazz"),
    ("Slow Tide", "Ada Lin", "Harbour", "Jazz"),
    ("Iron Bridge", "The Rivets", "Steel", "Rock"),
    ("Loud Engine", "The Rivets", "Steel", "Rock"),
    ("Red Signal", "The Rivets", "Steel", "Rock"),
    ("Paper Moon", "Cora Vale", "Lanterns", "Folk"),
    ("Willow Song", "Cora Vale", "Lanterns", "Folk"),
    ("River Stones", "Cora Vale", "Lanterns", "Folk"),
]


@pytest.fixture(autouse=True)
def _isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Settings and the cover cache go to the test's folder, never the user's."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, str(tmp_path / "cfg"))


@pytest.fixture(scope="module")
def music(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("music")
    for i, (title, artist, album, genre) in enumerate(SONGS):
        path = write_audio(
            folder / artist / album / f"{i + 1:02} {title}.flac", seconds=1.0, freq=220 + 40 * i
        )
        tag(path, title=title, artist=artist, album=album, genre=genre, tracknumber=i % 3 + 1)
    return folder


@pytest.fixture
def library_db(tmp_path: Path, music: Path) -> Path:
    from player.library import open_library

    db_path = tmp_path / "library.db"
    with open_library(db_path) as db:
        scan(db, music)
    return db_path


class App:
    def __init__(self, window: Any, backend: Any) -> None:
        self.window, self.backend = window, backend
        self.session = window.session
        self.model = window.songs_model

    def state(self) -> Any:
        return self.window.bridge.state


def _open(
    qtbot: Any,
    db_path: Path,
    pool: Any = None,
    first_run: bool | None = False,
    size: tuple[int, int] | None = (1200, 760),
) -> App:
    from player.playback.null import NullBackend
    from player.ui.app import make_app, make_session
    from player.ui.main_window import MainWindow
    from player.ui.session_bridge import SessionBridge
    from player.ui.tasks import SyncPool

    make_app()
    backend = NullBackend()
    bridge = SessionBridge(make_session(str(db_path), backend=backend))
    window = MainWindow(str(db_path), bridge, pool or SyncPool(), first_run=first_run)
    qtbot.addWidget(window)
    if size is not None:
        window.resize(*size)
    window.show()
    qtbot.waitExposed(window)
    return App(window, backend)


@pytest.fixture
def app(qtbot: Any, library_db: Path) -> Iterator[App]:
    opened = _open(qtbot, library_db)
    yield opened
    opened.window.shutdown()
    opened.window.bridge.close()


def _titles(model: Any) -> list[str]:
    return [model.index(r, 1).data() for r in range(model.rowCount())]


def test_library_shows_every_song_in_artist_album_order(app: App) -> None:
    assert app.model.total() == len(SONGS)
    titles = _titles(app.model)
    assert titles[:3] == ["Blue Morning", "Night Walk", "Slow Tide"]  # Ada Lin, track order
    assert set(titles) == {s[0] for s in SONGS}
    assert app.window.summary.text() == f"{len(SONGS)} songs"


def test_searching_filters_the_view(qtbot: Any, app: App) -> None:
    qtbot.keyClicks(app.window.search, "rivets loud")
    qtbot.waitUntil(lambda: app.model.total() == 1)
    assert _titles(app.model) == ["Loud Engine"]
    app.window.search.clear()
    qtbot.keyClicks(app.window.search, "folk")  # genre
    qtbot.waitUntil(lambda: app.model.total() == 3)
    assert set(_titles(app.model)) == {"Paper Moon", "Willow Song", "River Stones"}
    app.window.search.setText("harbour")  # album
    qtbot.waitUntil(lambda: app.model.total() == 3)
    app.window.search.setText("no such song anywhere")
    qtbot.waitUntil(lambda: app.model.total() == 0)
    assert app.window.stack.currentWidget() is app.window.empty_songs


def _row_of(model: Any, title: str) -> int:
    return _titles(model).index(title)


def _double_click(qtbot: Any, app: App, title: str) -> int:
    view = app.window.table
    row = _row_of(app.model, title)
    rect = view.visualRect(app.model.index(row, 1))
    qtbot.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    qtbot.mouseDClick(view.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    return int(app.model.track_id(row))


def test_double_click_plays_the_track(qtbot: Any, app: App) -> None:
    track_id = _double_click(qtbot, app, "Willow Song")
    qtbot.waitUntil(  # the first play builds the recommender: slow on a loaded machine
        lambda: app.state().now_playing is not None and app.state().now_playing.id == track_id,
        timeout=20000,
    )
    qtbot.waitUntil(lambda: app.window.nowbar.title.text() == "Willow Song")
    assert app.backend.current_path().endswith("Willow Song.flac")
    assert "Cora Vale" in app.window.nowbar.artist.text()
    assert app.model.playing_id == track_id


def test_like_and_skip_reach_the_session_and_up_next_shows_reasons(qtbot: Any, app: App) -> None:
    from player.library import events
    from player.library.db import Database

    pytest.importorskip("player.recommend")
    track_id = _double_click(qtbot, app, "Blue Morning")
    qtbot.waitUntil(lambda: app.window.nowbar.like.isEnabled())
    qtbot.waitUntil(lambda: len(app.state().upnext) > 0, timeout=10000)
    panel = app.window.upnext
    assert panel.list.count() == len(app.state().upnext)
    auto = [e for e in app.state().upnext if not e.pinned]
    assert auto and all(e.reason for e in auto)  # each automatic pick says why
    before = [(e.track.id, e.reason) for e in app.state().upnext]

    qtbot.mouseClick(app.window.nowbar.like, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: app.state().liked)
    assert app.window.nowbar.like.isChecked()

    def written() -> bool:  # the heart shows first; the like is written right after
        with Database(app.window.db_path) as db:
            return track_id in events.verdicts(db)["like"]

    qtbot.waitUntil(written)

    qtbot.mouseClick(app.window.nowbar.next, Qt.MouseButton.LeftButton)  # a skip
    qtbot.waitUntil(lambda: app.state().now_playing.id != track_id)
    qtbot.waitUntil(lambda: [(e.track.id, e.reason) for e in app.state().upnext] != before)
    assert panel.list.count() == len(app.state().upnext)

    def skipped() -> bool:  # the list moves on first; the skip is written right after
        with Database(app.window.db_path) as db:
            return "skip" in [e.kind for e in events.all_events(db) if e.track_id == track_id]

    qtbot.waitUntil(skipped)


def test_dislike_skips_and_a_banned_song_played_on_purpose_can_be_forgiven(
    qtbot: Any, app: App
) -> None:
    from player.library import events
    from player.library.db import Database

    track_id = _double_click(qtbot, app, "Willow Song")
    qtbot.waitUntil(lambda: app.window.nowbar.dislike.isEnabled())
    qtbot.mouseClick(app.window.nowbar.dislike, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(
        lambda: app.state().now_playing is None or app.state().now_playing.id != track_id
    )

    def banned() -> bool:  # what plays moves on first; the dislike is written right after
        with Database(app.window.db_path) as db:
            return track_id in events.verdicts(db)["dislike"]

    qtbot.waitUntil(banned)

    _double_click(qtbot, app, "Willow Song")  # the user insists: it plays, marked banned
    qtbot.waitUntil(
        lambda: (
            app.state().now_playing is not None
            and app.state().now_playing.id == track_id
            and app.state().disliked
        )
    )
    assert app.window.nowbar.dislike.isChecked()
    qtbot.mouseClick(app.window.nowbar.dislike, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not app.state().disliked)
    assert app.state().now_playing.id == track_id  # lifting a ban does not skip
    qtbot.waitUntil(lambda: not banned())


def test_up_next_remove_and_reorder_go_through_the_session(qtbot: Any, app: App) -> None:
    ids = [app.model.track_id(r) for r in range(3)]
    app.session.set_autofill(False)
    for track_id in ids:
        app.session.enqueue(track_id)
    qtbot.waitUntil(lambda: [e.track.id for e in app.state().upnext] == ids)
    panel = app.window.upnext
    assert all(e.pinned for e in app.state().upnext)
    panel.move_entry(2, 0)
    qtbot.waitUntil(lambda: [e.track.id for e in app.state().upnext] == [ids[2], ids[0], ids[1]])
    panel.list.setCurrentRow(1)
    qtbot.mouseClick(panel.remove, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: [e.track.id for e in app.state().upnext] == [ids[2], ids[1]])
    assert panel.list.count() == 2


def test_the_event_loop_keeps_running_during_a_background_scan(
    qtbot: Any, tmp_path: Path, music: Path
) -> None:
    from player.ui.tasks import TaskPool

    big = tmp_path / "big"
    first = next(music.rglob("*.flac")).read_bytes()
    for i in range(150):
        path = big / f"album{i // 10}" / f"{i:03} song.flac"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(first)
        tag(path, title=f"Song {i}", artist=f"Artist {i // 10}", album=f"Album {i // 10}")
    pool = TaskPool(2)
    opened = _open(qtbot, tmp_path / "fresh.db", pool=pool)
    window = opened.window
    ticks = []
    timer = QTimer()
    timer.setInterval(10)
    timer.timeout.connect(lambda: ticks.append(time.monotonic()))
    timer.start()
    started = time.monotonic()
    window.start_scan([str(big)], then_analyse=False)
    assert window.scan_status.isVisible()  # progress and a cancel button in the status bar
    qtbot.waitUntil(lambda: window.scan_job is None, timeout=60000)
    elapsed = time.monotonic() - started
    timer.stop()
    qtbot.waitUntil(lambda: opened.model.total() == 150, timeout=10000)
    # The GUI thread never stalled: the timer fired through the scan (generously counted).
    assert len(ticks) >= 0.2 * elapsed / 0.010
    assert not window.scan_status.isVisible()
    window.shutdown()
    window.bridge.close()
    pool.wait()


def test_survives_an_empty_library(qtbot: Any, tmp_path: Path) -> None:
    opened = _open(qtbot, tmp_path / "empty.db")
    window = opened.window
    assert opened.model.total() == 0
    assert window.stack.currentWidget() is window.empty_songs
    assert "empty" in window.empty_songs.text()
    for view in ("albums", "artists", "taste", "stats", "playlist:discover"):
        window.select_view(view)
    qtbot.mouseClick(window.nowbar.play, Qt.MouseButton.LeftButton)  # nothing to play: no crash
    window.shutdown()
    window.bridge.close()


def test_first_run_offers_folders_then_scans_them(qtbot: Any, tmp_path: Path, music: Path) -> None:
    from player.ui.tasks import TaskPool

    pool = TaskPool(2)
    opened = _open(qtbot, tmp_path / "first.db", pool=pool, first_run=None)
    window = opened.window
    assert window.stack.currentWidget() is window.welcome
    window.welcome.add_folder(str(music))
    assert window.welcome.chosen()[-1] == str(music)
    window.analysis_job = None
    window.start_analysis = lambda: None  # analysis has its own tests; keep this one fast
    qtbot.mouseClick(window.welcome.go, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(
        lambda: window.scan_job is None and opened.model.total() == len(SONGS), timeout=60000
    )
    assert window.stack.currentWidget() is window.table
    window.shutdown()
    window.bridge.close()
    pool.wait()


def test_survives_a_library_whose_folder_vanished(qtbot: Any, tmp_path: Path, music: Path) -> None:
    from player.library import open_library
    from player.ui.tasks import TaskPool

    copy = tmp_path / "usb"
    shutil.copytree(music, copy)
    db_path = tmp_path / "gone.db"
    with open_library(db_path) as db:
        scan(db, copy)
    shutil.rmtree(copy)
    pool = TaskPool(2)
    opened = _open(qtbot, db_path, pool=pool)
    window = opened.window
    qtbot.waitUntil(lambda: opened.model.ready)
    window.start_scan(then_analyse=False)
    qtbot.waitUntil(lambda: window.scan_job is None, timeout=60000)
    assert "offline" in window.message.text()
    # The tracks are kept (with their history), the window shows them and says why not more.
    assert opened.model.total() == len(SONGS)
    window.shutdown()
    window.bridge.close()
    pool.wait()


def insert_tracks(db_path: Path, count: int) -> None:
    """Fills a library with ``count`` rows straight through SQL (fast, for scale tests)."""
    from player.library import open_library

    now = time.time()
    with open_library(db_path) as db, db.transaction() as conn:
        conn.executemany(
            "INSERT INTO tracks (path, size, mtime, fingerprint, format, duration, title, "
            "artist, album, genre, track_number, added_at, updated_at) "
            "VALUES (?, 1000, 0, ?, 'mp3', 200.0, ?, ?, ?, ?, ?, ?, ?)",
            (
                (
                    f"/music/Artist {i // 120:04}/Album {i // 12:05}/{i % 12 + 1:02} {i}.mp3",
                    f"fp{i}",
                    f"Song {i}",
                    f"Artist {i // 120:04}",
                    f"Album {i // 12:05}",
                    ("Rock", "Jazz", "Folk", "Pop")[i % 4],
                    i % 12 + 1,
                    now,
                    now,
                )
                for i in range(count)
            ),
        )


def test_a_hundred_thousand_tracks_scroll_and_search(qtbot: Any, tmp_path: Path) -> None:
    db_path = tmp_path / "big.db"
    insert_tracks(db_path, 100_000)
    opened = _open(qtbot, db_path)
    model, view = opened.model, opened.window.table
    assert model.total() == 100_000
    assert model.rowCount() < 2000  # rows are fetched lazily, not all at once
    for _ in range(5):
        view.scrollToBottom()
        qtbot.wait(1)
    assert model.rowCount() > 1000
    last = model.rowCount() - 1
    assert model.index(last, 1).data().startswith("Song ")
    opened.window.search.setText("Song 99999")
    qtbot.waitUntil(lambda: model.total() == 1)
    assert model.index(0, 1).data() == "Song 99999"
    opened.window.shutdown()
    opened.window.bridge.close()


def test_album_grid_and_artist_list_open_filtered_songs(qtbot: Any, app: App) -> None:
    window = app.window
    window.select_view("albums")
    assert [r.album for r in window.albums_model.rows] == ["Harbour", "Lanterns", "Steel"]
    index = window.albums_model.index(0)
    window._album_activated(index)
    qtbot.waitUntil(lambda: app.model.total() == 3)
    assert window.chip.isVisible() and "Harbour" in window.chip.text()
    qtbot.mouseClick(window.chip, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: app.model.total() == len(SONGS))
    window.select_view("artists")
    assert [r.artist for r in window.artists_model.rows] == ["Ada Lin", "Cora Vale", "The Rivets"]


def test_embedded_cover_art_is_cached_on_disk(tmp_path: Path, music: Path, qapp: Any) -> None:
    from mutagen.flac import FLAC, Picture
    from PySide6.QtGui import QColor, QImage

    from player.ui.covers import thumbnail

    img = QImage(300, 200, QImage.Format.Format_RGB32)
    img.fill(QColor("#e0457b"))
    png = tmp_path / "art.png"
    img.save(str(png))
    song = tmp_path / "song.flac"
    shutil.copy(next(music.rglob("*.flac")), song)
    flac = FLAC(str(song))
    pic = Picture()
    pic.type, pic.mime, pic.data = 3, "image/png", png.read_bytes()
    flac.add_picture(pic)
    flac.save()
    cache = tmp_path / "covers"
    thumb = thumbnail(str(song), cache)
    assert thumb is not None and thumb.width() == thumb.height()
    assert thumb.pixelColor(thumb.width() // 2, thumb.height() // 2).name() == "#e0457b"
    assert len(list(cache.glob("*.png"))) == 1
    # A folder.jpg beside a file without embedded art is used.
    other = tmp_path / "other" / "b.flac"
    other.parent.mkdir()
    shutil.copy(next(music.rglob("*.flac")), other)
    img.save(str(other.parent / "folder.jpg"))
    assert thumbnail(str(other), cache) is not None


def test_settings_are_saved_and_the_window_geometry_is_remembered(
    qtbot: Any, tmp_path: Path, library_db: Path
) -> None:
    from player.ui import settings as prefs
    from player.ui.settings import SettingsDialog

    opened = _open(qtbot, library_db)
    window = opened.window
    dialog = SettingsDialog(window)
    assert dialog.folders.count() == 1
    dialog.skip.setValue(12)
    dialog.spacing.setValue(5)
    dialog.history_paused.setChecked(True)
    dialog.accept()
    assert prefs.get("listening/skip_threshold") == 12
    assert prefs.get("listening/artist_spacing") == 5
    qtbot.waitUntil(lambda: opened.state().history_paused)
    window.resize(790, 570)
    window.close()
    window.bridge.close()
    again = _open(qtbot, library_db, size=None)
    assert (again.window.width(), again.window.height()) == (790, 570)
    again.window.shutdown()
    again.window.bridge.close()


def test_settings_show_a_music_folder_going_offline_while_open(
    qtbot: Any, library_db: Path
) -> None:
    """A drive unplugged while Settings is open: its folder is marked offline without
    reopening the dialog, and online again when it is back."""
    import os

    from player.ui.settings import SettingsDialog

    opened = _open(qtbot, library_db)
    dialog = SettingsDialog(opened.window)
    item = dialog.folders.item(0)
    folder = item.data(Qt.ItemDataRole.UserRole)
    assert item.text() == folder
    os.rename(folder, folder + ".unplugged")
    try:
        qtbot.waitUntil(lambda: item.text().endswith("(offline)"), timeout=10_000)
    finally:
        os.rename(folder + ".unplugged", folder)
    qtbot.waitUntil(lambda: item.text() == folder, timeout=10_000)
    dialog.reject()
    opened.window.shutdown()
    opened.window.bridge.close()


def test_listening_stats_count_the_plays(qtbot: Any, app: App) -> None:
    from player.library import events
    from player.library.db import Database

    ids = [app.model.track_id(r) for r in range(3)]
    with Database(app.window.db_path) as db:
        for n, track_id in enumerate(ids):
            for _ in range(n + 1):
                events.append(db, events.NewEvent(track_id=track_id, kind="play"))
    app.window.select_view("stats")
    stats = app.window.stats
    assert sum(n for _, n in stats.days.days) == 6
    assert stats.artists.items[0].label == "Ada Lin"
    assert stats.tracks.items[0].plays == 3
    assert stats.total.text() == "6 plays"


def test_screenshot_command_and_no_librosa_in_the_gui_process(
    tmp_path: Path, library_db: Path
) -> None:
    target = tmp_path / "shot.png"
    code = (
        "import sys, json\n"
        "from player.ui.app import run\n"
        f"rc = run({str(library_db)!r}, screenshot={str(target)!r}, view='albums', audio=False)\n"
        "print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] in "
        "('librosa', 'numba'))))\n"
        "sys.exit(rc)\n"
    )
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "PYTHONPATH": str(ROOT)}
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120
    )
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout.strip().splitlines()[-1]) == []
    assert target.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_gui_command_rejects_a_bad_screenshot_name(segue_env: Path) -> None:
    from player.cli import main

    assert main(["gui", "--screenshot", "shot.txt"]) == 1


def test_colours_follow_a_dark_system_palette(qtbot: Any, app: App) -> None:
    from PySide6.QtGui import QColor, QPalette
    from PySide6.QtWidgets import QApplication

    qapp = QApplication.instance()
    light = qapp.palette()
    dark = QPalette(light)
    for role, colour in (
        (QPalette.ColorRole.Window, "#202124"),
        (QPalette.ColorRole.Base, "#17181a"),
        (QPalette.ColorRole.WindowText, "#e8e8e8"),
        (QPalette.ColorRole.Text, "#e8e8e8"),
    ):
        dark.setColor(role, QColor(colour))
    try:
        qapp.setPalette(dark)
        qtbot.waitUntil(lambda: _sidebar_is_dark(qapp))
        shot = app.window.grab().toImage()
        # The sidebar is drawn dark, not in the light default.
        assert shot.pixelColor(20, shot.height() // 2).lightness() < 80
    finally:
        qapp.setPalette(light)
        qtbot.waitUntil(lambda: not _sidebar_is_dark(qapp))


def _sidebar_is_dark(qapp: Any) -> bool:
    import re

    from PySide6.QtGui import QColor

    found = re.search(
        r"QWidget#Sidebar, QListWidget#SidebarList \{ background: (#\w+)", qapp.styleSheet()
    )
    return found is not None and QColor(found.group(1)).lightness() < 80


@pytest.fixture
def private_bus() -> Iterator[str]:
    """A private D-Bus session bus for the MPRIS test (skipped where D-Bus is absent)."""
    if shutil.which("dbus-daemon") is None or shutil.which("dbus-send") is None:
        pytest.skip("dbus-daemon is not installed")
    out = subprocess.run(
        ["dbus-daemon", "--session", "--fork", "--print-address=1", "--print-pid=1"],
        capture_output=True,
        text=True,
        timeout=20,
    )
    if out.returncode != 0:
        pytest.skip(f"cannot start a D-Bus daemon: {out.stderr.strip()}")
    address, pid = out.stdout.split()[:2]
    yield address
    os.kill(int(pid), 15)


def test_mpris_controls_and_metadata(qtbot: Any, app: App, private_bus: str) -> None:
    from PySide6.QtDBus import QDBusConnection

    from player.ui.mpris import Mpris

    bus = QDBusConnection.connectToBus(private_bus, "segue-mpris-test")
    mpris = Mpris.register(app.window, bus)
    assert mpris is not None

    def call(*args: str) -> str:
        proc = subprocess.Popen(
            [
                "dbus-send",
                f"--bus={private_bus}",
                "--print-reply",
                "--dest=org.mpris.MediaPlayer2.segue",
                "/org/mpris/MediaPlayer2",
                *args,
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        qtbot.waitUntil(lambda: proc.poll() is not None, timeout=10000)  # the loop serves it
        out, err = proc.communicate()
        assert proc.returncode == 0, err
        return out

    _double_click(qtbot, app, "Night Walk")
    qtbot.waitUntil(lambda: app.state().play_state == "playing")
    prop = "org.freedesktop.DBus.Properties.Get"
    player = "string:org.mpris.MediaPlayer2.Player"
    assert "Playing" in call(prop, player, "string:PlaybackStatus")
    assert "Night Walk" in call(prop, player, "string:Metadata")
    call("org.mpris.MediaPlayer2.Player.PlayPause")
    qtbot.waitUntil(lambda: app.state().play_state == "paused")
    assert "Paused" in call(prop, player, "string:PlaybackStatus")
    call("org.mpris.MediaPlayer2.Player.Next")
    qtbot.waitUntil(lambda: app.state().now_playing.title != "Night Walk")
    QDBusConnection.disconnectFromBus("segue-mpris-test")


def test_analysis_runs_in_a_worker_process_and_feeds_the_taste_map(
    qtbot: Any, tmp_path: Path, music: Path
) -> None:
    from player.library import open_library
    from player.ui.tasks import TaskPool

    small = tmp_path / "small"
    for path in sorted(music.rglob("*.flac"))[:3]:
        target = small / path.relative_to(music)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(path, target)
    db_path = tmp_path / "analyse.db"
    with open_library(db_path) as db:
        scan(db, small)
    pool = TaskPool(2)
    opened = _open(qtbot, db_path, pool=pool)
    window = opened.window
    progress: list[tuple[int, int]] = []
    librosa_before = "librosa" in sys.modules
    window.start_analysis()
    window.analysis_job.progress.connect(lambda d, t: progress.append((d, t)))
    assert window.analysis_status.isVisible()
    with qtbot.waitSignal(window.analysis_job.finished_analysis, timeout=120000) as done:
        pass
    summary, error = done.args
    assert error is None and summary["analysed"] == 3
    assert progress and progress[-1] == (3, 3)
    assert not window.analysis_status.isVisible()
    assert ("librosa" in sys.modules) == librosa_before  # analysed in another process
    window.select_view("taste")
    qtbot.waitUntil(lambda: len(window.taste.map.points) == 3, timeout=10000)
    window.shutdown()
    window.bridge.close()
    pool.wait()


def test_keyboard_shortcuts(qtbot: Any, app: App) -> None:
    window = app.window
    _double_click(qtbot, app, "Iron Bridge")
    qtbot.waitUntil(lambda: app.state().play_state == "playing")
    window.table.setFocus()
    qtbot.keyClick(window.table, Qt.Key.Key_Space)
    qtbot.waitUntil(lambda: app.state().play_state == "paused")
    qtbot.keyClick(window.table, Qt.Key.Key_L, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: app.state().liked)
    qtbot.keyClick(window.table, Qt.Key.Key_Right, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: app.state().now_playing.title != "Iron Bridge")
    qtbot.keyClick(window.table, Qt.Key.Key_Left, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: app.state().now_playing.title == "Iron Bridge")
    qtbot.waitUntil(lambda: app.state().play_state == "playing")
    qtbot.keyClick(window.table, Qt.Key.Key_F, Qt.KeyboardModifier.ControlModifier)
    assert window.search.hasFocus()
    qtbot.keyClicks(window.search, "red signal")  # a space typed in the search stays there
    qtbot.waitUntil(lambda: app.model.total() == 1)
    assert window.search.text() == "red signal"
    app.session.wait_idle()
    assert app.session.snapshot().play_state == "playing"


def test_user_playlists_create_reorder_play_export_import(
    qtbot: Any, app: App, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from PySide6.QtWidgets import QInputDialog

    from player.ui import playlists_view

    window = app.window
    ids = [app.model.track_id(r) for r in (3, 4, 5)]  # Cora Vale's album
    monkeypatch.setattr(QInputDialog, "getText", lambda *a, **k: ("Road trip", True))
    window.add_to_playlist(ids[:2])
    window.add_to_playlist(ids[2:], "Road trip")
    assert window.user_playlists == ["Road trip"]
    assert "playlist:user:Road trip" in window._nav_items
    window.select_view("playlist:user:Road trip")
    page = window.playlist_page
    qtbot.waitUntil(lambda: page.ids() == ids, timeout=20000)
    assert page.table.item(0, 0).text() == "Paper Moon"
    page.move(0, 1)
    qtbot.waitUntil(lambda: page.ids() == [ids[1], ids[0], ids[2]], timeout=20000)
    page.play_all()
    qtbot.waitUntil(lambda: [e.track.id for e in app.state().upnext if e.pinned] == page.ids()[1:])
    assert app.state().now_playing.id == ids[1]
    target = tmp_path / "road.m3u8"
    assert playlists_view.export_file(window.db_path, "Road trip", page.ids(), str(target)) == 3
    assert "Willow Song" in target.read_text()
    name, matched, total = playlists_view.import_file(window.db_path, str(target), "Copy")
    assert (name, matched, total) == ("Copy", 3, 3)
    assert playlists_view.user_tracks(window.db_path, "Copy") == page.ids()
    window.select_view("playlist:discover")
    qtbot.waitUntil(lambda: page.title.text() == "Discover" and page.built_at > 0, timeout=20000)


def test_a_smart_playlist_saved_in_a_terminal_shows_in_the_sidebar_and_plays(
    qtbot: Any, app: App
) -> None:
    """`segue smart genre:jazz --save "Only jazz"` while the app runs: the next check
    lists it (its query in the tooltip); it opens with its tracks and plays; it is not
    offered for "Add to playlist", cannot be renamed or edited, and can be deleted."""
    from player.library import Database, playlists

    window = app.window
    window.check_library()
    with Database(window.db_path) as db:  # the CLI's connection
        playlists.save_smart(db, "Only jazz", "genre:jazz")
    window.check_library()  # the half-minute tick
    key = "playlist:user:Only jazz"
    qtbot.waitUntil(lambda: key in window._nav_items)
    assert "genre:jazz" in window._nav_items[key].toolTip()
    assert window.user_playlists == []
    window.select_view(key)
    page = window.playlist_page
    jazz = {app.model.track_id(r) for r in range(3)}  # Ada Lin's album
    qtbot.waitUntil(lambda: set(page.ids()) == jazz, timeout=20000)
    assert "genre:jazz" in page.how.text()
    assert page.rename_button.isHidden() and not page.delete_button.isHidden()
    page.play_all()
    qtbot.waitUntil(lambda: app.state().now_playing is not None)
    assert app.state().now_playing.id == page.ids()[0]
    qtbot.waitUntil(lambda: [e.track.id for e in app.state().upnext if e.pinned] == page.ids()[1:])


def test_clicking_the_seek_bar_seeks(qtbot: Any, app: App) -> None:
    bar = app.window.nowbar
    _double_click(qtbot, app, "Red Signal")
    qtbot.waitUntil(lambda: bar.seek.maximum() > 0)
    qtbot.mouseClick(bar.seek, Qt.MouseButton.LeftButton, pos=bar.seek.rect().center())
    app.session.wait_idle()
    position = app.session.snapshot().position
    assert 0.3 < position < 0.7  # the middle of a one-second song
    qtbot.waitUntil(lambda: bar.elapsed.text() == "0:00" and bar.seek.value() > 0)


def test_tray_controls_and_track_change_notification(
    qtbot: Any, app: App, monkeypatch: pytest.MonkeyPatch
) -> None:
    from player.ui import settings as prefs
    from player.ui.app import Tray

    tray = Tray(app.window)
    shown: list[tuple[str, str]] = []
    monkeypatch.setattr(
        tray.icon, "showMessage", lambda title, text, *a: shown.append((title, text))
    )
    prefs.put("desktop/notifications", True)
    _double_click(qtbot, app, "Slow Tide")
    qtbot.waitUntil(lambda: tray.title.text() == "Slow Tide — Ada Lin")
    assert shown == [("Slow Tide", "Ada Lin")]
    actions = {a.text(): a for a in tray.menu.actions()}
    actions["Play / Pause"].trigger()
    qtbot.waitUntil(lambda: app.state().play_state == "paused")
    actions["Next"].trigger()
    qtbot.waitUntil(lambda: app.state().now_playing.title != "Slow Tide")
    assert len(shown) == 2  # one notification per track change


def test_history_export_and_wipe_from_settings(
    qtbot: Any, app: App, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from PySide6.QtWidgets import QMessageBox

    from player.library import events
    from player.library.db import Database
    from player.ui import filedialogs
    from player.ui.settings import SettingsDialog

    with Database(app.window.db_path) as db:
        for r in range(3):
            events.append(db, events.NewEvent(track_id=app.model.track_id(r), kind="play"))
    target = tmp_path / "history.jsonl"
    monkeypatch.setattr(filedialogs, "save_file", lambda *a, **k: str(target))
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: QMessageBox.StandardButton.Yes)
    dialog = SettingsDialog(app.window)
    dialog._export()
    assert len(target.read_text().splitlines()) == 3
    assert json.loads(target.read_text().splitlines()[0])["kind"] == "play"
    assert "3 listening events written" in app.window.message.text()
    gone = tmp_path / "gone" / "history.jsonl"  # a failure is said in the status line
    monkeypatch.setattr(filedialogs, "save_file", lambda *a, **k: str(gone))
    dialog._export()
    assert "Export failed" in app.window.message.text()
    assert "does not exist" in app.window.message.text()
    dialog._wipe()
    with Database(app.window.db_path) as db:
        assert events.count(db) == 0
    assert "wiped" in app.window.message.text()


def test_wiping_history_in_settings_reaches_the_running_app(
    qtbot: Any, app: App, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The heart goes out, the disliked song may play again and Up Next is re-ranked at
    once, not at the next start; the question says dislikes go too."""
    from PySide6.QtWidgets import QMessageBox

    from player.ui.settings import SettingsDialog

    playing, banned = app.model.track_id(0), app.model.track_id(3)
    app.session.play_track(playing)
    app.session.like()
    app.session.dislike(banned)
    qtbot.waitUntil(lambda: app.state().liked and len(app.state().upnext) == 7)
    assert banned not in [e.track.id for e in app.state().upnext]
    asked: list[str] = []

    def question(_parent: Any, _title: str, text: str, *a: Any) -> Any:
        asked.append(text)
        return QMessageBox.StandardButton.Yes

    monkeypatch.setattr(QMessageBox, "question", question)
    SettingsDialog(app.window)._wipe()
    assert "dislike" in asked[0]
    qtbot.waitUntil(lambda: not app.state().liked)
    qtbot.waitUntil(lambda: len(app.state().upnext) == 8)
    assert app.state().now_playing.id == playing
    assert banned in [e.track.id for e in app.state().upnext]
    assert "wiped" in app.window.message.text()


def test_library_views_follow_a_terminal_scan_and_an_analysis(
    qtbot: Any, app: App, tmp_path: Path
) -> None:
    """A `segue scan` in a terminal shows at the next half-minute check (no search
    needed); what an analysis heard shows in the list as soon as it finishes."""
    import numpy as np

    from player.library import open_library
    from player.library.features import FeatureStore, StoredFeatures

    window, model = app.window, app.model
    qtbot.waitUntil(lambda: model.total() == len(SONGS))
    window.check_library()  # the first check only takes note
    new = tmp_path / "more"
    tag(write_audio(new / "hum.flac", seconds=1.0), title="Untagged Hum", artist="Nobody")
    with open_library(window.db_path) as db:  # another program's connection
        scan(db, new)
        track_id, fingerprint = db.query(
            "SELECT id, fingerprint FROM tracks WHERE title = 'Untagged Hum'"
        )[0]
    window.check_library()  # the timer's tick
    qtbot.waitUntil(lambda: model.total() == len(SONGS) + 1)
    qtbot.waitUntil(lambda: window.summary.text() == f"{len(SONGS) + 1} songs")
    row = model.row_of(track_id)
    assert row is not None and model.data(model.index(row, 4)) == ""

    with open_library(window.db_path) as db:  # the analysis process writes its results
        FeatureStore(db).save(
            2,
            [
                StoredFeatures(
                    track_id,
                    fingerprint,
                    np.zeros(8, np.float32),
                    *([0.0] * 2),
                    0,
                    0,
                    *([0.0] * 6),
                    heard_tags="jazz=0.71;mellow=0.40",
                )
            ],
            [],
        )
    window._analysis_finished({"analysed": 1, "failed": 0}, None)
    qtbot.waitUntil(lambda: model.data(model.index(row, 4)) == "heard: jazz, mellow")


def test_icons_are_sharp_on_high_dpi_screens(qapp: Any) -> None:
    from player.ui.icons import app_icon, pixmap

    sharp = pixmap("play", 24, "#000000", ratio=2.0)
    assert (sharp.width(), sharp.height()) == (48, 48)
    assert sharp.devicePixelRatio() == 2.0
    assert app_icon().availableSizes()[-1].width() == 512


def test_taste_map_draws_the_saved_map_and_a_click_starts_a_radio(qtbot: Any, app: App) -> None:
    import numpy as np

    from player.ui.charts import tastemap_path
    from recommender.content.tastemap import TasteMap

    ids = [app.model.track_id(r) for r in range(len(SONGS))]
    xy = np.array([[(i % 3) - 1.0, (i // 3) - 1.0] for i in range(len(ids))], dtype=np.float32)
    # A map the recommender saved (its own format: the app keeps it up to date and
    # leaves the tracks it knows where they are).
    TasteMap(
        ids=np.array(ids, dtype=np.int64),
        xy=xy,
        region=np.zeros(len(ids), dtype=np.int64),
        region_xy=np.array([[0.0, 0.0]], dtype=np.float32),
        region_labels=["Jazz & Folk"],
        landmark_ids=np.array(ids, dtype=np.int64),
        landmark_xy=xy,
        scale=1.0,
    ).save(tastemap_path(app.window.db_path))
    window = app.window
    window.select_view("taste")
    taste_map = window.taste.map
    qtbot.waitUntil(lambda: len(taste_map.points) == len(SONGS))
    assert taste_map.regions[0][0] == "Jazz & Folk"
    assert {p.genre for p in taste_map.points} == {"Jazz", "Rock", "Folk"}
    corner = taste_map._pos(0)  # the first track sits in a corner of the map
    qtbot.mouseClick(taste_map, Qt.MouseButton.LeftButton, pos=corner.toPoint())
    qtbot.waitUntil(lambda: app.state().now_playing is not None)
    assert app.state().now_playing.id == taste_map.points[0].track_id
