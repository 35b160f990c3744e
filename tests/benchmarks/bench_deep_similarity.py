"""What the music network adds to "sounds like": leave-one-out genre P@5 of ``segue
similar``'s ranking (``ContentIndex.similar``, re-ranked) over the 409 real labelled
2-3 s snippets of ../shared/data/genre_snippets, before (signal-processing features
alone) and after (fused with musicnn's embedding), over the fusion weights tried.

A proxy for longer clips (``recording_segments``): the real recordings of
../shared/data/audio cut into 10 s and 15 s segments, each analysed as a file of its own
(heard whole: every 3-s patch), put in one library with the 409 snippets; for each
segment of a recording with several, the share of its k nearest (k = the recording's
other segments, at most 5) that are segments of the same recording. It checks that the
fusion settings chosen on 2-3 s snippets (one padded patch each) do not undo what hearing
10-30 s of a track gives.

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
from recommender.content.index import DEFAULT_GROUP_DIMS, DEFAULT_GROUP_WEIGHTS, ContentIndex
from tests.benchmarks.common import median, report, timed

ROOT = Path(__file__).resolve().parents[2]
SNIPPETS = ROOT.parent / "shared" / "data" / "genre_snippets"
CACHE = ROOT / ".cache" / "bench-data" / "genre_snippets_v2.npz"
AUDIO = ROOT.parent / "shared" / "data" / "audio"
SEGMENT_CACHE = ROOT / ".cache" / "bench-data" / "recording_segments_v1.npz"
SEGMENT_SECONDS = (10.0, 15.0)
# The deep group's settings compared: weights x leading axes (200 = all of them).
WEIGHTS = (2.0, 3.5, 5.0, 7.0)
AXES = (16, 24, 32, 64, 200)


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


def recording_segments() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(X, recording id, segment length) of every non-overlapping 10 s and 15 s segment
    of the real recordings (a shorter recording: one segment of all of it), each written
    to a FLAC file and analysed by the product; cached."""
    import tempfile

    import soundfile as sf

    files = sorted(AUDIO.glob("*.ogg"))
    if SEGMENT_CACHE.exists():
        with np.load(SEGMENT_CACHE) as data:
            if data["X"].shape[1] == N_DEEP_FEATURES and int(data["n_files"]) == len(files):
                return data["X"], data["recording"], data["seconds"]
    net = Musicnn.load()
    rows, recording, seconds = [], [], []
    with tempfile.TemporaryDirectory() as tmp:
        for r, f in enumerate(files):
            y, sr = sf.read(str(f), dtype="float32", always_2d=True)
            for length in SEGMENT_SECONDS:
                n = int(length * sr)
                starts = range(0, max(len(y) - n, 0) + 1, n) if len(y) >= n else [0]
                for i, start in enumerate(starts):
                    path = Path(tmp) / f"{r}_{length:g}_{i}.flac"
                    sf.write(str(path), y[start : start + n], sr)
                    rows.append(analyze_file(str(path), net).stored_vector)
                    recording.append(r)
                    seconds.append(length)
    X = np.stack(rows)
    SEGMENT_CACHE.parent.mkdir(parents=True, exist_ok=True)
    np.savez(SEGMENT_CACHE, X=X, recording=recording, seconds=seconds, n_files=len(files))
    return X, np.asarray(recording), np.asarray(seconds)


def same_recording_precision(
    index: ContentIndex, recording: np.ndarray, seconds: np.ndarray, offset: int
) -> dict[str, float]:
    """Per segment length: mean share of a segment's k nearest (k = its recording's other
    segments of that length, at most 5) that are segments of its recording, among all
    items of ``index`` (segments are rows ``offset`` onwards)."""
    out = {}
    for length in SEGMENT_SECONDS:
        rows = np.flatnonzero(seconds == length)
        hits = []
        for i in rows:
            mates = rows[(recording[rows] == recording[i]) & (rows != i)]
            k = min(5, mates.size)
            if k == 0:
                continue
            ids, _ = index.similar(offset + int(i), k)
            hits.append(np.isin(np.asarray(ids) - offset, mates).mean())
        out[f"{length:g}s"] = round(float(np.mean(hits)), 4)
    return out


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
    # After: what `segue similar` does with the music network's tracks (the defaults).
    table["after: fused, the defaults"] = precision_at_5(ContentIndex.fit(X, fused_groups()), y)
    fused = ContentIndex.fit(X, fused_groups(tags=True))
    for w in (0.5, 1.0, 2.0, 3.5, 5.0, 7.0, 14.0):
        fused.set_weights({"deep": w, "tags": 0.0})
        table[f"fused, deep weight {w:g} (default axes)"] = precision_at_5(fused, y)
    for w_tags in (0.5, 1.0, 2.0):
        fused.set_weights({"tags": w_tags})
        table[f"fused, default deep + tags {w_tags:g}"] = precision_at_5(fused, y)
    for keep in (8, 48):
        cut = ContentIndex.fit(X, fused_groups(), {"deep": 3.5}, {"deep": keep})
        table[f"fused, deep weight 3.5, {keep} leading axes"] = precision_at_5(cut, y)
    # The grid the proxy below shares: weights x leading axes.
    S, recording, seconds = recording_segments()
    both = np.vstack([X, S])
    proxy: dict[str, dict[str, float]] = {}
    for library, name in ((X, "snippets"), (both, "with segments")):
        for keep in AXES:
            cut = ContentIndex.fit(library, fused_groups(), None, {"deep": keep})
            for w in WEIGHTS:
                cut.set_weights({"deep": w})
                label = f"fused, deep weight {w:g}, {keep} leading axes"
                if name == "snippets":
                    table[label] = precision_at_5(cut, y)
                else:
                    proxy[label] = same_recording_precision(cut, recording, seconds, len(X))
    features = ContentIndex.fit(both[:, :N_FEATURES], FEATURE_GROUPS)
    proxy["features alone"] = same_recording_precision(features, recording, seconds, len(X))
    deep = ContentIndex.fit(both, {"deep": np.arange(N_DEEP_FEATURES)[DEEP_SLICE]}, None, {})
    label = f"embedding alone ({DEFAULT_GROUP_DIMS['deep']} axes)"
    proxy[label] = same_recording_precision(deep, recording, seconds, len(X))
    report(
        "deep_similarity",
        snippets=len(y),
        genres=len(set(y)),
        analysis_cpu_s_per_snippet=round(cpu, 3),
        default_group_weights=DEFAULT_GROUP_WEIGHTS,
        p_at_5=table,
    )
    report(
        "deep_similarity_segments_proxy",
        segments={f"{g:g}s": int((seconds == g).sum()) for g in SEGMENT_SECONDS},
        recordings=len(set(recording.tolist())),
        distractors=len(X),
        same_recording_precision=proxy,
    )


def patches_vs_whole(counts: tuple[int, ...] = (3, 6, 9)) -> None:
    """How close what the network hears of a long track (``DEEP_PATCHES`` patches over
    the analysis windows) comes to hearing all of it: for each real recording over 40 s,
    the cosine distance between the two embeddings (z-scored by the snippets' spread),
    against the median distance between two different recordings heard whole."""
    import soundfile as sf
    import soxr

    from recommender.audio import analyze, musicnn
    from recommender.audio.decode import SR, load_excerpt

    X, _, _ = load_snippets()
    mean, std = X[:, DEEP_SLICE].mean(axis=0), X[:, DEEP_SLICE].std(axis=0) + 1e-6
    net = Musicnn.load()

    def z(v: np.ndarray) -> np.ndarray:
        out = (v - mean) / std
        return np.asarray(out / np.linalg.norm(out))

    files = [f for f in sorted(AUDIO.glob("*.ogg")) if sf.info(str(f)).duration > 40]
    whole: list[np.ndarray] = []
    parts: dict[int, list[np.ndarray]] = {k: [] for k in counts}
    saved = analyze.DEEP_PATCHES
    try:
        for f in files:
            y, sr = sf.read(str(f), dtype="float32", always_2d=True)
            mono = soxr.resample(y.mean(axis=1), sr, musicnn.SR, quality="HQ")
            whole.append(z(net.describe([np.asarray(mono, np.float32)]).embedding))
            windows = load_excerpt(str(f), analyze.WINDOW_COUNT, analyze.WINDOW_SECONDS).windows
            for k in counts:
                analyze.DEEP_PATCHES = k
                parts[k].append(z(analyze.deep_features(net, windows).embedding))
    finally:
        analyze.DEEP_PATCHES = saved
    W = np.stack(whole)
    between = 1 - W @ W.T
    typical = float(np.median(between[np.triu_indices(len(W), 1)]))
    table = {
        f"{k} patches": round(
            float(np.mean([1 - a @ b for a, b in zip(parts[k], W, strict=True)])), 4
        )
        for k in counts
    }
    report(
        "deep_patches_vs_whole_track",
        recordings=len(files),
        seconds=[round(sf.info(str(f)).duration) for f in files],
        cosine_distance_to_whole_track=table,
        median_distance_between_recordings=round(typical, 4),
        sample_rate=SR,
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


def latency(n: int = 100_000, rounds: int = 10, axes: tuple[int, ...] = ()) -> None:
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
    for keep in axes:
        indexes[f"fused (v2), deep {keep} axes"] = ContentIndex.fit(
            X, DEEP_GROUPS, None, {"deep": keep}
        )
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
    if "--patches" in sys.argv:
        patches_vs_whole()
        raise SystemExit(0)
    if "--latency-axes" in sys.argv:  # the index's width: the default against these
        latency(axes=(32, 64))
        raise SystemExit(0)
    main()
    if "--no-latency" not in sys.argv:
        latency()
