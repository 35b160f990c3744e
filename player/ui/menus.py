"""The Playback menu's everyday controls and the Help menu (keyboard shortcuts, About)."""

from __future__ import annotations

from typing import Any

from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QLabel,
    QMenu,
    QMenuBar,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

SEEK_STEP_S = 10.0
VOLUME_STEP = 0.05
_REPEAT_NEXT = {"off": "all", "all": "one", "one": "off"}

# What Segue bundles or links, and under which licence (shown in About).
LICENCES: tuple[tuple[str, str], ...] = (
    ("Segue", "GPL-3.0-or-later"),
    ("Qt 6 / PySide6", "LGPL-3.0"),
    ("libVLC / python-vlc", "LGPL-2.1-or-later"),
    ("FFmpeg (in PyAV)", "LGPL-2.1-or-later"),
    ("PyAV", "BSD-3-Clause"),
    ("mutagen", "GPL-2.0-or-later"),
    ("librosa", "ISC"),
    ("NumPy, SciPy, scikit-learn", "BSD-3-Clause"),
    ("soundfile (libsndfile)", "BSD-3-Clause (LGPL-2.1)"),
    ("sqlite-utils", "Apache-2.0"),
    ("SQLite", "public domain"),
    ("platformdirs, threadpoolctl", "MIT, BSD-3-Clause"),
    ("tqdm", "MPL-2.0 and MIT"),
)


def add_playback_actions(window: Any, menu: QMenu) -> dict[str, QAction]:
    """Stop, Dislike, Shuffle, Repeat, seek ±10 s and volume, each with a shortcut."""
    s = window.session
    bridge = window.bridge

    def state() -> Any:
        return bridge.state

    def act(name: str, text: str, keys: str, slot: Any) -> QAction:
        action = menu.addAction(text, slot)
        action.setObjectName(name)
        action.setShortcut(QKeySequence(keys))
        actions[name] = action
        return action

    def dislike() -> None:
        s.dislike()  # the session's own current track: the bridge's copy may lag

    def volume(step: float) -> None:
        s.set_volume(min(1.0, max(0.0, float(getattr(state(), "volume", 1.0)) + step)))

    actions: dict[str, QAction] = {}
    act("stop", "Stop", "Ctrl+.", s.stop)
    act("dislike", "Dislike", "Ctrl+D", dislike)
    menu.addSeparator()
    act("forward", "Forward 10 s", "Ctrl+Shift+Right", lambda: s.seek_by(SEEK_STEP_S))
    act("back", "Back 10 s", "Ctrl+Shift+Left", lambda: s.seek_by(-SEEK_STEP_S))
    menu.addSeparator()
    shuffle = act("shuffle", "Shuffle", "Ctrl+Shift+S", lambda: None)
    shuffle.setCheckable(True)
    shuffle.triggered.connect(lambda on: s.set_shuffle(bool(on)))
    act(
        "repeat",
        "Repeat: off",
        "Ctrl+R",
        lambda: s.set_repeat(_REPEAT_NEXT.get(str(getattr(state(), "repeat", "off")), "off")),
    )
    menu.addSeparator()
    act("volume_up", "Volume up", "Ctrl+Up", lambda: volume(VOLUME_STEP))
    act("volume_down", "Volume down", "Ctrl+Down", lambda: volume(-VOLUME_STEP))
    act("mute", "Mute", "Ctrl+M", lambda: s.set_muted(not bool(getattr(state(), "muted", False))))

    def follow(kind: str, st: Any) -> None:
        shuffle.blockSignals(True)
        shuffle.setChecked(bool(getattr(st, "shuffle", False)))
        shuffle.blockSignals(False)
        actions["repeat"].setText(f"Repeat: {getattr(st, 'repeat', 'off')}")
        actions["mute"].setText("Unmute" if getattr(st, "muted", False) else "Mute")

    bridge.changed.connect(follow)
    return actions


def add_help_menu(window: Any, bar: QMenuBar) -> QMenu:
    help_ = bar.addMenu("&Help")
    shortcuts = help_.addAction("Keyboard shortcuts", lambda: show_shortcuts(window))
    shortcuts.setShortcut(QKeySequence("F1"))
    help_.addAction("About Segue", lambda: show_about(window))
    return help_


def shortcut_rows(window: Any) -> list[tuple[str, str]]:
    """(what, keys) of every menu action with a shortcut, and the window's own keys."""
    rows: list[tuple[str, str]] = []
    for menu_action in window.menuBar().actions():
        menu = menu_action.menu()
        if menu is None:
            continue
        for action in menu.actions():
            keys = action.shortcut().toString(QKeySequence.SequenceFormat.NativeText)
            if keys:
                name = action.text().replace("&", "").split(":")[0]
                rows.append((f"{menu_action.text().replace('&', '')} › {name}", keys))
    rows += [
        ("Play / pause", "Space"),
        ("Search", QKeySequence(QKeySequence.StandardKey.Find).toString()),
        ("Up Next › remove the selected song", "Delete"),
    ]
    return rows


def show_shortcuts(window: Any) -> QDialog:
    dialog = QDialog(window)
    dialog.setWindowTitle("Keyboard shortcuts")
    rows = shortcut_rows(window)
    table = QTableWidget(len(rows), 2)
    table.setObjectName("Shortcuts")
    table.setHorizontalHeaderLabels(["Action", "Keys"])
    table.verticalHeader().hide()
    table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
    for r, (what, keys) in enumerate(rows):
        table.setItem(r, 0, QTableWidgetItem(what))
        table.setItem(r, 1, QTableWidgetItem(keys))
    table.resizeColumnsToContents()
    table.horizontalHeader().setStretchLastSection(True)
    _finish(dialog, table)
    dialog.resize(460, 520)
    dialog.show()
    window.help_dialog = dialog
    return dialog


def about_text() -> str:
    from player import __version__

    parts = "".join(f"<tr><td>{name}</td><td>{licence}</td></tr>" for name, licence in LICENCES)
    return (
        f"<h3>Segue {__version__}</h3>"
        "<p>A music player whose Up Next comes from a recommender that runs entirely on "
        "your computer. Nothing ever leaves your machine.</p>"
        "<p><b>Licences of the parts it is built from</b></p>"
        f"<table cellspacing='4'>{parts}</table>"
    )


def show_about(window: Any) -> QDialog:
    dialog = QDialog(window)
    dialog.setWindowTitle("About Segue")
    label = QLabel(about_text())
    label.setObjectName("About")
    label.setWordWrap(True)
    _finish(dialog, label)
    dialog.show()
    window.help_dialog = dialog
    return dialog


def _finish(dialog: QDialog, body: QWidget) -> None:
    buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
    buttons.rejected.connect(dialog.reject)
    layout = QVBoxLayout(dialog)
    layout.addWidget(body, 1)
    layout.addWidget(buttons)
