"""The taste map: a 2-D position for every track, labelled regions, cheap to load.

Layout, from the joint embedding (unit rows, cosine geometry):

1. PCA to two dimensions.
2. A neighbour-preserving refinement: a few hundred landmark tracks are laid out by a small
   UMAP-style force layout over their k-nearest-neighbour graph, started from their PCA
   positions; every other track is placed from its nearest landmarks (their positions plus
   its own offset through a linear map fitted on the landmarks).
3. Both layouts are scored on a held-out sample by the share of each track's 10 nearest
   neighbours in the embedding that stay among its 10 nearest on the map. The refined one is
   kept only if it keeps more (``method`` and the two shares are stored with the map).

Stability: :meth:`TasteMap.update` keeps every known track where it is and places new ones
from the landmarks (whose positions never move), so adding tracks reshuffles nothing. A
full rebuild is aligned to the previous map by a Procrustes fit (rotation, reflection,
scale, shift) on the tracks both share.

Storage is one uncompressed ``.npz``: the GUI reads ``ids``, ``xy`` and the regions and
never touches the rest (``load(path)`` reads only what it is asked for).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from scipy.linalg import orthogonal_procrustes
from sklearn.cluster import KMeans

from recommender.api import FloatArray, IntArray

FORMAT_VERSION = 1


@dataclass(frozen=True)
class MapConfig:
    landmarks: int = 1000
    neighbours: int = 10  # k of the landmark graph and of the quality measure
    place_from: int = 6  # landmarks a track is placed from
    epochs: int = 200
    negatives: int = 3
    eval_sample: int = 1500
    regions_max: int = 16
    tracks_per_region: int = 150
    rebuild_share: float = 0.25  # more new tracks than this share: full (aligned) rebuild
    seed: int = 0
    chunk: int = 8192
    offset_scale: float = 0.5  # of a track's own offset from its landmarks (measured)


@dataclass
class TasteMap:
    ids: IntArray  # the caller's ids (track ids), one per row
    xy: FloatArray  # (n, 2)
    region: IntArray  # (n,) region index, -1 none
    region_xy: FloatArray  # (r, 2) where each label is drawn
    region_labels: list[str]
    landmark_ids: IntArray  # caller's ids of the landmarks
    landmark_xy: FloatArray
    scale: float  # landmark layout units per unit of the linear map's offsets
    method: str = "pca"
    kept: dict[str, float] = field(default_factory=dict)

    def __len__(self) -> int:
        return int(self.ids.size)

    # -- storage ---------------------------------------------------------------------

    def save(self, path: str | Path) -> None:
        target = Path(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(target.name + ".tmp.npz")
        np.savez(
            tmp,
            format_version=np.int64(FORMAT_VERSION),
            ids=self.ids.astype(np.int64),
            xy=self.xy.astype(np.float32),
            region=self.region.astype(np.int16),
            region_xy=self.region_xy.astype(np.float32),
            region_labels=np.asarray(self.region_labels, dtype=np.str_),
            landmark_ids=self.landmark_ids.astype(np.int64),
            landmark_xy=self.landmark_xy.astype(np.float32),
            scale=np.float64(self.scale),
            method=np.str_(self.method),
            kept_names=np.asarray(list(self.kept), dtype=np.str_),
            kept_values=np.asarray(list(self.kept.values()), dtype=np.float64),
        )
        tmp.replace(target)  # a reader never sees half a file

    @classmethod
    def load(cls, path: str | Path) -> TasteMap:
        with np.load(Path(path), allow_pickle=False) as data:
            if int(data["format_version"]) != FORMAT_VERSION:
                raise ValueError(f"taste map {path} has an unknown format")
            return cls(
                ids=data["ids"],
                xy=data["xy"],
                region=data["region"].astype(np.int64),
                region_xy=data["region_xy"],
                region_labels=[str(s) for s in data["region_labels"]],
                landmark_ids=data["landmark_ids"],
                landmark_xy=data["landmark_xy"],
                scale=float(data["scale"]),
                method=str(data["method"]),
                kept=dict(
                    zip(
                        [str(s) for s in data["kept_names"]],
                        data["kept_values"].tolist(),
                        strict=True,
                    )
                ),
            )

    # -- updates ---------------------------------------------------------------------

    def update(
        self,
        ids: IntArray,
        vectors: FloatArray,
        genres: Sequence[str | None],
        config: MapConfig | None = None,
    ) -> TasteMap:
        """The map for the library now: known tracks stay put, new ones are placed from
        the landmarks, removed ones leave. Too many changes: an aligned rebuild."""
        cfg = config or MapConfig()
        ids = np.asarray(ids, dtype=np.int64)
        known = np.isin(ids, self.ids)
        landmarks_left = np.isin(self.landmark_ids, ids).mean() if self.landmark_ids.size else 0
        if (~known).sum() > cfg.rebuild_share * max(known.sum(), 1) or landmarks_left < 0.8:
            return build_map(ids, vectors, genres, cfg, previous=self)
        order = np.argsort(self.ids)
        where = order[np.searchsorted(self.ids[order], ids[known])]
        xy = np.zeros((ids.size, 2), dtype=np.float32)
        xy[known] = self.xy[where]
        region = np.full(ids.size, -1, dtype=np.int64)
        region[known] = self.region[where]
        new = np.flatnonzero(~known)
        if new.size:
            row_of = {int(t): i for i, t in enumerate(ids.tolist())}
            kept = [i for i, t in enumerate(self.landmark_ids.tolist()) if t in row_of]
            rows = np.asarray([row_of[int(self.landmark_ids[i])] for i in kept], np.int64)
            xy[new] = _place(vectors[new], vectors[rows], self.landmark_xy[kept], self.scale, cfg)
            if self.region_xy.shape[0]:
                d = ((xy[new, None, :] - self.region_xy[None, :, :]) ** 2).sum(axis=2)
                region[new] = np.argmin(d, axis=1)
        return TasteMap(
            ids,
            xy,
            region,
            self.region_xy,
            self.region_labels,
            self.landmark_ids,
            self.landmark_xy,
            self.scale,
            self.method,
            dict(self.kept),
        )


def load_layout(path: str | Path) -> tuple[IntArray, FloatArray, IntArray, FloatArray, list[str]]:
    """What the GUI draws: ids, positions, region per track, label positions and texts."""
    with np.load(Path(path), allow_pickle=False) as data:
        return (
            data["ids"],
            data["xy"],
            data["region"],
            data["region_xy"],
            [str(s) for s in data["region_labels"]],
        )


# -- building ------------------------------------------------------------------------


def _pca2(vectors: FloatArray) -> tuple[FloatArray, FloatArray, FloatArray]:
    """2-D PCA coordinates, the mean and the (2, d) basis (signs fixed for determinism)."""
    mean = vectors.mean(axis=0)
    centred = vectors - mean
    # The covariance is d x d: an eigendecomposition beats an SVD of the n x d data.
    cov = centred.T @ centred
    _, vecs = np.linalg.eigh(cov.astype(np.float64))
    basis = vecs[:, ::-1][:, :2].T
    basis *= np.where(basis[np.arange(2), np.argmax(np.abs(basis), axis=1)] < 0, -1.0, 1.0)[:, None]
    if basis.shape[0] < 2:
        basis = np.vstack([basis, np.zeros((2 - basis.shape[0], vectors.shape[1]))])
    coords: FloatArray = (centred @ basis.T).astype(np.float32)
    return coords, mean.astype(np.float32), basis.astype(np.float32)


def _knn(x: FloatArray, k: int, chunk: int = 4096) -> IntArray:
    """Each row's ``k`` nearest other rows by cosine (rows are unit length)."""
    n = x.shape[0]
    k = min(k, n - 1)
    out = np.zeros((n, k), dtype=np.int64)
    for start in range(0, n, chunk):
        sims = x[start : start + chunk] @ x.T
        rows = np.arange(start, min(start + chunk, n))
        sims[rows - start, rows] = -np.inf
        out[rows] = np.argpartition(-sims, k - 1, axis=1)[:, :k]
    return out


def _knn_2d(xy: FloatArray, k: int) -> IntArray:
    d = ((xy[:, None, :] - xy[None, :, :]) ** 2).sum(axis=2)
    np.fill_diagonal(d, np.inf)
    result: IntArray = np.argpartition(d, k - 1, axis=1)[:, :k]
    return result


def neighbours_kept(vectors: FloatArray, xy: FloatArray, k: int) -> float:
    """Mean share of each point's ``k`` nearest neighbours in the embedding that are
    also among its ``k`` nearest on the map."""
    high = _knn(vectors, k)
    low = _knn_2d(xy, min(k, len(xy) - 1))
    hits = (high[:, :, None] == low[:, None, :]).any(axis=2)
    return float(hits.mean())


def _refine(init: FloatArray, graph: IntArray, cfg: MapConfig) -> FloatArray:
    """A UMAP-style layout (a = b = 1) of a k-NN graph, started from ``init``."""
    rng = np.random.default_rng(cfg.seed)
    n, k = graph.shape
    y = init / (init.std(axis=0, keepdims=True) + 1e-9) * 5.0
    head = np.repeat(np.arange(n), k)
    tail = graph.ravel()
    for epoch in range(cfg.epochs):
        lr = 1.0 - epoch / cfg.epochs
        diff = y[head] - y[tail]
        d2 = (diff**2).sum(axis=1, keepdims=True)
        pull = np.clip(-2.0 / (1.0 + d2) * diff, -4.0, 4.0) * lr
        force = pull.copy()
        for _ in range(cfg.negatives):
            other = rng.integers(0, n, head.size)
            diff = y[head] - y[other]
            d2 = (diff**2).sum(axis=1, keepdims=True)
            force += np.clip(2.0 / ((0.001 + d2) * (1.0 + d2)) * diff, -4.0, 4.0) * lr
        # bincount sums the forces per node far faster than np.add.at.
        for axis in range(2):
            y[:, axis] += (
                np.bincount(head, force[:, axis], n) - np.bincount(tail, pull[:, axis], n)
            ) / k
    result: FloatArray = y.astype(np.float32)
    return result


def _place(
    vectors: FloatArray,
    landmark_vectors: FloatArray,
    landmark_xy: FloatArray,
    scale: float,
    cfg: MapConfig,
) -> FloatArray:
    """Positions from the nearest landmarks: their places plus the track's own offset
    from each, through a linear map of the embedding fitted on the landmarks."""
    centre_v = landmark_vectors.mean(axis=0)
    centre_y = landmark_xy.mean(axis=0)
    linear, *_ = np.linalg.lstsq(landmark_vectors - centre_v, landmark_xy - centre_y, rcond=None)
    q = min(cfg.place_from, landmark_vectors.shape[0])
    out = np.zeros((vectors.shape[0], 2), dtype=np.float32)
    own = vectors @ linear
    marks = landmark_vectors @ linear
    for start in range(0, vectors.shape[0], cfg.chunk):
        block = vectors[start : start + cfg.chunk]
        sims = block @ landmark_vectors.T
        near = np.argpartition(-sims, q - 1, axis=1)[:, :q]
        s = np.take_along_axis(sims, near, axis=1)
        w = np.exp((s - s.max(axis=1, keepdims=True)) * 20.0)
        w /= w.sum(axis=1, keepdims=True)
        offsets = own[start : start + cfg.chunk, None, :] - marks[near]
        spot = landmark_xy[near] + np.float32(scale) * offsets
        out[start : start + cfg.chunk] = (w[:, :, None] * spot).sum(axis=1)
    return out


def build_map(
    ids: IntArray,
    vectors: FloatArray,
    genres: Sequence[str | None],
    config: MapConfig | None = None,
    previous: TasteMap | None = None,
) -> TasteMap:
    cfg = config or MapConfig()
    ids = np.asarray(ids, dtype=np.int64)
    n = ids.size
    vectors = np.asarray(vectors, dtype=np.float32)
    if vectors.ndim != 2 or vectors.shape[1] < 2:
        # Nothing (or one number) known about the tracks: a degenerate but valid map.
        width = vectors.shape[1] if vectors.ndim == 2 else 0
        vectors = np.hstack([vectors.reshape(n, width), np.zeros((n, 2 - width), np.float32)])
    rng = np.random.default_rng(cfg.seed)
    pca_xy, _, _ = _pca2(vectors) if n else (np.zeros((0, 2), np.float32), None, None)
    if n < 4:
        return _finish(ids, pca_xy, genres, ids, pca_xy, 1.0, "pca", {}, cfg, previous)
    marks = np.sort(rng.choice(n, min(cfg.landmarks, n), replace=False))
    k = min(cfg.neighbours, marks.size - 1)
    refined_marks = _refine(pca_xy[marks], _knn(vectors[marks], k), cfg)
    scale = cfg.offset_scale
    refined = _place(vectors, vectors[marks], refined_marks, scale, cfg)
    refined[marks] = refined_marks
    rest = np.setdiff1d(np.arange(n), marks)
    if rest.size <= k + 1:
        rest = marks  # a small library is all landmarks: judge the layout on them
    held = rest if rest.size <= cfg.eval_sample else rng.choice(rest, cfg.eval_sample, False)
    if held.size > k + 1:
        kept = {
            "pca": neighbours_kept(vectors[held], pca_xy[held], k),
            "refined": neighbours_kept(vectors[held], refined[held], k),
        }
    else:
        kept = {"pca": 0.0, "refined": 0.0}
    if kept["refined"] > kept["pca"]:
        return _finish(
            ids, refined, genres, ids[marks], refined_marks, scale, "refined", kept, cfg, previous
        )
    return _finish(ids, pca_xy, genres, ids[marks], pca_xy[marks], 1.0, "pca", kept, cfg, previous)


def _finish(
    ids: IntArray,
    xy: FloatArray,
    genres: Sequence[str | None],
    landmark_ids: IntArray,
    landmark_xy: FloatArray,
    scale: float,
    method: str,
    kept: dict[str, float],
    cfg: MapConfig,
    previous: TasteMap | None,
) -> TasteMap:
    xy = xy.astype(np.float32)
    landmark_xy = landmark_xy.astype(np.float32)
    if previous is not None and len(previous):
        xy, landmark_xy, scale = _align(ids, xy, landmark_xy, scale, previous)
    region, region_xy, labels = _regions(xy, genres, cfg)
    return TasteMap(
        ids, xy, region, region_xy, labels, landmark_ids, landmark_xy, scale, method, kept
    )


def _align(
    ids: IntArray, xy: FloatArray, landmark_xy: FloatArray, scale: float, previous: TasteMap
) -> tuple[FloatArray, FloatArray, float]:
    """Rotate, reflect, scale and shift a rebuilt layout onto the previous one."""
    common, mine, theirs = np.intersect1d(ids, previous.ids, return_indices=True)
    if common.size < 3:
        return xy, landmark_xy, scale
    a = xy[mine].astype(np.float64)
    b = previous.xy[theirs].astype(np.float64)
    ca, cb = a.mean(axis=0), b.mean(axis=0)
    rotation, _ = orthogonal_procrustes(a - ca, b - cb)
    norm = float(((a - ca) ** 2).sum()) or 1.0
    factor = float(np.trace((a - ca) @ rotation @ (b - cb).T)) / norm
    factor = factor if factor > 0 else 1.0

    def move(points: FloatArray) -> FloatArray:
        moved: FloatArray = (((points - ca) @ rotation) * factor + cb).astype(np.float32)
        return moved

    return move(xy), move(landmark_xy), scale * factor


def _regions(
    xy: FloatArray, genres: Sequence[str | None], cfg: MapConfig
) -> tuple[IntArray, FloatArray, list[str]]:
    from recommender.playlists.mixes import name_clusters

    n = xy.shape[0]
    # Several regions even on a small library (sqrt(n/4): 5 for 100 tracks, 16 from
    # 1,024), never more than one per ``tracks_per_region`` on a large one.
    r = int(min(cfg.regions_max, np.sqrt(n / 4), max(n // cfg.tracks_per_region, 8)))
    if r < 2:
        return (
            np.zeros(n, np.int64),
            xy.mean(axis=0, keepdims=True) if n else np.zeros((0, 2), np.float32),
            (name_clusters(np.zeros(n, np.int64), 1, genres, unique=False) if n else []),
        )
    fit = KMeans(r, n_init=1, max_iter=50, random_state=cfg.seed).fit(xy)
    labels = fit.labels_.astype(np.int64)
    names = name_clusters(labels, r, genres, unique=False)
    return labels, fit.cluster_centers_.astype(np.float32), names


__all__ = ["MapConfig", "TasteMap", "build_map", "load_layout", "neighbours_kept"]
