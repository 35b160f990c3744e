"""Playlists: Discover, Forgotten favourites, the automatic mixes, and the user's own.

Automatic playlists are built by the recommender's playlist engine from the whole library
(a second or more on a large one), so they are built on a worker thread when the user
opens them and kept for a few minutes. Every track says why it is there.
"""

from __future__ import annotations

import time
from typing import Any

from PySide6.QtCore import QEvent, Qt
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from player.text import plural
from player.ui.icons import icon, muted_text
from player.ui.tasks import thread_db, with_error

CACHE_SECONDS = 300
TITLES = {"discover": "Discover", "forgotten": "Forgotten favourites", "mixes": "Your mixes"}


def build_playlists(db_path: str) -> list[dict[str, Any]]:
    """Runs on a worker thread: every automatic and saved playlist, with its tracks."""
    from player.errors import SegueError
    from player.library import playlists
    from player.library.browse import songs
    from player.playlists import as_tracks, automatic, load_engine, resolve

    db = thread_db(db_path)
    out: list[dict[str, Any]] = []
    # Built again only when the library or the listening changed since the last build;
    # the mix names and the taste map beside the DB follow it.
    engine, arrays = load_engine(db)
    found: list[tuple[str, str, str, list[int], list[str]]] = []
    keys: list[str] = []
    errors: dict[str, str] = {}
    for playlist in automatic(db, engine):
        found.append(as_tracks(playlist, arrays))
        keys.append(playlist.key)
    for saved in playlists.saved(db):
        key = f"user:{saved.name}"
        try:
            found.append(resolve(db, saved.name))
        except SegueError as exc:  # e.g. a smart query an older Segue accepted
            errors[key] = f"This smart playlist can't be read: {exc}. Delete it, or save it again."
            found.append((saved.name, saved.kind, f"smart query: {saved.query}", [], []))
        keys.append(key)
    for key, (name, kind, how, ids, reasons) in zip(keys, found, strict=True):
        rows = {r.id: r for r in songs(db, ids)}
        tracks = [
            (i, rows[i].title, rows[i].artist, reason)
            for i, reason in zip(ids, reasons, strict=True)
            if i in rows
        ]
        out.append(
            {
                "key": key,
                "name": name,
                "kind": kind,
                "how": how,
                "tracks": tracks,
                "error": errors.get(key),
            }
        )
    return out


def update_taste_map(db_path: str) -> bool:
    """Runs on a worker thread: bring the taste map beside the DB up to date with the
    library (new tracks placed on it). True when the library had changed since the last
    build (the map view then draws it again)."""
    from player.errors import SegueError
    from player.playlists import refresh_engine

    try:
        return refresh_engine(thread_db(db_path))
    except SegueError:  # an empty library: nothing to place
        return False


# -- the user's own playlists (run on a worker thread; each opens its own connection) -----


def saved_names(db_path: str) -> list[str]:
    from player.library import playlists

    return [p.name for p in playlists.saved(thread_db(db_path)) if p.kind == "user"]


def saved_playlists(db_path: str) -> list[tuple[str, str, str | None]]:
    """Every saved playlist for the sidebar: (name, kind, smart query): the user's own
    and the smart ones (``segue smart --save``)."""
    from player.library import playlists

    return [(p.name, p.kind, p.query) for p in playlists.saved(thread_db(db_path))]


def user_tracks(db_path: str, name: str) -> list[int]:
    from player.library import playlists

    db = thread_db(db_path)
    found = playlists.find(db, name)
    return playlists.entries(db, found.id) if found is not None else []


def save_tracks(db_path: str, name: str, ids: list[int], *, how: str) -> None:
    """``how``: "new" makes a playlist (never over an existing one), "append" adds to the
    end of one, "set" rewrites its tracks (reorder, remove)."""
    from player.library import playlists
    from player.playlists import save_user

    db = thread_db(db_path)
    if how == "append" and playlists.append_user(db, name, ids) is not None:
        return  # read and written under one lock: two quick adds both land
    found = playlists.find(db, name)
    source = found.source if found is not None else None
    save_user(db, name, ids, source=source, replace=how != "new")


def rename(db_path: str, old: str, new: str) -> None:
    from player.playlists import rename_user

    rename_user(thread_db(db_path), old, new)


def delete(db_path: str, name: str) -> None:
    from player.library import playlists

    playlists.delete(thread_db(db_path), name)


def import_file(db_path: str, path: str, name: str | None = None) -> tuple[str, int, int]:
    """Import an M3U/M3U8/XSPF file; (name, matched, entries)."""
    from pathlib import Path

    from player.config import refuse_library_file
    from player.errors import SegueError
    from player.library import playlists, tracks
    from player.playlist_io import match_entries, read_playlist
    from player.playlists import imported_name, save_user

    refuse_library_file(path, db_path)
    db = thread_db(db_path)
    file = Path(path)
    parsed = read_playlist(file)
    outcome = match_entries(
        parsed, file.parent, playlists.track_paths(db), tracks.TrackMatcher.load(db)
    )
    if not outcome.matched:
        raise SegueError(f"none of the entries of {parsed.source} is in the library")
    final = imported_name(db, name, outcome.name)
    save_user(db, final, outcome.matched, source=parsed.source)
    return final, len(outcome.matched), len(parsed.entries)


def export_file(db_path: str, name: str, ids: list[int], target: str) -> int:
    from player.config import refuse_library_file
    from player.playlist_io import export
    from player.playlists import export_entries

    refuse_library_file(target, db_path)
    entries = export_entries(thread_db(db_path), ids)
    fmt = "xspf" if target.lower().endswith(".xspf") else "m3u8"
    with open(target, "wb") as fh:
        fh.write(export(fmt, name, entries).encode("utf-8", errors="surrogateescape"))
    return len(entries)


def category(key: str) -> str:
    if key in ("discover", "forgotten"):
        return key
    if key.startswith("user:"):
        return key
    return "mixes"


class PlaylistView(QWidget):
    def __init__(self, db_path: str, pool, session) -> None:
        super().__init__()
        self.db_path, self.pool, self.session = db_path, pool, session
        self.all: list[dict[str, Any]] = []
        self.built_at = 0.0
        self.want = "discover"
        self.title = QLabel()
        self.title.setObjectName("ViewTitle")
        self.how = QLabel()
        self.how.setObjectName("Small")
        self.how.setWordWrap(True)
        self.choice = QComboBox()
        self.choice.currentIndexChanged.connect(self._show_choice)
        self.play = QPushButton(icon("play"), "Play")
        self.play.clicked.connect(self.play_all)
        self.export_button = QPushButton("Export…")
        self.export_button.clicked.connect(self._export)
        self.rename_button = QPushButton("Rename…")
        self.rename_button.clicked.connect(self._rename)
        self.delete_button = QPushButton("Delete")
        self.delete_button.clicked.connect(self._delete)

        self.table = QTableWidget(0, 3)
        self.table.setObjectName("Songs")
        self.table.setHorizontalHeaderLabels(["Title", "Artist", "Why it is here"])
        self.table.verticalHeader().hide()
        self.table.setShowGrid(False)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.verticalHeader().setDefaultSectionSize(30)
        hh = self.table.horizontalHeader()
        hh.setSectionResizeMode(0, QHeaderView.ResizeMode.Interactive)
        hh.setSectionResizeMode(1, QHeaderView.ResizeMode.Interactive)
        hh.setSectionResizeMode(2, QHeaderView.ResizeMode.Stretch)
        self.table.setTextElideMode(Qt.TextElideMode.ElideNone)
        self.table.installEventFilter(self)  # column shares follow the width: _fit
        # Long reasons wrap onto more lines; each row grows to show them whole.
        self.table.setWordWrap(True)
        self.table.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        hh.setDefaultAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
        self.table.activated.connect(lambda index: self._play_row(index.row()))
        self.table.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.table.customContextMenuRequested.connect(self._menu)
        self.empty = QLabel()
        self.empty.setObjectName("Empty")
        self.empty.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.empty.setWordWrap(True)
        head = QHBoxLayout()
        head.addWidget(self.title)
        head.addSpacing(12)
        head.addWidget(self.choice)
        head.addStretch(1)
        for b in (self.rename_button, self.delete_button, self.export_button, self.play):
            head.addWidget(b)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(20, 16, 20, 12)
        layout.addLayout(head)
        layout.addWidget(self.how)
        layout.addWidget(self.table, 1)
        layout.addWidget(self.empty, 1)
        self.shown: dict[str, Any] | None = None

    def eventFilter(self, watched, event) -> bool:
        if watched is self.table and event.type() == QEvent.Type.Resize:
            self._fit()
        return super().eventFilter(watched, event)

    def _fit(self) -> None:
        """Title and artist take a share of the width, the reason the rest; rows grow
        so that a long reason wraps whole instead of being cut."""
        width = self.table.width() - 18
        hh = self.table.horizontalHeader()
        hh.resizeSection(0, max(80, int(width * 0.3)))
        hh.resizeSection(1, max(60, int(width * 0.2)))
        self.table.resizeRowsToContents()

    def open(self, key: str) -> None:
        """Show a category ("discover", "forgotten", "mixes") or a user playlist."""
        self.want = key
        self.title.setText(TITLES.get(key, key.removeprefix("user:")))
        if self.all and time.monotonic() - self.built_at < CACHE_SECONDS:
            self._present()
            return
        self.how.setText("Building your playlists from your listening…")
        self.table.hide()
        self.empty.hide()
        self.choice.hide()
        self.play.setEnabled(False)
        self.pool.run_task(lambda: build_playlists(self.db_path), self._built)

    def _built(self, result: list[dict[str, Any]]) -> None:
        self.all, self.built_at = result, time.monotonic()
        self._present()

    def saved_names(self) -> list[str]:
        return [p["name"] for p in self.all if p["key"].startswith("user:")]

    def _present(self) -> None:
        wanted = [p for p in self.all if category(p["key"]) == self.want]
        self.choice.blockSignals(True)
        self.choice.clear()
        for p in wanted:
            count = "can't be read" if p.get("error") else len(p["tracks"])
            self.choice.addItem(f"{p['name']} ({count})", p["key"])
        self.choice.blockSignals(False)
        self.choice.setVisible(len(wanted) > 1)
        self._show(wanted[0] if wanted else None)

    def _show_choice(self, index: int) -> None:
        key = self.choice.itemData(index)
        self._show(next((p for p in self.all if p["key"] == key), None))

    def _show(self, playlist: dict[str, Any] | None) -> None:
        self.shown = playlist
        tracks = playlist["tracks"] if playlist else []
        self.how.setText(playlist["how"].capitalize() + "." if playlist else "")
        self.table.setRowCount(len(tracks))
        dim = muted_text(self.palette())
        for row, (track_id, title, artist, reason) in enumerate(tracks):
            items = (QTableWidgetItem(title), QTableWidgetItem(artist), QTableWidgetItem(reason))
            items[0].setData(Qt.ItemDataRole.UserRole, track_id)
            items[2].setForeground(dim)
            for col, item in enumerate(items):
                self.table.setItem(row, col, item)
        self._fit()
        self.table.setVisible(bool(tracks))
        self.empty.setVisible(not tracks)
        self.empty.setText(
            (playlist or {}).get("error")
            or "Nothing here yet. Segue builds this playlist from what you play, skip and like: "
            "keep listening and it fills in."
        )
        self.play.setEnabled(bool(tracks))
        saved = bool(playlist) and playlist["key"].startswith("user:")
        # A smart playlist is its query: it can be deleted, not renamed or edited here.
        self.rename_button.setVisible(saved and playlist["kind"] == "user")
        self.delete_button.setVisible(saved)
        self.export_button.setEnabled(bool(tracks))

    def ids(self) -> list[int]:
        return [t[0] for t in self.shown["tracks"]] if self.shown else []

    def _play_row(self, row: int) -> None:
        ids = self.ids()
        if 0 <= row < len(ids):
            self.session.play_track(ids[row])

    def play_all(self) -> None:
        ids = self.ids()
        if not ids:
            return
        self.session.play_track(ids[0])
        for track_id in ids[1:]:
            self.session.enqueue(track_id)

    # -- actions on the shown playlist -------------------------------------------------------

    def changed(self) -> None:
        """The user's playlists changed: build again next time, and reopen this one."""
        self.built_at = 0.0
        self.open(self.want)
        self.playlists_changed()

    def playlists_changed(self) -> None:  # set by the window (refreshes the sidebar)
        pass

    def _user_name(self) -> str | None:
        """The shown playlist's name when it is one the user made (tracks in order)."""
        if self._saved_name() is not None and self.shown and self.shown["kind"] == "user":
            return str(self.shown["name"])
        return None

    def _saved_name(self) -> str | None:
        """The shown playlist's name when it is saved (the user's own or a smart one)."""
        if self.shown and self.shown["key"].startswith("user:"):
            return str(self.shown["name"])
        return None

    def _export(self) -> None:
        from player.ui.filedialogs import save_file

        if not self.shown:
            return
        name, ids = self.shown["name"], self.ids()
        target = save_file(
            self,
            "Export playlist",
            self.db_path,
            f"{name}.m3u8",
            "Playlists (*.m3u8 *.m3u *.xspf)",
        )
        if target:
            self.pool.run_task(
                lambda: export_file(self.db_path, name, ids, target),
                with_error(lambda n, error: self._exported(name, target, n, error)),
            )

    def _exported(self, name: str, target: str, n: int | None, error: BaseException | None) -> None:
        """One line in the status bar either way (an unwritable folder, a full disk)."""
        if error is None:
            self.show_message(f"Exported '{name}' ({plural(n or 0, 'song')}) to {target}")
            return
        why = error.strerror if isinstance(error, OSError) and error.strerror else error
        self.show_message(f"Could not export '{name}' to {target}: {why}")

    def show_message(self, text: str) -> None:
        """The window's status line."""
        message = getattr(self.window(), "message", None)
        if message is not None:
            message.setText(text)

    def _rename(self) -> None:
        from PySide6.QtWidgets import QInputDialog

        old = self._user_name()
        if old is None:
            return
        new, ok = QInputDialog.getText(self, "Rename playlist", "New name:", text=old)
        if ok and new.strip() and new != old:
            self.want = f"user:{new.strip()}"
            self.pool.run_task(lambda: rename(self.db_path, old, new.strip()), self._after)

    def _delete(self) -> None:
        from PySide6.QtWidgets import QMessageBox

        name = self._saved_name()
        if name is None:
            return
        answer = QMessageBox.question(self, "Delete playlist", f"Delete the playlist '{name}'?")
        if answer == QMessageBox.StandardButton.Yes:
            self.want = "discover"
            self.pool.run_task(lambda: delete(self.db_path, name), self._after)

    def _after(self, _result: object) -> None:
        self.changed()

    def move(self, row: int, delta: int) -> None:
        name = self._user_name()
        ids = self.ids()
        target = row + delta
        if name is None or not (0 <= row < len(ids)) or not (0 <= target < len(ids)):
            return
        ids.insert(target, ids.pop(row))
        self.pool.run_task(lambda: save_tracks(self.db_path, name, ids, how="set"), self._after)

    def remove_row(self, row: int) -> None:
        name = self._user_name()
        ids = self.ids()
        if name is None or not 0 <= row < len(ids):
            return
        del ids[row]
        self.pool.run_task(lambda: save_tracks(self.db_path, name, ids, how="set"), self._after)

    def _menu(self, pos) -> None:
        from PySide6.QtWidgets import QMenu

        row = self.table.indexAt(pos).row()
        ids = self.ids()
        if not 0 <= row < len(ids):
            return
        menu = QMenu(self)
        menu.addAction(icon("play"), "Play", lambda: self._play_row(row))
        menu.addAction("Play next", lambda: self.session.play_next(ids[row]))
        menu.addAction("Add to queue", lambda: self.session.enqueue(ids[row]))
        if self._user_name() is not None:
            menu.addSeparator()
            menu.addAction("Move up", lambda: self.move(row, -1))
            menu.addAction("Move down", lambda: self.move(row, 1))
            menu.addAction(icon("remove"), "Remove from playlist", lambda: self.remove_row(row))
        menu.exec(self.table.viewport().mapToGlobal(pos))
