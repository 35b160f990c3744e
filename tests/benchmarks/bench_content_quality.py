"""Content similarity: quality on real genre labels, and query latency at 100k tracks.

Quality, on the GTZAN table (1,000 clips, 10 genres; ../shared/data): leave-one-out
precision of the k nearest neighbours sharing the query's genre (P@5, P@1), for
- the usual recipe (standardise all 57 columns, cosine), the reference;
- the shipped index with its default group weights, re-ranked (what ``similar`` returns)
  and plain mutual proximity (in-sample: the defaults were tuned on this very table);
- 5-fold cross-validation of the one thing learned from labels, the group weights: they
  are tuned on 4/5 of the clips (queries and neighbours from those clips only), then the
  held-out 1/5 are the queries against the whole table; averaged over the folds;
- the metric, compared on the same weighted embedding (cosine, correlation, euclidean,
  euclidean + mutual proximity);
- the scaling (z-score, median/IQR, rank-Gaussian), everything else fixed.

Transfer, on a second labelled table nobody tuned anything on (pyAudioAnalysis' 581 songs,
6 genres, its own features; paa_table.py, fetched by ``make bench``): the usual recipe,
the shipped index plain and re-ranked, with the GTZAN-tuned defaults.

Latency: the neighbour graph's build time and size, and median ``similar()`` (re-ranked
and plain) / ``distances()`` / ``similar_to()`` on a random library of 100,000 tracks in
the extractor's layout. Timed on a shared 2-core machine: pessimistic.

    python tests/benchmarks/run.py content_quality
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np

from recommender.audio.features import FEATURE_GROUPS, N_FEATURES
from recommender.content.index import DEFAULT_GROUP_WEIGHTS, ContentIndex
from tests.benchmarks.common import (
    median,
    report,
    reset_peak_rss,
    rss_mb,
    since_reset_peak_rss_mb,
    timed,
)
from tests.benchmarks.gtzan import leave_one_out_precision, load_gtzan, tune_group_weights
from tests.benchmarks.paa_table import CACHE, SDIST, load_paa_table

ROOT = Path(__file__).resolve().parents[2]
GTZAN_CSV = ROOT.parent / "shared" / "data" / "gtzan_features_30_sec.csv"
TARGET_P5 = 0.70  # issue 3, on real labelled clips
N_LIBRARY = 100_000
TARGET_SIMILAR_MS = 5.0  # "a few ms"
FOLDS = 5


def precision_from_distances(D: np.ndarray, y: np.ndarray, queries: np.ndarray) -> dict[int, float]:
    rows = D[queries].copy()
    rows[np.arange(queries.size), queries] = np.inf
    top = np.argsort(rows, axis=1, kind="stable")[:, :5]
    same = y[top] == y[queries, None]
    return {1: float(same[:, 0].mean()), 5: float(same.mean())}


def cosine(E: np.ndarray) -> np.ndarray:
    U = E / np.linalg.norm(E, axis=1, keepdims=True)
    return 1.0 - U @ U.T


def euclidean(E: np.ndarray) -> np.ndarray:
    sq = (E**2).sum(axis=1)
    return np.sqrt(np.maximum(sq[:, None] + sq[None, :] - 2.0 * E @ E.T, 0.0))


def correlation(E: np.ndarray) -> np.ndarray:
    return cosine(E - E.mean(axis=1, keepdims=True))


def by_scaling(X: np.ndarray, groups: dict[str, np.ndarray], y: np.ndarray) -> dict[str, float]:
    """P@5 of each scaling, everything else fixed: default group weights (each group
    scaled to its weight / its width), cosine, no whitening, no mutual proximity."""
    from scipy.special import ndtri
    from scipy.stats import rankdata

    q1, med, q3 = np.percentile(X, [25, 50, 75], axis=0)
    scaled = {
        "zscore": (X - X.mean(axis=0)) / X.std(axis=0),
        "median_iqr": (X - med) / (q3 - q1),
        "rank_gaussian": ndtri(rankdata(X, axis=0) / (X.shape[0] + 1)),
    }
    out = {}
    for name, Z in scaled.items():
        parts = [
            Z[:, cols] * np.sqrt(DEFAULT_GROUP_WEIGHTS[g] / cols.size) for g, cols in groups.items()
        ]
        out[name] = round(
            precision_from_distances(cosine(np.hstack(parts)), y, np.arange(len(y)))[5], 4
        )
    return out


def stratified_folds(y: np.ndarray, folds: int, seed: int = 0) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    out: list[list[int]] = [[] for _ in range(folds)]
    for label in np.unique(y):
        members = rng.permutation(np.flatnonzero(y == label))
        for f, part in enumerate(np.array_split(members, folds)):
            out[f] += part.tolist()
    return [np.sort(np.array(f)) for f in out]


def quality() -> None:
    X, groups, labels = load_gtzan(GTZAN_CSV)
    _, y = np.unique(labels, return_inverse=True)
    everyone = np.arange(len(y))

    Z = (X - X.mean(axis=0)) / X.std(axis=0)
    reference = precision_from_distances(cosine(Z), y, everyone)

    index = ContentIndex.fit(X, groups)
    shipped = leave_one_out_precision(index, labels)
    plain = leave_one_out_precision(index, labels, rerank=False)

    embedding = index.embedding * np.sqrt(index.column_weights)
    metrics: dict[str, Callable[[np.ndarray], np.ndarray]] = {
        "cosine": cosine,
        "correlation": correlation,
        "euclidean": euclidean,
    }
    by_metric = {
        name: precision_from_distances(fn(embedding), y, everyone)[5]
        for name, fn in metrics.items()
    }
    by_metric["euclidean+mutual_proximity"] = shipped[5]

    fold_p5, fold_p1, fold_train, fold_weights = [], [], [], []
    for held_out in stratified_folds(y, FOLDS):
        train = np.setdiff1d(everyone, held_out)
        weights, train_p5 = tune_group_weights(X[train], groups, labels[train])
        index.set_weights(weights)
        got = leave_one_out_precision(index, labels, queries=held_out)
        fold_p5.append(got[5])
        fold_p1.append(got[1])
        fold_train.append(train_p5)
        fold_weights.append(weights)
    index.set_weights(None)

    report(
        "content_quality_gtzan",
        clips=len(y),
        reference_recipe={"p_at_5": round(reference[5], 4), "p_at_1": round(reference[1], 4)},
        shipped_in_sample={"p_at_5": round(shipped[5], 4), "p_at_1": round(shipped[1], 4)},
        shipped_without_reranking={"p_at_5": round(plain[5], 4), "p_at_1": round(plain[1], 4)},
        shipped_cv5={
            "p_at_5": round(float(np.mean(fold_p5)), 4),
            "p_at_1": round(float(np.mean(fold_p1)), 4),
            "p_at_5_per_fold": [round(p, 4) for p in fold_p5],
            "train_p_at_5_per_fold": [round(p, 4) for p in fold_train],
            "weights_per_fold": fold_weights,
        },
        p_at_5_by_metric={k: round(v, 4) for k, v in by_metric.items()},
        p_at_5_by_scaling=by_scaling(X, groups, y),
        default_weights=DEFAULT_GROUP_WEIGHTS,
        target_p_at_5=TARGET_P5,
        met=bool(np.mean(fold_p5) >= TARGET_P5),
    )


def usual_recipe(X: np.ndarray, y: np.ndarray) -> float:
    Z = (X - X.mean(axis=0)) / X.std(axis=0)
    return precision_from_distances(cosine(Z), y, np.arange(len(y)))[5]


def transfer() -> None:
    """The GTZAN-tuned defaults on a table they were not tuned on."""
    path = CACHE / SDIST
    if not path.exists():
        report("content_quality_transfer", skipped=f"{path} missing: run `make bench`")
        return
    out = {}
    for layout in ("ours", "all"):
        X, groups, y = load_paa_table(path, layout)
        cols = np.concatenate(list(groups.values()))
        index = ContentIndex.fit(X, groups)
        reranked = leave_one_out_precision(index, y)
        plain = leave_one_out_precision(index, y, rerank=False)
        out[layout] = {
            "columns": int(cols.size),
            "usual_recipe_p_at_5": round(usual_recipe(X[:, cols], y), 4),
            "plain_p_at_5": round(plain[5], 4),
            "reranked_p_at_5": round(reranked[5], 4),
            "reranked_p_at_1": round(reranked[1], 4),
        }
    report(
        "content_quality_transfer",
        table="pyAudioAnalysis knn_musical_genre_6: 581 songs, 6 genres",
        our_layout=out["ours"],
        with_delta_means=out["all"],
        default_weights=DEFAULT_GROUP_WEIGHTS,
    )


def latency() -> None:
    rng = np.random.default_rng(0)
    X = rng.lognormal(0.0, 1.0, (N_LIBRARY, N_FEATURES)).astype(np.float32)
    fit_s = timed(lambda: ContentIndex.fit(X, FEATURE_GROUPS), repeat=1)
    index = ContentIndex.fit(X, FEATURE_GROUPS)
    rss_before = rss_mb()
    reset_peak_rss()
    graph_s = timed(index.neighbour_graph, repeat=1)
    graph_peak_mb = since_reset_peak_rss_mb() - rss_before
    graph = index.neighbour_graph()
    assert graph is not None
    V = graph.vectors
    graph_mb = (graph.neighbours.nbytes + V.data.nbytes + V.indices.nbytes + V.indptr.nbytes) / 1e6
    queries = iter(rng.integers(0, N_LIBRARY, 1000).tolist())
    index.similar(0, 10)  # warm-up
    similar_ms = [1e3 * s for s in timed(lambda: index.similar(next(queries), 10), repeat=50)]
    plain_ms = [
        1e3 * s for s in timed(lambda: index.similar(next(queries), 10, rerank=False), repeat=50)
    ]
    distances_ms = [1e3 * s for s in timed(lambda: index.distances(next(queries)), repeat=50)]
    # The floor: one bare numpy matrix-vector product over the same matrix.
    query = index.embedding[7].copy()
    matvec_ms = [1e3 * s for s in timed(lambda: index.embedding @ query, repeat=50)]
    seeds = rng.integers(0, N_LIBRARY, 5).tolist()
    similar_to_ms = [1e3 * s for s in timed(lambda: index.similar_to(seeds, 10), repeat=20)]
    report(
        "content_similar_latency",
        tracks=N_LIBRARY,
        features=N_FEATURES,
        fit_s=round(fit_s[0], 2),
        neighbour_graph_build_s=round(graph_s[0], 2),
        neighbour_graph_mb=round(graph_mb, 1),
        neighbour_graph_build_peak_extra_rss_mb=round(graph_peak_mb),
        neighbourhood_entries_per_track=round(V.nnz / N_LIBRARY, 1),
        similar_ms_median=round(median(similar_ms), 2),
        similar_without_reranking_ms_median=round(median(plain_ms), 2),
        distances_ms_median=round(median(distances_ms), 2),
        similar_to_5_seeds_ms_median=round(median(similar_to_ms), 2),
        bare_matvec_ms_median=round(median(matvec_ms), 2),
        target_similar_ms=TARGET_SIMILAR_MS,
        met=median(similar_ms) <= TARGET_SIMILAR_MS,
        note="shared 2-core machine: pessimistic",
    )


if __name__ == "__main__":
    quality()
    transfer()
    latency()
