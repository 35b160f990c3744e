"""``segue FILE...`` and "Open with Segue": the files play, added to the library first
when they are not in it (just those files, not their folder)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("pytestqt")

from PySide6.QtCore import QSettings, QTimer

from tests.audiogen import tag, write_audio
from tests.scanhelp import scan


@pytest.fixture(autouse=True)
def _isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    run = tmp_path / "run"
    run.mkdir(mode=0o700)
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(run))
    QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, str(tmp_path / "cfg"))


@pytest.fixture
def music(tmp_path: Path) -> dict[str, Path]:
    """Two songs in a library folder, three in Downloads (not a library folder)."""
    songs = {
        "Harbour Light": tmp_path / "Music" / "01 Harbour Light.flac",
        "Slow Tide": tmp_path / "Music" / "02 Slow Tide.flac",
        "Found Tape": tmp_path / "Downloads" / "Found Tape.flac",
        "Street Band": tmp_path / "Downloads" / "Street Band.flac",
        "Not Opened": tmp_path / "Downloads" / "Not Opened.flac",
    }
    for i, (title, path) in enumerate(songs.items()):
        write_audio(path, seconds=1.0, freq=220 + 60 * i)
        tag(path, title=title, artist="Ada Lin", album=path.parent.name, genre="Jazz")
    return songs


@pytest.fixture
def library_db(tmp_path: Path, music: dict[str, Path]) -> Path:
    from player.library import open_library

    db_path = tmp_path / "library.db"
    with open_library(db_path) as db:
        scan(db, tmp_path / "Music")
    return db_path


def _tracks(db_path: Path) -> dict[str, tuple[int, Any]]:
    from player.library.db import Database

    with Database(db_path) as db:
        return {r["title"]: (r["id"], r["root_id"]) for r in db.query("SELECT * FROM tracks")}


def test_a_file_argument_starts_the_app_with_that_file(tmp_path: Path, music: Any) -> None:
    from player.cli import build_parser, route_files

    song = str(music["Found Tape"])
    assert route_files([song]) == ["gui", song]
    assert route_files(["--db", "x.db", song, song]) == ["--db", "x.db", "gui", song, song]
    args = build_parser().parse_args(route_files([song, "--no-audio"]))
    assert args.command == "gui" and args.files == [song] and args.no_audio
    # Commands stay commands, even with a file of the same name in the folder.
    os.chdir(tmp_path)
    Path("library").write_text("")
    assert route_files(["library"]) == ["library"]
    assert route_files(["scan", song]) == ["scan", song]
    assert route_files(["no-such-file.mp3"]) == ["no-such-file.mp3"]


def test_opened_files_outside_the_library_are_added_and_queued_in_order(
    qtbot: Any, library_db: Path, music: dict[str, Path]
) -> None:
    from player.playback.null import NullBackend
    from player.ui.app import make_app, make_session
    from player.ui.main_window import MainWindow
    from player.ui.session_bridge import SessionBridge
    from player.ui.single_instance import open_files
    from player.ui.tasks import SyncPool

    make_app()
    bridge = SessionBridge(make_session(str(library_db), backend=NullBackend()))
    window = MainWindow(str(library_db), bridge, SyncPool(), first_run=False)
    qtbot.addWidget(window)
    window.session.set_autofill(False)
    try:
        open_files(
            window, [str(music["Found Tape"]), str(music["Street Band"]), str(music["Slow Tide"])]
        )
        tracks = _tracks(library_db)
        state = lambda: bridge.state  # noqa: E731
        qtbot.waitUntil(
            lambda: (
                state().now_playing is not None
                and state().now_playing.id == tracks["Found Tape"][0]
            )
        )
        qtbot.waitUntil(
            lambda: (
                [e.track.id for e in state().upnext][:2]
                == [tracks["Street Band"][0], tracks["Slow Tide"][0]]
            )
        )
        # Only the opened files were added; they belong to no library folder, so a
        # rescan of the library neither walks Downloads nor marks them missing.
        assert "Not Opened" not in tracks
        assert tracks["Found Tape"][1] is None and tracks["Slow Tide"][1] is not None
        assert window.songs_model.rowCount() == 4
        from player.library.db import Database

        with Database(library_db) as db:
            summary = scan(db)
        assert summary.missing == 0 and summary.added == 0
        assert len(_tracks(library_db)) == 4

        # Opening them again adds nothing twice.
        open_files(window, [str(music["Found Tape"])])
        assert len(_tracks(library_db)) == 4
    finally:
        window.shutdown()
        bridge.close()


def test_segue_with_files_plays_them_in_the_app(
    qtbot: Any, library_db: Path, music: dict[str, Path]
) -> None:
    """The whole path: `segue --db DB FILE FILE` opens the window, adds and plays."""
    from PySide6.QtWidgets import QApplication

    from player.cli import main
    from player.ui.main_window import MainWindow

    seen: dict[str, Any] = {}

    def watch() -> None:
        windows = [w for w in QApplication.topLevelWidgets() if isinstance(w, MainWindow)]
        state = windows[0].bridge.state if windows else None
        if state is not None and state.now_playing is not None and state.upnext:
            seen["playing"] = state.now_playing.title
            seen["next"] = state.upnext[0].track.title
            windows[0].quit()
            return
        QTimer.singleShot(100, watch)

    QTimer.singleShot(100, watch)
    QTimer.singleShot(60000, QApplication.quit)  # never hang the suite
    songs = [str(music["Street Band"]), str(music["Found Tape"])]
    assert main(["--db", str(library_db), *songs, "--no-audio"]) == 0
    assert seen == {"playing": "Street Band", "next": "Found Tape"}
    assert {"Street Band", "Found Tape"} <= set(_tracks(library_db))
