"""Auto-playlists and the taste map (issue 5, section 4): speed and quality.

- ``playlists_build_100k``: a synthetic 100,000-track library (20 genres, 10,000 artists,
  121-dim audio vectors, years, energy/bpm, 150,000 plays in genre-coherent sessions over a
  year, likes and dislikes). Timed: fitting the engine (joint embedding, profile, mixes),
  building every playlist (Discover, Forgotten favourites, the mixes, Calm, Energetic, one
  seed radio), and the taste map. Target: <= 10 s in all. Then 100 new tracks: embedded with
  the stored transforms, joined to the mixes, placed on the map, every playlist rebuilt.
  Target: <= 1 s. Also the GUI's load of the stored map (target < 100 ms).
- ``mix_coherence_gtzan``: genre purity and NMI of the mixes' clustering over the content
  block of the joint embedding on the GTZAN table (k = 10, and k chosen by the mixes'
  silhouette rule), against k-means on the raw standardised features; mean of 5 seeds.
- ``discover_30music``: per fold, each user's first 80% of plays are replayed; of the tracks
  the user first plays in the last 20%, the share in their Discover list (50 tracks),
  against the 50 most played tracks (all users' first 80%) the user has not played.
  The CF embedding is reported both ways (raw co-occurrence SVD and PPMI SVD).

As the player runs it, BLAS uses one thread; the build is also reported with the default
threads. The machine has 2 cores shared with other jobs: all timings are pessimistic.

    python tests/benchmarks/run.py playlists
"""

from __future__ import annotations

import csv
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
from sklearn.cluster import KMeans
from sklearn.metrics import normalized_mutual_info_score
from threadpoolctl import threadpool_limits

from recommender.collab.signals import EventLog
from recommender.content.tastemap import build_map, load_layout
from recommender.playlists import LibraryState, PlaylistEngine
from recommender.playlists.discover import DiscoverConfig, discover_scores
from recommender.playlists.embedding import EmbeddingConfig, JointEmbedding
from recommender.playlists.mixes import MixConfig, cluster
from recommender.playlists.profile import ListeningProfile
from recommender.ranking.reasons import labels_from_arrays
from tests.benchmarks.common import median, peak_rss_mb, report

DATA = Path(__file__).resolve().parents[3] / "shared" / "data"
DAY = 86400.0
GENRES = [
    "jazz", "rock", "heavy metal", "ambient", "hip hop", "classical", "pop", "techno", "folk",
    "soul", "blues", "punk", "house", "reggae", "country", "drum and bass", "r&b", "trance",
    "disco", "funk",
]  # fmt: skip


# -- the synthetic library ----------------------------------------------------------------


def synthetic_library(n: int, plays: int, seed: int = 0) -> LibraryState:
    rng = np.random.default_rng(seed)
    genre = rng.integers(0, len(GENRES), n)
    centres = rng.normal(size=(len(GENRES), 121)).astype(np.float32)
    vectors = centres[genre] + 0.8 * rng.normal(size=(n, 121)).astype(np.float32)
    vectors[:, :40] = np.abs(vectors[:, :40]) ** 2  # variance-like, heavy-tailed columns
    artists = rng.integers(0, 10_000, n)
    now = 1.8e9
    length = 30
    sessions = plays // length
    session_genre = rng.integers(0, len(GENRES), sessions)
    by_genre = [np.flatnonzero(genre == g) for g in range(len(GENRES))]
    # Zipf-like popularity inside each genre.
    items = np.concatenate(
        [
            by_genre[g][np.minimum(rng.zipf(1.3, length) - 1, by_genre[g].size - 1)]
            for g in session_genre
        ]
    )
    start = now - 365 * DAY + np.sort(rng.uniform(0, 365 * DAY, sessions))
    ts = (start[:, None] + np.arange(length)[None, :] * 240.0).ravel()
    log = EventLog.plays(items, ts, session=np.repeat(np.arange(sessions), length))
    liked = rng.choice(n, 300, replace=False)
    disliked = rng.choice(n, 100, replace=False)
    kinds = np.concatenate([np.full(300, 2, np.int8), np.full(100, 3, np.int8)])
    rating_items = np.concatenate([liked, disliked])
    rating_ts = now - rng.uniform(0, 200 * DAY, 400)
    merged = EventLog(
        item=np.concatenate([log.item, rating_items]),
        ts=np.concatenate([log.ts, rating_ts]),
        kind=np.concatenate([log.kind, kinds]),
        session=np.concatenate([log.session, np.full(400, -1)]),
        position_s=np.full(log.item.size + 400, np.nan),
        duration_s=np.full(log.item.size + 400, np.nan),
        artist=np.full(log.item.size + 400, -1),
        album=np.full(log.item.size + 400, -1),
    )
    order = np.argsort(merged.ts, kind="stable")
    for name in ("item", "ts", "kind", "session", "position_s", "duration_s", "artist", "album"):
        setattr(merged, name, getattr(merged, name)[order])
    titles = [f"track {i}" for i in range(n)]
    return LibraryState(
        n_items=n,
        artist_ids=artists.astype(np.int64),
        album_ids=(artists * 3 + rng.integers(0, 3, n)).astype(np.int64),
        genres=[GENRES[g] for g in genre],
        log=merged,
        now=now,
        describe=labels_from_arrays(titles, [f"artist {a}" for a in artists]),
        years=rng.integers(1960, 2024, n).astype(np.float32),
        content_items=np.arange(n),
        content_vectors=vectors.astype(np.float32),
        bpm=rng.uniform(60, 180, n).astype(np.float32),
        energy=rng.uniform(0, 1, n).astype(np.float32),
        acousticness=rng.uniform(0, 1, n).astype(np.float32),
    )


def bench_build(label: str) -> None:
    n = 100_000
    state = synthetic_library(n, 150_000)
    ids = np.arange(n, dtype=np.int64) * 3 + 7  # the caller's track ids
    t0 = time.perf_counter()
    engine = PlaylistEngine(state)
    t1 = time.perf_counter()
    built = engine.build_all()
    radio = engine.radio([123], "track 123", "radio:track:123")
    t2 = time.perf_counter()
    taste_map = build_map(ids, engine.embedding.vectors, state.genres)
    t3 = time.perf_counter()

    # 100 new tracks: no refit; the map places them, every playlist is rebuilt.
    rng = np.random.default_rng(1)
    new_vectors = (
        state.content_vectors[rng.choice(n, 100)] if state.content_vectors is not None else None
    )
    new_genres = [GENRES[g] for g in rng.integers(0, len(GENRES), 100)]
    t4 = time.perf_counter()
    new_rows = engine.add_items(
        rng.integers(0, 10_000, 100),
        np.full(100, -1),
        new_genres,
        labels_from_arrays([f"track {i}" for i in range(n + 100)]),
        content_rows=np.arange(100),
        content_vectors=new_vectors,
    )
    all_ids = np.concatenate([ids, new_rows * 3 + 7])
    grown = taste_map.update(all_ids, engine.embedding.vectors, [*state.genres])
    rebuilt = engine.build_all()
    t5 = time.perf_counter()
    moved = int((grown.xy[:n] != taste_map.xy).any(axis=1).sum())

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "library.tastemap.npz"
        grown.save(path)
        loads = []
        for _ in range(7):
            start = time.perf_counter()
            load_layout(path)
            loads.append(time.perf_counter() - start)
        size_mb = path.stat().st_size / 1e6
    report(
        "playlists_build_100k",
        blas=label,
        tracks=n,
        plays=150_000,
        engine_fit_s=round(t1 - t0, 2),
        playlists_s=round(t2 - t1, 2),
        taste_map_s=round(t3 - t2, 2),
        total_s=round(t3 - t0, 2),
        target_total_s=10.0,
        incremental_100_s=round(t5 - t4, 3),
        target_incremental_s=1.0,
        incremental_moved_existing=moved,
        playlists=len(built) + 1,
        sizes=[len(p) for p in [*built, radio]],
        rebuilt=len(rebuilt),
        mixes=engine.clustering.k,
        map_method=taste_map.method,
        map_neighbours_kept=taste_map.kept,
        map_load_ms=round(median(loads) * 1000, 1),
        target_map_load_ms=100.0,
        map_file_mb=round(size_mb, 2),
        peak_rss_mb=round(peak_rss_mb(), 1),
    )


# -- mix coherence on GTZAN ---------------------------------------------------------------


def _purity(truth: np.ndarray, labels: np.ndarray) -> float:
    total = 0
    for c in np.unique(labels):
        _, counts = np.unique(truth[labels == c], return_counts=True)
        total += counts.max()
    return total / truth.size


def bench_gtzan() -> None:
    path = DATA / "gtzan_features_30_sec.csv"
    with path.open() as fh:
        rows = list(csv.reader(fh))
    x = np.array([[float(v) for v in r[2:-1]] for r in rows[1:]], dtype=np.float32)
    genre = np.array([r[-1] for r in rows[1:]])
    n = x.shape[0]
    standard = (x - x.mean(axis=0)) / x.std(axis=0)
    embedding = JointEmbedding.fit(
        n, content_items=np.arange(n), content_vectors=x, genres=None
    ).vectors
    results: dict[str, list[tuple[float, float]]] = {
        "raw_kmeans": [],
        "mixes_k10": [],
        "mixes_auto": [],
    }
    ks = []
    for seed in range(5):
        raw = KMeans(10, n_init=4, random_state=seed).fit_predict(standard)
        results["raw_kmeans"].append(
            (_purity(genre, raw), normalized_mutual_info_score(genre, raw))
        )
        mine = cluster(embedding, MixConfig(seed=seed), k=10).labels
        results["mixes_k10"].append(
            (_purity(genre, mine), normalized_mutual_info_score(genre, mine))
        )
        auto = cluster(embedding, MixConfig(seed=seed))
        ks.append(auto.k)
        results["mixes_auto"].append(
            (_purity(genre, auto.labels), normalized_mutual_info_score(genre, auto.labels))
        )
    summary = {
        name: {"purity": round(float(np.mean([p for p, _ in v])), 3),
               "nmi": round(float(np.mean([m for _, m in v])), 3)}
        for name, v in results.items()
    }  # fmt: skip
    report("mix_coherence_gtzan", clips=n, genres=10, seeds=5, auto_k=ks, **summary)


# -- Discover on 30Music ------------------------------------------------------------------


def _read_fold(path: Path) -> dict[str, np.ndarray]:
    data = np.loadtxt(path, delimiter="\t", skiprows=1, dtype=np.int64)
    user, session, track, artist, ts = data.T
    return {"user": user, "session": session, "track": track, "artist": artist, "ts": ts}


def discover_fold(
    path: Path, method: str, length: int = 50, config: DiscoverConfig | None = None
) -> dict[str, float]:
    f = _read_fold(path)
    tracks, item = np.unique(f["track"], return_inverse=True)
    n = tracks.size
    item_artist = np.zeros(n, np.int64)
    _, artist_code = np.unique(f["artist"], return_inverse=True)
    item_artist[item] = artist_code
    order = np.lexsort((np.arange(item.size), f["ts"], f["user"]))
    user, item, ts, session = f["user"][order], item[order], f["ts"][order], f["session"][order]
    # Each user's first 80% of plays (by time) are the past; the rest the future.
    starts = np.flatnonzero(np.r_[True, user[1:] != user[:-1]])
    counts = np.diff(np.r_[starts, user.size])
    rank = np.arange(user.size) - np.repeat(starts, counts)
    train = rank < np.floor(0.8 * np.repeat(counts, counts))
    by_time = np.argsort(ts[train], kind="stable")
    log = EventLog.plays(item[train][by_time], ts[train][by_time], session=session[train][by_time])
    emb = JointEmbedding.fit(n, log=log, config=EmbeddingConfig(cf_method=method))
    popularity = np.bincount(item[train], minlength=n).astype(np.float64)
    cfg = replace(config or DiscoverConfig(), length=length)
    hits = baseline = targets = with_cf = 0
    has_cf = np.linalg.norm(emb.vectors, axis=1) > 0
    per_user: list[float] = []
    per_user_pop: list[float] = []
    allowed = np.ones(n, dtype=bool)
    for s, c in zip(starts.tolist(), counts.tolist(), strict=True):
        rows = np.arange(s, s + c)
        past, future = rows[train[rows]], rows[~train[rows]]
        if past.size == 0 or future.size == 0:
            continue
        known = np.unique(item[past])
        wanted = np.setdiff1d(np.unique(item[future]), known)
        if wanted.size == 0:
            continue
        user_log = EventLog.plays(item[past], ts[past].astype(np.float64), session=session[past])
        now = float(ts[past].max())
        profile = ListeningProfile.from_log(user_log, n, now)
        scores, _, _ = discover_scores(profile, emb.vectors, item_artist, allowed, cfg)
        scores[known] = 0.0  # the future's first plays are, by definition, unheard tracks
        top = np.argpartition(-scores, length)[:length]
        top = top[scores[top] > 0]
        pop = popularity.copy()
        pop[known] = -1
        pop_top = np.argpartition(-pop, length)[:length]
        h = np.isin(wanted, top).sum()
        b = np.isin(wanted, pop_top).sum()
        hits += h
        baseline += b
        targets += wanted.size
        with_cf += int(has_cf[wanted].sum())
        per_user.append(h / wanted.size)
        per_user_pop.append(b / wanted.size)
    return {
        "users": len(per_user),
        "targets": targets,
        "targets_with_cf_position": with_cf,
        "discover_share": round(hits / targets, 4),
        "popularity_share": round(baseline / targets, 4),
        "discover_user_mean": round(float(np.mean(per_user)), 4),
        "popularity_user_mean": round(float(np.mean(per_user_pop)), 4),
    }


def bench_discover() -> None:
    """Both CF embeddings with the default Discover, then (PPMI) without its artist term
    and with a heavier one, to show where the hits come from."""
    variants = [
        ("ppmi", DiscoverConfig()),
        ("raw", DiscoverConfig()),
        ("ppmi", DiscoverConfig(artist_share=0.0)),
        ("ppmi", DiscoverConfig(artist_share=0.3)),
    ]
    for method, config in variants:
        for fold in sorted((DATA / "listening").glob("30music_fold*.tsv")):
            start = time.perf_counter()
            result = discover_fold(fold, method, config=config)
            report(
                "discover_30music",
                fold=fold.stem,
                cf_embedding=method,
                artist_share=config.artist_share,
                list_length=50,
                seconds=round(time.perf_counter() - start, 1),
                **result,
            )


def main() -> None:
    with threadpool_limits(limits=1):
        bench_build("1 thread")
    bench_build("default threads")
    with threadpool_limits(limits=1):
        bench_gtzan()
        bench_discover()


if __name__ == "__main__":
    main()
