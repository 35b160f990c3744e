"""Analysis resumes by itself (issue 14): whenever the app runs and tracks lack current
features it analyses them in the background, after `segue scan`, after `segue FILE`, after
a relaunch; Cancel holds it for this run only. Real app window, real analysis processes."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("pytestqt")

from PySide6.QtCore import QSettings, Qt

from tests.audiogen import tag, write_audio
from tests.clihelp import segue

RUN_TIMEOUT_MS = 180_000  # a fresh analysis process imports librosa on 2 shared cores


@pytest.fixture(autouse=True)
def _isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, str(tmp_path / "cfg"))


def _song(path: Path, title: str, freq: float) -> Path:
    return tag(write_audio(path, seconds=1.0, freq=freq), title=title, artist="Tester")


def _segue(db_path: Path, *args: str) -> None:
    result = segue(*args, db=db_path)
    assert result.returncode == 0, result.stderr


def _backlog(db_path: Path) -> int:
    from player.analysis.backlog import backlog
    from player.library.db import Database

    with Database(db_path) as db:
        return backlog(db)


class Launched:
    def __init__(self, qtbot: Any, db_path: Path) -> None:
        from player.playback.null import NullBackend
        from player.ui.app import make_app, make_session
        from player.ui.main_window import MainWindow
        from player.ui.session_bridge import SessionBridge
        from player.ui.tasks import SyncPool

        make_app()
        self.bridge = SessionBridge(make_session(str(db_path), backend=NullBackend()))
        self.window = MainWindow(str(db_path), self.bridge, SyncPool(), first_run=False)
        qtbot.addWidget(self.window)
        self.window.show()
        qtbot.waitExposed(self.window)
        self.window.start_background_analysis()  # what `segue` (app.run) does once shown

    def analysing(self) -> bool:
        job = self.window.analysis_job
        return job is not None and job.running() and self.window.analysis_status.isVisible()

    def close(self) -> None:
        self.window.shutdown()
        self.bridge.close()


@pytest.fixture
def launch(qtbot: Any) -> Iterator[Any]:
    opened: list[Launched] = []

    def start(db_path: Path) -> Launched:
        opened.append(Launched(qtbot, db_path))
        return opened[-1]

    yield start
    for app in opened:
        app.close()


def _wait_done(qtbot: Any, app: Launched) -> None:
    qtbot.waitUntil(app.analysing, timeout=10_000)
    with qtbot.waitSignal(app.window.analysis_job.finished_analysis, timeout=RUN_TIMEOUT_MS):
        pass


def test_analysis_resumes_after_cancel_relaunch_cli_scan_and_segue_file(
    qtbot: Any, tmp_path: Path, launch: Any
) -> None:
    db_path = tmp_path / "lib.db"
    music = tmp_path / "music"
    _song(music / "a.flac", "A", 330.0)
    _song(music / "b.flac", "B", 440.0)
    _segue(db_path, "scan", str(music))  # scanned by the CLI, never by the app
    assert _backlog(db_path) == 2

    first = launch(db_path)
    qtbot.waitUntil(first.analysing, timeout=10_000)
    assert first.window.analysis_timer.isActive()
    qtbot.mouseClick(first.window.analysis_status.cancel, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not first.analysing(), timeout=20_000)
    assert "paused until Segue starts again" in first.window.message.text()
    first.window.keep_analysing()  # what the half-minute poll does: Cancel holds this run
    assert not first.analysing()
    first.close()

    second = launch(db_path)  # relaunch: the backlog is picked up again
    _wait_done(qtbot, second)
    assert _backlog(db_path) == 0

    _song(music / "c.flac", "C", 550.0)
    _segue(db_path, "scan")  # the CLI beside the running app
    assert _backlog(db_path) == 1
    second.window.keep_analysing()  # the poll's tick
    _wait_done(qtbot, second)
    assert _backlog(db_path) == 0

    from player.ui.single_instance import open_files

    loose = _song(tmp_path / "elsewhere" / "d.flac", "D", 660.0)  # `segue FILE`
    open_files(second.window, [str(loose)])
    _wait_done(qtbot, second)
    assert _backlog(db_path) == 0


def test_a_new_feature_version_puts_every_track_back_in_the_backlog(tmp_path: Path) -> None:
    from player.library.db import Database
    from player.library.features import FeatureStore
    from recommender.audio.features import current_version

    db_path = tmp_path / "lib.db"
    _song(tmp_path / "m" / "a.flac", "A", 330.0)
    _segue(db_path, "scan", str(tmp_path / "m"))
    _segue(db_path, "analyze")
    version = current_version()[0]  # the music network's version: its weights ship
    with Database(db_path) as db:
        store = FeatureStore(db)
        assert store.pending_count(version) == 0
        assert store.pending_count(version + 1) == 1  # what the next version sees
        assert len(store.pending(version + 1)) == 1


def test_the_analysis_process_hears_when_music_plays() -> None:
    from player.ui.analysis_runner import PlayingFlag

    flag = PlayingFlag()
    assert not flag()
    flag.follow(io.StringIO("playing\n"))
    assert flag()  # one low-priority worker gets work while music plays
    flag.follow(io.StringIO("playing\nidle\n"))
    assert not flag()


def test_the_app_says_it_waits_while_segue_analyze_runs(
    qtbot: Any, tmp_path: Path, launch: Any
) -> None:
    """While another Segue process analyses the library (here: holds its analysis lock,
    as `segue analyze` in a terminal does), the status bar says the app waits for it
    instead of showing an "Analysing…" that never moves; once it ends, the app analyses
    what is left."""
    from player.analysis.lock import analysis_lock

    db_path = tmp_path / "lib.db"
    music = tmp_path / "music"
    _song(music / "a.flac", "A", 330.0)
    _segue(db_path, "scan", str(music))
    with analysis_lock(db_path):
        app = launch(db_path)
        qtbot.waitUntil(app.analysing, timeout=10_000)
        label = app.window.analysis_status.label
        qtbot.waitUntil(lambda: "Waiting for" in label.text(), timeout=RUN_TIMEOUT_MS)
        assert _backlog(db_path) == 1
    with qtbot.waitSignal(app.window.analysis_job.finished_analysis, timeout=RUN_TIMEOUT_MS):
        pass
    assert _backlog(db_path) == 0
