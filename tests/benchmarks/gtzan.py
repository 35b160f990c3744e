"""The GTZAN feature table as (X, groups, labels), and how the content index is measured
and tuned on labelled clips: leave-one-out precision at k, and a coordinate search over
the group weights (the only thing learned from labels).

The table's 57 columns are, in the same order, the first 57 columns of the extractor's
vector (``recommender.audio.features``), with the same group of each column, so that
what is tuned here transfers to real audio.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

import numpy as np
import numpy.typing as npt

from recommender.api import IntArray
from recommender.audio.features import GTZAN_COLUMNS  # the table's 57 columns, in order
from recommender.content.index import DEFAULT_GROUP_WEIGHTS, ContentIndex, GroupLayout


def _group_of(column: str) -> str:
    if column.startswith("mfcc"):
        return "timbre"
    if column.startswith("chroma"):
        return "harmony"
    if column.startswith(("tempo", "perceptr")):  # percussive part: the beat's share
        return "rhythm"
    if column.startswith(("rms", "harmony")):
        return "loudness"
    return "spectral"


def gtzan_groups() -> dict[str, IntArray]:
    """The group layout of the 57 GTZAN columns (also the extractor's first 57)."""
    groups: dict[str, list[int]] = {}
    for j, column in enumerate(GTZAN_COLUMNS):
        groups.setdefault(_group_of(column), []).append(j)
    return {g: np.array(cols, dtype=np.int64) for g, cols in groups.items()}


def load_gtzan(
    path: str | Path,
) -> tuple[npt.NDArray[np.float32], dict[str, IntArray], npt.NDArray[np.str_]]:
    """Read ``gtzan_features_30_sec.csv`` as (X[n, 57], groups, genre labels)."""
    with open(path, newline="") as f:
        reader = csv.reader(f)
        header = next(reader)
        rows = list(reader)
    at = [header.index(c) for c in GTZAN_COLUMNS]
    label_at = header.index("label")
    X = np.array([[float(r[j]) for j in at] for r in rows], dtype=np.float32)
    labels = np.array([r[label_at] for r in rows], dtype=np.str_)
    return X, gtzan_groups(), labels


def leave_one_out_precision(
    index: ContentIndex,
    labels: npt.ArrayLike,
    ks: Sequence[int] = (1, 5),
    queries: npt.ArrayLike | None = None,
    batch: int = 512,
    *,
    rerank: bool = True,
) -> dict[int, float]:
    """Mean fraction of each query's k nearest neighbours (itself excluded) that share
    its label, for each k in ``ks``: the neighbours ``index.similar`` returns (re-ranked
    when the index re-ranks and ``rerank``), else the nearest by ``distance_rows``.
    Queries default to every item."""
    _, y = np.unique(np.asarray(labels), return_inverse=True)
    q_all = np.arange(index.n_items) if queries is None else np.asarray(queries, np.int64)
    k_max = max(ks)
    hits = {k: 0.0 for k in ks}
    if rerank and index.reranks:
        for q in q_all.tolist():
            top = index.similar(q, k_max)[0]
            for k in ks:
                hits[k] += float((y[top[:k]] == y[q]).mean())
        return {k: hits[k] / q_all.size for k in ks}
    for start in range(0, q_all.size, batch):
        q = q_all[start : start + batch]
        rows = index.distance_rows(q)
        rows[np.arange(q.size), q] = np.inf
        top = np.argpartition(rows, k_max, axis=1)[:, :k_max]
        order = np.argsort(np.take_along_axis(rows, top, axis=1), axis=1, kind="stable")
        top = np.take_along_axis(top, order, axis=1)
        same = y[top] == y[q, None]
        for k in ks:
            hits[k] += float(same[:, :k].mean(axis=1).sum())
    return {k: hits[k] / q_all.size for k in ks}


WEIGHT_GRID: tuple[float, ...] = (0.0, 0.125, 0.25, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0)


def tune_group_weights(
    X: npt.ArrayLike,
    groups: GroupLayout,
    labels: npt.ArrayLike,
    start: Mapping[str, float] | None = None,
    grid: Iterable[float] = WEIGHT_GRID,
    rounds: int = 2,
    k: int = 5,
) -> tuple[dict[str, float], float]:
    """Coordinate search of the group weights that maximise leave-one-out P@k on
    (X, labels). Returns the weights and their P@k. Fit it on training clips only."""
    index = ContentIndex.fit(X, groups)
    weights = {g: (start or DEFAULT_GROUP_WEIGHTS).get(g, 1.0) for g in index.group_names}
    index.set_weights(weights)
    best = leave_one_out_precision(index, labels, ks=(k,))[k]
    values = tuple(grid)
    for _ in range(rounds):
        for g in index.group_names:
            for v in values:
                if v == weights[g] or (v == 0 and sum(weights.values()) == weights[g]):
                    continue
                index.set_weights({**weights, g: v})
                p = leave_one_out_precision(index, labels, ks=(k,))[k]
                if p > best + 1e-9:
                    best, weights = p, {**weights, g: v}
    return weights, best
