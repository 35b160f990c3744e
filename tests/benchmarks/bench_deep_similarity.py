"""What the music network adds to "sounds like": leave-one-out genre P@5 of ``segue
similar``'s ranking (``ContentIndex.similar``, re-ranked) over the 409 real labelled
2-3 s snippets of ../shared/data/genre_snippets, before (signal-processing features
alone) and after (fused with musicnn's embedding), over the fusion weights tried.

Every snippet goes through the product's analysis (``analyze_file`` with the shipped
network: a snippet shorter than a 3 s patch is repeat-padded, never dropped); the
matrix is cached in .cache/bench-data (delete it to re-analyse).

Latency at 100,000 tracks (a random library; ``latency`` below): what ``segue similar``
(re-ranked ``similar``) and the up-next blend (``distance_rows`` of a few anchors,
``similar_to``) cost with the signal features alone (version 1 vectors) and with the
embedding fused (version 2, the deep group kept to its leading axes).

    python tests/benchmarks/run.py deep_similarity
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np

from recommender.audio import analyze_file
from recommender.audio.features import (
    DEEP_SLICE,
    FEATURE_GROUPS,
    N_DEEP_FEATURES,
    N_FEATURES,
    N_INDEXED_FEATURES,
    TAG_SLICE,
)
from recommender.audio.musicnn import Musicnn
from recommender.content.index import DEFAULT_GROUP_WEIGHTS, ContentIndex
from tests.benchmarks.common import median, report, timed

ROOT = Path(__file__).resolve().parents[2]
SNIPPETS = ROOT.parent / "shared" / "data" / "genre_snippets"
CACHE = ROOT / ".cache" / "bench-data" / "genre_snippets_v2.npz"


def load_snippets() -> tuple[np.ndarray, np.ndarray, float]:
    files = sorted(SNIPPETS.glob("*.flac"))
    names = np.array([f.name for f in files])
    if CACHE.exists():
        with np.load(CACHE) as data:
            if np.array_equal(data["names"], names) and data["X"].shape[1] == N_DEEP_FEATURES:
                return data["X"], np.array([n.split(".")[0] for n in names]), float(data["cpu"])
    net = Musicnn.load()
    start = time.process_time()
    X = np.stack([analyze_file(str(f), net).stored_vector for f in files])
    cpu = (time.process_time() - start) / len(files)
    CACHE.parent.mkdir(parents=True, exist_ok=True)
    np.savez(CACHE, X=X, names=names, cpu=cpu)
    return X, np.array([n.split(".")[0] for n in names]), cpu


def precision_at_5(index: ContentIndex, y: np.ndarray, rerank: bool = True) -> float:
    hits = []
    for i in range(len(y)):
        ids, _ = index.similar(i, 5, rerank=rerank)
        hits.append(np.mean(y[ids] == y[i]))
    return round(float(np.mean(hits)), 4)


def fused_groups(deep: bool = True, tags: bool = False) -> dict[str, np.ndarray]:
    groups = dict(FEATURE_GROUPS)
    if deep:
        groups["deep"] = np.arange(N_DEEP_FEATURES)[DEEP_SLICE]
    if tags:
        groups["tags"] = np.arange(N_DEEP_FEATURES)[TAG_SLICE]
    return groups


def main() -> None:
    if not SNIPPETS.is_dir():
        print("../shared/data/genre_snippets is not present", file=sys.stderr)
        return
    X, y, cpu = load_snippets()
    table: dict[str, float] = {}
    before = ContentIndex.fit(X[:, :N_FEATURES], FEATURE_GROUPS)
    table["before: features alone (today's segue similar)"] = precision_at_5(before, y)
    table["before, plain mutual proximity"] = precision_at_5(before, y, rerank=False)
    deep_only = ContentIndex.fit(X, {"deep": np.arange(N_DEEP_FEATURES)[DEEP_SLICE]})
    table["embedding alone"] = precision_at_5(deep_only, y)
    tags_only = ContentIndex.fit(X, {"tags": np.arange(N_DEEP_FEATURES)[TAG_SLICE]})
    table["tag probabilities alone"] = precision_at_5(tags_only, y)
    fused = ContentIndex.fit(X, fused_groups(tags=True))
    for w in (0.5, 1.0, 2.0, 3.5, 5.0, 7.0, 14.0):
        fused.set_weights({"deep": w, "tags": 0.0})
        table[f"fused, deep weight {w:g}"] = precision_at_5(fused, y)
    for w_tags in (0.5, 1.0, 2.0):
        fused.set_weights({"deep": 3.5, "tags": w_tags})
        table[f"fused, deep 3.5 + tags {w_tags:g}"] = precision_at_5(fused, y)
    for keep in (8, 16, 24, 32, 48, 64):
        for w in (3.5, 5.0):
            cut = ContentIndex.fit(X, fused_groups(), {"deep": w}, {"deep": keep})
            table[f"fused, deep weight {w:g}, {keep} leading axes"] = precision_at_5(cut, y)
    report(
        "deep_similarity",
        snippets=len(y),
        genres=len(set(y)),
        analysis_cpu_s_per_snippet=round(cpu, 3),
        default_group_weights=DEFAULT_GROUP_WEIGHTS,
        p_at_5=table,
    )


def _round(index: ContentIndex, batch: list[int]) -> dict[str, list[float]]:
    q = iter(batch)
    return {
        "similar_ms": timed(lambda: index.similar(next(q), 10), repeat=20),
        "similar_plain_ms": timed(lambda: index.similar(next(q), 10, rerank=False), repeat=20),
        "distance_rows_3_ms": timed(
            lambda: index.distance_rows([next(q) for _ in range(3)]), repeat=10
        ),
        "similar_to_5_ms": timed(lambda: index.similar_to([next(q) for _ in range(5)], 10), 5),
    }


def latency(n: int = 100_000, rounds: int = 10) -> None:
    """Both indexes fitted and their graphs built, then timed in alternating rounds, so
    that the load other people put on this shared machine falls on both alike."""
    import os

    from recommender.audio.features import DEEP_GROUPS

    rng = np.random.default_rng(0)
    X = rng.lognormal(0.0, 1.0, (n, N_INDEXED_FEATURES)).astype(np.float32)
    X[:, DEEP_SLICE] = rng.normal(0, 1, (n, DEEP_SLICE.stop - DEEP_SLICE.start))
    indexes = {
        "features alone (v1)": ContentIndex.fit(X[:, :N_FEATURES], FEATURE_GROUPS),
        "fused (v2)": ContentIndex.fit(X, DEEP_GROUPS),
    }
    del X
    out: dict[str, dict[str, float]] = {}
    for name, index in indexes.items():
        start = time.perf_counter()
        index.neighbour_graph()
        out[name] = {
            "index_columns": int(index.embedding.shape[1]),
            "graph_build_s": round(time.perf_counter() - start, 1),
        }
        index.similar(0, 10)
    samples: dict[str, dict[str, list[float]]] = {name: {} for name in indexes}
    queries = rng.integers(0, n, 100_000).tolist()
    for r in range(rounds):
        for name, index in indexes.items():
            batch = queries[r * 1000 : (r + 1) * 1000]  # the same queries for both
            for label, values in _round(index, batch).items():
                samples[name].setdefault(label, []).extend(values)
    for name, by_label in samples.items():
        for label, values in by_label.items():
            out[name][label] = round(1e3 * median(values), 2)
    report(
        "deep_similarity_latency",
        tracks=n,
        medians=out,
        load_average_1min=round(os.getloadavg()[0], 2),
        note="shared 2-core machine; the two indexes timed in alternating rounds",
    )


if __name__ == "__main__":
    main()
    latency()
