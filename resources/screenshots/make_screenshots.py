"""Rebuild the README screenshots from ../shared/data/audio.

    QT_QPA_PLATFORM=offscreen .venv/bin/python resources/screenshots/make_screenshots.py

Scans and analyses the real recordings into a throw-away library, gives it three weeks of
believable listening through the real session (null backend, a clock set back: songs
played to the end, a few skips, two likes), builds the taste map, then saves each view
with ``segue gui --screenshot``: every view at 1280x800, the song list in dark, a narrow
window (800x560), and, from the running app, the Song info dialog and the Playback menu.
"""

from __future__ import annotations

import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
AUDIO = ROOT.parent / "shared" / "data" / "audio"
OUT = Path(__file__).resolve().parent
# A listener who likes these most; the first is playing in the screenshots.
FAVOURITES = ("Vibe Ace", "Let's Go Fishin'", "Hungarian Dance No. 5", "solo-trumpet-06")
VIEWS = {
    "songs": "songs",
    "albums": "albums",
    "artists": "artists",
    "stats": "stats",
    "taste": "taste",
}


def segue(db: Path, *args: str, env: dict[str, str] | None = None) -> None:
    subprocess.run(
        [sys.executable, "-m", "player", "--db", str(db), *args],
        cwd=ROOT,
        check=True,
        env={**os.environ, **(env or {})},
    )


def listen(db_path: Path) -> int:
    from player.library import open_library
    from player.playback.null import NullBackend
    from player.session import ListeningSession

    with open_library(db_path) as db:
        rows = db.query("SELECT id, title, duration FROM tracks ORDER BY title")
    durations = {r["id"]: r["duration"] or 60.0 for r in rows}
    by_title = {r["title"]: r["id"] for r in rows}
    ids = list(durations)
    favourites = [by_title[t] for t in FAVOURITES if t in by_title] or ids[::2]
    rng = random.Random(7)
    now = time.time()
    clock = [now - 21 * 86400]
    backend = NullBackend()
    session = ListeningSession(db_path, backend, clock=lambda: clock[0])
    for day in range(21):
        clock[0] = now - (21 - day) * 86400 + 19 * 3600
        for _ in range(rng.choice([0, 1, 2, 3, 4, 5, 6, 8])):
            track = rng.choice(favourites) if rng.random() < 0.6 else rng.choice(ids)
            session.play_track(track)
            session.wait_idle()
            seconds = 8.0 if rng.random() < 0.15 else durations[track] + 0.5
            backend.advance(seconds)
            clock[0] += seconds
            if seconds == 8.0:
                session.next()
            session.wait_idle()
    session.like(favourites[0])
    session.like(favourites[1])
    session.wait_idle()
    session.close()
    return favourites[0]


def extras(db: Path, playing: int) -> None:
    """In the running app: the Song info dialog of the playing song, and the window with
    its Playback menu open (a menu is a window of its own: drawn onto the window's
    picture where it opens)."""
    from PySide6.QtCore import QTimer
    from PySide6.QtGui import QPainter
    from PySide6.QtWidgets import QApplication

    from player.ui.app import run
    from player.ui.trackinfo import open_song_info

    def loaded(window: object) -> None:
        tries = [0]

        def shoot() -> None:
            state = window.bridge.state  # type: ignore[attr-defined]
            if (state.now_playing is None or not state.upnext) and tries[0] < 60:
                tries[0] += 1
                QTimer.singleShot(250, shoot)
                return
            dialog = open_song_info(window, playing)
            assert dialog is not None
            dialog.resize(560, 720)
            QApplication.processEvents()
            dialog.grab().save(str(OUT / "song-info.png"))
            dialog.close()
            bar = window.menuBar()  # type: ignore[attr-defined]
            action = next(a for a in bar.actions() if a.text() == "&Playback")
            menu = action.menu()
            corner = bar.actionGeometry(action).bottomLeft()
            menu.popup(bar.mapToGlobal(corner))
            QApplication.processEvents()
            picture = window.grab()  # type: ignore[attr-defined]
            painter = QPainter(picture)
            painter.drawPixmap(bar.mapTo(window, corner), menu.grab())
            painter.end()
            picture.save(str(OUT / "playback-menu.png"))
            menu.hide()
            QApplication.quit()

        QTimer.singleShot(500, shoot)

    run(str(db), audio=False, size=(1280, 800), on_loaded=loaded, play=playing)


def main() -> None:
    if len(sys.argv) == 4 and sys.argv[1] == "--extras":
        sys.path.insert(0, str(ROOT))
        extras(Path(sys.argv[2]), int(sys.argv[3]))
        return
    sys.path.insert(0, str(ROOT))
    work = Path(tempfile.mkdtemp(prefix="segue-shots-"))
    db = work / "library.db"
    env = {
        "XDG_CONFIG_HOME": str(work / "config"),
        "XDG_CACHE_HOME": str(work / "cache"),
        "QT_QPA_PLATFORM": "offscreen",
    }
    segue(db, "scan", str(AUDIO))
    segue(db, "analyze")
    playing = listen(db)
    segue(db, "playlist", "map")
    for view, name in VIEWS.items():
        segue(
            db,
            "gui",
            "--screenshot",
            str(OUT / f"{name}.png"),
            "--view",
            view,
            "--size",
            "1280x800",
            "--play",
            str(playing),
            "--no-audio",
            env=env,
        )
    segue(
        db,
        "gui",
        "--screenshot",
        str(OUT / "songs-dark.png"),
        "--size",
        "1280x800",
        "--play",
        str(playing),
        "--no-audio",
        env={**env, "SEGUE_COLOR_SCHEME": "dark"},
    )
    segue(
        db,
        "gui",
        "--screenshot",
        str(OUT / "narrow.png"),
        "--size",
        "800x560",
        "--play",
        str(playing),
        "--no-audio",
        env=env,
    )
    subprocess.run(
        [sys.executable, __file__, "--extras", str(db), str(playing)],
        cwd=ROOT,
        check=True,
        env={**os.environ, **env},
    )
    print(f"screenshots in {OUT} (library in {work})")


if __name__ == "__main__":
    main()
