"""The analysis pipeline on a real library DB: worker processes, stored vectors, resume,
ordering, upgrades, timeouts and recorded reasons."""

from __future__ import annotations

import contextlib
import os
import time
from pathlib import Path

import numpy as np
import pytest

from player.analysis import Analyzer
from player.library.db import Database
from player.library.features import FeatureStore, StoredFeatures
from player.library.paths import from_db
from recommender.audio.features import (
    DEEP_FEATURE_VERSION,
    MTT_FEATURE_VERSION,
    N_DEEP_FEATURES,
    N_FEATURES,
    N_MTT_FEATURES,
)
from tests.audiogen import write_audio
from tests.scanhelp import scan

# With both shipped music networks, the analysis writes version 3 vectors.
FEATURE_VERSION = MTT_FEATURE_VERSION


def _library(folder: Path, n: int) -> list[Path]:
    formats = ["flac", "mp3", "ogg", "wav", "m4a"]
    return [
        write_audio(folder / f"song{i}.{formats[i % 5]}", seconds=3.0, freq=220.0 * (1 + i))
        for i in range(n)
    ]


def _ids(db: Database) -> dict[str, int]:
    return {from_db(r["path"]): int(r["id"]) for r in db.query("SELECT id, path FROM tracks")}


def _log(db: Database, track_id: int, ts: float, kind: str = "play") -> None:
    with db.transaction() as conn:
        conn.execute(
            "INSERT INTO events (ts, track_id, kind) VALUES (?, ?, ?)", (ts, track_id, kind)
        )


def test_analyses_every_track_into_sqlite(library: Database, tmp_path: Path) -> None:
    _library(tmp_path / "music", 5)
    write_audio(tmp_path / "music" / "quiet.wav", seconds=3.0, kind="silence")
    scan(library, tmp_path / "music")
    summary = Analyzer(library, workers=2).run()
    assert (summary.analysed, summary.failed, summary.pending) == (5, 1, 0)
    assert summary.failures == {"silent": 1}
    store = FeatureStore(library)
    serving = store.serving(N_DEEP_FEATURES)
    assert serving.vectors.shape == (5, N_DEEP_FEATURES) and serving.vectors.dtype == np.float32
    assert np.all(np.isfinite(serving.vectors))
    assert set(serving.versions.tolist()) == {FEATURE_VERSION}
    first = store.scalars(int(serving.track_ids[0]))
    assert first is not None and 40 < first["bpm"] < 250 and 0 <= first["energy"] <= 1
    # Every track is accounted for: a vector or a recorded reason.
    failures = store.failures()
    assert [Path(p).name for p, _ in failures] == ["quiet.wav"]
    assert "silent" in failures[0][1].message
    # Nothing left to do: a second run does nothing.
    again = Analyzer(library, workers=1).run()
    assert (again.analysed, again.failed) == (0, 0)


def test_resumes_where_it_stopped(library: Database, tmp_path: Path) -> None:
    _library(tmp_path / "music", 4)
    scan(library, tmp_path / "music")
    first = Analyzer(library, workers=1).run(limit=2)
    assert first.analysed == 2 and first.pending == 2
    rest = Analyzer(library, workers=1).run()
    assert rest.analysed == 2 and rest.pending == 0
    assert len(FeatureStore(library).serving(N_FEATURES).track_ids) == 4


def test_recently_played_and_queued_tracks_come_first(library: Database, tmp_path: Path) -> None:
    paths = _library(tmp_path / "music", 5)
    scan(library, tmp_path / "music")
    ids = _ids(library)
    now = time.time()
    _log(library, ids[str(paths[3])], now - 3600)
    _log(library, ids[str(paths[1])], now - 60, kind="queue")
    order = [t.id for t in FeatureStore(library).pending(FEATURE_VERSION)]
    assert order[:2] == [ids[str(paths[1])], ids[str(paths[3])]]
    Analyzer(library, workers=1).run(limit=2)
    done = set(FeatureStore(library).serving(N_FEATURES).track_ids.tolist())
    assert done == {ids[str(paths[1])], ids[str(paths[3])]}


def test_old_version_vectors_keep_serving_until_reanalysed(
    library: Database, tmp_path: Path
) -> None:
    paths = _library(tmp_path / "music", 3)
    scan(library, tmp_path / "music")
    ids = _ids(library)
    store = FeatureStore(library)
    old = ids[str(paths[0])]
    fingerprint = str(library.scalar("SELECT fingerprint FROM tracks WHERE id = ?", (old,)))
    stale = StoredFeatures(
        old, fingerprint, np.ones(N_FEATURES, np.float32), 100.0, 0.5, 0, 1, 0.5, 0.5, 0.5, 0.5,
        0.5, -20.0,
    )  # fmt: skip
    store.save(FEATURE_VERSION - 1, [stale], [])
    pending = store.pending(FEATURE_VERSION)
    # The upgrade waits behind the tracks that have no vector at all...
    assert [t.id for t in pending][-1] == old and pending[-1].upgrade
    # ...and serves meanwhile.
    assert old in store.serving(N_FEATURES).track_ids.tolist()
    Analyzer(library, workers=1).run(limit=2)
    serving = store.serving(N_FEATURES)
    assert len(serving.track_ids) == 3
    assert dict(zip(serving.track_ids.tolist(), serving.versions.tolist(), strict=True))[old] == (
        FEATURE_VERSION - 1
    )
    Analyzer(library, workers=1).run()
    serving = store.serving(N_FEATURES)
    assert set(serving.versions.tolist()) == {FEATURE_VERSION}
    row = serving.track_ids.tolist().index(old)
    assert not np.allclose(serving.vectors[row], 1.0)


def test_a_newer_version_vector_is_never_replaced_by_an_older_one(
    library: Database, tmp_path: Path
) -> None:
    # Without the music network's weights the current version falls back to 1: the
    # version-2 vectors already stored must not count as pending (nor be re-analysed).
    _library(tmp_path / "music", 2)
    scan(library, tmp_path / "music")
    Analyzer(library, workers=1).run()
    store = FeatureStore(library)
    assert store.pending(FEATURE_VERSION - 1) == []
    assert store.pending_count(FEATURE_VERSION - 1) == 0
    assert store.pending_count(FEATURE_VERSION) == 0


def test_a_changed_file_is_analysed_again(library: Database, tmp_path: Path) -> None:
    paths = _library(tmp_path / "music", 2)
    scan(library, tmp_path / "music")
    Analyzer(library, workers=1).run()
    write_audio(paths[0], seconds=4.0, freq=880.0)
    os.utime(paths[0], (time.time() + 10, time.time() + 10))
    scan(library)
    pending = FeatureStore(library).pending(FEATURE_VERSION)
    assert [Path(t.path).name for t in pending] == [paths[0].name]


def test_files_without_audio_are_skipped_with_a_reason(library: Database, tmp_path: Path) -> None:
    _library(tmp_path / "music", 1)
    scan(library, tmp_path / "music")
    with library.transaction() as conn:
        conn.execute("UPDATE tracks SET has_audio = 0")
    summary = Analyzer(library, workers=1).run()
    assert summary.failures == {"no_audio": 1} and summary.workers == 0
    assert "no playable audio" in FeatureStore(library).failures()[0][1].message


def test_a_hung_file_times_out_and_the_pool_goes_on(library: Database, tmp_path: Path) -> None:
    """A FIFO with no writer blocks whoever opens it: the worker is killed at the
    timeout, the file recorded, and the other files are still analysed."""
    paths = _library(tmp_path / "music", 3)
    scan(library, tmp_path / "music")
    ids = _ids(library)
    _log(library, ids[str(paths[1])], time.time())  # analysed first
    paths[1].unlink()
    os.mkfifo(paths[1])
    summary = Analyzer(library, workers=1, timeout=3.0).run()
    assert summary.analysed == 2
    assert summary.failures == {"timeout": 1}
    failure = FeatureStore(library).failure(ids[str(paths[1])])
    assert failure is not None and "longer than 3 s" in failure.message


def test_a_crashing_worker_costs_one_file(library: Database, tmp_path: Path) -> None:
    """Kill the worker in the middle of a file (as a decoder segfault would)."""
    import threading

    paths = _library(tmp_path / "music", 3)
    scan(library, tmp_path / "music")
    ids = _ids(library)
    _log(library, ids[str(paths[0])], time.time())
    paths[0].unlink()
    os.mkfifo(paths[0])  # holds the worker until we kill it
    analyzer = Analyzer(library, workers=1, timeout=60.0)

    def killer() -> None:
        # The worker blocks opening the FIFO (kernel wait channel "wait_for_partner").
        deadline = time.time() + 60
        while time.time() < deadline:
            for pid in _children():
                try:
                    with open(f"/proc/{pid}/wchan") as f:
                        waiting = f.read().strip()
                except OSError:
                    continue
                if waiting == "wait_for_partner":
                    os.kill(pid, 9)
                    return
            time.sleep(0.1)

    thread = threading.Thread(target=killer)
    thread.start()
    summary = analyzer.run()
    thread.join()
    assert summary.analysed == 2
    assert summary.failures == {"crash": 1}
    failure = FeatureStore(library).failure(ids[str(paths[0])])
    assert failure is not None and "crashed" in failure.message


def _children() -> list[int]:
    me = os.getpid()
    out = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    fields = f.read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == me:
                out.append(int(entry))
    return out


def test_low_priority_mode_runs_one_niced_worker_while_music_plays(
    library: Database, tmp_path: Path
) -> None:
    _library(tmp_path / "music", 3)
    scan(library, tmp_path / "music")
    asked: list[float] = []
    niceness: list[int] = []

    def playing() -> bool:
        asked.append(time.time())
        for pid in _children():
            with contextlib.suppress(OSError):
                niceness.append(os.getpriority(os.PRIO_PROCESS, pid))
        return True

    summary = Analyzer(library, workers=2, low_priority=True, playing=playing).run()
    assert summary.analysed == 3
    assert asked, "the app's 'music is playing' flag was never consulted"
    assert niceness and max(niceness) == 19


def test_workers_must_be_positive(library: Database) -> None:
    from player.errors import SegueError

    with pytest.raises(SegueError):
        Analyzer(library, workers=0)


def test_tracks_carry_what_the_network_hears(library: Database, tmp_path: Path) -> None:
    from recommender.audio.features import DEEP_SLICE, MTT_TAG_SLICE, TAG_SLICE

    _library(tmp_path / "music", 2)
    scan(library, tmp_path / "music")
    analyzer = Analyzer(library, workers=1)
    assert analyzer.deep and analyzer.mtt and analyzer.model_problem is None
    analyzer.run()
    vectors = FeatureStore(library).serving(N_MTT_FEATURES).vectors
    assert vectors.shape == (2, N_MTT_FEATURES) and np.isfinite(vectors).all()
    assert np.abs(vectors[:, DEEP_SLICE]).sum() > 0
    for tags in (vectors[:, TAG_SLICE], vectors[:, MTT_TAG_SLICE]):  # both networks'
        assert tags.shape == (2, 50) and ((tags > 0) & (tags < 1)).all()
    assert not np.allclose(vectors[:, TAG_SLICE], vectors[:, MTT_TAG_SLICE])


def test_without_the_mtt_model_it_says_so_once_and_stores_the_msd_outputs(
    library: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A missing or damaged MTT weights file costs the "classical" and instrument tags,
    nothing else: one line, then version 2 vectors with the MSD network's embedding, tags
    and heard words."""
    from recommender.audio.features import TAG_SLICE
    from recommender.audio.musicnn import MTT, shipped

    damaged = tmp_path / "mtt.npz"
    damaged.write_bytes(b"PK\x03\x04 cut short")
    monkeypatch.setenv(MTT.env, str(damaged))
    shipped.cache_clear()
    try:
        _library(tmp_path / "music", 2)
        scan(library, tmp_path / "music")
        analyzer = Analyzer(library, workers=1)
        assert analyzer.deep and not analyzer.mtt and analyzer.version == DEEP_FEATURE_VERSION
        problem = analyzer.model_problem
        assert problem is not None and "\n" not in problem
        assert problem.startswith(f"the instrument-tag model {damaged} is damaged")
        assert problem.endswith("analysing without it (no classical or instrument tags)")
        summary = analyzer.run()
        assert (summary.analysed, summary.failed) == (2, 0)
        serving = FeatureStore(library).serving(N_MTT_FEATURES)
        assert serving.vectors.shape == (2, N_DEEP_FEATURES)
        assert set(serving.versions.tolist()) == {DEEP_FEATURE_VERSION}
        assert ((serving.vectors[:, TAG_SLICE] > 0) & (serving.vectors[:, TAG_SLICE] < 1)).all()
        heard = library.query("SELECT heard_tags FROM track_features")
        assert all(r["heard_tags"] is not None for r in heard)  # MSD's words, maybe none
    finally:
        shipped.cache_clear()


def test_version_2_vectors_serve_the_same_index_columns_until_upgraded(
    library: Database, tmp_path: Path
) -> None:
    """Version 3 appends the MTT tags: a library half upgraded gives the content index
    exactly the columns it had (layout_groups), and the version 2 tracks are queued for
    re-analysis behind new ones, serving meanwhile."""
    from recommender.audio.features import N_INDEXED_FEATURES, layout_groups

    paths = _library(tmp_path / "music", 3)
    scan(library, tmp_path / "music")
    ids = _ids(library)
    store = FeatureStore(library)

    def stored(path: Path, dims: int) -> StoredFeatures:
        tid = ids[str(path)]
        fp = str(library.scalar("SELECT fingerprint FROM tracks WHERE id = ?", (tid,)))
        return StoredFeatures(
            tid, fp, np.arange(dims, dtype=np.float32), 100.0, 0.5, 0, 1, 0.5, 0.5, 0.5,
            0.5, 0.5, -20.0,
        )  # fmt: skip

    store.save(DEEP_FEATURE_VERSION, [stored(paths[0], N_DEEP_FEATURES)], [])
    store.save(MTT_FEATURE_VERSION, [stored(paths[1], N_MTT_FEATURES)], [])
    serving = store.serving(N_INDEXED_FEATURES)
    assert serving.vectors.shape == (2, N_INDEXED_FEATURES)
    np.testing.assert_array_equal(serving.vectors[0], serving.vectors[1])
    assert layout_groups(N_MTT_FEATURES) is layout_groups(N_DEEP_FEATURES)
    assert layout_groups(N_INDEXED_FEATURES) is layout_groups(N_DEEP_FEATURES)
    pending = store.pending(MTT_FEATURE_VERSION)
    assert [(p.id, p.upgrade) for p in pending] == [
        (ids[str(paths[2])], False),
        (ids[str(paths[0])], True),
    ]
    assert store.pending_count(DEEP_FEATURE_VERSION) == 1  # a version 3 vector is never redone


def test_without_the_model_it_says_so_once_and_uses_the_features_alone(
    library: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from recommender.audio.features import FEATURE_VERSION as SIGNAL_ONLY_VERSION
    from recommender.audio.musicnn import MODEL_ENV, shipped

    monkeypatch.setenv(MODEL_ENV, str(tmp_path / "gone.npz"))
    shipped.cache_clear()
    try:
        _library(tmp_path / "music", 2)
        scan(library, tmp_path / "music")
        analyzer = Analyzer(library, workers=1)
        assert not analyzer.deep and analyzer.version == SIGNAL_ONLY_VERSION
        assert analyzer.model_problem is not None and "\n" not in analyzer.model_problem
        assert "gone.npz is missing" in analyzer.model_problem
        summary = analyzer.run()
        assert summary.analysed == 2 and summary.model_problem == analyzer.model_problem
        serving = FeatureStore(library).serving(N_DEEP_FEATURES)
        assert serving.vectors.shape == (2, N_FEATURES)
        assert set(serving.versions.tolist()) == {SIGNAL_ONLY_VERSION}
    finally:
        shipped.cache_clear()


def test_an_older_layout_serves_beside_the_new_one(library: Database, tmp_path: Path) -> None:
    """Version 2 extends version 1's columns: the wider layout serves once half the
    vectors have it (old ones padded with NaN), the narrower one until then (new ones cut)."""
    paths = _library(tmp_path / "music", 3)
    scan(library, tmp_path / "music")
    ids = _ids(library)
    store = FeatureStore(library)

    def stored(path: Path, dims: int, value: float) -> StoredFeatures:
        tid = ids[str(path)]
        fp = str(library.scalar("SELECT fingerprint FROM tracks WHERE id = ?", (tid,)))
        return StoredFeatures(
            tid, fp, np.full(dims, value, np.float32), 100.0, 0.5, 0, 1, 0.5, 0.5, 0.5, 0.5,
            0.5, -20.0,
        )  # fmt: skip

    store.save(1, [stored(paths[0], N_FEATURES, 1.0), stored(paths[1], N_FEATURES, 1.0)], [])
    store.save(2, [stored(paths[2], N_DEEP_FEATURES, 2.0)], [])
    narrow = store.serving(N_DEEP_FEATURES)
    assert narrow.vectors.shape == (3, N_FEATURES)
    assert (narrow.vectors[narrow.track_ids.tolist().index(ids[str(paths[2])])] == 2.0).all()
    store.save(2, [stored(paths[1], N_DEEP_FEATURES, 3.0)], [])
    wide = store.serving(N_DEEP_FEATURES)
    assert wide.vectors.shape == (3, N_DEEP_FEATURES)
    old = wide.vectors[wide.track_ids.tolist().index(ids[str(paths[0])])]
    assert (old[:N_FEATURES] == 1.0).all() and np.isnan(old[N_FEATURES:]).all()
    # A caller that knows only the old layout still gets every track in it.
    assert store.serving(N_FEATURES).vectors.shape == (3, N_FEATURES)
