"""Discover: tracks the listener has never or rarely played, close to their favourites.

Favourites are likes plus completed plays weighted by recency
(:attr:`ListeningProfile.affinity`). A candidate's score is the affinity-weighted sum of its
cosine similarity to each favourite, raised to ``sharpness`` so one close favourite counts
more than many loose ones, plus a share for artists the listener plays. Disliked, liked and
heavily played tracks are never candidates.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from recommender.api import FloatArray, IntArray
from recommender.playlists.base import Playlist, label_text, top
from recommender.playlists.profile import ListeningProfile
from recommender.reasons import Describe


@dataclass(frozen=True)
class DiscoverConfig:
    length: int = 50
    max_plays: int = 1  # at most this many completed plays: "never or rarely played"
    favourites: int = 100  # the strongest favourites the profile is made of
    sharpness: float = 3.0
    # Weight of "an artist you play" against closeness, on the best closeness's scale.
    # On the 30Music folds 1.0 finds 32.7% / 33.6% of the tracks users go on to play
    # first, against 32.5% / 32.7% at 0.3 (tests/benchmarks/bench_playlists.py).
    artist_share: float = 1.0
    chunk: int = 16384  # rows scored at once (bounds memory on large libraries)


def discover_scores(
    profile: ListeningProfile,
    vectors: FloatArray,
    artist_ids: IntArray,
    allowed: npt.NDArray[np.bool_],
    config: DiscoverConfig | None = None,
) -> tuple[FloatArray, IntArray, FloatArray]:
    """Scores over all items (0 where not a candidate), the favourites used and their
    weights."""
    cfg = config or DiscoverConfig()
    n = profile.n_items
    affinity = profile.affinity.astype(np.float32)
    loved = np.flatnonzero((affinity > 0) & ~profile.banned)
    if loved.size > cfg.favourites:
        loved = loved[np.argpartition(-affinity[loved], cfg.favourites - 1)[: cfg.favourites]]
    favourites = np.sort(loved).astype(np.int64)
    candidates = allowed & ~profile.banned & ~profile.liked & (profile.completed <= cfg.max_plays)
    scores = np.zeros(n, dtype=np.float32)
    if favourites.size == 0:
        return scores, favourites, np.zeros(0, dtype=np.float32)
    weights = (affinity[favourites] / affinity[favourites].sum()).astype(np.float32)
    fav_vectors = vectors[favourites].T
    ids = np.flatnonzero(candidates)
    for start in range(0, ids.size, cfg.chunk):
        rows = ids[start : start + cfg.chunk]
        # One matrix product, then the sharpening in place and a matrix-vector product:
        # no temporary per (track, favourite) beyond the similarity block itself.
        sims = vectors[rows] @ fav_vectors
        np.maximum(sims, 0.0, out=sims)
        np.power(sims, np.float32(cfg.sharpness), out=sims)
        scores[rows] = sims @ weights
    if cfg.artist_share > 0:
        known = artist_ids >= 0
        by_artist = np.bincount(
            artist_ids[known], affinity[known], minlength=int(artist_ids.max(initial=-1)) + 1
        ).astype(np.float32)
        if by_artist.size and by_artist.max() > 0:
            share = np.zeros(n, dtype=np.float32)
            share[known] = by_artist[artist_ids[known]] / by_artist.max()
            peak = float(scores.max(initial=0.0)) or 1.0
            scores[candidates] += np.float32(cfg.artist_share * peak) * share[candidates]
    scores[~candidates] = 0.0
    return scores, favourites, weights


def nearest_favourite(
    items: IntArray, vectors: FloatArray, favourites: IntArray, weights: FloatArray
) -> IntArray:
    """The favourite that contributed most to each item's score (-1: none); never the
    item itself (a track heard once is both a favourite and a candidate)."""
    if favourites.size == 0 or items.size == 0:
        return np.full(items.size, -1, dtype=np.int64)
    contrib = np.maximum(vectors[items] @ vectors[favourites].T, 0.0) * weights
    contrib[items[:, None] == favourites[None, :]] = 0.0
    best = favourites[np.argmax(contrib, axis=1)]
    result: IntArray = np.where(contrib.max(axis=1) > 0, best, -1).astype(np.int64)
    return result


FIRST_SAMPLE_HOW = (
    "a first sample from every corner of your library's sound; as you play, like and "
    "skip, it turns to what sits near your favourites"
)


def discover(
    profile: ListeningProfile,
    vectors: FloatArray,
    artist_ids: IntArray,
    allowed: npt.NDArray[np.bool_],
    describe: Describe,
    config: DiscoverConfig | None = None,
    regions: IntArray | None = None,
    region_names: Sequence[str] = (),
) -> Playlist:
    """``regions``/``region_names``: the mix each item belongs to, and what each mix's
    tracks share ("calm jazz"), for the reasons of a first sample (no listening yet)."""
    cfg = config or DiscoverConfig()
    scores, favourites, weights = discover_scores(profile, vectors, artist_ids, allowed, cfg)
    if favourites.size == 0:
        return _first_sample(profile, vectors, allowed, cfg, regions, region_names)
    items = top(scores, np.ones(scores.size, dtype=bool), cfg.length)
    nearest = nearest_favourite(items, vectors, favourites, weights)
    reasons = []
    for row, item in enumerate(items.tolist()):
        heard = "new to you" if profile.plays[item] == 0 else "rarely played"
        anchor = int(nearest[row])
        if anchor >= 0:
            reasons.append(f"{heard}, close to your favourite {label_text(describe(anchor))}")
        else:
            artist = describe(item).artist
            reasons.append(f"{heard}, by {artist}, whom you play" if artist else heard)
    return Playlist(
        key="discover",
        name="Discover",
        kind="auto",
        how="tracks you have rarely or never played, close to your likes and recent plays",
        items=items,
        reasons=reasons,
        scores=scores[items],
    )


def spread_sample(vectors: FloatArray, candidates: IntArray, length: int) -> IntArray:
    """``length`` candidates spread over the sound map: the most typical first, then each
    time the one least like any taken so far (farthest-point sampling, one vectorised
    pass per pick)."""
    if candidates.size <= length:
        return candidates
    rows = vectors[candidates].astype(np.float32)
    centre = rows.mean(axis=0)
    chosen = [int(np.argmax(rows @ centre))]
    closest = rows @ rows[chosen[0]]
    closest[chosen[0]] = np.inf
    for _ in range(length - 1):
        pick = int(np.argmin(closest))
        chosen.append(pick)
        np.maximum(closest, rows @ rows[pick], out=closest)
        closest[pick] = np.inf
    result: IntArray = candidates[np.asarray(chosen, dtype=np.int64)]
    return result


def _sample_by_region(
    vectors: FloatArray, pool: IntArray, length: int, regions: IntArray | None
) -> IntArray:
    """Each region (mix) of the library gets picks in proportion to its size, at least
    one, each region's own picks spread over it; without regions, one spread sample."""
    if regions is None or pool.size <= length:
        return spread_sample(vectors, pool, length)
    labels = regions[pool]
    found, sizes = np.unique(labels, return_counts=True)
    if found.size < 2:
        return spread_sample(vectors, pool, length)
    share = sizes / sizes.sum() * length
    quota = np.maximum(1, np.floor(share)).astype(np.int64)
    # The picks left over go to the regions with the largest remainders.
    for index in np.argsort(-(share - np.floor(share)), kind="stable"):
        if quota.sum() >= length:
            break
        quota[index] += 1
    samples = [
        spread_sample(vectors, pool[labels == label], int(k))
        for label, k in zip(found.tolist(), quota.tolist(), strict=True)
    ]
    # Interleaved, so the head of the list already spans the library.
    mixed = [s[i] for i in range(max(map(len, samples))) for s in samples if i < len(s)]
    return np.asarray(mixed[:length], dtype=np.int64)


def _first_sample(
    profile: ListeningProfile,
    vectors: FloatArray,
    allowed: npt.NDArray[np.bool_],
    cfg: DiscoverConfig,
    regions: IntArray | None,
    region_names: Sequence[str],
) -> Playlist:
    """No favourites yet: a diverse sample of the library, each with where it comes from."""
    candidates = np.flatnonzero(allowed & ~profile.banned)
    placed = candidates[np.abs(vectors[candidates]).sum(axis=1) > 0]
    pool = placed if placed.size else candidates
    items = _sample_by_region(vectors, pool, cfg.length, regions)
    reasons = []
    for item in items.tolist():
        region = int(regions[item]) if regions is not None and item < regions.size else -1
        if 0 <= region < len(region_names) and region_names[region]:
            reasons.append(f"new to you: a taste of the {region_names[region]} in your library")
        else:
            reasons.append("new to you: a corner of your library you have not heard yet")
    return Playlist(
        key="discover",
        name="Discover",
        kind="auto",
        how=FIRST_SAMPLE_HOW,
        items=items,
        reasons=reasons,
        scores=np.zeros(items.size, dtype=np.float32),
    )
