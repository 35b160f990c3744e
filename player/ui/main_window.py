"""The main window: sidebar, library browser, Up Next, now-playing bar, status bar."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QByteArray, QEvent, QSize, Qt, QTimer, Signal
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QListView,
    QListWidget,
    QListWidgetItem,
    QMainWindow,
    QMenu,
    QProgressBar,
    QPushButton,
    QSplitter,
    QStackedWidget,
    QTableView,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from player.text import plural
from player.ui import settings as prefs
from player.ui.background import AnalysisJob, ScanJob
from player.ui.charts import StatsView, TasteView
from player.ui.covers import CoverCache
from player.ui.icons import app_icon, icon
from player.ui.menus import add_help_menu, add_playback_actions
from player.ui.models import (
    ROW_ROLE,
    TRACK_ID_ROLE,
    AlbumDelegate,
    AlbumModel,
    ArtistDelegate,
    ArtistModel,
    TrackTableModel,
)
from player.ui.nowplaying import NowPlayingBar, now_playing
from player.ui.onboarding import OnboardingPage
from player.ui.playlists_view import PlaylistView
from player.ui.tasks import thread_db
from player.ui.trackinfo import add_track_actions
from player.ui.upnext import UpNextPanel

VIEWS = ("songs", "albums", "artists", "playlists", "taste", "stats", "welcome")
_SECTION = Qt.ItemDataRole.UserRole + 20
_ICON = Qt.ItemDataRole.UserRole + 21


class JobStatus(QWidget):
    """Progress of a background job in the status bar, with a cancel button."""

    def __init__(self, label: str) -> None:
        super().__init__()
        self.label = QLabel(label)
        self.bar = QProgressBar()
        self.bar.setFixedWidth(140)
        self.bar.setMaximumHeight(14)
        self.bar.setTextVisible(False)
        self.cancel = QToolButton()
        self.cancel.setIcon(icon("cancel"))
        self.cancel.setAutoRaise(True)
        self.cancel.setToolTip("Cancel")
        layout = QHBoxLayout(self)
        layout.setContentsMargins(8, 0, 0, 0)
        layout.addWidget(self.label)
        layout.addWidget(self.bar)
        layout.addWidget(self.cancel)
        self.hide()

    def show_progress(self, text: str, done: int, total: int) -> None:
        self.label.setText(text)
        self.bar.setRange(0, max(total, 0))
        self.bar.setValue(done)
        self.show()


# Below this window width the song list hides its genre column.
NARROW_WIDTH = 1000


def analysis_summary(summary: dict[str, Any]) -> str:
    """ "Analysis finished: 1 song analysed", and the songs that could not be, with where
    to see which and why."""
    text = f"Analysis finished: {plural(int(summary.get('analysed') or 0), 'song')} analysed"
    failed = int(summary.get("failed") or 0)
    if failed:
        text += (
            f"; {plural(failed, 'song')} could not be analysed "
            "('segue analyze --failures' lists them, with why)"
        )
    return text


class MainWindow(QMainWindow):
    loaded = Signal()

    def __init__(
        self, db_path: str, bridge, pool, *, first_run: bool | None = None, remember: bool = True
    ) -> None:
        super().__init__()
        self.db_path = str(db_path)
        # The app (``app.run``) keeps analysis going whenever tracks lack current features
        # (start_background_analysis); a window built for a screenshot or a test does not.
        self.background_analysis = False
        self._analysis_held = False  # Cancel pressed: no more analysis until the next launch
        self._closing_down = False
        self.bridge = bridge
        self.session = bridge.session
        self.pool = pool
        self.scan_job: ScanJob | None = None
        self.analysis_job: AnalysisJob | None = None
        self._loaded = False
        self._pending_rescan = False
        self.user_playlists: list[str] = []
        self.setWindowTitle("Segue")
        self.setWindowIcon(app_icon())
        self.setMinimumSize(QSize(760, 520))

        self.covers = CoverCache(pool, parent=self)
        self.songs_model = TrackTableModel(self.db_path, pool, self)
        self.albums_model = AlbumModel(self.db_path, pool, self.covers, self)
        self.artists_model = ArtistModel(self.db_path, pool, self)

        self._build_sidebar()
        self._build_centre()
        self.upnext = UpNextPanel(bridge)
        self.upnext.setMinimumWidth(240)
        self.upnext.track_actions = lambda menu, track_id: add_track_actions(
            menu, self, track_id, [track_id]
        )
        self.nowbar = NowPlayingBar(bridge, self.covers)

        split = QSplitter(Qt.Orientation.Horizontal)
        split.setObjectName("MainSplitter")
        split.setChildrenCollapsible(False)
        split.setHandleWidth(1)
        split.addWidget(self.sidebar)
        split.addWidget(self.centre)
        split.addWidget(self.upnext)
        split.setStretchFactor(1, 1)
        split.setSizes([200, 720, 340])
        self.splitter = split
        root = QWidget()
        lay = QVBoxLayout(root)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(0)
        lay.addWidget(split, 1)
        lay.addWidget(self.nowbar)
        self.setCentralWidget(root)

        self.summary = QLabel()
        self.scan_status = JobStatus("Scanning")
        self.scan_status.cancel.clicked.connect(self.cancel_scan)
        self.analysis_status = JobStatus("Analysing")
        self.analysis_status.cancel.clicked.connect(self.cancel_analysis)
        self.message = QLabel()
        sb = self.statusBar()
        sb.setSizeGripEnabled(False)
        sb.addWidget(self.summary)
        sb.addWidget(self.message, 1)
        sb.addPermanentWidget(self.scan_status)
        sb.addPermanentWidget(self.analysis_status)

        self._build_menus()
        self._build_shortcuts()
        self.songs_model.loaded.connect(self._songs_loaded)
        bridge.changed.connect(self._session_changed)
        self.covers.ready.connect(lambda _p: None)
        self.remember = remember
        if remember:
            self._restore()
        else:
            self.resize(1280, 800)

        self.refresh_timer = QTimer(self, interval=1000)
        self.refresh_timer.timeout.connect(self._refresh_during_scan)

        from player.library.browse import root_folders

        has_roots = bool(root_folders(thread_db(self.db_path)))
        if first_run is None:
            first_run = not has_roots and not prefs.get("onboarded")
        self.select_view("welcome" if first_run else "songs")
        self.songs_model.refresh()
        self._update_summary()

    # -- building ---------------------------------------------------------------------------

    def _build_sidebar(self) -> None:
        self.sidebar = QWidget()
        self.sidebar.setObjectName("Sidebar")
        self.sidebar.setMinimumWidth(170)
        self.nav = QListWidget()
        self.nav.setObjectName("SidebarList")
        self.nav.setIconSize(QSize(18, 18))
        self.nav.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        # Long names (user playlists) elide in a narrow window: never a sideways scroll.
        self.nav.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.nav.setTextElideMode(Qt.TextElideMode.ElideRight)
        self.nav.setWordWrap(False)
        self._nav_items: dict[str, QListWidgetItem] = {}

        def header(text: str) -> None:
            item = QListWidgetItem(text.upper())
            item.setFlags(Qt.ItemFlag.NoItemFlags)
            font = item.font()
            font.setPointSizeF(max(7.0, font.pointSizeF() * 0.8))
            font.setBold(True)
            item.setFont(font)
            item.setSizeHint(QSize(100, 34))
            self.nav.addItem(item)

        def entry(key: str, text: str, icon_name: str) -> None:
            item = QListWidgetItem(icon(icon_name), text)
            item.setData(_SECTION, key)
            item.setData(_ICON, icon_name)
            self.nav.addItem(item)
            self._nav_items[key] = item

        header("Library")
        entry("songs", "Songs", "song")
        entry("albums", "Albums", "album")
        entry("artists", "Artists", "artist")
        header("Playlists")
        entry("playlist:discover", "Discover", "discover")
        entry("playlist:forgotten", "Forgotten favourites", "forgotten")
        entry("playlist:mixes", "Your mixes", "mix")
        self._user_anchor = self.nav.count()  # user playlists are inserted here
        header("You")
        entry("taste", "Taste", "taste")
        entry("stats", "Listening stats", "stats")
        self.nav.currentItemChanged.connect(self._nav_changed)
        lay = QVBoxLayout(self.sidebar)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(self.nav)

    def _build_centre(self) -> None:
        self.centre = QWidget()
        self.search = QLineEdit()
        self.search.setObjectName("Search")
        self.search.setPlaceholderText("Search title, artist, album, genre, heard tags  (Ctrl+F)")
        self.search.addAction(icon("search"), QLineEdit.ActionPosition.LeadingPosition)
        self.search.setClearButtonEnabled(True)
        self._search_timer = QTimer(self, singleShot=True, interval=120)
        self._search_timer.timeout.connect(self._run_search)
        self.search.textChanged.connect(lambda _t: self._search_timer.start())
        self.search.returnPressed.connect(self._run_search)
        self.chip = QPushButton()
        self.chip.setObjectName("Chip")
        self.chip.setIcon(icon("remove", "#ffffff"))
        self.chip.setLayoutDirection(Qt.LayoutDirection.RightToLeft)
        self.chip.clicked.connect(self.clear_filter)
        self.chip.hide()
        self.count = QLabel()
        self.count.setObjectName("Small")
        top = QHBoxLayout()
        top.setContentsMargins(16, 12, 16, 8)
        top.addWidget(self.search, 1)
        top.addWidget(self.chip)
        top.addWidget(self.count)

        self.table = QTableView()
        self.table.setObjectName("Songs")
        self.table.setModel(self.songs_model)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setShowGrid(False)
        self.table.setAlternatingRowColors(False)
        self.table.setWordWrap(False)
        self.table.setSortingEnabled(False)
        self.table.verticalHeader().hide()
        self.table.verticalHeader().setDefaultSectionSize(30)
        self.table.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        self.table.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        hh = self.table.horizontalHeader()
        hh.setHighlightSections(False)
        hh.setDefaultAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
        for col, (mode, width) in enumerate(
            [
                (QHeaderView.ResizeMode.Fixed, 40),
                (QHeaderView.ResizeMode.Stretch, 0),
                (QHeaderView.ResizeMode.Interactive, 160),  # artist and album: see
                (QHeaderView.ResizeMode.Interactive, 170),  # _fit_columns
                (QHeaderView.ResizeMode.Interactive, 96),
                (QHeaderView.ResizeMode.Fixed, 60),
            ]
        ):
            hh.setSectionResizeMode(col, mode)
            if width:
                hh.resizeSection(col, width)
        self.table.installEventFilter(self)  # columns follow the table's width
        self.table.activated.connect(self._song_activated)
        self.table.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.table.customContextMenuRequested.connect(self._song_menu)
        self.empty_songs = QLabel()
        self.empty_songs.setObjectName("Empty")
        self.empty_songs.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.empty_songs.setWordWrap(True)

        self.albums = QListView()
        self.albums.setObjectName("Albums")
        self.albums.setModel(self.albums_model)
        self.albums.setViewMode(QListView.ViewMode.IconMode)
        self.albums.setItemDelegate(AlbumDelegate(self.albums))
        self.albums.setGridSize(QSize(184, 220))
        self.albums.setResizeMode(QListView.ResizeMode.Adjust)
        self.albums.setMovement(QListView.Movement.Static)
        self.albums.setUniformItemSizes(True)
        self.albums.setWordWrap(True)
        self.albums.setSpacing(6)
        self.albums.setLayoutMode(QListView.LayoutMode.Batched)
        self.albums.activated.connect(self._album_activated)

        self.artists = QListView()
        self.artists.setObjectName("Artists")
        self.artists.setModel(self.artists_model)
        self.artists.setItemDelegate(ArtistDelegate(self.artists))
        self.artists.setSpacing(1)
        self.artists.setUniformItemSizes(True)
        self.artists.activated.connect(self._artist_activated)

        self.playlist_page = PlaylistView(self.db_path, self.pool, self.session)
        self.playlist_page.playlists_changed = self.refresh_user_playlists
        self.taste = TasteView(self.db_path, self.pool, self.session)
        self.stats = StatsView(self.db_path, self.pool)
        self.welcome = OnboardingPage()
        self.welcome.start.connect(self.finish_onboarding)

        self.stack = QStackedWidget()
        self.pages = {
            "songs": self.table,
            "empty": self.empty_songs,
            "albums": self.albums,
            "artists": self.artists,
            "playlists": self.playlist_page,
            "taste": self.taste,
            "stats": self.stats,
            "welcome": self.welcome,
        }
        for w in self.pages.values():
            self.stack.addWidget(w)
        lay = QVBoxLayout(self.centre)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(0)
        self.top_bar = QWidget()
        self.top_bar.setLayout(top)
        lay.addWidget(self.top_bar)
        lay.addWidget(self.stack, 1)

    def _build_menus(self) -> None:
        bar = self.menuBar()
        file = bar.addMenu("&File")
        file.addAction(icon("folder"), "Add music folder…", self._add_folder)
        file.addAction("Rescan library", lambda: self.start_scan())
        file.addAction("Analyse now", self.analyse_now)
        file.addAction(icon("playlist"), "Import playlist…", self.import_playlist)
        file.addSeparator()
        act = file.addAction(icon("settings"), "Settings…", self.open_settings)
        act.setShortcut(QKeySequence.StandardKey.Preferences)
        file.addSeparator()
        quit_ = file.addAction("Quit", self.quit)
        quit_.setShortcut(QKeySequence.StandardKey.Quit)
        play = bar.addMenu("&Playback")
        self.act_play = play.addAction(icon("play"), "Play / Pause", self.session.toggle_pause)
        self.act_next = play.addAction(icon("next"), "Next", self.session.next)
        self.act_prev = play.addAction(icon("previous"), "Previous", self.session.previous)
        self.act_like = play.addAction(icon("like"), "Like", self.like_current)
        self.act_next.setShortcut(QKeySequence("Ctrl+Right"))
        self.act_prev.setShortcut(QKeySequence("Ctrl+Left"))
        self.act_like.setShortcut(QKeySequence("Ctrl+L"))
        self.act_play.setShortcut(QKeySequence(Qt.Key.Key_Space))
        self.act_play.setShortcutContext(Qt.ShortcutContext.WidgetShortcut)  # see _space
        self.playback_actions = add_playback_actions(self, play)
        play.addSeparator()
        self.act_history = play.addAction("Pause listening history")
        self.act_history.setCheckable(True)
        self.act_history.setChecked(prefs.get("history/paused"))
        self.act_history.toggled.connect(self._history_toggled)
        view = bar.addMenu("&View")
        for key, label in (
            ("songs", "Songs"),
            ("albums", "Albums"),
            ("artists", "Artists"),
            ("taste", "Taste"),
            ("stats", "Listening stats"),
        ):
            view.addAction(label, lambda k=key: self.select_view(k))
        add_help_menu(self, bar)

    def _build_shortcuts(self) -> None:
        space = QShortcut(QKeySequence(Qt.Key.Key_Space), self)
        space.setContext(Qt.ShortcutContext.WindowShortcut)
        space.activated.connect(self._space)
        find = QShortcut(QKeySequence.StandardKey.Find, self)
        find.activated.connect(self.focus_search)

    # -- navigation -------------------------------------------------------------------------

    def select_view(self, name: str) -> None:
        if name.startswith("playlist"):
            key = name if ":" in name else "playlist:discover"
            self._show_playlist(key)
            self._select_nav(key)
            return
        if name not in self.pages:
            raise ValueError(name)
        if name == "songs" and self.songs_model.ready and self.songs_model.total() == 0:
            self.stack.setCurrentWidget(self.empty_songs)
        else:
            self.stack.setCurrentWidget(self.pages[name])
        self.current_view = name
        self.top_bar.setVisible(name in ("songs", "albums", "artists"))
        # The first-run page stands alone: nothing to play or queue yet.
        self.upnext.setVisible(name != "welcome")
        self.nowbar.setVisible(name != "welcome")
        if name == "albums":
            self.albums_model.refresh(self.search.text())
        elif name == "artists":
            self.artists_model.refresh(self.search.text())
        elif name == "taste":
            self.taste.refresh()
            self.update_taste_map()
        elif name == "stats":
            self.stats.refresh()
        self._select_nav(name)

    def update_taste_map(self) -> None:
        """Place what changed in the library on the saved taste map (a worker builds it
        when the library changed since the last build) and draw it again."""
        from player.ui.playlists_view import update_taste_map

        path = self.db_path

        def updated(changed: bool) -> None:
            if changed and self.current_view == "taste":
                self.taste.refresh()

        self.pool.run_task(lambda: update_taste_map(path), updated)

    def _select_nav(self, key: str) -> None:
        item = self._nav_items.get(key)
        self.nav.blockSignals(True)
        if item is not None:
            self.nav.setCurrentItem(item)
        else:
            self.nav.clearSelection()
        self.nav.blockSignals(False)

    def _nav_changed(self, item: QListWidgetItem | None, _prev: Any) -> None:
        if item is not None and item.data(_SECTION):
            self.select_view(str(item.data(_SECTION)))

    def _show_playlist(self, key: str) -> None:
        self.playlist_page.open(key.removeprefix("playlist:"))
        self.stack.setCurrentWidget(self.playlist_page)
        self.top_bar.hide()
        self.upnext.show()
        self.nowbar.show()
        self.current_view = key

    def refresh_user_playlists(self) -> None:
        from player.ui.playlists_view import saved_playlists

        path = self.db_path
        self.pool.run_task(lambda: saved_playlists(path), self._show_user_playlists)

    _sidebar_playlists: list[tuple[str, str, str | None]] | None = None

    def _show_user_playlists(self, saved: list[tuple[str, str, str | None]]) -> None:
        """The saved playlists in the sidebar: the user's own, and the smart ones (a
        search icon; the query in the tooltip). "Add to playlist" offers only the user's."""
        self.user_playlists = [name for name, kind, _ in saved if kind == "user"]
        if saved == self._sidebar_playlists:
            return  # the periodic check found nothing new: the sidebar stays as it is
        if self._sidebar_playlists is not None:
            self.playlist_page.built_at = 0.0  # one saved elsewhere: build it in next time
        self._sidebar_playlists = saved
        for key in [k for k in self._nav_items if k.startswith("playlist:user:")]:
            item = self._nav_items.pop(key)
            self.nav.takeItem(self.nav.row(item))
        for offset, (name, kind, query) in enumerate(saved):
            icon_name = "search" if kind == "smart" else "playlist"
            item = QListWidgetItem(icon(icon_name), name)
            if kind == "smart":
                item.setToolTip(f"Smart playlist: {query}")
            key = f"playlist:user:{name}"
            item.setData(_SECTION, key)
            item.setData(_ICON, icon_name)
            self.nav.insertItem(self._user_anchor + offset, item)
            self._nav_items[key] = item
        if getattr(self, "current_view", "").startswith("playlist:"):
            self._select_nav(self.current_view)

    def add_to_playlist(self, ids: list[int], name: str | None = None) -> None:
        """Add tracks to a user playlist (a new one when ``name`` is None: asks for it)."""
        from PySide6.QtWidgets import QInputDialog

        from player.ui.playlists_view import save_tracks
        from player.ui.tasks import with_error

        how = "append" if name is not None else "new"
        if name is None:
            name, ok = QInputDialog.getText(self, "New playlist", "Name:")
            if not ok or not name.strip():
                return
            name = name.strip()
        path = self.db_path

        def done(_result: object, error: BaseException | None) -> None:
            if error is not None:  # a taken name: say so, nothing was changed
                self.message.setText(str(error))
                return
            self.playlist_page.built_at = 0.0
            self.refresh_user_playlists()
            self.message.setText(f"Added {plural(len(ids), 'song')} to '{name}'")

        self.pool.run_task(lambda: save_tracks(path, name, ids, how=how), with_error(done))

    def import_playlist(self) -> None:
        from player.ui.filedialogs import open_file
        from player.ui.playlists_view import import_file

        path = open_file(self, "Import a playlist", self.db_path, "Playlists (*.m3u *.m3u8 *.xspf)")
        if not path:
            return
        db_path = self.db_path

        def done(result, error) -> None:
            if error is not None:
                self.message.setText(str(error))
                return
            name, matched, total = result
            self.message.setText(f"Imported '{name}': {matched} of {total} entries matched")
            self.playlist_page.built_at = 0.0
            self.refresh_user_playlists()

        from player.ui.tasks import with_error

        self.pool.run_task(lambda: import_file(db_path, path), with_error(done))

    def focus_search(self) -> None:
        if self.current_view not in ("songs", "albums", "artists"):
            self.select_view("songs")
        self.search.setFocus()
        self.search.selectAll()

    def _run_search(self) -> None:
        text = self.search.text()
        self.songs_model.set_filter(text)
        if self.current_view == "albums":
            self.albums_model.refresh(text)
        elif self.current_view == "artists":
            self.artists_model.refresh(text)

    def clear_filter(self) -> None:
        self.chip.hide()
        self.songs_model.set_filter(artist=None, album=None)

    def _filter_to(self, label: str, **kw: Any) -> None:
        self.chip.setText(label)
        self.chip.show()
        self.songs_model.set_filter(artist=kw.get("artist"), album=kw.get("album"))
        self.select_view("songs")

    def _album_activated(self, index) -> None:
        album = index.data(ROW_ROLE)
        if album is not None:
            self._filter_to(f"Album: {album.title}", album=album.album)

    def _artist_activated(self, index) -> None:
        artist = index.data(ROW_ROLE)
        if artist is not None:
            self._filter_to(f"Artist: {artist.name}", artist=artist.artist)

    # -- songs ------------------------------------------------------------------------------

    def _songs_loaded(self, total: int) -> None:
        if self.current_view == "songs":
            self.stack.setCurrentWidget(self.table if total else self.empty_songs)
        if self.songs_model.text or self.chip.isVisible():
            self.count.setText(f"{total:,} found")
        else:
            self.count.setText("")
        self._update_empty_text()
        self._update_summary()
        if not self._loaded:
            self._loaded = True
            self.loaded.emit()
            QTimer.singleShot(300, self.refresh_user_playlists)

    def _update_empty_text(self) -> None:
        if self.songs_model.text or self.chip.isVisible():
            self.empty_songs.setText("Nothing matches your search.")
        elif self.scan_job is not None:
            self.empty_songs.setText("Reading your music… songs appear here as they are found.")
        else:
            from player.library.browse import root_folders

            roots = root_folders(thread_db(self.db_path))
            if roots and not any(online for _, online in roots):
                self.empty_songs.setText(
                    "Your music folder cannot be reached:\n"
                    + "\n".join(p for p, _ in roots)
                    + "\n\nPlug the drive in, or add another folder (File › Add music folder)."
                )
            else:
                self.empty_songs.setText(
                    "Your library is empty.\nAdd a music folder from the File menu."
                )

    def _song_activated(self, index) -> None:
        track_id = self.songs_model.data(index, TRACK_ID_ROLE)
        if track_id is not None:
            self.session.play_track(int(track_id))

    def _song_menu(self, pos) -> None:
        menu = self.song_menu(pos)
        if menu is not None:
            menu.exec(self.table.viewport().mapToGlobal(pos))

    def song_menu(self, pos) -> QMenu | None:
        """The context menu of the song at ``pos`` (None: no song there)."""
        index = self.table.indexAt(pos)
        track_id = self.songs_model.data(index, TRACK_ID_ROLE) if index.isValid() else None
        if track_id is None:
            return None
        menu = QMenu(self)
        menu.addAction(icon("play"), "Play", lambda: self.session.play_track(track_id))
        menu.addAction("Play next", lambda: self.session.play_next(track_id))
        menu.addAction("Add to queue", lambda: self.session.enqueue(track_id))
        rows = sorted({i.row() for i in self.table.selectionModel().selectedRows()})
        ids = [self.songs_model.track_id(r) for r in rows] or [track_id]
        add = menu.addMenu(icon("playlist"), "Add to playlist")
        add.addAction("New playlist…", lambda: self.add_to_playlist(ids))
        for name in self.user_playlists:
            add.addAction(name, lambda n=name: self.add_to_playlist(ids, n))
        menu.addSeparator()
        menu.addAction(
            icon("more-like"), "More like this", lambda: self.session.more_like_this(track_id)
        )
        add_track_actions(menu, self, track_id, ids)
        return menu

    # -- session ----------------------------------------------------------------------------

    def _space(self) -> None:
        if self.search.hasFocus():
            self.search.insert(" ")
        else:
            self.session.toggle_pause()

    def like_current(self) -> None:
        np = now_playing(self.bridge.state)
        if np is not None:
            self.session.like(np.id)

    def _session_changed(self, kind: str, state: Any) -> None:
        np = now_playing(state)
        track_id = getattr(np, "id", None)
        if track_id != self.songs_model.playing_id:
            self.songs_model.set_playing(track_id)
            title = getattr(np, "title", None)
            self.setWindowTitle(f"{title} — Segue" if title else "Segue")
        playing = getattr(state, "play_state", "") == "playing"
        self.act_play.setIcon(icon("pause" if playing else "play"))
        self._tell_analysis(playing)

    def _tell_analysis(self, playing: bool) -> None:
        """While music plays, analysis runs one low-priority worker (or, if the user asked
        for it in Settings, pauses)."""
        if self.analysis_job is not None:
            self.analysis_job.pause(playing and prefs.get("analysis/pause_while_playing"))
            self.analysis_job.set_playing(playing)

    def _history_toggled(self, paused: bool) -> None:
        prefs.put("history/paused", paused)
        self.session.set_history_paused(paused)

    # -- background work --------------------------------------------------------------------

    def finish_onboarding(self, folders: list[str]) -> None:
        prefs.put("onboarded", True)
        self.start_scan(folders, then_analyse=True)
        self.select_view("songs")

    def _add_folder(self) -> None:
        from player.ui.filedialogs import choose_folder

        folder = choose_folder(self, "Add a music folder", self.db_path)
        if folder:
            self.start_scan([folder])

    def start_scan(self, add: list[str] | None = None, then_analyse: bool = True) -> None:
        if self.scan_job is not None:
            self._pending_rescan = True
            return
        self._analyse_after_scan = then_analyse
        job = ScanJob(self.db_path, add)
        job.progress.connect(self._scan_progress)
        job.finished_scan.connect(self._scan_finished)
        self.scan_job = job
        self.scan_status.show_progress("Scanning…", 0, 0)
        self.refresh_timer.start()
        self._update_empty_text()
        job.start()

    def _scan_progress(self, done: int, total: int) -> None:
        self.scan_status.show_progress(f"Scanning {done:,} / {total:,}", done, total)

    def _refresh_during_scan(self) -> None:
        self.songs_model.refresh(keep_rows=True)

    def _scan_finished(self, summary: Any, error: str | None) -> None:
        job, self.scan_job = self.scan_job, None
        if job is not None:
            job.wait()
            job.deleteLater()
        self.refresh_timer.stop()
        self.scan_status.hide()
        if error == "cancelled":
            self.message.setText("Scan cancelled; what was read so far is kept.")
        elif error:
            self.message.setText(error)
        elif summary is not None:
            bits = [f"{summary.added} added"] if summary.added else []
            bits += [f"{summary.updated} updated"] if summary.updated else []
            bits += [f"{summary.missing} missing"] if summary.missing else []
            bits += [f"{summary.errors} unreadable"] if summary.errors else []
            if summary.offline:
                bits.append(f"offline: {', '.join(summary.offline)}")
            if summary.denied:
                bits.append(f"permission denied: {', '.join(summary.denied)}")
            self.message.setText("Scan finished: " + (", ".join(bits) or "no changes"))
        self.library_changed()
        if self._pending_rescan:
            self._pending_rescan = False
            self.start_scan()
        elif self.background_analysis:
            self.keep_analysing()
        elif error is None and getattr(self, "_analyse_after_scan", False):
            self.start_analysis()

    def cancel_scan(self) -> None:
        if self.scan_job is not None:
            self.scan_job.cancel()
            self.scan_status.label.setText("Cancelling…")

    # Analysis resumes by itself: at launch, after any scan (the app's or `segue scan`'s,
    # seen by the poll), after `segue FILE`, after a feature-version upgrade. Only Cancel
    # (for this run) or a run that made no progress stops it.
    ANALYSIS_POLL_MS = 30_000

    def start_background_analysis(self) -> None:
        """Called once the window is up (``app.run``): check now, then every half-minute."""
        self.background_analysis = True
        self.analysis_timer = QTimer(self)
        self.analysis_timer.setInterval(self.ANALYSIS_POLL_MS)
        self.analysis_timer.timeout.connect(self.keep_analysing)
        self.analysis_timer.timeout.connect(self.check_library)
        self.analysis_timer.start()
        self.keep_analysing()
        self.check_library()

    _library_stamp: tuple[float, ...] | None = None

    def check_library(self) -> None:
        """Refresh the library views when the library changed behind them (a `segue scan`
        or `segue analyze` in a terminal, the app's own analysis as it goes): a cheap
        look at the tracks and the analysis on a worker, every half-minute."""
        from player.library.browse import library_stamp

        path = self.db_path

        def seen(stamp: tuple[float, ...]) -> None:
            before, self._library_stamp = self._library_stamp, stamp
            if before is not None and stamp != before and not self._closing_down:
                self.library_changed()

        self.pool.run_task(lambda: library_stamp(thread_db(path)), seen)
        self.refresh_user_playlists()  # one saved meanwhile (segue smart --save)
        check_history = getattr(self.session, "check_history", None)
        if callable(check_history):  # segue history import / wipe in a terminal
            check_history()

    def keep_analysing(self) -> None:
        """Start analysis in the background if tracks lack current features."""
        if not self._may_analyse():
            return
        from player.analysis.backlog import backlog

        path = self.db_path

        def counted(waiting: int) -> None:
            if waiting > 0 and self._may_analyse():
                self.start_analysis()

        self.pool.run_task(lambda: backlog(thread_db(path)), counted)

    def _may_analyse(self) -> bool:
        return (
            self.background_analysis
            and not self._closing_down
            and not self._analysis_held
            and self.scan_job is None
            and not (self.analysis_job is not None and self.analysis_job.running())
        )

    def analyse_now(self) -> None:
        self._analysis_held = False
        self.start_analysis()

    def start_analysis(self) -> None:
        if self.analysis_job is not None and self.analysis_job.running():
            return
        job = AnalysisJob(self.db_path, workers=prefs.get("analysis/workers"), parent=self)
        job.progress.connect(
            lambda d, t: self.analysis_status.show_progress(f"Analysing {d:,} / {t:,}", d, t)
        )
        job.waiting.connect(
            lambda: self.analysis_status.show_progress(
                "Waiting for the analysis running in another Segue (segue analyze)…", 0, 0
            )
        )
        job.finished_analysis.connect(self._analysis_finished)
        self.analysis_job = job
        self.analysis_status.show_progress("Analysing…", 0, 0)
        job.start()
        self._tell_analysis(getattr(self.bridge.state, "play_state", "") == "playing")

    def _analysis_finished(self, summary: Any, error: str | None) -> None:
        self.analysis_status.hide()
        if error == "cancelled":
            if not self._closing_down:
                self._analysis_held = True
            self.message.setText(
                "Analysis paused until Segue starts again (File ▸ Analyse now resumes it)."
            )
        elif error:
            self._analysis_held = True  # not again and again: the next launch tries anew
            self.message.setText(error)
        elif summary:
            if not summary.get("analysed") and not summary.get("failed"):
                self._analysis_held = True  # no progress: do not loop
            self.message.setText(analysis_summary(summary))
        # What the analysis heard shows in the lists, the map places what it analysed.
        self.library_changed()

    def cancel_analysis(self) -> None:
        if self.analysis_job is not None:
            self.analysis_job.cancel()

    def history_wiped(self, events: int) -> None:
        """Settings ▸ Wipe listening history is done: the running session forgets it too."""
        self.message.setText(f"Listening history wiped ({events} events)")
        self.history_replaced(wiped=True)

    def history_replaced(self, *, wiped: bool = False) -> None:
        """The listening log was wiped or replaced (an import): the heart, the bans and Up
        Next follow at once, and the playlists are built again when next opened."""
        replaced = getattr(self.session, "history_replaced", None)
        if callable(replaced):
            replaced(wiped=wiped)
        self.playlist_page.built_at = 0.0
        self.library_changed()

    def library_changed(self) -> None:
        """The library changed (a scan, an analysis, a removal): every view reads it again."""
        self.songs_model.refresh(keep_rows=True)
        self._reload_song_rows()
        if self.current_view == "albums":
            self.albums_model.refresh(self.search.text())
        elif self.current_view == "artists":
            self.artists_model.refresh(self.search.text())
        elif self.current_view == "taste":
            self.taste.refresh()
            self.update_taste_map()
        self._update_summary()

    def _reload_song_rows(self) -> None:
        """The rows on show are read again (new tags, heard tags): the model keeps pages of
        rows it read, which a query returning the same ids would otherwise keep showing."""
        model = self.songs_model
        model._pages.clear()
        rows = model.rowCount()
        if rows:
            model.dataChanged.emit(model.index(0, 0), model.index(rows - 1, len(model.COLUMNS) - 1))

    def _update_summary(self) -> None:
        from player.library.tracks import count_present

        path = self.db_path

        def show(n: int) -> None:
            self.summary.setText(f"{n:,} songs" if n != 1 else "1 song")

        self.pool.run_task(lambda: count_present(thread_db(path)), show)

    # -- settings, state --------------------------------------------------------------------

    def open_settings(self) -> None:
        from player.ui.settings import SettingsDialog

        SettingsDialog(self).exec()

    def apply_settings(self) -> None:
        paused = prefs.get("history/paused")
        self.act_history.setChecked(paused)
        self.session.set_history_paused(paused)
        configure = getattr(self.session, "configure", None)
        if callable(configure):
            configure(**prefs.session_options())

    def _restore(self) -> None:
        s = prefs.settings()
        geometry = s.value("window/geometry")
        if isinstance(geometry, QByteArray) and not geometry.isEmpty():
            self.restoreGeometry(geometry)
        else:
            self.resize(1280, 800)
        state = s.value("window/state")
        if isinstance(state, QByteArray):
            self.restoreState(state)
        split = s.value("window/splitter")
        if isinstance(split, QByteArray):
            self.splitter.restoreState(split)

    def save_state(self) -> None:
        if not self.remember:
            return
        s = prefs.settings()
        s.setValue("window/geometry", self.saveGeometry())
        s.setValue("window/state", self.saveState())
        s.setValue("window/splitter", self.splitter.saveState())
        s.sync()

    def shutdown(self) -> None:
        self._closing_down = True
        if hasattr(self, "analysis_timer"):
            self.analysis_timer.stop()
        self.save_state()
        if self.scan_job is not None:
            self.scan_job.cancel()
            self.scan_job.wait(10000)
        if self.analysis_job is not None:
            self.analysis_job.cancel()

    def quit(self) -> None:
        self._quitting = True
        self.close()

    def eventFilter(self, watched, event) -> bool:
        if watched is self.table and event.type() == QEvent.Type.Resize:
            self._fit_columns()
        return super().eventFilter(watched, event)

    def _fit_columns(self) -> None:
        """A narrow window: the genre column gives its room to title, artist and album,
        and artist and album take a share of the width (the title the rest); each
        elides what does not fit. The title comes first: it keeps at least 45% of what
        the fixed columns leave (120 px or more), and when artist and album would then
        get less than 70 px each the album column goes (the Albums view has it)."""
        self.table.setColumnHidden(4, self.width() < NARROW_WIDTH)
        width = self.table.width() - 16  # the vertical scrollbar
        hh = self.table.horizontalHeader()
        fixed = sum(hh.sectionSize(c) for c in (0, 4, 5) if not self.table.isColumnHidden(c))
        flexible = width - fixed
        rest = flexible - max(120, int(flexible * 0.45))  # for artist and album
        artist = max(70, min(200, int(width * 0.24)))
        album = max(70, min(220, int(width * 0.26)))
        if artist + album > rest:
            artist = max(60, rest // 2 if rest >= 140 else rest)
            album = max(70, rest - artist)
        self.table.setColumnHidden(3, rest < 140)
        hh.resizeSection(2, artist)
        hh.resizeSection(3, album)

    def changeEvent(self, event) -> None:
        # Light and dark follow the system: when its palette changes, so do our colours.
        if (
            event.type() in (QEvent.Type.ApplicationPaletteChange, QEvent.Type.PaletteChange)
            and not self._retheming
            and self._theme_changed()
        ):
            self._retheming = True
            try:
                self.retheme()
            finally:
                self._retheming = False
        super().changeEvent(event)

    _retheming = False

    def _theme_changed(self) -> bool:
        from PySide6.QtWidgets import QApplication

        from player.ui.style import stylesheet

        app = QApplication.instance()
        return app is not None and app.styleSheet() != stylesheet()

    def retheme(self) -> None:
        from PySide6.QtWidgets import QApplication

        from player.ui.style import stylesheet

        app = QApplication.instance()
        if app is not None:
            app.setStyleSheet(stylesheet())
        for item in self._nav_items.values():
            item.setIcon(icon(str(item.data(_ICON))))
        for action in self.search.actions()[:1]:
            action.setIcon(icon("search"))
        for button in self.nowbar.findChildren(QToolButton):
            name = button.objectName()
            if name in ("shuffle", "previous", "next", "dislike"):
                button.setIcon(icon(name))
        for button in self.upnext.findChildren(QToolButton):
            name = button.objectName().removeprefix("upnext-")
            button.setIcon(icon(name))
        self.nowbar.show_state("theme", self.bridge.state)
        self.update()

    def closeEvent(self, event) -> None:
        tray = getattr(self, "tray", None)
        if tray is not None and tray.isVisible() and not getattr(self, "_quitting", False):
            self.hide()
            event.ignore()
            return
        self.shutdown()
        super().closeEvent(event)
