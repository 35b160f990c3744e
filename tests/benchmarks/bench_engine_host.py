"""The recommender as the app builds it: from a library DB of 100,000 tracks and
1,000,000 logged events to a ready engine (EngineHost), then an up-next request.

Measured in a fresh process: build time, the time until the personal model (learning the
log on a thread) is ready, the first ranking, and RSS (steady after both, and the peak).
Issue 4's memory target is <= 400 MB for the engine.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from tests.benchmarks.common import report

N_TRACKS = 100_000
N_EVENTS = 1_000_000
GENRES = ("Jazz", "Rock", "Electronic", "Folk", "Classical", "Hip-Hop", "Soul", "Metal")
CACHE = Path(tempfile.gettempdir()) / f"segue-bench-host-{N_TRACKS}-{N_EVENTS}-v1.db"

MEASURE = """
import json, resource, sys, time
def rss():
    for line in open('/proc/self/status'):
        if line.startswith('VmRSS'):
            return int(line.split()[1]) / 1024
from player.library import open_library
from player.recommend import EngineHost
base = rss()
db = open_library(sys.argv[1])
start = time.perf_counter()
host = EngineHost(db)
built = time.perf_counter() - start
rss_built = rss()
# The personal model learns the log on a thread while the engine already ranks.
start = time.perf_counter()
host.engine.personal.ready.wait(600)
personal = time.perf_counter() - start
start = time.perf_counter()
picks = host.recommend(1, count=10)
first = time.perf_counter() - start
times = []
for track in range(2, 102):
    start = time.perf_counter()
    host.recommend(track * 7, history=[track], count=10)
    times.append(time.perf_counter() - start)
times.sort()
print(json.dumps({"build_s": built, "first_ms": first * 1000, "personal_s": built + personal,
                  "rss_before_personal_mb": rss_built,
                  "median_ms": times[50] * 1000, "p99_ms": times[98] * 1000,
                  "rss_after_imports_mb": base, "rss_mb": rss(),
                  "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                  "picks": len(picks), "reasons": sum(1 for _, r in picks if r)}))
"""


def build_db() -> Path:
    if CACHE.exists():
        return CACHE
    from player.library import open_library

    rng = np.random.default_rng(3)
    tmp = CACHE.with_suffix(".tmp")
    tmp.unlink(missing_ok=True)
    now = time.time()
    with open_library(tmp) as db, db.transaction() as conn:
        artist = np.arange(N_TRACKS) // 12
        conn.executemany(
            "INSERT INTO tracks (id, path, size, mtime, fingerprint, title, artist, album, genre,"
            " year, duration, added_at, updated_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
            (
                (
                    i + 1,
                    f"/music/{a}/{i}.flac",
                    1000,
                    1.0,
                    f"fp{i}",
                    f"Track {i}",
                    f"Artist {a}",
                    f"Album {i // 6}",
                    GENRES[a % len(GENRES)],
                    1960 + a % 60,
                    240.0,
                    now,
                    now,
                )
                for i, a in enumerate(artist.tolist())
            ),
        )
        n_sessions = N_EVENTS // 20
        genre = np.repeat(rng.integers(0, len(GENRES), n_sessions), 20)
        rank = np.minimum(rng.zipf(1.3, N_EVENTS) - 1, N_TRACKS // 12 // len(GENRES) - 1)
        track = (genre + len(GENRES) * rank) * 12 + rng.integers(0, 12, N_EVENTS) + 1
        ts = now - 365 * 86400 + np.arange(N_EVENTS) * 30.0
        skip = rng.random(N_EVENTS) < 0.15
        conn.executemany(
            "INSERT INTO events (ts, track_id, kind, position_ms, duration_ms, session_id, "
            "source) VALUES (?,?,?,?,?,?,'bench')",
            (
                (t, tr, "skip" if s else "play", 5000 if s else 240000, 240000, f"s{i // 20}")
                for i, (t, tr, s) in enumerate(
                    zip(ts.tolist(), track.tolist(), skip.tolist(), strict=True)
                )
            ),
        )
    tmp.rename(CACHE)
    return CACHE


def main() -> None:
    db = build_db()
    runs = []
    for _ in range(3):
        out = subprocess.run(
            [sys.executable, "-c", MEASURE, str(db)],
            capture_output=True,
            text=True,
            check=True,
            env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])},
        )
        runs.append(json.loads(out.stdout.strip().splitlines()[-1]))

    def med(key: str) -> float:
        return round(float(np.median([r[key] for r in runs])), 2)

    report(
        "engine_host_build",
        tracks=N_TRACKS,
        events=N_EVENTS,
        build_s_median=med("build_s"),
        personal_ready_s_median=med("personal_s"),
        rss_before_personal_ready_mb_median=med("rss_before_personal_mb"),
        first_ranking_ms_median=med("first_ms"),
        ranking_ms_median=med("median_ms"),
        ranking_ms_p99=med("p99_ms"),
        rss_after_imports_mb=med("rss_after_imports_mb"),
        rss_after_build_mb_median=med("rss_mb"),
        peak_rss_mb_median=med("peak_rss_mb"),
        target_rss_mb=400,
        met=med("rss_mb") <= 400,
        picks_with_reasons=f"{runs[0]['reasons']}/{runs[0]['picks']}",
        note="from the library DB, as the app does; peak includes reading the log",
    )


if __name__ == "__main__":
    main()
