"""Model/view over the library: the song table (lazy), the album grid and the artists.

The song table holds only the ordered ids of the matching tracks (fetched by a worker
thread) and loads the rows on screen a page at a time by primary key; Qt asks for more
rows through canFetchMore/fetchMore as the user scrolls, so 100,000 tracks stay smooth.
"""

from __future__ import annotations

from collections import OrderedDict

from PySide6.QtCore import (
    QAbstractListModel,
    QAbstractTableModel,
    QModelIndex,
    QRect,
    QRectF,
    QSize,
    Qt,
    Signal,
)
from PySide6.QtGui import (
    QColor,
    QFont,
    QFontMetrics,
    QGuiApplication,
    QPainter,
    QPainterPath,
    QPalette,
)
from PySide6.QtWidgets import QStyle, QStyledItemDelegate

from player.library import browse
from player.text import plural
from player.ui.icons import muted_text, pixmap
from player.ui.tasks import thread_db

PAGE = 256
_ROOT = QModelIndex()
CACHED_PAGES = 64
TRACK_ID_ROLE = Qt.ItemDataRole.UserRole + 1
ROW_ROLE = Qt.ItemDataRole.UserRole + 2


def fmt_time(seconds: float | None) -> str:
    if seconds is None or seconds < 0:
        return ""
    s = int(seconds)
    h, rest = divmod(s, 3600)
    m, s = divmod(rest, 60)
    return f"{h}:{m:02}:{s:02}" if h else f"{m}:{s:02}"


class TrackTableModel(QAbstractTableModel):
    COLUMNS = ("#", "Title", "Artist", "Album", "Genre", "Time")
    loaded = Signal(int)  # total matching tracks, after each (re)query

    def __init__(self, db_path: str, pool, parent=None) -> None:
        super().__init__(parent)
        self.db_path = db_path
        self.pool = pool
        self._ids: list[int] = []
        self._shown = 0
        self._pages: OrderedDict[int, list[browse.SongRow]] = OrderedDict()
        self._generation = 0
        self.text = ""
        self.artist: str | None = None
        self.album: str | None = None
        self.ready = False
        self.playing_id: int | None = None

    # -- querying -------------------------------------------------------------------------

    def set_filter(
        self, text: str | None = None, *, artist: str | None = ..., album: str | None = ...
    ) -> None:
        if text is not None:
            self.text = text
        if artist is not ...:
            self.artist = artist
        if album is not ...:
            self.album = album
        self.refresh()

    def refresh(self, keep_rows: bool = False) -> None:
        """Run the query again (in a worker) and show the result when it arrives."""
        self._generation += 1
        generation, path = self._generation, self.db_path
        text, artist, album = self.text, self.artist, self.album

        def query() -> list[int]:
            return browse.song_ids(thread_db(path), text, artist=artist, album=album)

        self.pool.run_task(query, lambda ids: self._apply(generation, ids, keep_rows))

    def _apply(self, generation: int, ids: list[int], keep_rows: bool) -> None:
        if generation != self._generation:
            return  # a newer query is on its way
        if ids == self._ids and self.ready:
            self.loaded.emit(len(ids))
            return
        shown = min(len(ids), max(PAGE, self._shown if keep_rows else PAGE))
        self.beginResetModel()
        self._ids = ids
        self._shown = shown
        self._pages.clear()
        self.endResetModel()
        self.ready = True
        self.loaded.emit(len(ids))

    def total(self) -> int:
        return len(self._ids)

    def track_id(self, row: int) -> int | None:
        return self._ids[row] if 0 <= row < len(self._ids) else None

    def ids(self) -> list[int]:
        return list(self._ids)

    def row_of(self, track_id: int) -> int | None:
        try:
            return self._ids.index(track_id)
        except ValueError:
            return None

    def set_playing(self, track_id: int | None) -> None:
        old, self.playing_id = self.playing_id, track_id
        for tid in (old, track_id):
            row = self.row_of(tid) if tid is not None else None
            if row is not None and row < self._shown:
                self.dataChanged.emit(self.index(row, 0), self.index(row, len(self.COLUMNS) - 1))

    # -- lazy rows ------------------------------------------------------------------------

    def _row(self, row: int) -> browse.SongRow | None:
        page = row // PAGE
        rows = self._pages.get(page)
        if rows is None:
            ids = self._ids[page * PAGE : (page + 1) * PAGE]
            # A page by primary key: about a millisecond, fine on the GUI thread.
            got = {r.id: r for r in browse.songs(thread_db(self.db_path), ids)}
            rows = [got.get(i) for i in ids]  # type: ignore[misc]
            self._pages[page] = rows
            while len(self._pages) > CACHED_PAGES:
                self._pages.popitem(last=False)
        else:
            self._pages.move_to_end(page)
        offset = row - page * PAGE
        return rows[offset] if offset < len(rows) else None

    def rowCount(self, parent=_ROOT) -> int:
        return 0 if parent.isValid() else self._shown

    def columnCount(self, parent=_ROOT) -> int:
        return 0 if parent.isValid() else len(self.COLUMNS)

    def canFetchMore(self, parent=_ROOT) -> bool:
        return not parent.isValid() and self._shown < len(self._ids)

    def fetchMore(self, parent=_ROOT) -> None:
        if parent.isValid():
            return
        more = min(PAGE * 4, len(self._ids) - self._shown)
        if more <= 0:
            return
        self.beginInsertRows(QModelIndex(), self._shown, self._shown + more - 1)
        self._shown += more
        self.endInsertRows()

    def headerData(self, section, orientation, role=Qt.ItemDataRole.DisplayRole):
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return self.COLUMNS[section]
        if role == Qt.ItemDataRole.TextAlignmentRole and section in (0, 5):
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return None

    def data(self, index, role=Qt.ItemDataRole.DisplayRole):
        if not index.isValid():
            return None
        row = index.row()
        if role == TRACK_ID_ROLE:
            return self.track_id(row)
        if role not in (
            Qt.ItemDataRole.DisplayRole,
            Qt.ItemDataRole.ToolTipRole,
            Qt.ItemDataRole.FontRole,
            Qt.ItemDataRole.ForegroundRole,
            Qt.ItemDataRole.TextAlignmentRole,
            ROW_ROLE,
        ):
            return None
        song = self._row(row)
        if song is None:
            return None
        col = index.column()
        if role == ROW_ROLE:
            return song
        if role == Qt.ItemDataRole.DisplayRole:
            return (
                str(song.track_number or ""),
                song.title or song.path.rsplit("/", 1)[-1],
                song.artist,
                song.album,
                _genre_text(song),
                fmt_time(song.duration),
            )[col]
        if role == Qt.ItemDataRole.ToolTipRole:
            if song.heard:
                heard = ", ".join(f"{t} {p:.0%}" for t, p in song.heard)
                return f"{song.path}\nHeard in the audio (not in the file's tags): {heard}"
            return song.path
        if role == Qt.ItemDataRole.TextAlignmentRole:
            if col in (0, 5):
                return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            return None
        if role == Qt.ItemDataRole.FontRole and song.id == self.playing_id:
            font = QFont()
            font.setBold(True)
            return font
        if role == Qt.ItemDataRole.FontRole and col == 4 and not song.genre and song.heard:
            font = QFont()
            font.setItalic(True)  # heard, not written in the file
            return font
        if role == Qt.ItemDataRole.ForegroundRole:
            pal = QGuiApplication.palette()
            if song.id == self.playing_id:
                return pal.color(QPalette.ColorRole.Highlight)
            if col in (0, 4, 5):
                return muted_text(pal)
            if song.missing:
                return QColor(pal.color(QPalette.ColorGroup.Disabled, QPalette.ColorRole.Text))
        return None


def _genre_text(song) -> str:
    """The file's genre; for a track without one, the tags heard in its audio, marked
    as heard (in italics, with a tooltip saying so)."""
    if song.genre:
        return song.genre.replace(";", ", ")
    if song.heard:
        return "heard: " + ", ".join(t for t, _ in song.heard[:3])
    return ""


class AlbumModel(QAbstractListModel):
    def __init__(self, db_path: str, pool, covers, parent=None) -> None:
        super().__init__(parent)
        self.db_path, self.pool, self.covers = db_path, pool, covers
        self.rows: list[browse.AlbumRow] = []
        self._by_path: dict[str, int] = {}
        self._generation = 0
        self.placeholder = None
        covers.ready.connect(self._cover_ready)

    def refresh(self, text: str = "") -> None:
        self._generation += 1
        generation, path = self._generation, self.db_path
        self.pool.run_task(
            lambda: browse.albums(thread_db(path), text), lambda rows: self._apply(generation, rows)
        )

    def _apply(self, generation: int, rows: list[browse.AlbumRow]) -> None:
        if generation != self._generation or rows == self.rows:
            return
        self.beginResetModel()
        self.rows = rows
        self._by_path = {r.cover_path: i for i, r in enumerate(rows)}
        self.endResetModel()

    def _cover_ready(self, path: str) -> None:
        row = self._by_path.get(path)
        if row is not None:
            idx = self.index(row)
            self.dataChanged.emit(idx, idx, [Qt.ItemDataRole.DecorationRole])

    def rowCount(self, parent=_ROOT) -> int:
        return 0 if parent.isValid() else len(self.rows)

    def data(self, index, role=Qt.ItemDataRole.DisplayRole):
        if not index.isValid():
            return None
        album = self.rows[index.row()]
        if role == Qt.ItemDataRole.DisplayRole:
            return album.title
        if role == Qt.ItemDataRole.ToolTipRole:
            year = f" ({album.year})" if album.year else ""
            return f"{album.title}{year}\n{album.by}\n{plural(album.tracks, 'track')}"
        if role == Qt.ItemDataRole.DecorationRole:
            return self.covers.get(album.cover_path) or self.placeholder
        if role == ROW_ROLE:
            return album
        return None


class ArtistModel(QAbstractListModel):
    def __init__(self, db_path: str, pool, parent=None) -> None:
        super().__init__(parent)
        self.db_path, self.pool = db_path, pool
        self.rows: list[browse.ArtistRow] = []

    def refresh(self, text: str = "") -> None:
        path = self.db_path
        self.pool.run_task(lambda: browse.artists(thread_db(path), text), self._apply)

    def _apply(self, rows: list[browse.ArtistRow]) -> None:
        if rows == self.rows:
            return
        self.beginResetModel()
        self.rows = rows
        self.endResetModel()

    def rowCount(self, parent=_ROOT) -> int:
        return 0 if parent.isValid() else len(self.rows)

    def data(self, index, role=Qt.ItemDataRole.DisplayRole):
        if not index.isValid():
            return None
        a = self.rows[index.row()]
        if role == Qt.ItemDataRole.DisplayRole:
            albums = f"{plural(a.albums, 'album')} · " if a.albums else ""
            return f"{a.name}\n{albums}{plural(a.tracks, 'track')}"
        if role == ROW_ROLE:
            return a
        return None


class AlbumDelegate(QStyledItemDelegate):
    """An album tile: the square cover with rounded corners, the title and the artist."""

    COVER = 160

    def sizeHint(self, option, index) -> QSize:
        return QSize(self.COVER + 16, self.COVER + 16 + 2 * option.fontMetrics.height() + 10)

    def paint(self, painter, option, index) -> None:
        album = index.data(ROW_ROLE)
        if album is None:
            return
        pal = option.palette
        painter.save()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
        r = option.rect
        x = r.left() + (r.width() - self.COVER) // 2
        cover = QRect(x, r.top() + 8, self.COVER, self.COVER)
        if option.state & QStyle.StateFlag.State_Selected:
            hl = QColor(pal.color(QPalette.ColorRole.Highlight))
            hl.setAlphaF(0.25)
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(hl)
            painter.drawRoundedRect(QRectF(r.adjusted(2, 2, -2, -2)), 8, 8)
        path = QPainterPath()
        path.addRoundedRect(QRectF(cover), 6, 6)
        pm = index.data(Qt.ItemDataRole.DecorationRole)
        if pm is not None and not pm.isNull():
            painter.setClipPath(path)
            painter.drawPixmap(cover, pm)
            painter.setClipping(False)
        else:
            painter.fillPath(path, pal.color(QPalette.ColorRole.AlternateBase).darker(106))
            dim = muted_text(pal)
            icon_rect = QRect(0, 0, 64, 64)
            icon_rect.moveCenter(cover.center())
            painter.drawPixmap(icon_rect, pixmap("album", 64, dim))
        fm = option.fontMetrics
        bold = QFont(option.font)
        bold.setWeight(QFont.Weight.DemiBold)
        painter.setFont(bold)
        painter.setPen(pal.color(QPalette.ColorRole.Text))
        text_rect = QRect(x, cover.bottom() + 6, self.COVER, fm.height())
        painter.drawText(  # measured in the bold font it is drawn in, so "…" shows
            text_rect,
            Qt.AlignmentFlag.AlignLeft,
            QFontMetrics(bold).elidedText(album.title, Qt.TextElideMode.ElideRight, self.COVER),
        )
        painter.setFont(option.font)
        painter.setPen(muted_text(pal))
        sub = album.by + (f" · {album.year}" if album.year else "")
        painter.drawText(
            text_rect.translated(0, fm.height() + 2),
            Qt.AlignmentFlag.AlignLeft,
            fm.elidedText(sub, Qt.TextElideMode.ElideRight, self.COVER),
        )
        painter.restore()


_AVATAR_COLOURS = ("#e0457b", "#ff7a59", "#f2b134", "#4cb782", "#2fa4d9", "#6a6fe0", "#a259d9")


class ArtistDelegate(QStyledItemDelegate):
    """An artist row: a round badge with the initials, the name, and the counts."""

    def sizeHint(self, option, index) -> QSize:
        return QSize(200, 2 * option.fontMetrics.height() + 18)

    def paint(self, painter, option, index) -> None:
        artist = index.data(ROW_ROLE)
        if artist is None:
            return
        pal = option.palette
        painter.save()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        r = option.rect
        if option.state & QStyle.StateFlag.State_Selected:
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(pal.color(QPalette.ColorRole.Highlight))
            painter.drawRoundedRect(QRectF(r.adjusted(4, 1, -4, -1)), 6, 6)
            text, dim = (pal.color(QPalette.ColorRole.HighlightedText),) * 2
        else:
            text, dim = pal.color(QPalette.ColorRole.Text), muted_text(pal)
        side = r.height() - 12
        badge = QRect(r.left() + 14, r.top() + 6, side, side)
        colour = QColor(_AVATAR_COLOURS[sum(map(ord, artist.name)) % len(_AVATAR_COLOURS)])
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(colour)
        painter.drawEllipse(badge)
        initials = "".join(w[0] for w in artist.name.split()[:2] if w[:1].isalnum()).upper()
        bold = QFont(option.font)
        bold.setWeight(QFont.Weight.DemiBold)
        painter.setFont(bold)
        painter.setPen(QColor("#ffffff"))
        painter.drawText(badge, Qt.AlignmentFlag.AlignCenter, initials or "?")
        fm = option.fontMetrics
        x = badge.right() + 12
        width = r.right() - x - 8
        painter.setPen(text)
        top = r.top() + (r.height() - 2 * fm.height()) // 2
        painter.drawText(
            QRect(x, top, width, fm.height()),
            Qt.AlignmentFlag.AlignLeft,
            QFontMetrics(bold).elidedText(artist.name, Qt.TextElideMode.ElideRight, width),
        )
        painter.setFont(option.font)
        painter.setPen(dim)
        albums = f"{plural(artist.albums, 'album')} · " if artist.albums else ""
        tracks = plural(artist.tracks, "song")
        painter.drawText(
            QRect(x, top + fm.height(), width, fm.height()),
            Qt.AlignmentFlag.AlignLeft,
            fm.elidedText(albums + tracks, Qt.TextElideMode.ElideRight, width),
        )
        painter.restore()
