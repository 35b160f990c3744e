"""Content similarity: which tracks sound alike, from their feature vectors.

Dense ids in (row ``i`` of the feature matrix is item ``i``), ids and distances out.
The recipe, each step chosen by measurement on the GTZAN table (see
``tests/benchmarks/bench_content_quality.py``):

1. **Rank-Gaussian scaling** per column over the library: each value becomes the normal
   quantile of its rank. Robust to skew (variances of MFCCs span decades), outliers,
   NaN/inf (imputed at the median) and constant columns (they become 0).
2. **Per-group partial whitening**: within each feature group, the principal axes are
   rescaled by ``eigenvalue^-1/4`` (half-way to whitening), so that twenty correlated
   MFCC columns don't all count the same direction twenty times. Each group is then
   scaled to unit mean square norm and weighted by its group weight.
3. **Squared euclidean distance** (one matrix-vector product per query) and
4. **Gaussian mutual proximity** (Schnitzer et al., 2012), a hubness reduction: the
   distance of ``a`` to ``b`` becomes ``1 - P(X > d | a) * P(Y > d | b)``, where each
   item's distances to the library are modelled as a normal distribution. Whose mean and
   variance have a closed form from the library's first and second moments, so this costs
   O(n d) at fit time and one pass over the distance row at query time. Distances are in
   [0, 1]: 0 means "b is closer to a than anything else, and vice versa".
5. **k-reciprocal re-ranking** of neighbour lists (``similar``, ``similar_to``; see
   ``content_rerank``): tracks that are in each other's neighbourhoods, and whose
   neighbourhoods overlap, come first. Dense rows (``distances``, ``distance_rows``,
   what the up-next blend reads) stay plain mutual proximity: cheap, and smooth.

Rows that are entirely NaN/inf have no vector: they sit at distance 1 from everything.

Measured (leave-one-out genre P@5; bench_content_quality.py). GTZAN table, 1,000 clips:
the usual recipe (z-score, cosine) 0.611; rank-Gaussian instead of z-score 0.628 (median/
IQR 0.593); + group weights ~0.64; + partial whitening ~0.65; + mutual proximity 0.674;
+ k-reciprocal re-ranking 0.700, and 0.710 with the group weights re-tuned under it
(5-fold cross-validated: 0.702). A second labelled table, pyAudioAnalysis' 581 songs in
6 genres with its own features, checks that this transfers: usual recipe 0.734, mutual
proximity 0.785, re-ranked 0.809 with the same defaults (partial whitening is best there
too: power 0 gives 0.768, 0.5 gives 0.753). Per-column weights, mean/variance sub-group
weights, shrinkage LDA and NCA (all cross-validated) lost to these five group weights.
"""

from __future__ import annotations

import itertools
import threading
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp
from scipy.special import ndtr, ndtri

from recommender.api import FloatArray, IntArray
from recommender.content import rerank as content_rerank
from recommender.content.rerank import ReciprocalGraph

GROUP_NAMES: tuple[str, ...] = ("timbre", "harmony", "rhythm", "spectral", "loudness", "deep")

# Tuned on the GTZAN table with re-ranking on (leave-one-out genre P@5, 5-fold
# cross-validated in bench_content_quality.py), and checked on pyAudioAnalysis' table:
# of the weights the folds chose, the one best on both. Relative values matter.
DEFAULT_GROUP_WEIGHTS: dict[str, float] = {
    "timbre": 2.0,
    "harmony": 0.25,
    "rhythm": 0.25,
    "spectral": 0.25,
    "loudness": 0.75,
    # The music network's embedding (musicnn, when the tracks have it), kept to its 24
    # leading principal axes (DEFAULT_GROUP_DIMS). Measured in bench_deep_similarity.py on
    # (a) 409 real labelled 2-3 s snippets, leave-one-out genre P@5: the features alone
    # 0.559, the embedding alone 0.720; and (b) a proxy for longer clips: 8 real
    # recordings cut into 10 s and 15 s segments, each heard whole, in one library with
    # the snippets; the share of a segment's nearest that are segments of its recording
    # (features alone 0.48 / 0.23). Deep weight x leading axes, (a) and (b) 10 s / 15 s:
    #   16 axes, weight 2 / 3.5 / 5 / 7:  0.761 / 0.762 / 0.756 / 0.759;
    #                                      (b) 0.56/0.27, 0.55/0.28, 0.50/0.29, 0.52/0.28
    #   24 axes, weight 3.5 / 4.5 / 5 / 6 / 7 / 10: 0.762 / 0.756 / 0.751 / 0.753 / 0.754
    #       / 0.748; (b) 0.75/0.54, 0.80/0.61, 0.82/0.64, 0.80/0.62, 0.83/0.65, 0.82/0.60
    #   32 axes, weight 3.5 / 5 / 7: 0.748 / 0.753 / 0.749; (b) 0.76/0.60, 0.77/0.63, 0.80/0.63
    #   64 axes, weight 3.5 / 5 / 7: 0.758 / 0.757 / 0.751; (b) 0.66/0.53, 0.79/0.65, 0.78/0.66
    #   all 200 axes, weight 3.5 / 5 / 7: 0.753 / 0.755 / 0.754; (b) 0.69/0.55, 0.72/0.60,
    #       0.73/0.61
    # 16 axes, the former choice, fit the snippets (one padded 3-s patch each) and lose
    # half the proxy: what tells two recordings apart lies past the genre axes. Anything
    # from 20 axes and weight 4.5 up holds both; 24 axes at weight 5 sits in the middle of
    # that plateau (the snippets' differences within it are within their noise, ~0.015),
    # and keeps the index 24 columns wider, not 200.
    "deep": 5.0,
}
_UNKNOWN_GROUP_WEIGHT = 1.0

# Groups kept to their leading principal axes in the index (the rest dropped), so a wide
# group doesn't make every query's product wider. Measured in bench_deep_similarity.py
# (--latency-axes; 100,000 tracks, load ~10, alternating rounds), similar / up-next's
# distance_rows of 3 anchors in ms: features alone (121 columns) 24.1 / 49.8; with the
# deep group at 16 axes 25.3 / 53.8, 32 axes 27.0 / 58.2, 64 axes 28.2 / 66.6. 24 axes
# (145 columns) lie between 16 and 32: ~+8 % / ~+12 % over the features alone.
DEFAULT_GROUP_DIMS: dict[str, int] = {"deep": 24}

# How a group reads in an explanation ("similar rhythm and timbre").
GROUP_WORDS: dict[str, str] = {
    "timbre": "timbre",
    "harmony": "harmony",
    "rhythm": "rhythm",
    "spectral": "brightness",
    "loudness": "energy",
    "deep": "overall sound",
}

WHITEN_POWER = 0.25  # 0 = no whitening, 0.5 = full whitening; 0.25 measured best
WHITEN_EPS = 1e-2  # relative eigenvalue floor: near-null directions are not blown up
N_QUANTILES = 1001  # resolution of the stored rank transform
MOMENT_SAMPLE = 20_000  # rows that estimate covariances in a big library
N_PAIR_SAMPLES = 4096  # random pairs that define a "typical" per-group distance
CLOSE_PERCENTILE = 0.2  # a group is "similar" when closer than 80% of random pairs
MAX_ASPECTS = 3
# 2: the k-reciprocal neighbour graph; 3: groups cut to leading axes; 4: groups a row lacks;
# 5: the deep group at 24 axes and weight 5 (a saved index keeps its own: older ones refit)
FORMAT_VERSION = 5

# Building a neighbour graph takes seconds to a minute: two threads asking at once wait
# for one build rather than both doing it.
_GRAPH_LOCK = threading.Lock()

GroupLayout = Mapping[str, slice | npt.NDArray[np.integer] | Sequence[int]]


def _columns(spec: slice | npt.NDArray[np.integer] | Sequence[int], d: int) -> IntArray:
    if isinstance(spec, slice):
        return np.arange(d, dtype=np.int64)[spec]
    cols = np.asarray(spec, dtype=np.int64).ravel()
    if cols.size and (cols.min() < -d or cols.max() >= d):
        raise ValueError(f"group columns out of range for {d} features")
    return cols % d if cols.size else cols


def _rank_gaussian(X: npt.NDArray[np.float64], quantiles: npt.NDArray[np.float64]) -> FloatArray:
    """Map each column through its library quantiles to a standard normal score. Ties (a
    value repeated across quantiles) get the middle of their quantile range; non-finite
    values get 0 (the median)."""
    n_q, d = quantiles.shape
    probs = np.linspace(0.0, 1.0, n_q)
    lo = 0.5 / n_q  # keeps the extremes finite
    out = np.zeros(X.shape, dtype=np.float64)
    for j in range(d):  # a loop over columns (~100), never over tracks
        q = quantiles[:, j]
        if not np.isfinite(q).all():
            continue  # an all-NaN column at fit time carries nothing
        values, first, counts = np.unique(q, return_index=True, return_counts=True)
        mid = (probs[first] + probs[first + counts - 1]) / 2.0
        col = X[:, j]
        finite = np.isfinite(col)
        u = np.interp(col[finite], values, mid) if values.size > 1 else np.full(finite.sum(), 0.5)
        out[finite, j] = ndtri(np.clip(u, lo, 1.0 - lo))
    return out.astype(np.float32)


class ContentIndex:
    """Nearest neighbours by sound over a library of feature vectors."""

    def __init__(
        self,
        X: npt.ArrayLike,
        groups: GroupLayout | None = None,
        weights: Mapping[str, float] | None = None,
        dims: Mapping[str, int] | None = None,
    ) -> None:
        X64 = np.asarray(X, dtype=np.float64)
        if X64.ndim != 2 or X64.shape[0] < 1:
            raise ValueError("X must be a non-empty 2-D matrix (tracks x features)")
        n, d = X64.shape
        layout = dict(groups) if groups else {"timbre": slice(0, d)}
        self.group_names: list[str] = list(layout)
        cols = [_columns(layout[g], d) for g in self.group_names]
        self.in_columns: IntArray = np.concatenate(cols) if cols else np.zeros(0, np.int64)
        if self.in_columns.size == 0:
            raise ValueError("the groups select no column")
        # From here on, columns are in group order and each group is contiguous.
        X64 = X64[:, self.in_columns]
        X64 = np.where(np.isfinite(X64), X64, np.nan)
        missing: npt.NDArray[np.bool_] = np.asarray(np.isnan(X64).all(axis=1))
        self.quantiles = self._fit_quantiles(X64[~missing] if (~missing).any() else X64)
        self.in_bounds: IntArray = np.concatenate([[0], np.cumsum([c.size for c in cols])]).astype(
            np.int64
        )
        lacking = self._lacking(X64, missing)
        Z = _rank_gaussian(X64, self.quantiles)
        limits = {**DEFAULT_GROUP_DIMS, **(dims or {})}
        out_sizes = [
            min(c.size, limits.get(g, c.size)) for g, c in zip(self.group_names, cols, strict=True)
        ]
        # Output (index) columns of each group (in_bounds: its input columns).
        self.bounds: IntArray = np.concatenate([[0], np.cumsum(out_sizes)]).astype(np.int64)
        self.center = np.zeros(self.in_columns.size, dtype=np.float64)
        self.projection = np.zeros((self.in_columns.size, int(self.bounds[-1])))
        present = Z[self._moment_rows(missing | lacking.any(axis=1))]
        for (start, stop), (o_start, o_stop) in zip(
            self._spans(self.in_bounds), self._spans(), strict=True
        ):
            block = present[:, start:stop].astype(np.float64)
            self.center[start:stop], self.projection[start:stop, o_start:o_stop] = self._fit_group(
                block, o_stop - o_start
            )
        self.embedding: FloatArray = self._embed(Z)
        self.embedding[missing] = 0.0
        self.missing = missing
        self.lacking = lacking
        self.n_fitted = n
        self._fit_pair_quantiles()
        self.graph: ReciprocalGraph | None = None
        self.set_weights(weights)

    @classmethod
    def fit(
        cls,
        X: npt.ArrayLike,
        groups: GroupLayout | None = None,
        weights: Mapping[str, float] | None = None,
        dims: Mapping[str, int] | None = None,
    ) -> ContentIndex:
        """Fit the scaling and whitening on the library ``X`` (tracks x features).

        ``groups`` maps group names to column slices or index arrays (columns in no group
        are ignored; None = one "timbre" group of all columns). ``weights`` overrides
        ``DEFAULT_GROUP_WEIGHTS`` per group; groups it doesn't know weigh 1. ``dims``
        overrides ``DEFAULT_GROUP_DIMS``: a group kept to that many principal axes."""
        return cls(X, groups, weights, dims)

    # ---- fitting -------------------------------------------------------------------

    def _fit_quantiles(self, X: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
        n_q = int(min(N_QUANTILES, max(2, X.shape[0])))
        probs = np.linspace(0.0, 1.0, n_q)
        with warnings.catch_warnings():
            # An all-NaN column gives NaN quantiles: _rank_gaussian treats it as constant.
            warnings.simplefilter("ignore", RuntimeWarning)
            q = np.nanquantile(X, probs, axis=0)
        return np.asarray(q, dtype=np.float64)

    def _lacking(
        self, X64: npt.NDArray[np.float64], missing: npt.NDArray[np.bool_]
    ) -> npt.NDArray[np.bool_]:
        """(rows, groups): the groups a row with a vector has no value in at all (an older
        feature version without the music network's group, during an upgrade). Such a
        group weighs nothing in that row's distances; the others share its weight."""
        nan = np.isnan(X64)
        out = np.zeros((X64.shape[0], len(self.group_names)), dtype=bool)
        for g, (start, stop) in enumerate(self._spans(self.in_bounds)):
            out[:, g] = nan[:, start:stop].all(axis=1) & ~missing
        return out

    @staticmethod
    def _moment_rows(missing: npt.NDArray[np.bool_]) -> IntArray:
        """The rows that estimate the library's moments: all tracks with a vector, or a
        fixed random sample of MOMENT_SAMPLE of them in a big library (plenty for a
        covariance of ~100 columns, and it keeps fitting 100k tracks to seconds)."""
        rows = np.flatnonzero(~missing)
        if rows.size == 0:
            return np.arange(missing.size, dtype=np.int64)
        if rows.size > MOMENT_SAMPLE:
            rng = np.random.default_rng(0)
            rows = np.sort(rng.choice(rows, MOMENT_SAMPLE, replace=False))
        return rows.astype(np.int64)

    def _spans(self, bounds: IntArray | None = None) -> list[tuple[int, int]]:
        """(start, stop) of each group's columns: in the index (default) or in ``bounds``."""
        b = self.bounds if bounds is None else bounds
        return [(int(x), int(y)) for x, y in itertools.pairwise(b)]

    @staticmethod
    def _fit_group(
        block: npt.NDArray[np.float64], keep: int
    ) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
        """Centre, partially whiten, and scale one group to unit mean square norm, on
        its ``keep`` leading principal axes."""
        center = block.mean(axis=0)
        centred = block - center
        cov = centred.T @ centred / max(block.shape[0], 1)
        eigval, eigvec = np.linalg.eigh(cov)
        eigval = np.maximum(eigval, 0.0)
        floor = WHITEN_EPS * eigval.max() + 1e-12
        eigval, eigvec = eigval[::-1][:keep], eigvec[:, ::-1][:, :keep]  # largest first
        proj = eigvec * (eigval + floor) ** -WHITEN_POWER
        mean_sq = float(np.trace(proj.T @ cov @ proj))  # E|(x - center) proj|^2
        if mean_sq > 1e-12:
            proj /= np.sqrt(mean_sq)
        else:
            proj[:] = 0.0  # a constant group says nothing
        return center, proj

    def _embed(self, Z: FloatArray) -> FloatArray:
        sub = Z.astype(np.float64) - self.center
        out = np.empty((sub.shape[0], int(self.bounds[-1])), dtype=np.float32)
        for (start, stop), (o_start, o_stop) in zip(
            self._spans(self.in_bounds), self._spans(), strict=True
        ):
            out[:, o_start:o_stop] = (
                sub[:, start:stop] @ self.projection[start:stop, o_start:o_stop]
            )
        return out

    def _fit_pair_quantiles(self) -> None:
        """Per group, the distribution of squared distances over random pairs: what
        "typical" means for ``explain``."""
        rng = np.random.default_rng(0)
        present = np.flatnonzero(~self.missing & ~self.lacking.any(axis=1))
        if present.size < 2:  # no track has every group: typical over those with a vector
            present = np.flatnonzero(~self.missing)
        n_groups = len(self.group_names)
        self.pair_quantiles = np.zeros((n_groups, 101), dtype=np.float32)
        if present.size < 2:
            return
        a = rng.choice(present, N_PAIR_SAMPLES)
        b = rng.choice(present, N_PAIR_SAMPLES)
        keep = a != b
        per_group = self._group_sq_distances(a[keep], b[keep])
        self.pair_quantiles = np.quantile(per_group, np.linspace(0, 1, 101), axis=1).T.astype(
            np.float32
        )

    def set_weights(self, weights: Mapping[str, float] | None = None) -> None:
        """Change the group weights without refitting the scaling (cheap: O(n d))."""
        merged = {**DEFAULT_GROUP_WEIGHTS, **(weights or {})}
        self.weights: dict[str, float] = {
            g: float(merged.get(g, _UNKNOWN_GROUP_WEIGHT)) for g in self.group_names
        }
        if any(w < 0 for w in self.weights.values()):
            raise ValueError("group weights must be >= 0")
        self.column_weights: FloatArray = np.repeat(
            np.array([self.weights[g] for g in self.group_names], dtype=np.float32),
            np.diff(self.bounds),
        )
        self._fit_moments()
        self.graph = None  # neighbourhoods depend on the weights

    def _fit_moments(self) -> None:
        """The library's moments in the weighted space, from which every item's mean and
        standard deviation of squared distances to the library follow in closed form:
        for r drawn from the library and a = |r|^2,
        E|x - r|^2 = |x|^2 - 2 x.E[r] + E[a],
        Var|x - r|^2 = Var(a) + 4 x'Cov(r)x - 4 x.Cov(r, a)."""
        W = self.embedding * np.sqrt(self.column_weights)
        fitted = self.missing[: self.n_fitted] | self.lacking[: self.n_fitted].any(axis=1)
        self._moment_sample = self._moment_rows(fitted)
        self._moments = self._weighted_moments(W[self._moment_sample])
        self.sq_norms: FloatArray = (W.astype(np.float64) ** 2).sum(axis=1).astype(np.float32)
        self.mp_mean, self.mp_std = self._distance_stats(W, self._moments)
        self._missing_ids = np.flatnonzero(self.missing)
        self._row_stats_for_lacking(np.arange(self.n_items))

    @staticmethod
    def _weighted_moments(rows: FloatArray) -> tuple[Any, ...]:
        present = rows.astype(np.float64)
        sq = (present**2).sum(axis=1)
        mean = present.mean(axis=0)
        centred = present - mean
        a_mean = float(sq.mean())
        return (
            mean,
            centred.T @ centred / present.shape[0],
            a_mean,
            float(sq.var()),
            centred.T @ (sq - a_mean) / present.shape[0],
        )

    def _renormalised(self, lacks: npt.NDArray[np.bool_]) -> FloatArray:
        """Column weights for a pair that lacks the groups ``lacks``: those weigh 0, the
        others are scaled so that the total weight stays the same."""
        group_w = np.array([self.weights[g] for g in self.group_names], dtype=np.float64)
        kept = np.where(lacks, 0.0, group_w)
        scale = group_w.sum() / kept.sum() if kept.sum() > 0 else 0.0
        return np.repeat((kept * scale).astype(np.float32), np.diff(self.bounds))

    def _row_stats_for_lacking(self, rows: IntArray) -> None:
        """Mutual proximity's per-item statistics of the ``rows`` that lack a group: all
        their distances are in the renormalised weighting, so their statistics are too."""
        lacking = self.lacking[rows]
        if not lacking.any():
            return
        sample = self.embedding[self._moment_sample]
        for pattern in np.unique(lacking[lacking.any(axis=1)], axis=0):
            which = rows[(lacking == pattern).all(axis=1)]
            root = np.sqrt(self._renormalised(pattern))
            moments = self._weighted_moments(sample * root)
            W = self.embedding[which] * root
            self.mp_mean[which], self.mp_std[which] = self._distance_stats(W, moments)

    @staticmethod
    def _distance_stats(W: FloatArray, moments: tuple[Any, ...]) -> tuple[FloatArray, FloatArray]:
        mom_mean, mom_cov, a_mean, a_var, cross = moments
        W64 = W.astype(np.float64)
        norms = (W64**2).sum(axis=1)
        mean = norms - 2.0 * W64 @ mom_mean + a_mean
        var = a_var + 4.0 * ((W64 @ mom_cov) * W64).sum(axis=1) - 4.0 * W64 @ cross
        std = np.sqrt(np.maximum(var, 1e-12))
        return mean.astype(np.float32), std.astype(np.float32)

    # ---- growing ---------------------------------------------------------------------

    def add(self, X_new: npt.ArrayLike) -> IntArray:
        """Place new tracks with the scaling fitted so far (no refit: existing distances
        don't move). Returns their ids. Call ``fit`` again when the library has changed a
        lot."""
        X64 = np.atleast_2d(np.asarray(X_new, dtype=np.float64))
        if X64.ndim != 2 or X64.shape[1] <= int(self.in_columns.max()):
            raise ValueError(f"new tracks need at least {int(self.in_columns.max()) + 1} features")
        X64 = X64[:, self.in_columns]
        X64 = np.where(np.isfinite(X64), X64, np.nan)
        missing: npt.NDArray[np.bool_] = np.asarray(np.isnan(X64).all(axis=1))
        lacking = self._lacking(X64, missing)
        E = self._embed(_rank_gaussian(X64, self.quantiles))
        E[missing] = 0.0
        W = E * np.sqrt(self.column_weights)
        mean, std = self._distance_stats(W, self._moments)
        first = self.embedding.shape[0]
        self.embedding = np.concatenate([self.embedding, E])
        self.missing = np.concatenate([self.missing, missing])
        self.lacking = np.concatenate([self.lacking, lacking])
        self.sq_norms = np.concatenate(
            [self.sq_norms, (W.astype(np.float64) ** 2).sum(axis=1).astype(np.float32)]
        )
        self.mp_mean = np.concatenate([self.mp_mean, mean])
        self.mp_std = np.concatenate([self.mp_std, std])
        self._missing_ids = np.flatnonzero(self.missing)
        self._row_stats_for_lacking(np.arange(first, self.embedding.shape[0]))
        self.graph = None  # rebuilt on the next query that needs it
        return np.arange(first, self.embedding.shape[0], dtype=np.int64)

    # ---- querying --------------------------------------------------------------------

    @property
    def n_items(self) -> int:
        return int(self.embedding.shape[0])

    def _squared_rows(self, ids: IntArray) -> FloatArray:
        """Squared weighted euclidean distances from ``ids`` to every item, (m, n)."""
        query = self.embedding[ids] * (-2.0 * self.column_weights)  # weights on the query side
        # In place over one buffer: at 100k tracks every pass counts.
        if ids.size == 1:  # a BLAS gemv: several times faster than a 1-row gemm
            out: FloatArray = (self.embedding @ query[0])[None, :]
        else:
            out = query @ self.embedding.T
        out += self.sq_norms[None, :]
        out += self.sq_norms[ids, None]
        if self.lacking.any():
            self._renormalise_rows(ids, out)
        return out

    def _renormalise_rows(self, ids: IntArray, sq: FloatArray) -> None:
        """Where a pair lacks a group (either track has no value in it), that group's
        share of ``sq`` (ids x all items) is taken out and the rest scaled up, in place:
        tracks of an older feature version don't all look alike in the group they lack."""
        lacks_any: npt.NDArray[np.bool_] = np.asarray(self.lacking.any(axis=1))
        total = float(sum(self.weights.values()))
        for g, (start, stop) in enumerate(self._spans()):
            lack = self.lacking[:, g]
            if not lack.any() or self.weights[self.group_names[g]] == 0:
                continue
            E = self.embedding[:, start:stop]
            part = self.weights[self.group_names[g]] * (
                (E[ids] ** 2).sum(axis=1)[:, None]
                - 2.0 * (E[ids] @ E.T)
                + (E**2).sum(axis=1)[None, :]
            )
            pair = lack[ids][:, None] | lack[None, :]
            sq -= np.where(pair, part, 0.0).astype(np.float32)
        # The weight left for each pair, then scaled back to the whole.
        group_w = np.array([self.weights[g] for g in self.group_names], dtype=np.float64)
        kept = np.full(sq.shape, total, dtype=np.float64)
        for g in range(len(self.group_names)):
            lack = self.lacking[:, g]
            if lack.any():
                kept -= np.where(lack[ids][:, None] | lack[None, :], group_w[g], 0.0)
        touched = lacks_any[ids][:, None] | lacks_any[None, :]
        scale = np.where(touched & (kept > 0), total / np.maximum(kept, 1e-12), 1.0)
        sq *= scale.astype(np.float32)
        np.maximum(sq, 0.0, out=sq)

    def _mutual_proximity(self, ids: IntArray, cols: IntArray | slice, sq: FloatArray) -> None:
        """Turn squared distances ``sq`` (ids x cols) into mutual-proximity distances, in
        place: 1 - P(query's distance to a random track > d) * P(item's ... > d)."""
        beyond_item = self.mp_mean[cols] - sq  # cols: a slice, or ids per column or cell
        beyond_item /= self.mp_std[cols]
        ndtr(beyond_item, out=beyond_item)
        np.subtract(self.mp_mean[ids, None], sq, out=sq)
        sq /= self.mp_std[ids, None]
        ndtr(sq, out=sq)
        sq *= beyond_item
        np.subtract(np.float32(1.0), sq, out=sq)

    def distance_rows(self, items: Sequence[int] | IntArray) -> FloatArray:
        """Mutual-proximity distances from each of ``items`` to every item: one
        matrix product for the batch. Shape (len(items), n), in [0, 1]."""
        ids = np.asarray(items, dtype=np.int64).ravel()
        out = self._squared_rows(ids)
        self._mutual_proximity(ids, slice(None), out)
        if self._missing_ids.size:
            out[:, self._missing_ids] = 1.0
            out[self.missing[ids]] = 1.0
        out[np.arange(ids.size), ids] = 0.0
        return out

    def distances(self, item: int) -> FloatArray:
        """Distance from ``item`` to every item (0 to itself, 1 to items without a vector)."""
        row: FloatArray = self.distance_rows([item])[0]
        return row

    def similar(
        self,
        item: int,
        k: int,
        exclude: npt.ArrayLike | None = None,
        *,
        rerank: bool = True,
    ) -> tuple[IntArray, FloatArray]:
        """The ``k`` nearest items to ``item``, nearest first, never ``item`` itself nor
        any id in ``exclude``. An item without a vector has no neighbours.

        With ``rerank`` (and a library of at least ``content_rerank.MIN_ITEMS``), the
        order and distances are k-reciprocal re-ranked (see ``content_rerank``), else
        they are the plain mutual-proximity distances."""
        if self.missing[item]:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
        graph = self.neighbour_graph() if rerank else None
        if graph is None:
            return self._similar_plain(item, k, exclude)
        ids = np.array([item], dtype=np.int64)
        nearest, _ = self._similar_plain(item, max(int(k), content_rerank.CANDIDATES), exclude)

        def distance_of(others: IntArray) -> FloatArray:
            sq = self.pair_squared(np.full(others.size, item), others)
            row: FloatArray = self.final_distance(ids, others[None, :], sq[None, :])[0]
            return row

        cand, dist = graph.rerank(ids, np.ones(1, dtype=np.float32), nearest, distance_of)
        return self._top_k_of(cand, dist, k, ids, exclude)

    def _similar_plain(
        self, item: int, k: int, exclude: npt.ArrayLike | None
    ) -> tuple[IntArray, FloatArray]:
        """The ``k`` nearest by mutual proximity alone, exactly, without computing it for
        the whole library."""
        if self.missing[item]:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
        ids = np.array([item], dtype=np.int64)
        sq = self._squared_rows(ids)[0]
        sq[item] = np.inf
        sq[self._missing_ids] = np.inf
        if exclude is not None:
            sq[np.asarray(exclude, dtype=np.int64).ravel()] = np.inf
        k = min(int(k), int(np.isfinite(sq).sum()))
        if k <= 0:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
        # Exact pruning, so that most of the library skips the two normal CDFs: an item's
        # distance is at least 1 - P(query's distance > d), which grows with d. The k-th
        # best among the raw-nearest few bounds how far a better item can be.
        few = np.argpartition(sq, min(4 * k + 32, sq.size) - 1)[: 4 * k + 32]
        few = few[np.isfinite(sq[few])]
        mp_few = sq[few].reshape(1, -1).copy()
        self._mutual_proximity(ids, few, mp_few)
        kth = float(np.partition(mp_few[0], k - 1)[k - 1])
        reach = float(self.mp_mean[item]) - float(self.mp_std[item]) * float(ndtri(1.0 - kth))
        cand = np.flatnonzero(sq <= reach + 1e-5 * (abs(reach) + 1.0))
        mp = sq[cand].reshape(1, -1).copy()
        self._mutual_proximity(ids, cand, mp)
        order = np.argsort(mp[0], kind="stable")[:k]
        return cand[order].astype(np.int64), mp[0, order].astype(np.float32)

    def similar_to(
        self,
        items: Sequence[int],
        k: int,
        weights: Sequence[float] | None = None,
        exclude: npt.ArrayLike | None = None,
        *,
        rerank: bool = True,
    ) -> tuple[IntArray, FloatArray]:
        """The ``k`` items nearest to a set of seeds (e.g. a session), by the weighted mean
        of their distances, re-ranked as ``similar`` is (the query's neighbourhood is the
        weighted mean of the seeds'); the seeds themselves are never returned."""
        seeds = np.asarray(items, dtype=np.int64).ravel()
        if seeds.size == 0:
            raise ValueError("similar_to needs at least one seed")
        w = np.ones(seeds.size) if weights is None else np.asarray(weights, dtype=np.float64)
        if w.shape != seeds.shape or w.sum() <= 0 or (w < 0).any():
            raise ValueError("weights must be one non-negative value per seed, not all 0")
        share = (w / w.sum()).astype(np.float32)
        row = (share @ self.distance_rows(seeds)).astype(np.float32)
        graph = self.neighbour_graph() if rerank else None
        if graph is None:
            return self._top_k(row, k, seeds, exclude)
        # The nearest are picked among the tracks that may be returned, so that seeds,
        # tracks without a vector and exclusions don't use up the candidates.
        masked = self._returnable(row, seeds, exclude)
        n_near = min(max(int(k), content_rerank.CANDIDATES), int(np.isfinite(masked).sum()))
        if n_near <= 0:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
        nearest = np.argpartition(masked, n_near - 1)[:n_near]
        cand, dist = graph.rerank(seeds, share, nearest, lambda ids: row[ids])
        return self._top_k_of(cand, dist, k, seeds, exclude)

    # ---- the k-reciprocal neighbour graph (content_rerank.Metric) ---------------------

    def squared_rows(self, ids: IntArray) -> FloatArray:
        return self._squared_rows(np.asarray(ids, dtype=np.int64))

    def pair_squared(self, a: IntArray, b: IntArray) -> FloatArray:
        diff = self.embedding[a] - self.embedding[b]
        if not self.lacking.any():
            out: FloatArray = ((diff * diff) @ self.column_weights).astype(np.float32)
            return out
        group_w = np.array([self.weights[g] for g in self.group_names], dtype=np.float64)
        pair_lacks = self.lacking[a] | self.lacking[b]  # (pairs, groups)
        kept = np.where(pair_lacks, 0.0, group_w)
        per_group = np.add.reduceat(diff * diff, self.bounds[:-1], axis=1)
        scale = group_w.sum() / np.maximum(kept.sum(axis=1), 1e-12)
        out = ((per_group * kept).sum(axis=1) * scale).astype(np.float32)
        return out

    def final_distance(self, ids: IntArray, cand: IntArray, sq: FloatArray) -> FloatArray:
        out = np.array(sq, dtype=np.float32)  # a copy: the caller keeps its distances
        self._mutual_proximity(ids, cand, out)
        return out

    @property
    def reranks(self) -> bool:
        """Whether neighbour lists are re-ranked: the library is big enough to have
        neighbourhoods."""
        return int((~self.missing).sum()) >= content_rerank.MIN_ITEMS

    def neighbour_graph(self) -> ReciprocalGraph | None:
        """The k-reciprocal graph, built on first use (O(n^2 d): seconds at 20,000
        tracks) and kept, also by ``save``. None when the library is too small."""
        if not self.reranks:
            return None
        with _GRAPH_LOCK:  # one build at a time, however many threads ask
            graph = self.graph
            if graph is None or graph.n_items != self.n_items:
                graph = ReciprocalGraph.build(self.n_items, self.missing, self)
                self.graph = graph
        return graph

    def _top_k_of(
        self,
        cand: IntArray,
        dist: FloatArray,
        k: int,
        seeds: IntArray,
        exclude: npt.ArrayLike | None,
    ) -> tuple[IntArray, FloatArray]:
        """The ``k`` nearest of the candidates ``cand`` at distances ``dist``."""
        ok = ~self.missing[cand] & ~np.isin(cand, seeds)
        if exclude is not None:
            ok &= ~np.isin(cand, np.asarray(exclude, dtype=np.int64).ravel())
        cand, dist = cand[ok], dist[ok]
        order = np.argsort(dist, kind="stable")[: max(int(k), 0)]
        return cand[order].astype(np.int64), dist[order].astype(np.float32)

    def _returnable(
        self, row: FloatArray, seeds: Sequence[int] | IntArray, exclude: npt.ArrayLike | None
    ) -> FloatArray:
        """A copy of ``row`` with what may never be returned (the seeds, tracks without a
        vector, ``exclude``) at infinity."""
        masked = row.copy()
        masked[np.asarray(seeds, dtype=np.int64)] = np.inf
        masked[self.missing] = np.inf
        if exclude is not None:
            masked[np.asarray(exclude, dtype=np.int64).ravel()] = np.inf
        return masked

    def _top_k(
        self,
        row: FloatArray,
        k: int,
        seeds: Sequence[int] | IntArray,
        exclude: npt.ArrayLike | None,
    ) -> tuple[IntArray, FloatArray]:
        masked = self._returnable(row, seeds, exclude)
        available = int(np.isfinite(masked).sum())
        k = min(int(k), available)
        if k <= 0:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
        top = np.argpartition(masked, k - 1)[:k] if k < masked.size else np.arange(masked.size)
        top = top[np.argsort(masked[top], kind="stable")]
        return top.astype(np.int64), row[top].astype(np.float32)

    # ---- explaining ------------------------------------------------------------------

    def _group_sq_distances(self, a: IntArray, b: IntArray) -> npt.NDArray[np.float32]:
        """Squared distance per group (unweighted), shape (n_groups, len(a))."""
        diff2 = (self.embedding[a] - self.embedding[b]) ** 2
        return np.add.reduceat(diff2, self.bounds[:-1], axis=1).T

    def group_percentiles(self, a: int, b: int) -> dict[str, float]:
        """For each group, the fraction of random pairs of the library that are closer in
        that group than ``a`` and ``b`` are (0 = as close as it gets)."""
        dist = self._group_sq_distances(np.array([a]), np.array([b]))[:, 0]
        grid = np.linspace(0.0, 1.0, self.pair_quantiles.shape[1])
        return {
            g: float(np.interp(dist[i], self.pair_quantiles[i], grid))
            for i, g in enumerate(self.group_names)
        }

    def explain(self, a: int, b: int) -> str:
        """The aspects that make ``a`` and ``b`` close, in words: the weighted groups in
        which they are closer than most pairs of the library, the group that shortens
        their distance most (weight x how much closer than a typical pair) first."""
        if self.missing[a] or self.missing[b]:
            return ""
        dist = self._group_sq_distances(np.array([a]), np.array([b]))[:, 0]
        pct = self.group_percentiles(a, b)
        typical = self.pair_quantiles[:, self.pair_quantiles.shape[1] // 2]
        gain = {
            g: self.weights[g] * float(typical[i] - dist[i])
            for i, g in enumerate(self.group_names)
            if self.weights[g] > 0 and not (self.lacking[a, i] or self.lacking[b, i])
        }
        close = sorted((g for g in gain if pct[g] <= CLOSE_PERCENTILE), key=lambda g: -gain[g])
        if close:
            return "similar " + _join([GROUP_WORDS.get(g, g) for g in close[:MAX_ASPECTS]])
        nearest = min(gain, key=lambda g: pct[g], default=None)
        if nearest is not None and pct[nearest] <= 0.5:
            return "somewhat similar " + GROUP_WORDS.get(nearest, nearest)
        return "not much alike"

    # ---- persistence -----------------------------------------------------------------

    def save(self, path: str | Path) -> None:
        """Write the fitted index to an ``.npz`` file (no pickles), with its neighbour
        graph when it has been built."""
        arrays: dict[str, Any] = dict(
            format_version=np.int64(FORMAT_VERSION),
            group_names=np.array(self.group_names, dtype=np.str_),
            group_weights=np.array([self.weights[g] for g in self.group_names]),
            in_columns=self.in_columns,
            in_bounds=self.in_bounds,
            bounds=self.bounds,
            quantiles=self.quantiles,
            center=self.center,
            projection=self.projection,
            embedding=self.embedding,
            missing=self.missing,
            lacking=self.lacking,
            pair_quantiles=self.pair_quantiles,
            n_fitted=np.int64(self.n_fitted),
            **self._graph_arrays(),
        )
        np.savez(path, **arrays)

    def _graph_arrays(self) -> dict[str, npt.NDArray[np.generic]]:
        if self.graph is None:
            return {}
        V = self.graph.vectors
        return {
            "graph_neighbours": self.graph.neighbours,
            "graph_indptr": V.indptr,
            "graph_indices": V.indices,
            "graph_data": V.data,
        }

    @classmethod
    def load(cls, path: str | Path, *, with_graph: bool = True) -> ContentIndex:
        """Read an index written by ``save``; its neighbour graph too unless
        ``with_graph`` is False (a caller that never asks for neighbour lists)."""
        with np.load(path, allow_pickle=False) as data:
            if int(data["format_version"]) != FORMAT_VERSION:
                raise ValueError(f"{path}: unsupported content index format")
            self = cls.__new__(cls)
            self.group_names = [str(g) for g in data["group_names"]]
            self.in_columns = data["in_columns"]
            self.in_bounds = data["in_bounds"]
            self.bounds = data["bounds"]
            self.quantiles = data["quantiles"]
            self.center = data["center"]
            self.projection = data["projection"]
            self.embedding = data["embedding"]
            self.missing = data["missing"]
            self.lacking = data["lacking"]
            self.pair_quantiles = data["pair_quantiles"]
            self.n_fitted = int(data["n_fitted"])
            weights = dict(zip(self.group_names, data["group_weights"].tolist(), strict=True))
            graph = None
            if with_graph and "graph_neighbours" in data:
                n = int(self.embedding.shape[0])
                V = sp.csr_matrix(
                    (data["graph_data"], data["graph_indices"], data["graph_indptr"]),
                    shape=(n, n),
                )
                graph = ReciprocalGraph(data["graph_neighbours"], V)
        # Moments and per-item statistics are recomputed exactly as fit and add made them.
        self.set_weights(weights)
        self.graph = graph
        return self


def _join(words: list[str]) -> str:
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " and " + words[-1]
