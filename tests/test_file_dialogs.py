"""Every file dialog of the app, driven like a user would: it opens in the music folder (or
home), and browsing the folder where the library DB sits never costs a logged event.

Why: Qt's stock dialog opened ``lib.db``, ``-wal`` and ``-shm`` to pick their icons, and on
POSIX the close dropped the app's SQLite locks; the next ``segue`` command then deleted the
WAL under the running app (issue 14). Here each dialog browses that folder (list view,
detail view, the file-name completer), then a second process writes and closes, then the
app writes, and a fresh connection finds every event, an intact WAL and integrity "ok".
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("pytestqt")

from PySide6.QtCore import QSettings, QTimer

from tests.audiogen import tag, write_audio
from tests.clihelp import segue
from tests.scanhelp import scan


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A home folder that holds the library DB itself, as with ``segue --db ~/lib.db``."""
    home = tmp_path / "home"
    (home / "Music").mkdir(parents=True)
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, str(tmp_path / "cfg"))
    for i, title in enumerate(("Salt", "Pepper")):
        path = write_audio(home / "Music" / f"{title}.flac", seconds=1.0, freq=300 + 50 * i)
        tag(path, title=title, artist="Spice", album="Kitchen")
    return home


def _browse_and_cancel(qtbot: Any, folder: Path, seen: dict[str, str]) -> None:
    """When the next modal file dialog opens: note where it opened, browse ``folder`` in its
    list, its detail view and its completer (typing the DB's name), then cancel it."""
    from PySide6.QtWidgets import QApplication, QFileDialog, QLineEdit

    steps: list[Callable[[QFileDialog], None]] = [
        lambda d: d.setDirectory(str(folder)),
        lambda d: d.findChild(QLineEdit, "fileNameEdit").setText(f"{folder}/"),
        lambda d: d.findChild(QLineEdit, "fileNameEdit").setText(f"{folder}/li"),
        lambda d: d.setViewMode(QFileDialog.ViewMode.Detail),
        lambda d: d.reject(),
    ]
    poll = QTimer()

    def tick() -> None:
        dialog = QApplication.activeModalWidget()
        if not isinstance(dialog, QFileDialog):
            return
        if "opened_in" not in seen:
            seen["opened_in"] = dialog.directory().absolutePath()
            seen["native"] = str(not dialog.testOption(QFileDialog.Option.DontUseNativeDialog))
        steps.pop(0)(dialog)
        if not steps:
            poll.stop()

    poll.timeout.connect(tick)
    poll.start(400)  # time for Qt's file-info thread to fetch what each step shows
    seen["_timer"] = poll  # type: ignore[assignment]  # keep it alive


def _segue(db_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return segue(*args, db=db_path)


DIALOGS: dict[str, Callable[[Any], None]] = {
    "onboarding: choose a music folder": lambda w: w.welcome._choose(),
    "add a music folder": lambda w: w._add_folder(),
    "import a playlist": lambda w: w.import_playlist(),
    "export a playlist": lambda w: w.playlist_page._export(),
    "settings: add a music folder": lambda w: _settings(w)._add(),
    "settings: export listening history": lambda w: _settings(w)._export(),
}


def _settings(window: Any) -> Any:
    from player.ui.settings import SettingsDialog

    return SettingsDialog(window)


@pytest.mark.parametrize("which", list(DIALOGS))
def test_browsing_the_db_folder_in_a_file_dialog_loses_no_event(
    qtbot: Any, home: Path, which: str
) -> None:
    from player.library import events
    from player.library.db import Database
    from player.playback.null import NullBackend
    from player.ui.app import make_app, make_session
    from player.ui.main_window import MainWindow
    from player.ui.session_bridge import SessionBridge
    from player.ui.tasks import SyncPool, thread_db

    db_path = home / "lib.db"
    with Database(db_path) as db:
        scan(db, home / "Music")
        track_ids = [int(r[0]) for r in db.query("SELECT id FROM tracks ORDER BY id")]
    make_app()
    bridge = SessionBridge(make_session(str(db_path), backend=NullBackend()))
    window = MainWindow(str(db_path), bridge, SyncPool(), first_run=which.startswith("onboard"))
    qtbot.addWidget(window)
    window.show()
    qtbot.waitExposed(window)
    if which == "export a playlist":
        window.add_to_playlist(track_ids, "Spices")
        window.select_view("playlist:user:Spices")
        qtbot.waitUntil(lambda: window.playlist_page.ids() == track_ids, timeout=20000)
    app_db = thread_db(str(db_path))  # the GUI thread's connection, open throughout
    events.append(app_db, events.NewEvent(track_id=track_ids[0], kind="play"))
    assert Path(f"{db_path}-wal").exists()

    seen: dict[str, str] = {}
    _browse_and_cancel(qtbot, home, seen)
    DIALOGS[which](window)

    # Another process writes and closes its connection: were the app's locks gone, it
    # would think itself the last user and delete the WAL under the running app.
    result = _segue(db_path, "log", "like", str(track_ids[1]))
    assert result.returncode == 0, result.stderr
    assert Path(f"{db_path}-wal").exists() and Path(f"{db_path}-shm").exists()
    events.append(app_db, events.NewEvent(track_id=track_ids[1], kind="play"))

    window.shutdown()
    bridge.close()
    app_db.close()
    with Database(db_path) as fresh:
        kinds = sorted(e.kind for e in events.all_events(fresh))
        assert kinds == ["like", "play", "play"]
        assert fresh.integrity_ok()
    want = home if which.startswith("onboard") else home / "Music"
    assert Path(seen["opened_in"]) == want, "dialogs open in the music folder or home"
    assert seen["native"] == "False"


def test_the_dialogs_never_open_a_file_they_list(qtbot: Any, tmp_path: Path) -> None:
    """The root of the bug, checked at the source: listing, typing and the detail view read
    metadata only. (Verified with ``strace -e trace=openat``: Qt's stock dialog opens the
    three DB files read-only; this one opens none.)"""
    from PySide6.QtWidgets import QApplication

    from player.ui.filedialogs import MetadataIconProvider, make_dialog

    QApplication.instance() or QApplication([])
    (tmp_path / "song.flac").write_bytes(b"fLaC")
    (tmp_path / "sub").mkdir()
    dialog = make_dialog(None, "test", str(tmp_path))
    provider = dialog.iconProvider()
    assert isinstance(provider, MetadataIconProvider)
    from PySide6.QtCore import QFileInfo

    os.chmod(tmp_path / "song.flac", 0)  # contents unreadable (to non-root): metadata only
    assert provider.type(QFileInfo(str(tmp_path / "song.flac"))) == "FLAC file"
    assert provider.type(QFileInfo(str(tmp_path / "sub"))) == "Folder"
    assert not provider.icon(QFileInfo(str(tmp_path / "sub"))).isNull()
    dialog.deleteLater()


def test_the_library_db_cannot_be_chosen_as_a_playlist_or_export(home: Path) -> None:
    from player.errors import SegueError
    from player.library.db import Database
    from player.ui import playlists_view, settings

    db_path = home / "lib.db"
    Database(db_path).close()
    size = db_path.stat().st_size
    for path in (db_path, Path(f"{db_path}-wal"), home / "." / "lib.db"):
        with pytest.raises(SegueError, match="library database"):
            playlists_view.import_file(str(db_path), str(path))
        with pytest.raises(SegueError, match="library database"):
            playlists_view.export_file(str(db_path), "x", [], str(path))
        with pytest.raises(SegueError, match="library database"):
            settings.export_history(str(db_path), str(path))
    assert db_path.stat().st_size == size


def test_no_other_path_opens_the_library_db_files(home: Path, segue_env: Path) -> None:
    """A scan of a folder holding the DB, ``segue FILE`` on it and the CLI's file arguments
    never open the DB's files in this process (opening one would drop its locks)."""
    from player.library.db import Database
    from player.scanner.files import add_files

    music = home / "Music"
    db_path = music / "segue.db"  # the DB inside the music folder
    with Database(db_path) as db:
        scan(db, music)
        rows = db.query("SELECT path FROM scan_errors UNION ALL SELECT path FROM tracks")
        assert not [r for r in rows if "segue.db" in str(r[0])]
        opened = add_files(db, [str(db_path), f"{db_path}-wal"])
        assert opened.track_ids == []
        assert all("own library database" in p for p in opened.problems)
    for args in (
        ["history", "import", str(db_path)],
        ["history", "export", "-o", str(db_path)],
        ["playlist", "import", str(db_path)],
    ):
        result = _segue(db_path, *args)
        assert result.returncode == 1
        assert "own library database" in result.stderr.strip().splitlines()[-1]
    with Database(db_path) as db:
        assert db.integrity_ok()


def _stray_close(db_path: Path) -> None:
    """What Qt's icon lookup did: open each of the DB's files read-only and close it,
    which drops every POSIX lock this process holds on them."""
    for suffix in ("", "-wal", "-shm"):
        os.close(os.open(f"{db_path}{suffix}", os.O_RDONLY))


@pytest.mark.parametrize("keeper", [True, False], ids=["with-keeper", "without-keeper"])
def test_the_lock_keeper_saves_the_wal_from_a_stray_close(
    home: Path, segue_env: Path, keeper: bool
) -> None:
    """Defence in depth: should anything in the app's process still open and close the DB's
    files, the keeper process's lock stops another process from deleting the WAL. Without
    it (the control case) the same stray close costs the WAL, and what the app writes next
    is invisible to every other process: the test bites."""
    import json

    from player.library import events
    from player.library.db import Database
    from player.library.lockkeeper import LockKeeper

    db_path = home / "lib.db"
    app = Database(db_path)
    scan(app, home / "Music")
    track = int(app.scalar("SELECT MIN(id) FROM tracks"))
    events.append(app, events.NewEvent(track_id=track, kind="play"))
    held = LockKeeper.start(db_path) if keeper else None
    try:
        assert (held is not None) == keeper
        _stray_close(db_path)
        result = _segue(db_path, "log", "like", str(track))  # writes, then closes
        assert result.returncode == 0, result.stderr
        wal_kept = Path(f"{db_path}-wal").exists()
        events.append(app, events.NewEvent(track_id=track, kind="skip", position_ms=100))
        exported = _segue(db_path, "history", "export")
        seen_outside = [e["kind"] for e in json.loads(exported.stdout)["events"]]
        assert _segue(db_path, "log", "dislike", str(track)).returncode == 0
    finally:
        app.close()
        if held is not None:
            held.stop()
    if not keeper:
        assert not wal_kept and "skip" not in seen_outside  # the app's write went astray
        return
    assert wal_kept and seen_outside == ["play", "like", "skip"]
    assert held is not None and not held.running()
    with Database(db_path) as fresh:
        assert [e.kind for e in events.all_events(fresh)] == ["play", "like", "skip", "dislike"]
        assert fresh.integrity_ok()


def test_the_lock_keeper_runs_for_a_relative_db_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``segue --db lib.db``: the keeper runs from the package's folder, so it must get
    the absolute path, or it silently holds nothing."""
    from player.library.db import Database
    from player.library.lockkeeper import LockKeeper

    Database(tmp_path / "lib.db").close()
    monkeypatch.chdir(tmp_path)
    held = LockKeeper.start("lib.db")
    try:
        assert held is not None and held.running()
    finally:
        if held is not None:
            held.stop()
