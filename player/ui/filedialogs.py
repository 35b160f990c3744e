"""Every file dialog of the app: Qt's own dialog, which never reads a file it lists.

Why this module exists: Qt's default icon provider asks ``QMimeDatabase`` for each listed
file's type, and that opens the file and closes it again. On POSIX, closing *any*
descriptor of a file drops every advisory lock this process holds on it, so a dialog that
merely shows the folder of the library DB would silently drop the locks of the app's
SQLite connections; the next ``segue`` command that closes its connection then believes it
is alone and deletes the ``-wal`` and ``-shm`` files under the running app (the events
written since are lost). A native (GTK) dialog sniffs contents in this process too.

So every dialog here is Qt's widget dialog (never native) with
:class:`MetadataIconProvider`, which decides icons and type names from ``stat`` alone,
and the dialogs open in the first music folder (or the home folder), never wherever the
process was started. ``tests/test_file_dialogs.py`` browses the DB's folder with each of
them and checks that the locks, the WAL and every event survive.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QFileInfo
from PySide6.QtGui import QAbstractFileIconProvider, QIcon
from PySide6.QtWidgets import QApplication, QFileDialog, QMessageBox, QStyle, QWidget

from player.config import is_library_file


class MetadataIconProvider(QAbstractFileIconProvider):
    """Folder, file or drive icons and type names from the file's metadata, never its bytes."""

    def icon(self, what: object) -> QIcon:  # type: ignore[override]
        style = QApplication.style()
        if isinstance(what, QFileInfo):
            if what.isRoot():
                return style.standardIcon(QStyle.StandardPixmap.SP_DriveHDIcon)
            if what.isDir():
                return style.standardIcon(QStyle.StandardPixmap.SP_DirIcon)
            return style.standardIcon(QStyle.StandardPixmap.SP_FileIcon)
        kinds = {
            QAbstractFileIconProvider.IconType.Computer: QStyle.StandardPixmap.SP_ComputerIcon,
            QAbstractFileIconProvider.IconType.Desktop: QStyle.StandardPixmap.SP_DesktopIcon,
            QAbstractFileIconProvider.IconType.Trashcan: QStyle.StandardPixmap.SP_TrashIcon,
            QAbstractFileIconProvider.IconType.Network: QStyle.StandardPixmap.SP_DriveNetIcon,
            QAbstractFileIconProvider.IconType.Drive: QStyle.StandardPixmap.SP_DriveHDIcon,
            QAbstractFileIconProvider.IconType.Folder: QStyle.StandardPixmap.SP_DirIcon,
        }
        return style.standardIcon(kinds.get(what, QStyle.StandardPixmap.SP_FileIcon))  # type: ignore[call-overload]

    def type(self, info: QFileInfo) -> str:
        if info.isRoot():
            return "Drive"
        if info.isDir():
            return "Folder"
        suffix = info.suffix()
        return f"{suffix.upper()} file" if suffix else "File"


def start_folder(music_folders: list[str] | None = None) -> str:
    """Where a dialog opens: the first music folder that exists, else the home folder."""
    for folder in music_folders or []:
        if Path(folder).is_dir():
            return folder
    return str(Path.home())


def make_dialog(parent: QWidget | None, caption: str, folder: str) -> QFileDialog:
    """A file dialog that lists files without opening them (see the module docstring)."""
    dialog = QFileDialog(parent, caption, folder)
    dialog.setOption(QFileDialog.Option.DontUseNativeDialog, True)
    dialog.setOption(QFileDialog.Option.DontUseCustomDirectoryIcons, True)
    provider = MetadataIconProvider()
    dialog.setIconProvider(provider)
    dialog._segue_icon_provider = provider  # type: ignore[attr-defined]  # keep it alive
    return dialog


def choose_folder(parent: QWidget | None, caption: str, db_path: str | None) -> str:
    """The folder the user picked, or "" when they cancelled."""
    dialog = make_dialog(parent, caption, start_folder(library_folders(db_path)))
    dialog.setFileMode(QFileDialog.FileMode.Directory)
    dialog.setOption(QFileDialog.Option.ShowDirsOnly, True)
    return _run(dialog, db_path)


def open_file(parent: QWidget | None, caption: str, db_path: str, filters: str) -> str:
    """An existing file the user picked, or ""."""
    dialog = make_dialog(parent, caption, start_folder(library_folders(db_path)))
    dialog.setFileMode(QFileDialog.FileMode.ExistingFile)
    dialog.setNameFilter(filters)
    return _run(dialog, db_path)


def save_file(parent: QWidget | None, caption: str, db_path: str, name: str, filters: str) -> str:
    """Where to write ``name`` (offered in the first music folder or home), or ""."""
    dialog = make_dialog(parent, caption, start_folder(library_folders(db_path)))
    dialog.setAcceptMode(QFileDialog.AcceptMode.AcceptSave)
    dialog.setFileMode(QFileDialog.FileMode.AnyFile)
    dialog.setNameFilter(filters)
    dialog.selectFile(name)
    return _run(dialog, db_path)


def _run(dialog: QFileDialog, db_path: str | None) -> str:
    try:
        if dialog.exec() != QFileDialog.DialogCode.Accepted:
            return ""
        chosen = dialog.selectedFiles()
    finally:
        dialog.deleteLater()
    path = chosen[0] if chosen else ""
    if path and db_path is not None and is_library_file(path, db_path):
        # Reading it would drop the DB's locks; writing over it would destroy the library.
        QMessageBox.warning(
            dialog.parentWidget(),
            "Segue",
            f"{path} is Segue's own library database; choose another file.",
        )
        return ""
    return path


def library_folders(db_path: str | None) -> list[str]:
    """The library's music folders, those that are online first ([] without a library)."""
    if db_path is None:
        return []
    from player.library.browse import root_folders
    from player.ui.tasks import thread_db

    folders = root_folders(thread_db(db_path))
    return [path for path, online in folders if online] + [p for p, on in folders if not on]
