"""The hybrid scorer: weighted score sources, recency and repetition control, bans.

Each source's scores are scaled to a comparable range (divided by their largest magnitude, so
positives end in (0, 1] and a skip's negative evidence stays negative) and kept in
``ScoreBreakdown.parts`` so the up-next builder can explain a pick; ``total`` is the weighted
sum, pushed down for tracks heard in the last hours and set to ``-inf`` for banned tracks and
tracks already queued.

A source that scores only a few thousand tracks (session CF, the personal model) may also
offer ``sparse_scores(context) -> (ids, values)`` (distinct ids, 0 elsewhere): it is scaled
and added on those ids only, which gives the very sums the dense vector would.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from recommender import api
from recommender.collab.cf import SessionCF
from recommender.collab.signals import Signal, SignalConfig, weigh

FloatArray = api.FloatArray


@dataclass(frozen=True)
class RecencyConfig:
    """How hard a recently heard track is pushed down, on the scale of one full source."""

    weight: float = 2.0  # measured on real logs: strong enough to act like a soft exclusion
    half_life_s: float = 2 * 3600.0
    window_s: float = 8 * 3600.0  # beyond this a track is no longer "recent"
    spare_current: bool = True  # the track playing now is not penalised (repeats are a habit)


class CFSource:
    """Session CF with artist/album back-off, as a score source named ``cf``."""

    name = "cf"

    def __init__(self, model: SessionCF) -> None:
        self.model = model

    def scores(self, context: api.Context) -> FloatArray:
        return self.model.scores(context)

    def sparse_scores(self, context: api.Context) -> tuple[npt.NDArray[np.int64], FloatArray]:
        return self.model.sparse_scores(context)

    def observe(self, event: api.Event) -> None:
        self.model.observe(event)


class ArtistSource:
    """Artist-level session co-occurrence shared out by plays: "more of what follows this
    artist", named ``artist``. Reads the same model as :class:`CFSource` (it learns nothing
    itself)."""

    name = "artist"

    def __init__(self, model: SessionCF) -> None:
        self.model = model

    def scores(self, context: api.Context) -> FloatArray:
        return self.model.artist_scores(context)


class HabitSource:
    """The listener's own play counts, decayed with age: "one of your most played", ``habit``."""

    name = "habit"

    def __init__(self, model: SessionCF) -> None:
        self.model = model

    def scores(self, context: api.Context) -> FloatArray:
        return self.model.plays.astype(np.float32)


def scale_part(scores: FloatArray) -> FloatArray:
    """Divide by the largest magnitude: positives into (0, 1], negatives keep their sign."""
    s = np.asarray(scores, dtype=np.float32)
    top = _largest_magnitude(s)
    if top <= 0 or not math.isfinite(top):
        return np.nan_to_num(s, nan=0.0, posinf=0.0, neginf=0.0)
    result: FloatArray = s * np.float32(1.0 / top)
    return result


def _largest_magnitude(s: FloatArray) -> float:
    """``abs(s).max()`` (NaN if any is NaN) from two reductions, without the copy."""
    if not s.size:
        return 0.0
    high, low = float(s.max()), float(s.min())
    if math.isnan(high) or math.isnan(low):
        return math.nan
    return max(high, -low)


class HybridScorer:
    """Weights score sources into one ranking and keeps each part for the reasons."""

    def __init__(
        self,
        n_items: int,
        sources: Sequence[api.ScoreSource] = (),
        weights: Mapping[str, float] | None = None,
        recency: RecencyConfig | None = None,
        signals: SignalConfig | None = None,
    ) -> None:
        self.n_items = n_items
        self.sources: dict[str, api.ScoreSource] = {}
        self.weights: dict[str, float] = {}
        self.recency = recency or RecencyConfig()
        self.signals = signals or SignalConfig()
        self.last_played = np.full(n_items, -np.inf, dtype=np.float64)
        self.banned = np.zeros(n_items, dtype=bool)
        # Each source's last read-only scores and their scaled part: a source that hands
        # back the same array (a cached blend) is not scaled again.
        self._scaled: dict[str, tuple[FloatArray, FloatArray]] = {}
        given = dict(weights or {})
        for source in sources:
            self.add_source(source, given.get(source.name, 1.0))

    def add_source(self, source: api.ScoreSource, weight: float = 1.0) -> None:
        self.sources[source.name] = source
        self.weights[source.name] = float(weight)

    def set_weight(self, name: str, weight: float) -> None:
        if name not in self.sources:
            raise KeyError(f"no score source named {name!r}")
        self.weights[name] = float(weight)

    def grow(self, n_items: int) -> None:
        if n_items > self.n_items:
            extra = n_items - self.n_items
            self.last_played = np.concatenate([self.last_played, np.full(extra, -np.inf)])
            self.banned = np.concatenate([self.banned, np.zeros(extra, dtype=bool)])
            self.n_items = n_items

    def observe(self, event: api.Event, forward: bool = True) -> None:
        """Note plays (for recency) and bans; pass the event on to sources that learn."""
        if event.item >= self.n_items:
            self.grow(event.item + 1)
        signal = weigh(event, self.signals).signal
        if signal in (Signal.PLAY, Signal.SKIP):
            self.last_played[event.item] = event.ts
        elif signal is Signal.BAN:
            self.banned[event.item] = True
        elif signal is Signal.LIKE:
            self.banned[event.item] = False
        if forward:
            for source in self.sources.values():
                learn: Any = getattr(source, "observe", None)
                if learn is not None:
                    learn(event)

    def recency_penalty(self, context: api.Context) -> FloatArray:
        """exp(-age / half-life) for tracks heard within the window, else 0."""
        recent, values = self._recent_penalty(context)
        penalty = np.zeros(self.n_items, dtype=np.float32)
        penalty[recent] = values
        return penalty

    def _recent_penalty(self, context: api.Context) -> tuple[npt.NDArray[np.int64], FloatArray]:
        """The recency penalty where it is not 0: (items, penalties)."""
        cfg = self.recency
        # ``last_played`` is public: the player may restore it from its history at start-up.
        recent = np.flatnonzero(self.last_played > context.now - cfg.window_s)
        if cfg.spare_current and context.current is not None and context.current < self.n_items:
            recent = recent[recent != context.current]
        age = np.maximum(context.now - self.last_played[recent], 0.0)
        values: FloatArray = np.exp(-age / cfg.half_life_s).astype(np.float32)
        return recent, values

    def prepare(self, context: api.Context) -> None:
        """Ahead of need (when idle): let the sources that can (``prepare``) make their
        scores for a likely next ``context``, and scale them, so that the re-rank which
        then asks finds them ready."""
        for name, source in self.sources.items():
            make: Any = getattr(source, "prepare", None)
            if make is not None:
                self._scaled_part(name, make(context))

    def _scaled_part(self, name: str, scores: npt.ArrayLike) -> FloatArray:
        raw = _fit(scores, self.n_items)
        cached = self._scaled.get(name)
        if cached is not None and cached[0] is raw:
            return cached[1]
        part = scale_part(raw)
        if not raw.flags.writeable:  # the source promises not to change it: keep the part
            if part is raw:
                part = part.copy()
            part.setflags(write=False)
            self._scaled[name] = (raw, part)
        return part

    def score(self, context: api.Context) -> api.ScoreBreakdown:
        parts: dict[str, FloatArray] = {}
        total = np.zeros(self.n_items, dtype=np.float32)
        weighted = np.empty(self.n_items, dtype=np.float32)  # one buffer for w x part
        for name, source in self.sources.items():
            w = self.weights[name]
            sparse: Any = getattr(source, "sparse_scores", None)
            if sparse is not None:
                # Scores on a few thousand tracks: scaled and added there only (adding the
                # zeros elsewhere would change nothing).
                ids, values = _sparse_part(sparse(context), self.n_items)
                part = np.zeros(self.n_items, dtype=np.float32)
                part[ids] = values
                parts[name] = part
                if w:
                    total[ids] += np.float32(w) * values
                continue
            part = self._scaled_part(name, source.scores(context))
            parts[name] = part
            if w:
                np.multiply(part, np.float32(w), out=weighted)
                total += weighted
        if self.recency.weight:
            # Only the tracks heard within the window have a penalty: subtract there.
            recent, penalty = self._recent_penalty(context)
            total[recent] -= np.float32(self.recency.weight) * penalty
        total[self.banned] = -np.inf
        if context.queue:
            total[np.asarray(context.queue, dtype=np.int64)] = -np.inf
        return api.ScoreBreakdown(total=total, parts=parts, weights=dict(self.weights))


def _sparse_part(
    scores: tuple[npt.NDArray[np.int64], npt.ArrayLike], n: int
) -> tuple[npt.NDArray[np.int64], FloatArray]:
    """A sparse source's (ids, scores) as ``scale_part`` would scale its dense vector:
    divided by the largest magnitude (the zeros elsewhere never raise it); ids past the
    library (a source grown further) are dropped, as ``_fit`` drops them."""
    ids = np.asarray(scores[0], dtype=np.int64)
    values = np.asarray(scores[1], dtype=np.float32)
    inside = ids < n
    if not inside.all():
        ids, values = ids[inside], values[inside]
    top = _largest_magnitude(values)
    if top <= 0 or not math.isfinite(top):
        return ids, np.nan_to_num(values, nan=0.0, posinf=0.0, neginf=0.0)
    result: FloatArray = values * np.float32(1.0 / top)
    return ids, result


def _fit(scores: npt.ArrayLike, n: int) -> FloatArray:
    """A source that has not grown with the library yet scores the new tracks 0."""
    s = np.asarray(scores, dtype=np.float32)
    if s.size == n:
        return s
    out = np.zeros(n, dtype=np.float32)
    out[: min(n, s.size)] = s[:n]
    return out
