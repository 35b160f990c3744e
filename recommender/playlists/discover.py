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
from recommender.ranking.reasons import Describe


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
    vectors: FloatArray, candidates: IntArray, regions: IntArray | None, length: int
) -> IntArray:
    """A spread sample in which every region (mix) of the library has a share in
    proportion to its size (largest remainders), the regions taking turns in the order.
    Farthest-point sampling alone gives each region a share of its *spread*, not of its
    size: a tight cluster of half the library would get a handful of picks."""
    if regions is None or candidates.size <= length:
        return spread_sample(vectors, candidates, length)
    inside = candidates < regions.size
    labels = np.full(candidates.size, -1, dtype=np.int64)
    labels[inside] = regions[candidates[inside]]
    names, sizes = np.unique(labels, return_counts=True)
    quota = sizes * (length / candidates.size)
    take = np.floor(quota).astype(np.int64)
    take[np.argsort(-(quota - take), kind="stable")[: length - int(take.sum())]] += 1
    parts = [
        spread_sample(vectors, candidates[labels == name], int(k))
        for name, k in zip(names.tolist(), take.tolist(), strict=True)
        if k > 0
    ]
    # Round-robin over the regions, so the first few tracks already span the library.
    turns = np.concatenate([np.arange(p.size) for p in parts])
    merged = np.concatenate(parts)
    result: IntArray = merged[np.argsort(turns, kind="stable")]
    return result


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
    items = _sample_by_region(vectors, placed if placed.size else candidates, regions, cfg.length)
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
