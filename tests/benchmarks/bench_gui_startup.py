"""Desktop app start-up (issue 7): with a 50,000-track library DB, cold start to a visible,
populated main window <= 1.5 s and RSS <= 200 MB.

Each run is a fresh interpreter (a cold start: Python, Qt, the DB, the session, the first
page of songs painted); the time is measured by the parent from spawning the process to
the child's "loaded" line, written once the window is shown with its songs painted.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from tests.benchmarks.common import median, report

N_TRACKS = int(os.environ.get("SEGUE_BENCH_GUI_TRACKS", "50000"))
RUNS = int(os.environ.get("SEGUE_BENCH_GUI_RUNS", "5"))
ROOT = Path(__file__).resolve().parent.parent.parent

CHILD = r"""
import json, resource, sys, time
from player.ui.app import run

def loaded(window):
    from PySide6.QtWidgets import QApplication
    model = window.songs_model
    print(json.dumps({
        "rows": model.rowCount(), "total": model.total(), "visible": window.isVisible(),
        "first": model.index(0, 1).data(),
        "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0,
        "modules": sorted(m for m in sys.modules if m.split(".")[0] in ("librosa", "numba")),
    }), flush=True)
    QApplication.instance().quit()

sys.exit(run(sys.argv[1], audio=False, size=(1280, 800), on_loaded=loaded))
"""


def build_db(path: Path, count: int) -> None:
    sys.path.insert(0, str(ROOT))
    from player.library import open_library

    now = time.time()
    with open_library(path) as db, db.transaction() as conn:
        conn.execute("INSERT INTO library_roots (path, added_at) VALUES ('/music', ?)", (now,))
        conn.executemany(
            "INSERT INTO tracks (path, root_id, size, mtime, fingerprint, format, duration, "
            "title, artist, album, genre, year, track_number, added_at, updated_at) "
            "VALUES (?, 1, 4000000, 0, ?, 'mp3', 215.0, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                (
                    f"/music/Artist {i // 120:04}/Album {i // 12:05}/{i % 12 + 1:02} {i}.mp3",
                    f"fp{i}",
                    f"Song number {i}",
                    f"Artist {i // 120:04}",
                    f"Album {i // 12:05}",
                    ("Rock", "Jazz", "Folk", "Pop", "Electronic")[i % 5],
                    1970 + i % 50,
                    i % 12 + 1,
                    now,
                    now,
                )
                for i in range(count)
            ),
        )


def bench_queries(db: Path) -> None:
    """What scrolling and typing cost: a page of rows by id, a search, the album list."""
    import random

    from player.library import browse
    from player.library.db import Database
    from tests.benchmarks.common import timed

    with Database(db) as conn:
        ids = browse.song_ids(conn)
        rng = random.Random(1)
        pages = [ids[i : i + 256] for i in (rng.randrange(0, len(ids) - 256) for _ in range(20))]
        page_s = timed(lambda: browse.songs(conn, pages[rng.randrange(len(pages))]), repeat=20)
        all_ids_s = timed(lambda: browse.song_ids(conn), repeat=5)
        search_s = timed(lambda: browse.song_ids(conn, "song 4242"), repeat=5)
        albums_s = timed(lambda: browse.albums(conn), repeat=3)
    report(
        "gui_library_queries",
        tracks=N_TRACKS,
        page_of_256_rows_ms=round(median(page_s) * 1000, 2),
        all_ids_ordered_ms=round(median(all_ids_s) * 1000, 1),
        search_ms=round(median(search_s) * 1000, 1),
        album_list_ms=round(median(albums_s) * 1000, 1),
        note="page fetches run on the GUI thread (one frame is 16 ms); the rest on workers",
    )


def main() -> None:
    work = Path(tempfile.mkdtemp(prefix="segue-bench-gui-"))
    db = work / "library.db"
    build_db(db, N_TRACKS)
    env = {
        **os.environ,
        "QT_QPA_PLATFORM": os.environ.get("QT_QPA_PLATFORM", "offscreen"),
        "PYTHONPATH": str(ROOT),
        "XDG_CONFIG_HOME": str(work / "config"),
        "XDG_CACHE_HOME": str(work / "cache"),
    }
    times, rss, info = [], [], {}
    for _ in range(RUNS):
        started = time.perf_counter()
        proc = subprocess.Popen(
            [sys.executable, "-c", CHILD, str(db)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        assert proc.stdout is not None
        line = proc.stdout.readline()
        times.append(time.perf_counter() - started)
        proc.wait(timeout=60)
        if not line:
            raise SystemExit(f"the app did not start: {proc.stderr.read() if proc.stderr else ''}")
        info = json.loads(line)
        rss.append(info["rss_mb"])
    report(
        "gui_startup",
        tracks=N_TRACKS,
        runs=RUNS,
        cold_start_s=round(median(times), 3),
        cold_start_runs_s=[round(t, 3) for t in times],
        rss_mb=round(median(rss), 1),
        rows_shown=info["rows"],
        total=info["total"],
        librosa_loaded=bool(info["modules"]),
        target_start_s=1.5,
        target_rss_mb=200,
        ok=median(times) <= 1.5 and median(rss) <= 200 and info["total"] == N_TRACKS,
    )
    bench_queries(db)


if __name__ == "__main__":
    main()
