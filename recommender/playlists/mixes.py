"""Mixes: 4-12 clusters of the library over the joint embedding, each named after what
dominates it ("Mellow Jazz & Soul", "90s Electronic"), with names that survive rebuilds.

The number of clusters is chosen by silhouette on a sample (fits on a few thousand tracks
are cheap); the final k-means runs on every embedded track from the sample's centroids.
A rebuild matches its clusters to the previous ones by member overlap (Hungarian
assignment on the Jaccard index); a cluster that keeps most of its members keeps its name.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy.optimize import linear_sum_assignment
from sklearn.cluster import KMeans
from sklearn.metrics import silhouette_score

from recommender.api import FloatArray, IntArray
from recommender.audio.tags import MOODS
from recommender.playlists.base import Playlist, top
from recommender.playlists.embedding import genre_words


@dataclass(frozen=True)
class MixConfig:
    min_k: int = 4
    max_k: int = 12
    sample: int = 2000  # tracks the number of clusters is chosen on
    min_tracks_per_mix: int = 8  # small libraries get fewer mixes
    keep_name_overlap: float = 0.4  # Jaccard with an old cluster that keeps its name
    length: int = 50
    seed: int = 0
    restarts: int = 4


@dataclass
class Clustering:
    labels: IntArray  # per item; -1: not clustered (nothing known about it)
    centroids: FloatArray

    @property
    def k(self) -> int:
        return int(self.centroids.shape[0])

    def assign(self, vectors: FloatArray) -> IntArray:
        """Nearest centroid for new items (no re-clustering); -1 for empty rows."""
        if self.k == 0:
            return np.full(len(vectors), -1, dtype=np.int64)
        labels: IntArray = np.argmax(vectors @ self.centroids.T, axis=1).astype(np.int64)
        labels[np.linalg.norm(vectors, axis=1) == 0] = -1
        return labels


def cluster(
    vectors: FloatArray, config: MixConfig | None = None, k: int | None = None
) -> Clustering:
    cfg = config or MixConfig()
    n = vectors.shape[0]
    rows = np.flatnonzero(np.linalg.norm(vectors, axis=1) > 0)
    labels = np.full(n, -1, dtype=np.int64)
    most = min(cfg.max_k, rows.size // cfg.min_tracks_per_mix)
    if most < 2:
        return Clustering(labels, np.zeros((0, vectors.shape[1]), np.float32))
    rng = np.random.default_rng(cfg.seed)
    sample = (
        rows if rows.size <= cfg.sample else np.sort(rng.choice(rows, cfg.sample, replace=False))
    )
    x = vectors[sample]
    # Never ask for more clusters than there are distinct points (tracks known only by a
    # few genre strings embed identically).
    most = min(most, int(np.unique(x.round(5), axis=0).shape[0]))
    if most < 2:
        return Clustering(labels, np.zeros((0, vectors.shape[1]), np.float32))
    fits: dict[int, KMeans] = {}
    if k is None:
        best_k, best_score = -1, -np.inf
        for candidate in range(min(cfg.min_k, most), most + 1):
            fit = KMeans(candidate, n_init=1, max_iter=100, random_state=cfg.seed).fit(x)
            fits[candidate] = fit
            if len(set(fit.labels_.tolist())) < 2:
                continue
            score = silhouette_score(x, fit.labels_, metric="cosine", random_state=cfg.seed)
            if score > best_score:
                best_k, best_score = candidate, score
        k = best_k if best_k > 0 else min(cfg.min_k, most)
    k = max(2, min(k, most))
    # The chosen k gets several restarts on the sample: cheap, and k-means' local optima
    # differ by a few points of purity.
    start = KMeans(k, n_init=cfg.restarts, random_state=cfg.seed).fit(x)
    final = KMeans(k, init=start.cluster_centers_, n_init=1, max_iter=20, random_state=cfg.seed)
    labels[rows] = final.fit_predict(vectors[rows])
    centroids = final.cluster_centers_.astype(np.float32)
    norms = np.linalg.norm(centroids, axis=1, keepdims=True)
    centroids = np.divide(centroids, norms, out=np.zeros_like(centroids), where=norms > 0)
    return Clustering(labels, centroids)


def _title(genre: str) -> str:
    special = {"r&b": "R&B", "edm": "EDM", "lo-fi": "Lo-Fi", "k-pop": "K-Pop", "j-pop": "J-Pop"}
    small = {"and", "of", "the", "n"}
    words = [w if i and w in small else w.capitalize() for i, w in enumerate(genre.split())]
    return special.get(genre, " ".join(words))


def _one_within_other(a: str, b: str) -> bool:
    """One genre is a kind of the other, word for word ("metal", "heavy metal")."""
    return set(a.split()) <= set(b.split()) or set(b.split()) <= set(a.split())


def name_clusters(
    labels: IntArray,
    k: int,
    genres: Sequence[str | None],
    years: FloatArray | None = None,
    energy: FloatArray | None = None,
    unique: bool = True,
) -> list[str]:
    """A name per cluster from its over-represented genres, its decade and its energy.
    With ``unique``, clusters that would share a name are numbered."""
    vocab: dict[str, int] = {}
    rows, cols = [], []
    for i, raw in enumerate(genres):
        if labels[i] < 0:
            continue
        for g in set(genre_words(raw)):
            rows.append(int(labels[i]))
            cols.append(vocab.setdefault(g, len(vocab)))
    names_by_col = sorted(vocab, key=lambda g: vocab[g])
    size = np.bincount(labels[labels >= 0], minlength=k).astype(np.float64)
    counts = np.zeros((k, max(len(vocab), 1)))
    np.add.at(counts, (np.asarray(rows, np.int64), np.asarray(cols, np.int64)), 1.0)
    share = counts / np.maximum(size, 1)[:, None]
    overall = counts.sum(axis=0) / max(size.sum(), 1)
    lift = np.divide(share, overall, out=np.zeros_like(share), where=overall > 0)
    # Frequent in the cluster and more frequent than in the library: what sets it apart.
    weight = share * np.sqrt(np.minimum(lift, 4.0))
    decade_words = _decades(labels, k, years)
    mood = _moods(labels, k, energy)
    names = []
    for c in range(k):
        order = np.argsort(-weight[c], kind="stable")
        picked = [names_by_col[j] for j in order[:2] if share[c, j] >= 0.1] if vocab else []
        if len(picked) == 2 and weight[c, order[1]] < 0.5 * weight[c, order[0]]:
            picked = picked[:1]
        if len(picked) == 2 and _one_within_other(*picked):
            picked = [max(picked, key=len)]  # "Heavy Metal", not "Metal & Heavy Metal"
        # A heard mood ("mellow", "happy") reads as an adjective: "Mellow Jazz".
        heard_moods = [_title(g) for g in picked if g in MOODS]
        words = [w for w in dict.fromkeys((*heard_moods, mood[c], decade_words[c])) if w]
        core = " & ".join(_title(g) for g in picked if g not in MOODS) or "Mix"
        names.append(" ".join([*words, core]))
    # Two clusters with one name: number them, in cluster order.
    seen: dict[str, int] = {}
    original = list(names)
    for c, name in enumerate(original if unique else []):
        if original.count(name) > 1:
            seen[name] = seen.get(name, 0) + 1
            names[c] = f"{name} {seen[name]}"
    return names


def cluster_phrases(
    labels: IntArray,
    k: int,
    genres: Sequence[str | None],
    years: FloatArray | None = None,
    energy: FloatArray | None = None,
) -> list[str]:
    """What each cluster's tracks share, as words that fit "the other ... tracks"
    ("calm 1970s jazz"); "" where nothing sets the cluster apart."""
    phrases = []
    for name in name_clusters(labels, k, genres, years, energy, unique=False):
        words = name.replace(" & ", " and ").split()
        if words and words[-1] == "Mix":
            words = words[:-1]
        phrases.append(" ".join(w if w[:1].isdigit() else w.lower() for w in words))
    return phrases


def mix_reason(phrase: str, favourite: bool) -> str:
    if favourite:
        return " ".join(f"one of your favourites among the {phrase} tracks of this mix".split())
    if phrase:
        return f"like the other {phrase} tracks of this mix"
    return "sounds like the other tracks of this mix"


def _decades(labels: IntArray, k: int, years: FloatArray | None) -> list[str]:
    out = [""] * k
    if years is None:
        return out
    ok = (labels >= 0) & np.isfinite(years)
    if not ok.any():
        return out
    decade = (years[ok] // 10 * 10).astype(np.int64)
    codes, inverse = np.unique(decade, return_inverse=True)
    table = np.zeros((k, codes.size))
    np.add.at(table, (labels[ok], inverse), 1.0)
    overall = table.sum(axis=0) / table.sum()
    for c in range(k):
        total = table[c].sum()
        if total == 0:
            continue
        j = int(np.argmax(table[c]))
        share = table[c, j] / total
        if share >= 0.5 and share >= 1.5 * overall[j]:
            out[c] = f"{int(codes[j]) % 100:02d}s" if codes[j] >= 1900 else f"{codes[j]}s"
    return out


def _moods(labels: IntArray, k: int, energy: FloatArray | None) -> list[str]:
    out = [""] * k
    if energy is None:
        return out
    for c in range(k):
        values = energy[(labels == c) & np.isfinite(energy)]
        if values.size < max(3, 0.5 * (labels == c).sum()):
            continue
        mean = float(values.mean())
        out[c] = "Mellow" if mean < 0.35 else "Upbeat" if mean > 0.65 else ""
    return out


def carry_names(
    labels: IntArray,
    names: list[str],
    previous_labels: IntArray,
    previous_names: Sequence[str],
    keep: float = MixConfig.keep_name_overlap,
) -> list[str]:
    """Keep an old cluster's name for the new cluster that holds most of its members.

    ``previous_labels`` is aligned with ``labels`` (-1: the item was not clustered then)."""
    k, old_k = len(names), len(previous_names)
    if k == 0 or old_k == 0:
        return names
    both = (labels >= 0) & (previous_labels >= 0) & (previous_labels < old_k)
    overlap = np.zeros((k, old_k))
    np.add.at(overlap, (labels[both], previous_labels[both]), 1.0)
    new_size = np.bincount(labels[labels >= 0], minlength=k)
    old_size = np.bincount(
        previous_labels[(previous_labels >= 0) & (previous_labels < old_k)], minlength=old_k
    )
    union = new_size[:, None] + old_size[None, :] - overlap
    jaccard = np.divide(overlap, union, out=np.zeros_like(overlap), where=union > 0)
    rows, cols = linear_sum_assignment(-jaccard)
    matched = {
        r: c for r, c in zip(rows.tolist(), cols.tolist(), strict=True) if jaccard[r, c] >= keep
    }
    result = list(names)
    for r, c in matched.items():
        result[r] = previous_names[c]
    taken = set(result[r] for r in matched)
    for r in range(k):
        if r in matched or result[r] not in taken:
            continue
        # A fresh cluster whose name an older one kept: number it.
        number = 2
        while f"{names[r]} {number}" in taken:
            number += 1
        result[r] = f"{names[r]} {number}"
        taken.add(result[r])
    return result


def mix_playlists(
    clustering: Clustering,
    names: list[str],
    vectors: FloatArray,
    affinity: FloatArray,
    allowed: npt.NDArray[np.bool_],
    config: MixConfig | None = None,
    phrases: Sequence[str] = (),
) -> list[Playlist]:
    """One playlist per cluster: its most typical tracks, the listener's favourites first.
    ``phrases``: what each cluster's tracks share (``cluster_phrases``), for the reasons."""
    cfg = config or MixConfig()
    liking = affinity / (float(affinity.max(initial=0.0)) or 1.0)
    out = []
    for c in range(clustering.k):
        inside = (clustering.labels == c) & allowed
        typical = np.zeros(vectors.shape[0], dtype=np.float32)
        rows = np.flatnonzero(inside)
        typical[rows] = np.maximum(vectors[rows] @ clustering.centroids[c], 0.0)
        scores = (typical + 0.5 * liking).astype(np.float32)
        items = top(scores, inside, cfg.length)
        phrase = phrases[c] if c < len(phrases) else ""
        reasons = [mix_reason(phrase, bool(affinity[i] > 0)) for i in items.tolist()]
        out.append(
            Playlist(
                key=f"mix:{c}",
                name=names[c],
                kind="auto",
                how=f"a mix of {int(inside.sum())} tracks that sound and are played alike",
                items=items,
                reasons=reasons,
                scores=scores[items],
            )
        )
    return out
