"""Preferences (QSettings) and the Settings dialog: music folders, listening rules,
analysis, history privacy, export and wipe."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QSettings, Qt, QTimer
from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QMessageBox,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from player.ui.tasks import thread_db, with_error

DEFAULTS: dict[str, Any] = {
    "listening/skip_threshold": 30,  # seconds: stopping earlier counts as a skip
    "listening/repeat_window": 60,  # minutes before a track may come back
    "listening/artist_spacing": 3,  # tracks between two songs by the same artist
    "analysis/workers": 1,
    "analysis/pause_while_playing": False,  # off: one low-priority worker while playing
    "history/paused": False,
    "desktop/notifications": False,
    "desktop/tray": True,
    "onboarded": False,
}


def settings() -> QSettings:
    return QSettings(QSettings.Format.IniFormat, QSettings.Scope.UserScope, "Segue", "Segue")


def get(key: str) -> Any:
    default = DEFAULTS.get(key)
    value = settings().value(key, default)
    if isinstance(default, bool):
        return value in (True, "true", "1", 1)
    if isinstance(default, int):
        try:
            return int(value)
        except (TypeError, ValueError):
            return default
    return value


def put(key: str, value: Any) -> None:
    s = settings()
    s.setValue(key, value)
    s.sync()


def session_options() -> dict[str, Any]:
    return {
        "skip_threshold": get("listening/skip_threshold"),
        "repeat_window_minutes": get("listening/repeat_window"),
        "artist_spacing": get("listening/artist_spacing"),
    }


FOLDER_STATE_POLL_MS = 3000


class SettingsDialog(QDialog):
    def __init__(self, window, parent: QWidget | None = None) -> None:
        super().__init__(parent or window)
        self.window_ = window
        self.setWindowTitle("Segue Settings")
        self.setMinimumWidth(520)

        folders = QGroupBox("Music folders")
        self.folders = QListWidget()
        self.folders.setObjectName("Folders")
        add = QPushButton("Add folder…")
        self.remove_button = remove = QPushButton("Remove")
        rescan = QPushButton("Rescan now")
        add.clicked.connect(self._add)
        remove.clicked.connect(self._remove)
        rescan.clicked.connect(lambda: window.start_scan())
        fl = QVBoxLayout(folders)
        fl.addWidget(self.folders)
        row = QHBoxLayout()
        for b in (add, remove):
            row.addWidget(b)
        row.addStretch(1)
        row.addWidget(rescan)
        fl.addLayout(row)
        self.folder_status = QLabel()
        self.folder_status.setObjectName("Small")
        self.folder_status.setWordWrap(True)
        self.folder_status.hide()
        fl.addWidget(self.folder_status)

        listening = QGroupBox("Listening")
        form = QFormLayout(listening)
        self.skip = QSpinBox(suffix=" s", minimum=1, maximum=600)
        self.skip.setToolTip("Stopping a song before this counts as a skip")
        self.repeat = QSpinBox(suffix=" min", minimum=0, maximum=24 * 60)
        self.repeat.setToolTip("How long before Up Next may bring a song back")
        self.spacing = QSpinBox(minimum=0, maximum=20)
        self.spacing.setToolTip("Songs between two picks by the same artist")
        form.addRow("Skip threshold", self.skip)
        form.addRow("Repeat window", self.repeat)
        form.addRow("Artist spacing", self.spacing)
        note = QLabel("These rules apply at once: Up Next is re-ranked when you press OK.")
        note.setObjectName("Small")
        form.addRow(note)

        analysis = QGroupBox("Audio analysis")
        aform = QFormLayout(analysis)
        self.workers = QSpinBox(minimum=1, maximum=64)
        self.pause_playing = QCheckBox("Pause analysis while music is playing")
        aform.addRow("Analysis workers", self.workers)
        aform.addRow(self.pause_playing)

        privacy = QGroupBox("Privacy and data")
        pl = QVBoxLayout(privacy)
        self.history_paused = QCheckBox("Pause listening history (nothing is recorded)")
        self.notify = QCheckBox("Show a notification when the track changes")
        export = QPushButton("Export listening history…")
        wipe = QPushButton("Wipe listening history…")
        export.clicked.connect(self._export)
        wipe.clicked.connect(self._wipe)
        pl.addWidget(self.history_paused)
        pl.addWidget(self.notify)
        drow = QHBoxLayout()
        drow.addWidget(export)
        drow.addWidget(wipe)
        drow.addStretch(1)
        pl.addLayout(drow)

        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        for w in (folders, listening, analysis, privacy):
            layout.addWidget(w)
        layout.addWidget(buttons)
        self._states_for: list[str] = []
        self._asking = False
        # A drive unplugged (or plugged back) while the dialog is open shows as it happens.
        self.state_timer = QTimer(self)
        self.state_timer.setInterval(FOLDER_STATE_POLL_MS)
        self.state_timer.timeout.connect(self._refresh_states)
        self.state_timer.start()
        self.load()

    def load(self) -> None:
        from player.library.browse import root_folders

        self.folders.clear()
        paths = [path for path, _ in root_folders(thread_db(self.window_.db_path))]
        for path in paths:
            item = QListWidgetItem(path)
            item.setData(Qt.ItemDataRole.UserRole, path)
            self.folders.addItem(item)
        self._refresh_states()
        self.skip.setValue(get("listening/skip_threshold"))
        self.repeat.setValue(get("listening/repeat_window"))
        self.spacing.setValue(get("listening/artist_spacing"))
        self.workers.setValue(get("analysis/workers"))
        self.pause_playing.setChecked(get("analysis/pause_while_playing"))
        self.history_paused.setChecked(get("history/paused"))
        self.notify.setChecked(get("desktop/notifications"))

    def _refresh_states(self) -> None:
        # Listing each folder can hang (an unreachable network mount): on the task pool,
        # the states shown when they come, and never a second ask while one hangs.
        paths = [
            self.folders.item(row).data(Qt.ItemDataRole.UserRole)
            for row in range(self.folders.count())
        ]
        if self._asking and paths == self._states_for:
            return
        self._states_for = paths
        self._asking = True
        self.window_.pool.run_task(lambda: _folder_states(paths), self._show_states)

    def _show_states(self, states: dict[str, str]) -> None:
        from shiboken6 import isValid

        from player.scanner.walk import ONLINE

        if not isValid(self):
            return  # closed meanwhile
        if self._states_for != list(states):
            return  # the list changed meanwhile (a newer ask shows its own)
        self._asking = False
        for row in range(self.folders.count()):
            item = self.folders.item(row)
            path = item.data(Qt.ItemDataRole.UserRole)
            state = states.get(path, ONLINE)
            item.setText(path if state == ONLINE else f"{path}  ({state})")

    def accept(self) -> None:
        put("listening/skip_threshold", self.skip.value())
        put("listening/repeat_window", self.repeat.value())
        put("listening/artist_spacing", self.spacing.value())
        put("analysis/workers", self.workers.value())
        put("analysis/pause_while_playing", self.pause_playing.isChecked())
        put("history/paused", self.history_paused.isChecked())
        put("desktop/notifications", self.notify.isChecked())
        self.window_.apply_settings()
        super().accept()

    def _add(self) -> None:
        from player.ui.filedialogs import choose_folder

        folder = choose_folder(self, "Add a music folder", self.window_.db_path)
        if folder:
            self.window_.start_scan([folder])
            item = QListWidgetItem(folder)
            item.setData(Qt.ItemDataRole.UserRole, folder)
            self.folders.addItem(item)
            self._refresh_states()

    def _remove(self) -> None:
        """Ask, then forget the selected folder on the task pool (the write can wait on
        another program's lock: the window never freezes); how it went shows here."""
        from player.library.browse import remove_root

        item = self.folders.currentItem()
        if item is None or not self.remove_button.isEnabled():
            return
        path = item.data(Qt.ItemDataRole.UserRole)
        answer = QMessageBox.question(
            self,
            "Remove music folder",
            f"Remove {path} from your music folders? Its songs are marked missing: Segue "
            "no longer shows or plays them. The files stay on disk and their listening "
            "history is kept; adding the folder again brings them back.",
        )
        if answer != QMessageBox.StandardButton.Yes:
            return
        db_path = self.window_.db_path
        self.remove_button.setEnabled(False)
        self.folder_status.setText(f"Removing {path}…")
        self.folder_status.show()

        def done(_: None, error: BaseException | None) -> None:
            from shiboken6 import isValid

            if error is not None:
                text = f"Could not remove {path}: {error}"
            else:
                text = f"Removed {path}; its listening history is kept"
                self.window_.library_changed()
            self.window_.message.setText(text)
            if not isValid(self):
                return  # closed meanwhile: the main window's status line says it
            self.remove_button.setEnabled(True)
            self.folder_status.setText(text)
            if error is None:
                self.load()

        self.window_.pool.run_task(lambda: remove_root(thread_db(db_path), path), with_error(done))

    def _export(self) -> None:
        from player.ui.filedialogs import save_file

        target = save_file(
            self,
            "Export listening history",
            self.window_.db_path,
            "segue-history.jsonl",
            "JSON lines (*.jsonl)",
        )
        if target:
            path = self.window_.db_path
            window = self.window_

            def done(n: int | None, error: BaseException | None) -> None:
                if error is None:
                    window.message.setText(f"{n} listening events written to {target}")
                else:  # the old file, if any, is left as it was
                    window.message.setText(f"Export failed: {error}")

            window.pool.run_task(lambda: export_history(path, target), with_error(done))

    def _wipe(self) -> None:
        answer = QMessageBox.question(
            self,
            "Wipe listening history",
            "Delete every play, skip, like and dislike Segue has recorded? Your music files and "
            "library stay. This cannot be undone.",
        )
        if answer == QMessageBox.StandardButton.Yes:
            path = self.window_.db_path
            self.window_.pool.run_task(
                lambda: wipe_history(path),
                lambda n: self.window_.history_wiped(n),
            )


def export_history(db_path: str, target: str) -> int:
    from player.config import refuse_library_file
    from player.history_export import lines_chunks, write_atomically
    from player.library import events

    refuse_library_file(target, db_path)
    logged = list(events.export(thread_db(db_path)))
    write_atomically(target, lines_chunks(logged))
    return len(logged)


def wipe_history(db_path: str) -> int:
    from player.library import events

    return events.wipe(thread_db(db_path))


def _folder_states(paths: list[str]) -> dict[str, str]:
    """Each music folder's state (online, offline, permission denied), in order."""
    from player.scanner.walk import folder_state

    return {path: folder_state(path) for path in paths}
