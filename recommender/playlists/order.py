"""Listening order: a playlist's tracks are played in the order up-next would play them.

This is a small adapter, not a second set of rules: a :class:`recommender.ranking.upnext.UpNext`
over just the playlist's tracks, with the playlist's ranking as a fixed score, the joint
embedding's cosine as its pool similarity, and the same artist spacing, tempo/energy
transitions and diversity pass that shape the live queue.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from recommender.api import Context, FloatArray, IntArray, ScoreBreakdown
from recommender.ranking.reasons import TrackLabel
from recommender.ranking.sources import TasteSource
from recommender.ranking.upnext import UpNext, UpNextConfig

_PART = "playlist"


class _FixedScorer:
    """The playlist's own ranking, as up-next's scorer."""

    def __init__(self, scores: FloatArray) -> None:
        self.weights = {_PART: 1.0}
        self._scores = scores

    def score(self, context: Context) -> ScoreBreakdown:
        return ScoreBreakdown(self._scores, {_PART: self._scores}, dict(self.weights))

    def set_weight(self, name: str, weight: float) -> None:
        self.weights[name] = weight


class _Cosine:
    def __init__(self, vectors: FloatArray) -> None:
        self.vectors = vectors

    def pairwise(self, items: Sequence[int] | IntArray) -> FloatArray:
        rows = self.vectors[np.asarray(items, dtype=np.int64)]
        result: FloatArray = np.clip(rows @ rows.T, 0.0, 1.0).astype(np.float32)
        return result


def _unnamed(item: int) -> TrackLabel:
    return TrackLabel(title="")


def listening_order(
    items: IntArray,
    vectors: FloatArray,
    artist_ids: IntArray,
    *,
    bpm: FloatArray | None = None,
    energy: FloatArray | None = None,
    first: int | None = None,
    config: UpNextConfig | None = None,
) -> IntArray:
    """``items`` (best first) reordered for listening. ``first`` (one of ``items``) opens
    the playlist, as a radio's seed does; the rest follow up-next's rules."""
    items = np.asarray(items, dtype=np.int64)
    m = items.size
    if m <= 2:
        return items
    # Rank, not raw score: playlists mix score scales, and the order should lean on
    # what the rule ranked first without one outlier dominating the diversity pass.
    relevance = np.linspace(1.0, 0.5, m, dtype=np.float32)
    cfg = config or UpNextConfig(mmr_lambda=0.85, artist_spacing=1)
    cfg = UpNextConfig(**{**cfg.__dict__, "length": m, "pool": m, "repeat_window_s": 0.0})

    def local(values: FloatArray | None) -> FloatArray | None:
        return None if values is None else np.asarray(values, np.float32)[items]

    upnext = UpNext(
        _FixedScorer(relevance),
        TasteSource(m),
        describe=_unnamed,
        similarity=_Cosine(vectors[items]),
        artist_ids=artist_ids[items],
        bpm=local(bpm),
        energy=local(energy),
        config=cfg,
    )
    start = None
    if first is not None:
        hits = np.flatnonzero(items == first)
        start = int(hits[0]) if hits.size else None
    picks = upnext.build(Context(current=start, now=1.0), pinned={}, length=m)
    order = [p.item for p in picks]
    if start is not None:
        order = [start, *order]
    placed = set(order)
    # Anything the pass left out (it stops when nothing is allowed) keeps its rank.
    order += [i for i in range(m) if i not in placed]
    result: IntArray = items[np.asarray(order, dtype=np.int64)]
    return result
