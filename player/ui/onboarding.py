"""The first-run page: choose music folders; Segue then scans and analyses them."""

from __future__ import annotations

import os
from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from player.ui.icons import app_icon, icon


def suggested_folders() -> list[str]:
    home = Path.home()
    return [str(p) for p in (home / "Music", home / "music") if p.is_dir()][:1]


def _same_folder(a: str, b: str) -> bool:
    return os.path.realpath(os.path.expanduser(a)) == os.path.realpath(os.path.expanduser(b))


class OnboardingPage(QWidget):
    start = Signal(list)  # the chosen folders

    def __init__(self) -> None:
        super().__init__()
        logo = QLabel()
        logo.setPixmap(app_icon().pixmap(96, 96))
        logo.setAlignment(Qt.AlignmentFlag.AlignCenter)
        title = QLabel("Welcome to Segue")
        title.setObjectName("ViewTitle")
        title.setAlignment(Qt.AlignmentFlag.AlignCenter)
        text = QLabel(
            "Play one song and good music keeps coming. Tell Segue where your music lives: "
            "it reads the tags, then listens to each song in the background to learn how it "
            "sounds. Nothing leaves your computer."
        )
        text.setWordWrap(True)
        text.setAlignment(Qt.AlignmentFlag.AlignCenter)
        text.setObjectName("Small")
        self.folders = QListWidget()
        self.folders.setObjectName("OnboardingFolders")
        self.folders.setMaximumHeight(140)
        for folder in suggested_folders():
            self._add_item(folder)
        self.hint = QLabel("No folder yet: add the folder where your music lives.")
        self.hint.setObjectName("Empty")
        self.hint.setAlignment(Qt.AlignmentFlag.AlignCenter)
        add = QPushButton(icon("folder"), "Add a folder…")
        add.clicked.connect(self._choose)
        self.go = QPushButton("Start listening")
        self.go.setDefault(True)
        self.go.setObjectName("StartButton")
        self.go.clicked.connect(lambda: self.start.emit(self.chosen()))
        buttons = QHBoxLayout()
        buttons.addWidget(add)
        buttons.addStretch(1)
        buttons.addWidget(self.go)
        box = QVBoxLayout()
        box.setSpacing(14)
        box.addStretch(1)
        for w in (logo, title, text, self.folders, self.hint):
            box.addWidget(w)
        box.addLayout(buttons)
        box.addStretch(2)
        outer = QHBoxLayout(self)
        outer.addStretch(1)
        outer.addLayout(box, 3)
        outer.addStretch(1)
        self._update()

    def _add_item(self, folder: str) -> None:
        home = str(Path.home())
        shown = "~" + folder[len(home) :] if folder.startswith(home + "/") else folder
        item = QListWidgetItem(icon("folder"), shown)
        item.setData(Qt.ItemDataRole.UserRole, folder)
        item.setToolTip(folder)
        item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
        item.setCheckState(Qt.CheckState.Checked)
        self.folders.addItem(item)

    def add_folder(self, folder: str) -> None:
        """Add a chosen folder; one already listed (by its path, however it was written
        or shown, "~/Music" included) is checked again instead of listed twice."""
        if folder:
            for i in range(self.folders.count()):
                item = self.folders.item(i)
                if _same_folder(item.data(Qt.ItemDataRole.UserRole), folder):
                    item.setCheckState(Qt.CheckState.Checked)
                    break
            else:
                self._add_item(folder)
        self._update()

    def _choose(self) -> None:
        from player.ui.filedialogs import choose_folder

        # No library folders yet: the dialog opens in the home folder.
        self.add_folder(choose_folder(self, "Choose a music folder", None))

    def chosen(self) -> list[str]:
        return [
            self.folders.item(i).data(Qt.ItemDataRole.UserRole)
            for i in range(self.folders.count())
            if self.folders.item(i).checkState() == Qt.CheckState.Checked
        ]

    def _update(self) -> None:
        has = self.folders.count() > 0
        self.go.setEnabled(has)
        self.folders.setVisible(has)
        rows = max(1, self.folders.count())
        self.folders.setFixedHeight(min(160, rows * (self.folders.sizeHintForRow(0) + 4) + 8))
        self.hint.setVisible(not has)
