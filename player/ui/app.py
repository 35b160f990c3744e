"""Starting the desktop app: QApplication, the session, the main window, tray and MPRIS."""

from __future__ import annotations

import os
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import QTimer
from PySide6.QtGui import QGuiApplication, QPalette
from PySide6.QtWidgets import QApplication, QMenu, QSystemTrayIcon

from player.ui.icons import app_icon, icon
from player.ui.main_window import VIEWS, MainWindow
from player.ui.nowplaying import now_playing
from player.ui.session_bridge import SessionBridge
from player.ui.style import stylesheet
from player.ui.tasks import TaskPool


def make_app(argv: list[str] | None = None) -> QApplication:
    app = QApplication.instance()
    if app is None:
        QGuiApplication.setDesktopFileName("segue")
        app = QApplication(argv or [sys.argv[0]])
    app.setApplicationName("Segue")
    app.setOrganizationName("Segue")
    app.setApplicationDisplayName("Segue")
    app.setWindowIcon(app_icon())
    app.setStyle("Fusion")
    scheme = os.environ.get("SEGUE_COLOR_SCHEME", "").lower()  # "dark"/"light": override
    if scheme in ("dark", "light") and hasattr(app.styleHints(), "setColorScheme"):
        from PySide6.QtCore import Qt

        app.styleHints().setColorScheme(
            Qt.ColorScheme.Dark if scheme == "dark" else Qt.ColorScheme.Light
        )
        palette = app.style().standardPalette()
        if scheme == "dark" and palette.color(QPalette.ColorRole.Window).lightness() > 128:
            from player.ui.style import dark_palette

            palette = dark_palette()
        app.setPalette(palette)
    app.setStyleSheet(stylesheet())
    return app


class LazyRecommender:
    """The recommender, built when the session first needs it (the first play), on the
    session's thread. Importing and indexing it costs seconds and ~150 MB on a large
    library, which a window that only opens should not pay."""

    def __init__(self, db: Any) -> None:
        self.db = db
        self.engine: Any = None
        self.discover: float | None = None
        self.options: dict[str, Any] = {}

    def _get(self) -> Any:
        if self.engine is None:
            from player.recommend import EngineHost

            self.engine = EngineHost(self.db)
            if self.discover is not None:
                self.engine.set_discover(self.discover)
            if self.options:
                self.engine.configure(**self.options)
        return self.engine

    def fill(self, request: Any) -> Any:
        return self._get().fill(request)

    def observe(self, event: Any) -> None:
        # Before the engine exists there is nothing to update: it is built from the
        # listening log, which already holds this event.
        if self.engine is not None:
            self.engine.observe(event)

    def steer(self, track_id: int, strength: float) -> None:
        self._get().steer(track_id, strength)

    def warm(self) -> None:
        # The session asks after publishing each list: the next re-rank's blends are
        # prepared off the event path (about half its time at 100,000 tracks).
        if self.engine is not None:
            self.engine.warm()

    def set_discover(self, value: float) -> None:
        self.discover = value
        if self.engine is not None:
            self.engine.set_discover(value)

    def reset_history(self, *, forget_learned: bool = False) -> None:
        """The log was wiped or replaced: an engine built later reads it as it is then."""
        if self.engine is not None:
            self.engine.reset_history(forget_learned=forget_learned)
        elif forget_learned:
            from player.personal_cache import forget_state

            forget_state(self.db.path)

    def configure(self, **options: Any) -> None:
        # Kept for the engine built later, passed on at once to one that exists.
        self.options.update(options)
        if self.engine is not None:
            self.engine.configure(**options)


def make_session(
    db_path: str, *, audio: bool = True, backend: Any = None, remember: bool = False
) -> Any:
    """The listening session on the best playback backend, with the recommender.
    ``remember``: it saves what plays and the queue, for ``restore()`` at the next start."""
    import importlib.util

    from player.playback.factory import create_backend
    from player.session import ListeningSession, SessionSettings

    # Without the recommender (a partial build) Up Next holds only what the user queues.
    recommender: Any = LazyRecommender if importlib.util.find_spec("player.recommend") else None
    from player.ui import settings as prefs

    note = None
    if backend is None:
        choice = create_backend(audio=audio)
        backend, note = choice.backend, choice.unavailable_reason
    session = ListeningSession(
        db_path,
        backend,
        recommender=recommender,
        # The user's settings from the start, so applying them again re-ranks nothing
        # (a restored queue stays as it was left).
        settings=SessionSettings(
            skip_threshold_s=float(prefs.get("listening/skip_threshold")),
            repeat_window_s=60.0 * float(prefs.get("listening/repeat_window")),
            artist_spacing=int(prefs.get("listening/artist_spacing")),
        ),
        playback_note=note,
        remember=remember,
    )
    if prefs.get("history/paused"):
        session.set_history_paused(True)
    return session


class Tray:
    """The tray icon: play/pause, next, previous, like, show, quit."""

    def __init__(self, window: MainWindow) -> None:
        self.window = window
        self.icon = QSystemTrayIcon(app_icon(), window)
        menu = QMenu()
        s = window.session
        self.title = menu.addAction("Nothing playing")
        self.title.setEnabled(False)
        menu.addSeparator()
        menu.addAction(icon("play"), "Play / Pause", s.toggle_pause)
        menu.addAction(icon("next"), "Next", s.next)
        menu.addAction(icon("previous"), "Previous", s.previous)
        menu.addAction(icon("like"), "Like", window.like_current)
        menu.addSeparator()
        menu.addAction("Show Segue", self.show_window)
        menu.addAction("Quit", window.quit)
        self.menu = menu
        self.icon.setContextMenu(menu)
        self.icon.setToolTip("Segue")
        self.icon.activated.connect(self._activated)
        self._last: int | None = None
        window.bridge.changed.connect(self._changed)
        self.icon.show()
        window.tray = self.icon

    def show_window(self) -> None:
        self.window.showNormal()
        self.window.raise_()
        self.window.activateWindow()

    def _activated(self, reason: QSystemTrayIcon.ActivationReason) -> None:
        if reason == QSystemTrayIcon.ActivationReason.Trigger:
            if self.window.isVisible():
                self.window.hide()
            else:
                self.show_window()

    def _changed(self, kind: str, state: Any) -> None:
        from player.ui import settings as prefs

        np = now_playing(state)
        track_id = getattr(np, "id", None)
        text = f"{np.title} — {np.artist}" if np is not None else "Nothing playing"
        self.title.setText(text)
        self.icon.setToolTip(f"Segue: {text}")
        if track_id is not None and track_id != self._last and prefs.get("desktop/notifications"):
            self.icon.showMessage(np.title, np.artist or "", app_icon(), 4000)
        self._last = track_id


def _grab(window: MainWindow, target: str) -> None:
    window.pool.wait(10000)
    QApplication.processEvents()
    window.pool.wait(10000)
    QApplication.processEvents()
    image = window.grab()
    Path(target).parent.mkdir(parents=True, exist_ok=True)
    if not image.save(target):
        raise OSError(f"cannot write the screenshot {target}")


def run(
    db_path: str,
    *,
    screenshot: str | None = None,
    view: str | None = None,
    audio: bool = True,
    size: tuple[int, int] | None = None,
    on_loaded: Any = None,
    play: int | None = None,
) -> int:
    from player.library import open_library
    from player.ui import settings as prefs

    open_library(db_path).close()  # create or migrate it before any thread reads it
    app = make_app()
    pool = TaskPool(2)
    if screenshot is not None:  # a picture of the app, not of a machine without sound
        from player.playback.null import NullBackend

        session = make_session(db_path, backend=NullBackend(realtime=True))
    else:
        session = make_session(db_path, audio=audio, remember=True)
        if play is None:
            session.restore()  # what played, paused where it was, and the queue
    bridge = SessionBridge(session)
    window = MainWindow(
        db_path,
        bridge,
        pool,
        first_run=(view == "welcome") if screenshot else None,
        remember=screenshot is None,
    )
    if size:
        window.resize(*size)
    window.apply_settings()
    tray = None
    if screenshot is None and QSystemTrayIcon.isSystemTrayAvailable() and prefs.get("desktop/tray"):
        tray = Tray(window)
    mpris = None
    if screenshot is None and sys.platform.startswith("linux"):
        from player.ui.mpris import Mpris

        mpris = Mpris.register(window)
    window.show()
    stop_keeper = None
    if screenshot is None:
        # A second process holds the DB's shared lock: no stray close in this process can
        # let another one delete the WAL under the app (see player/library/lockkeeper.py).
        stop_keeper = start_lock_keeper(db_path)
        window.start_background_analysis()
    if play is not None:
        session.play_track(play)
    if view and view != "welcome":
        window.select_view(view)

    if screenshot is not None:
        deadline = time.monotonic() + 20

        def ready() -> bool:
            # With --play, wait until the song shows and Up Next has been filled.
            state = bridge.state
            if play is None or time.monotonic() > deadline:
                return True
            return state.now_playing is not None and len(state.upnext) > 0

        def shoot() -> None:
            if not ready():
                QTimer.singleShot(100, shoot)
                return
            if view and view != "welcome":
                window.select_view(view)
            QTimer.singleShot(300, lambda: (_grab(window, screenshot), app.quit()))

        if window._loaded:
            QTimer.singleShot(0, shoot)
        else:
            window.loaded.connect(shoot)
        QTimer.singleShot(40000, app.quit)  # never hang a script
    if on_loaded is not None:

        def loaded() -> None:
            window.repaint()
            on_loaded(window)

        if window._loaded:
            QTimer.singleShot(0, loaded)
        else:
            window.loaded.connect(loaded)
    # Ctrl+C in the terminal quits cleanly: Python sees the signal between Qt events.
    import signal

    signal.signal(signal.SIGINT, lambda *_: window.quit())
    wake = QTimer()
    wake.timeout.connect(lambda: None)
    wake.start(250)
    code = app.exec()
    window.shutdown()
    pool.wait(5000)
    bridge.close()
    if stop_keeper is not None:
        stop_keeper()
    del tray, mpris
    return int(code)


def start_lock_keeper(db_path: str) -> Callable[[], None]:
    """Start the lock keeper on a thread (it waits for the keeper's "ready" line, which
    must not hold up the window) and return what stops it at the end."""
    from player.library.lockkeeper import LockKeeper

    started: list[LockKeeper | None] = []
    thread = threading.Thread(
        target=lambda: started.append(LockKeeper.start(db_path)),
        name="segue-lock-keeper",
        daemon=True,
    )
    thread.start()

    def stop() -> None:
        thread.join(timeout=10)
        for keeper in started:
            if keeper is not None:
                keeper.stop()

    return stop


__all__ = ["VIEWS", "make_app", "make_session", "run", "start_lock_keeper"]
