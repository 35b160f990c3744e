"""A track's context menu actions (Song info, Show in folder, Go to album / artist,
Remove from library) and the Song info dialog."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt, QUrl
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QMenu,
    QMessageBox,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from player.library import track_info
from player.library.browse import UNKNOWN
from player.library.track_info import TrackDetails
from player.text import plural
from player.ui.models import fmt_time
from player.ui.tasks import thread_db, with_error


def _when(ts: float | None) -> str:
    if ts is None:
        return "never"
    return time.strftime("%Y-%m-%d %H:%M", time.localtime(ts))


def _number(value: Any, digits: int = 2) -> str:
    return f"{value:.{digits}f}" if isinstance(value, float) else str(value)


def info_rows(d: TrackDetails) -> list[tuple[str, list[tuple[str, str]]]]:
    """The dialog's sections, as (heading, [(label, text)]); empty fields left out."""
    tags = [
        (label, _number(d.tags[name]))
        for name, label in track_info.TAGS
        if d.tags.get(name) not in (None, "")
    ]
    rate = f"{d.sample_rate / 1000:g} kHz" if d.sample_rate else None
    file = [
        ("Path", d.path),
        ("Format", " / ".join(x for x in (d.format, d.codec) if x) or "unknown"),
        ("Duration", fmt_time(d.duration) if d.duration else "unknown"),
        ("Bitrate", f"{round(d.bitrate / 1000)} kbit/s" if d.bitrate else "unknown"),
        ("Sample rate", rate or "unknown"),
        ("Channels", str(d.channels) if d.channels else "unknown"),
    ]
    if d.missing:
        file.append(("State", "the file is missing"))
    gains = d.replaygain
    replaygain = [
        (
            label,
            f"{gains[gain]:+.2f} dB" + (f", peak {gains[peak]:.3f}" if gains[peak] else ""),
        )
        for label, gain, peak in (
            ("Track gain", "rg_track_gain", "rg_track_peak"),
            ("Album gain", "rg_album_gain", "rg_album_peak"),
        )
        if gains[gain] is not None
    ] or [("ReplayGain", "none in the tags")]
    verdict = "liked" if d.liked else "disliked" if d.disliked else "no rating"
    listening = [
        ("Play count", plural(d.plays, "play")),
        ("Skips", plural(d.skips, "skip")),
        ("Last played", _when(d.last_played)),
        ("Rating", verdict),
    ]
    sound = [
        (label, _number(d.descriptors[name], 1 if name in ("bpm", "loudness_db") else 2))
        for name, label in track_info.DESCRIPTORS
        if d.descriptors.get(name) is not None
    ] or [
        (
            "Analysis",
            f"could not be analysed: {d.analysis_failure}"
            if d.analysis_failure
            else "not analysed yet (File › Analyse now)",
        )
    ]
    if d.heard:
        sound.append(
            (
                "Heard in the audio",
                ", ".join(f"{tag} {p:.0%}" for tag, p in d.heard)
                + " (what Segue hears, not the file's tags)",
            )
        )
    return [
        ("Tags", tags or [("Tags", "none: the file is untagged")]),
        ("File", file),
        ("ReplayGain", replaygain),
        ("Listening", listening),
        ("How it sounds", sound),
    ]


class SongInfoDialog(QDialog):
    """Everything Segue knows of one track, in sections; every value can be selected."""

    def __init__(self, details: TrackDetails, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        title = details.tags.get("title") or Path(details.path).name
        self.setWindowTitle(f"Song info: {title}")
        self.setMinimumWidth(440)
        self.resize(560, 600)
        body = QWidget()
        form = QFormLayout(body)
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        self.values: dict[str, str] = {}
        for heading, rows in info_rows(details):
            head = QLabel(heading)
            head.setObjectName("Heading")
            head.setStyleSheet("font-weight: 600; margin-top: 8px;")
            form.addRow(head)
            for label, text in rows:
                value = QLabel(text)
                value.setWordWrap(True)
                value.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
                form.addRow(label, value)
                self.values[f"{heading}/{label}"] = text
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setWidget(body)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(scroll, 1)
        layout.addWidget(buttons)


def show_in_folder(path: str) -> bool:
    """Open the file manager on the folder holding ``path``."""
    folder = Path(path).parent
    return QDesktopServices.openUrl(QUrl.fromLocalFile(str(folder)))


def add_track_actions(menu: QMenu, window: Any, track_id: int, ids: list[int]) -> None:
    """Song info, Show in folder, Go to album, Go to artist, Remove from library."""
    menu.addSeparator()
    menu.addAction("Song info…", lambda: open_song_info(window, track_id))
    menu.addAction("Show in folder", lambda: _show_folder(window, track_id))
    menu.addAction("Go to album", lambda: go_to(window, track_id, "album"))
    menu.addAction("Go to artist", lambda: go_to(window, track_id, "artist"))
    menu.addSeparator()
    label = "Remove from library…" if len(ids) == 1 else f"Remove {len(ids)} from library…"
    menu.addAction(label, lambda: remove_from_library(window, ids))


def _details(window: Any, track_id: int) -> TrackDetails | None:
    return track_info.details(thread_db(window.db_path), track_id)


def open_song_info(window: Any, track_id: int) -> SongInfoDialog | None:
    details = _details(window, track_id)
    if details is None:
        return None
    dialog = SongInfoDialog(details, window)
    dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    dialog.show()
    window.song_info = dialog
    return dialog


def _show_folder(window: Any, track_id: int) -> None:
    details = _details(window, track_id)
    if details is not None and not show_in_folder(details.path):
        window.message.setText(f"Could not open {Path(details.path).parent}")


def go_to(window: Any, track_id: int, what: str) -> None:
    """Show the songs of this track's album (or artist), as the Albums view would."""
    details = _details(window, track_id)
    if details is None:
        return
    tags = details.tags
    if what == "album":
        album = tags.get("album") or UNKNOWN
        window._filter_to(f"Album: {album or 'Unknown album'}", album=album)
    else:
        artist = tags.get("albumartist") or tags.get("artist") or UNKNOWN
        window._filter_to(f"Artist: {artist or 'Unknown artist'}", artist=artist)


def remove_from_library(window: Any, ids: list[int], *, confirm: bool = True) -> bool:
    """Ask, then mark ``ids`` removed on the task pool (a DB write never waits on the GUI
    thread); the window hears how it went. False when the user said no."""
    if confirm:
        what = "this song" if len(ids) == 1 else plural(len(ids), "song")
        answer = QMessageBox.question(
            window,
            "Remove from library",
            f"Remove {what} from the library? The files stay on disk and their listening "
            "history is kept; Segue no longer shows or plays them.",
        )
        if answer != QMessageBox.StandardButton.Yes:
            return False
    db_path = window.db_path

    def done(removed: int | None, error: BaseException | None) -> None:
        if error is not None:  # a busy or damaged library: nothing removed, the app goes on
            window.message.setText(f"Could not remove from the library: {error}")
            return
        window.message.setText(f"{plural(removed or 0, 'song')} removed from the library")
        window.library_changed()

    window.pool.run_task(
        lambda: track_info.remove_from_library(thread_db(db_path), ids), with_error(done)
    )
    return True
