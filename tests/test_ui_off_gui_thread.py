"""Work that can wait on the disk or another process runs off the GUI thread (review 12):
the music folders' states in Settings, "Remove from library", the lock keeper's start."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("pytestqt")

from tests.test_ui import _isolated, _open, library_db, music  # noqa: F401


def _on_gui_thread() -> bool:
    return threading.current_thread() is threading.main_thread()


def test_settings_opens_at_once_while_a_music_folder_hangs(
    qtbot: Any,
    library_db: Path,  # noqa: F811
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from player.library import browse
    from player.library.db import open_library
    from player.scanner import walk
    from player.ui.settings import SettingsDialog
    from player.ui.tasks import TaskPool

    gone = tmp_path / "unplugged"
    with open_library(library_db) as db:
        known = [path for path, _ in browse.root_folders(db)]
    list_folder = walk.folder_state
    mount_answers = threading.Event()
    asked_on_gui_thread: list[bool] = []

    def hanging_folder_state(path: str) -> str:
        asked_on_gui_thread.append(_on_gui_thread())
        mount_answers.wait(10)  # an unreachable network mount
        return list_folder(path)

    monkeypatch.setattr(walk, "folder_state", hanging_folder_state)
    monkeypatch.setattr(
        browse, "root_folders", lambda db: [(p, 0) for p in known] + [(str(gone), 0)]
    )
    pool = TaskPool()
    app = _open(qtbot, library_db, pool=pool)
    try:
        dialog = SettingsDialog(app.window)  # returns while the mount hangs
        assert dialog.folders.count() == len(known) + 1
        mount_answers.set()
        qtbot.waitUntil(lambda: "(offline)" in dialog.folders.item(len(known)).text())
        assert dialog.folders.item(0).text() == known[0]
        assert asked_on_gui_thread and not any(asked_on_gui_thread)
    finally:
        mount_answers.set()
        app.window.shutdown()
        pool.wait()
        app.window.bridge.close()


def test_remove_from_library_writes_off_the_gui_thread_and_reports_a_failure(
    qtbot: Any,
    library_db: Path,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from player.library import track_info
    from player.ui import trackinfo
    from player.ui.tasks import TaskPool

    remove = track_info.remove_from_library
    written_on_gui_thread: list[bool] = []
    fail = True

    def busy_then_fine(db: Any, ids: list[int]) -> int:
        written_on_gui_thread.append(_on_gui_thread())
        if fail:
            raise sqlite3.OperationalError("database is locked")
        return remove(db, ids)

    monkeypatch.setattr(track_info, "remove_from_library", busy_then_fine)
    pool = TaskPool()
    app = _open(qtbot, library_db, pool=pool)
    try:
        qtbot.waitUntil(lambda: app.model.total() > 0)
        total = app.model.total()
        track_id = app.model.track_id(0)
        assert trackinfo.remove_from_library(app.window, [track_id], confirm=False)
        qtbot.waitUntil(lambda: "Could not remove" in app.window.message.text())
        assert "database is locked" in app.window.message.text()
        assert app.model.total() == total  # nothing removed, nothing lost
        fail = False
        trackinfo.remove_from_library(app.window, [track_id], confirm=False)
        qtbot.waitUntil(lambda: app.model.total() == total - 1)
        assert "1 song removed" in app.window.message.text()
        assert written_on_gui_thread == [False, False]
    finally:
        app.window.shutdown()
        pool.wait()
        app.window.bridge.close()


def test_removing_a_music_folder_asks_then_writes_off_the_gui_thread_and_shows_a_failure(
    qtbot: Any,
    library_db: Path,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Another program holds the library's write lock: Remove folder returns at once,
    the dialog says it could not remove, and the folder stays listed; once the lock is
    gone the same click removes it. A "No" to the question changes nothing."""
    from PySide6.QtCore import Qt
    from PySide6.QtWidgets import QMessageBox

    from player.library import browse
    from player.ui.settings import SettingsDialog
    from player.ui.tasks import TaskPool

    questions: list[str] = []
    answer = QMessageBox.StandardButton.No

    def ask(parent: Any, title: str, text: str, *a: Any, **k: Any) -> Any:
        questions.append(text)
        return answer

    monkeypatch.setattr(QMessageBox, "question", ask)
    remove_root = browse.remove_root
    written_on_gui_thread: list[bool] = []

    def watched_remove_root(db: Any, path: str) -> None:
        written_on_gui_thread.append(_on_gui_thread())
        remove_root(db, path)

    monkeypatch.setattr(browse, "remove_root", watched_remove_root)
    pool = TaskPool()
    app = _open(qtbot, library_db, pool=pool)
    other = sqlite3.connect(library_db, isolation_level=None)
    try:
        qtbot.waitUntil(lambda: app.model.total() > 0)
        total = app.model.total()
        dialog = SettingsDialog(app.window)
        folder = dialog.folders.item(0).data(Qt.ItemDataRole.UserRole)
        dialog.folders.setCurrentRow(0)
        dialog.remove_button.click()
        assert questions and "history is kept" in questions[0] and folder in questions[0]
        assert not written_on_gui_thread  # "No": nothing written

        answer = QMessageBox.StandardButton.Yes
        other.execute("BEGIN IMMEDIATE")  # another program holds the write lock
        dialog.remove_button.click()  # returns at once; the write waits on the pool
        assert "Removing" in dialog.folder_status.text()
        assert not dialog.remove_button.isEnabled()
        qtbot.waitUntil(lambda: "Could not remove" in dialog.folder_status.text(), timeout=20_000)
        assert "locked" in dialog.folder_status.text()
        assert dialog.folder_status.isVisibleTo(dialog)
        assert dialog.folders.count() == 1 and dialog.remove_button.isEnabled()
        assert app.model.total() == total

        other.execute("ROLLBACK")
        dialog.remove_button.click()
        qtbot.waitUntil(lambda: dialog.folders.count() == 0, timeout=20_000)
        assert "history is kept" in dialog.folder_status.text()
        qtbot.waitUntil(lambda: app.model.total() == 0)
        assert written_on_gui_thread == [False, False]
        dialog.reject()
    finally:
        other.close()
        app.window.shutdown()
        pool.wait()
        app.window.bridge.close()


def test_the_lock_keeper_starts_without_holding_up_the_window(
    db_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from player.library.db import open_library
    from player.library.lockkeeper import LockKeeper
    from player.ui.app import start_lock_keeper

    with open_library(db_path):
        pass
    start = LockKeeper.start
    ready = threading.Event()
    keepers: list[Any] = []

    def slow_start(path: Any) -> Any:
        ready.wait(10)  # the keeper's "ready" line is slow to come
        keeper = start(path)
        keepers.append(keeper)
        return keeper

    monkeypatch.setattr(LockKeeper, "start", staticmethod(slow_start))
    stop = start_lock_keeper(str(db_path))  # returns before the keeper is ready
    assert not keepers
    ready.set()
    stop()  # at quit: waits for the start, then stops the keeper
    assert len(keepers) == 1 and keepers[0] is not None and not keepers[0].running()
