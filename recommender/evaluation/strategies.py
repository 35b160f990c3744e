"""Next-track strategies replayed by the harness: Segue's hybrid and the baselines.

Every strategy sees the same thing: the catalogue (every track and its artist) from the
start, then, in time order, ``scores(session, key, now)`` for the current session so far
(oldest first, the last entry is the track playing now; ``key`` is the session's number)
before ``learn(item, key, ts)`` of the play that followed. None of them sees the future.
"""

from __future__ import annotations

from collections.abc import Mapping
from itertools import chain
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp

from recommender import api
from recommender.collab.cf import CFConfig, SessionCF
from recommender.collab.hybrid import (
    ArtistSource,
    CFSource,
    HabitSource,
    HybridScorer,
    RecencyConfig,
)
from recommender.content.metadata import MetadataIndex
from recommender.engine import blend_scorer, blend_weights
from recommender.personal.model import PersonalConfig, PersonalModel
from recommender.personal.sequence import WindowCooccurrence
from recommender.personal.source import PersonalSource
from recommender.ranking.sources import MetadataSource, TasteSource

FloatArray = api.FloatArray
IntArray = api.IntArray


class Strategy(Protocol):
    """``scores`` of an empty session (nothing heard yet) is the strategy's cold start:
    what it ranks from its history alone, all zeros when that is nothing."""

    name: str

    def scores(self, session: list[int], key: int, now: float) -> FloatArray: ...

    def learn(self, item: int, session: int, ts: float) -> None: ...


class LearnsOutcomes(Protocol):
    """A strategy that also learns how a play ended (``skipped``: 1/0, NaN when unknown)."""

    def learn_play(
        self, item: int, session: int, ts: float, ms_played: float, skipped: float
    ) -> None: ...


def _current(session: list[int]) -> int | None:
    """The track playing now, or None before the session's first."""
    return session[-1] if session else None


class Catalogue:
    """Every track and its artist, with each artist's tracks as CSR rows."""

    def __init__(self, item_artist: IntArray, n_artists: int) -> None:
        self.item_artist = item_artist
        self.n_items = int(item_artist.size)
        self.n_artists = n_artists
        order = np.argsort(item_artist, kind="stable")
        self.artist_items = order
        self.artist_ptr = np.zeros(n_artists + 1, dtype=np.int64)
        np.cumsum(np.bincount(item_artist, minlength=n_artists), out=self.artist_ptr[1:])

    def tracks_of(self, artist: int) -> IntArray:
        lo, hi = self.artist_ptr[artist], self.artist_ptr[artist + 1]
        result: IntArray = self.artist_items[lo:hi]
        return result


# The hybrid's settings for replaying a pure play log (no likes or durations in the file).
SEGUE_WEIGHTS: dict[str, float] = {"cf": 1.0, "artist": 1.0, "habit": 0.0}
SEGUE_CF = CFConfig()
SEGUE_RECENCY = RecencyConfig()


class Hybrid:
    """The hybrid scorer as the app ran it before the personal model: session CF with
    artist back-off, the artist source and recency/repetition control."""

    name = "hybrid"

    def __init__(
        self,
        catalogue: Catalogue,
        weights: Mapping[str, float] | None = None,
        cf: CFConfig | None = None,
        recency: RecencyConfig | None = None,
    ) -> None:
        self.catalogue = catalogue
        self.model = SessionCF(catalogue.n_items, catalogue.n_artists, config=cf or SEGUE_CF)
        self.model.set_groups(catalogue.item_artist)
        self.hybrid = HybridScorer(
            catalogue.n_items,
            [CFSource(self.model), ArtistSource(self.model), HabitSource(self.model)],
            weights=weights or SEGUE_WEIGHTS,
            recency=recency or SEGUE_RECENCY,
        )

    def scores(self, session: list[int], key: int, now: float) -> FloatArray:
        context = api.Context(current=_current(session), session=tuple(session), now=now)
        return self.hybrid.score(context).total

    def learn(self, item: int, session: int, ts: float) -> None:
        artist = int(self.catalogue.item_artist[item])
        self.hybrid.observe(api.Event(item, ts, api.PLAY, session=session, artist=artist))


class Segue:
    """Segue as the app ranks (``engine.blend_scorer``, the very code ``Engine.build``
    uses): session CF, tags (here the artist only), taste and the personal model
    (re-listening, the session's sources, time of day, latent factors, skips, blended by
    the learned network, with the session hybrid as one of its inputs), weighed as the app
    weighs them, minus the recency penalty. No audio vectors, and the up-next constraints
    (no artist twice in a row, no repeats within hours, MMR) are not applied: they would
    forbid the same-artist runs and repeats that real listeners make, so a next-track hit
    rate cannot judge them."""

    name = "segue"

    def __init__(self, catalogue: Catalogue, config: PersonalConfig | None = None) -> None:
        n = catalogue.n_items
        self.catalogue = catalogue
        self.cf = SessionCF(n, catalogue.n_artists, config=SEGUE_CF)
        self.cf.set_groups(catalogue.item_artist)
        metadata = MetadataIndex(artists=[str(a) for a in catalogue.item_artist.tolist()])
        self.taste = TasteSource(
            n,
            artist_ids=metadata.artist_ids,
            album_ids=metadata.album_ids,
            neighbours=[metadata.similar],
        )
        self.personal = PersonalSource(n, config=config or PersonalConfig())
        self.scorer = blend_scorer(
            n, self.cf, MetadataSource(metadata), self.taste, self.personal, 0
        )
        self._weights = blend_weights
        self.listens = 0

    def scores(self, session: list[int], key: int, now: float) -> FloatArray:
        # The weights the app would have built with, after this many listens.
        for name, weight in self._weights(self.listens).items():
            if name in self.scorer.weights:
                self.scorer.weights[name] = weight
        context = api.Context(current=_current(session), session=tuple(session), now=now)
        self.personal.session = key  # sessions of several listeners may interleave
        return self.scorer.score(context).total

    def learn(self, item: int, session: int, ts: float) -> None:
        self.learn_play(item, session, ts, np.nan, np.nan)

    def learn_play(
        self, item: int, session: int, ts: float, ms_played: float, skipped: float
    ) -> None:
        skip = skipped == skipped and bool(skipped)  # NaN: not known
        kind = api.SKIP if skip else api.PLAY
        artist = int(self.catalogue.item_artist[item])
        self.scorer.observe(api.Event(item, ts, kind, session=session, artist=artist))
        self.listens += not skip


class SeguePersonal:
    """The personal model alone (what ``segue`` ranked before it replayed the app's blend),
    with the hybrid's session CF as one of its inputs: for tuning the model."""

    name = "segue_personal"

    def __init__(
        self, catalogue: Catalogue, config: PersonalConfig | None = None, hybrid: bool = True
    ) -> None:
        self.hybrid = Hybrid(catalogue) if hybrid else None
        self.model = PersonalModel(catalogue.n_items, config)

    def scores(self, session: list[int], key: int, now: float) -> FloatArray:
        extra = None
        if self.hybrid is not None:
            extra = np.maximum(self.hybrid.scores(session, key, now), -4.0)
        return self.model.scores(session, key, now, extra)

    def learn(self, item: int, session: int, ts: float) -> None:
        self.learn_play(item, session, ts, np.nan, np.nan)

    def learn_play(
        self, item: int, session: int, ts: float, ms_played: float, skipped: float
    ) -> None:
        if self.hybrid is not None:
            self.hybrid.learn(item, session, ts)
        known = skipped == skipped  # not NaN
        self.model.observe(item, ts, session, bool(skipped) if known else None)


class BLL:
    """ACT-R base-level learning: each track scores the sum over its past plays of
    age ** -0.5 (age in seconds; Reiter-Haas et al., RecSys 2021). Exact, vectorised over
    the plays so far."""

    name = "bll"

    def __init__(self, catalogue: Catalogue, decay: float = 0.5) -> None:
        self.n_items = catalogue.n_items
        self.decay = decay
        self.items = np.zeros(1024, dtype=np.int64)
        self.ts = np.zeros(1024, dtype=np.float64)
        self._age = np.zeros(1024, dtype=np.float64)
        self.size = 0
        self._last: tuple[int, float, FloatArray] | None = None  # shared with bll_knn

    def scores(self, session: list[int], key: int, now: float) -> FloatArray:
        if self._last is not None and self._last[:2] == (self.size, now):
            return self._last[2]
        if self.size == 0:
            return np.zeros(self.n_items, dtype=np.float32)
        # In place: one buffer for the ages, their weights (no temporaries per call).
        age = np.subtract(now, self.ts[: self.size], out=self._age[: self.size])
        np.maximum(age, 1.0, out=age)
        if self.decay == 0.5:
            np.sqrt(age, out=age)
            weight = np.divide(1.0, age, out=age)
        else:
            weight = np.power(age, -self.decay, out=age)
        result = np.bincount(self.items[: self.size], weight, minlength=self.n_items)
        self._last = (self.size, now, result.astype(np.float32))
        return self._last[2]

    def learn(self, item: int, session: int, ts: float) -> None:
        if self.size == self.items.size:
            self.items = np.concatenate([self.items, np.zeros_like(self.items)])
            self.ts = np.concatenate([self.ts, np.zeros_like(self.ts)])
            self._age = np.zeros_like(self.ts)
        self.items[self.size] = item
        self.ts[self.size] = ts
        self.size += 1


class SessionItemKNN:
    """Session item-kNN: item-kNN over the last 5 tracks of the session, weighted
    1/distance, cosine over co-occurrence within 3 plays."""

    name = "session_item_knn"

    def __init__(self, catalogue: Catalogue) -> None:
        self.n_items = catalogue.n_items
        self.near = WindowCooccurrence(catalogue.n_items, window=3)
        self.plays = 0
        self._last: tuple[int, tuple[int, ...], FloatArray] | None = None  # shared, as BLL

    def scores(self, session: list[int], key: int, now: float) -> FloatArray:
        recent = tuple(session[-5:])
        if self._last is not None and self._last[:2] == (self.plays, recent):
            return self._last[2]
        result = self.near.session_knn(session, self.n_items, last=5)
        self._last = (self.plays, recent, result)
        return result

    def learn(self, item: int, session: int, ts: float) -> None:
        self.near.observe(item, session)
        self.plays += 1


class BLLKNN:
    """The raw BLL sum plus session item-kNN, each scaled to its maximum, summed."""

    name = "bll_knn"

    def __init__(
        self,
        catalogue: Catalogue,
        bll: BLL | None = None,
        knn: SessionItemKNN | None = None,
    ) -> None:
        # Given parts are another strategy's (the replay's bll and session_item_knn): they
        # learn there, and their scores for the same moment are computed once.
        self.owns = bll is None or knn is None
        self.bll = bll if bll is not None else BLL(catalogue)
        self.knn = knn if knn is not None else SessionItemKNN(catalogue)

    def scores(self, session: list[int], key: int, now: float) -> FloatArray:
        total = np.zeros(self.bll.n_items, dtype=np.float32)
        for part in (self.bll.scores(session, key, now), self.knn.scores(session, key, now)):
            top = float(part.max()) if part.size else 0.0
            if top > 0:
                total += part / np.float32(top)
        return total

    def learn(self, item: int, session: int, ts: float) -> None:
        if self.owns:
            self.bll.learn(item, session, ts)
            self.knn.learn(item, session, ts)


class Popularity:
    """The most played tracks so far."""

    name = "popularity"

    def __init__(self, catalogue: Catalogue) -> None:
        self.counts = np.zeros(catalogue.n_items, dtype=np.float32)

    def scores(self, session: list[int], key: int, now: float) -> FloatArray:
        return self.counts

    def learn(self, item: int, session: int, ts: float) -> None:
        self.counts[item] += 1


class ArtistPopularity:
    """The previous track's artist's most played tracks (then the most played overall).

    Only tracks played before rank as the artist's: this reproduces the issue's reference
    numbers. (Ranking the artist's unheard tracks too is part of Segue's artist back-off.)"""

    name = "artist_popularity"

    def __init__(self, catalogue: Catalogue) -> None:
        self.catalogue = catalogue
        self.counts = np.zeros(catalogue.n_items, dtype=np.float32)

    def scores(self, session: list[int], key: int, now: float) -> FloatArray:
        scores = self.counts / np.float32(self.counts.max() + 1.0)
        if not session:  # no previous track: the most played overall
            return scores
        mates = self.catalogue.tracks_of(int(self.catalogue.item_artist[session[-1]]))
        played = mates[self.counts[mates] > 0]
        scores[played] += 1.0 + self.counts[played]
        return scores

    def learn(self, item: int, session: int, ts: float) -> None:
        self.counts[item] += 1


class _SessionSets:
    """Past sessions as item sets, with each item's sessions (for session kNN): each item's
    sessions in a growing array, each session's size in another (sessions are ids >= 0)."""

    def __init__(self) -> None:
        self.items_of: dict[int, list[int]] = {}
        self.sessions_of: dict[int, IntArray] = {}
        self.count_of: dict[int, int] = {}
        self.size = np.zeros(1024, dtype=np.float64)

    def add(self, item: int, session: int) -> None:
        items = self.items_of.setdefault(session, [])
        if item in items:
            return
        items.append(item)
        if session >= self.size.size:
            self.size = np.concatenate([self.size, np.zeros(max(session + 1, self.size.size))])
        self.size[session] += 1.0
        held = self.sessions_of.get(item)
        n = self.count_of.get(item, 0)
        if held is None or n == held.size:
            grown = np.zeros(max(8, 2 * n), dtype=np.int64)
            if held is not None:
                grown[:n] = held
            self.sessions_of[item] = held = grown
        held[n] = session
        self.count_of[item] = n + 1

    def sessions(self, item: int) -> IntArray:
        held = self.sessions_of.get(item)
        return held[: self.count_of[item]] if held is not None else _NONE


_NONE: IntArray = np.zeros(0, dtype=np.int64)


class ItemKNN:
    """Last-track item-kNN: cosine similarity of tracks that occur in the same sessions
    (occurrence counts, so a track repeated in a session is its own neighbour too)."""

    name = "item_knn"

    def __init__(self, catalogue: Catalogue) -> None:
        self.counts = np.zeros(catalogue.n_items, dtype=np.float64)
        self.pairs: dict[int, dict[int, float]] = {}
        self.sessions: dict[int, list[int]] = {}

    def scores(self, session: list[int], key: int, now: float) -> FloatArray:
        out = np.zeros(self.counts.size, dtype=np.float32)
        if not session:
            return out
        last = session[-1]
        row = self.pairs.get(last)
        if row:
            idx = np.fromiter(row.keys(), np.int64, len(row))
            co = np.fromiter(row.values(), np.float64, len(row))
            out[idx] = co / np.sqrt(self.counts[last] * self.counts[idx])
        return out

    def learn(self, item: int, session: int, ts: float) -> None:
        self.counts[item] += 1
        before = self.sessions.setdefault(session, [])
        mine = self.pairs.setdefault(item, {})
        for other in before:
            mine[other] = mine.get(other, 0.0) + 1.0
            theirs = self.pairs.setdefault(other, {})
            theirs[item] = theirs.get(item, 0.0) + 1.0
        before.append(item)


class SessionKNN:
    """SKNN: the k sessions most similar (cosine on item sets) to the session so far vote for
    their items with their similarity. The session itself, as heard so far, is one of them:
    everything before the prediction is history."""

    name = "session_knn"

    def __init__(self, catalogue: Catalogue, k: int = 100) -> None:
        self.n_items = catalogue.n_items
        self.k = k
        self.sets = _SessionSets()

    def scores(self, session: list[int], key: int, now: float) -> FloatArray:
        out = np.zeros(self.n_items, dtype=np.float32)
        if not session:
            return out
        mine = set(session)
        sets = self.sets
        candidates = np.concatenate([sets.sessions(it) for it in mine])
        if not candidates.size:
            return out
        # Each candidate session's overlap with this one (ids ascending, as np.unique gives).
        counts = np.bincount(candidates)
        ids = np.flatnonzero(counts)
        overlap = counts[ids]
        sizes = sets.size[ids]
        sim = overlap / np.sqrt(len(mine) * sizes)
        if ids.size > self.k:
            keep = np.argpartition(-sim, self.k - 1)[: self.k]
            ids, sim = ids[keep], sim[keep]
        lists = list(map(sets.items_of.__getitem__, ids.tolist()))
        lengths = np.fromiter(map(len, lists), np.int64, len(lists))
        items = np.fromiter(chain.from_iterable(lists), np.int64, int(lengths.sum()))
        votes = np.repeat(sim, lengths)
        np.add.at(out, items, votes.astype(np.float32))
        return out

    def learn(self, item: int, session: int, ts: float) -> None:
        self.sets.add(item, session)


class ImplicitFactors:
    """implicit's ALS or BPR on the session x track matrix, refitted every ``refit_every``
    plays; a session is folded in as the mean of its tracks' factors."""

    def __init__(
        self, name: str, catalogue: Catalogue, refit_every: int = 1000, factors: int = 64
    ) -> None:
        self.name = name
        self.n_items = catalogue.n_items
        self.refit_every = refit_every
        self.factors = factors
        self.rows: list[int] = []
        self.cols: list[int] = []
        self.session_index: dict[int, int] = {}
        self.item_factors: npt.NDArray[np.float32] | None = None
        self.since_fit = 0

    def _new_model(self) -> Any:
        import implicit

        if self.name == "als":
            return implicit.cpu.als.AlternatingLeastSquares(
                factors=self.factors,
                iterations=15,
                regularization=0.05,
                random_state=0,
                num_threads=1,
            )
        return implicit.cpu.bpr.BayesianPersonalizedRanking(
            factors=self.factors, iterations=100, random_state=0, num_threads=1
        )

    def scores(self, session: list[int], key: int, now: float) -> FloatArray:
        if self.item_factors is None or not session:
            return np.zeros(self.n_items, dtype=np.float32)
        user = self.item_factors[np.asarray(session, dtype=np.int64)].mean(axis=0)
        result: FloatArray = (self.item_factors @ user).astype(np.float32)
        return result

    def learn(self, item: int, session: int, ts: float) -> None:
        self.rows.append(self.session_index.setdefault(session, len(self.session_index)))
        self.cols.append(item)
        self.since_fit += 1
        if self.since_fit >= self.refit_every:
            self.since_fit = 0
            matrix = sp.csr_matrix(
                (np.ones(len(self.rows), dtype=np.float32), (self.rows, self.cols)),
                shape=(len(self.session_index), self.n_items),
            )
            matrix.sum_duplicates()
            # A fresh model each time: implicit keeps old factors if refitted, whose shapes no
            # longer match once sessions were added. (The replay holds BLAS to one thread, as
            # implicit asks.)
            model = self._new_model()
            model.fit(matrix, show_progress=False)
            factors = model.item_factors
            self.item_factors = np.asarray(
                factors.to_numpy() if hasattr(factors, "to_numpy") else factors, dtype=np.float32
            )


def implicit_available() -> bool:
    try:
        import implicit  # noqa: F401
    except ImportError:
        return False
    return True


def top_k(scores: FloatArray, k: int) -> IntArray:
    """The ``k`` best ids, best first (vectorised: argpartition, then a sort of ``k``)."""
    if scores.size <= k:
        return np.argsort(-scores, kind="stable").astype(np.int64)
    part = np.argpartition(-scores, k - 1)[:k]
    return part[np.argsort(-scores[part], kind="stable")].astype(np.int64)
