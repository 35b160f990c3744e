"""Up-next: the next N tracks after the current one, each with a short human reason.

One re-rank is:

1. the hybrid scores every item (vectorised), the familiar <-> discover knob tilts known
   against never-heard tracks, bans and recent plays are masked out (when the repeat
   window holds nearly the whole library, the tracks played longest ago come back: the
   list never runs dry while something playable is not banned);
2. ``argpartition`` keeps a pool of a few hundred candidates;
3. the session's steers apply to the pool: a skip pushes tracks similar to the skipped one
   down, a like pulls them up (and brings the liked track's neighbours into the pool);
4. a greedy maximal-marginal-relevance pass fills the automatic slots around the pinned
   ones, with the artist-spacing rule and optional smooth tempo/energy transitions;
5. each pick's reason comes from the source that contributed most to its score.

Only steps 3-5 are per-candidate Python, and they only ever see the pool.

Latency (``tests/benchmarks/bench_upnext.py``: 100,000 tracks, 1,000,000 events) relies on
two things the caller does: run the engine with one BLAS thread (a 100k x 32 product is
~50x slower when BLAS threads fight over two busy cores), and call ``prefetch`` while a
track plays so the next track's similarity rows, and the blends of the context it would
make, are ready before the next event.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Protocol

import numpy as np
import numpy.typing as npt

from recommender import api
from recommender.api import Context, FloatArray, IntArray, Pick, ScoreBreakdown
from recommender.ranking.feedback import AdaptiveWeights, Outcome, cold_start_prior, outcome_of
from recommender.ranking.reasons import (
    DEFAULT_REASON,
    GENERIC,
    NEW_REASON,
    Describe,
    Explains,
    artist_title,
    followed_reason,
)
from recommender.ranking.sources import Neighbours, PairwiseSimilarity, TasteSource

PairWeight = Callable[[int, int, float], float]  # (before, after, now) -> co-occurrence
_NO_ITEMS: IntArray = np.empty(0, dtype=np.int64)
USER_SOURCE = "user"  # the source of entries the user queued
USER_REASON = "queued by you"
NO_SOURCE = "library"  # an automatic pick no source scored
# How far the knob's tilt takes back a never-heard track the user half knows (by an
# artist they heard, near a favourite): see ``UpNext.acquaintance``.
_HALF_KNOWN = 0.8
# How alike a pick must be to the track of a "more like this" for its reason to say so:
# at least this share of the closest pick's similarity, and above a floor.
_ASKED_SHARE = 0.7
_ASKED_SIMILAR = 0.05
# Where the tracks the repeat window let back in score in the pool (the others: [0, 1]),
# one lower for each: far enough apart that diversity and transitions never reorder them.
_RELAXED = -10.0
# Past these knob positions a pick's reason says which way the knob took it.
_KNOB_DISCOVER = 0.7
_KNOB_FAMILIAR = 0.15


class Scorer(Protocol):
    """The hybrid blend, as up-next uses it (``hybrid.HybridScorer``)."""

    weights: dict[str, float]

    def score(self, context: Context) -> ScoreBreakdown: ...

    def set_weight(self, name: str, weight: float) -> None: ...


@dataclass(frozen=True)
class UpNextConfig:
    length: int = 10  # entries in the up-next list, pinned ones included
    pool: int = 200  # candidates kept after the vectorised scoring
    repeat_window_s: float = 4 * 3600.0  # no track twice within this
    artist_spacing: int = 1  # positions before the same artist may play again; 0 = off
    mmr_lambda: float = 0.75  # relevance vs. diversity (1 = relevance only)
    discover: float = 0.5  # 0 = familiar tracks, 1 = new to you, 0.5 = neutral
    discover_strength: float = 0.8  # at the knob's ends: this x the best score, +/-
    skip_push: float = 0.8  # a skip lowers a candidate by this x its similarity
    like_pull: float = 0.5  # a like raises a candidate by this x its similarity
    steer_decay: float = 0.6  # each new steer weakens the older ones by this factor
    steer_memory: int = 6  # steers kept
    like_neighbours: int = 30  # a liked track's neighbours joined to the pool
    transition_weight: float = 0.3  # smooth tempo/energy (used when bpm/energy are given)
    tempo_tolerance: float = 0.3  # log2 tempo ratio counted as a full jump (~23 %)
    energy_tolerance: float = 0.3  # energy difference counted as a full jump


@dataclass(frozen=True)
class _Steer:
    item: int
    strength: float  # negative: push similar down; positive: pull up
    neighbours: IntArray  # a liked track's neighbours, joined to the pool
    asked: bool = False  # the user's "more/less like this" (not a like or a skip)


class UpNext:
    """Builds and re-ranks the automatic part of the up-next list."""

    def __init__(
        self,
        scorer: Scorer,
        taste: TasteSource,
        *,
        describe: Describe,
        similarity: PairwiseSimilarity,
        artist_ids: IntArray | None = None,
        explainers: Sequence[Explains] = (),
        neighbours: Sequence[Neighbours] = (),
        feedback: AdaptiveWeights | None = None,
        followed_by: PairWeight | None = None,
        bpm: FloatArray | None = None,
        energy: FloatArray | None = None,
        config: UpNextConfig | None = None,
    ) -> None:
        self.scorer = scorer
        self.taste = taste
        self.n_items = taste.n_items
        self.describe = describe
        self.similarity = similarity
        self.artist_ids = (
            np.full(self.n_items, -1, dtype=np.int64)
            if artist_ids is None
            else np.asarray(artist_ids, dtype=np.int64)
        )
        self.explainers = {source.name: source for source in explainers}
        self.neighbours = list(neighbours)
        self.feedback = feedback
        self.bpm = None if bpm is None else np.asarray(bpm, dtype=np.float32)
        self.energy = None if energy is None else np.asarray(energy, dtype=np.float32)
        self.config = config or UpNextConfig()
        self._steers: list[_Steer] = []
        self._last_context: Context | None = None  # of the last build, for ``prefetch``
        # Which source chose each recent automatic pick, to credit it with the outcome.
        self._picked_by: OrderedDict[int, str] = OrderedDict()
        self.followed_by = followed_by
        # Tracks that cannot be played (missing files, no audio): never picked.
        self.unavailable = np.zeros(self.n_items, dtype=bool)
        if feedback is not None:
            # Sources the prior does not name adapt around the weight the scorer gave them.
            feedback.set_prior(
                {name: w for name, w in scorer.weights.items() if name not in feedback.prior}
            )
            for name, weight in feedback.weights().items():
                if name in scorer.weights:
                    scorer.set_weight(name, weight)

    # -- the knob ------------------------------------------------------------------

    @property
    def discover(self) -> float:
        return self.config.discover

    @discover.setter
    def discover(self, value: float) -> None:
        """0 = stay with what the user knows and likes, 1 = tracks new to them."""
        self.config = replace(self.config, discover=min(max(float(value), 0.0), 1.0))

    # -- events --------------------------------------------------------------------

    def observe(self, event: api.Event) -> None:
        """Learn from an event: the scorer (which passes it on to its learning sources),
        the taste source, the adaptive weights (when the event concerns an automatic
        pick) and the session's steers. The player feeds each event here once; call
        ``build`` next."""
        learn: Callable[[api.Event], None] | None = getattr(self.scorer, "observe", None)
        if learn is not None:
            learn(event)
        registered = getattr(self.scorer, "sources", {})
        if learn is None or all(source is not self.taste for source in registered.values()):
            self.taste.observe(event)
        outcome = outcome_of(event, self.taste.signal_config)
        if outcome is None:
            return
        source = self._picked_by.get(event.item)
        if source is not None and self.feedback is not None and source in self.scorer.weights:
            self.scorer.set_weight(source, self.feedback.update(source, outcome))
        cfg = self.config
        if outcome in (Outcome.SKIPPED, Outcome.BANNED):
            self._steer(event.item, -cfg.skip_push)
        elif outcome is Outcome.LIKED:
            self._steer(event.item, cfg.like_pull)

    def steer(self, item: int, strength: float) -> None:
        """ "More like this" (> 0) or "less like this" (< 0) for the rest of the session:
        candidates are raised or lowered by ``strength`` x their similarity to ``item``;
        the picks it brings say so."""
        self._steer(item, strength, asked=True)

    def _steer(self, item: int, strength: float, asked: bool = False) -> None:
        cfg = self.config
        kept = [
            replace(s, strength=s.strength * cfg.steer_decay)
            for s in self._steers
            if s.item != item
        ]
        # Only a pull brings neighbours into the pool: a push does not look for them.
        found = (
            [find(item, cfg.like_neighbours)[0] for find in self.neighbours] if strength > 0 else []
        )
        neighbours = np.unique(np.concatenate(found)) if found else _NO_ITEMS
        self._steers = [*kept, _Steer(item, strength, neighbours, asked)][-cfg.steer_memory :]

    def reset_session(self) -> None:
        """A new session: the previous one's steers no longer apply."""
        self._steers.clear()

    def prefetch(self, picks: Sequence[Pick]) -> None:
        """Warm the similarity rows of the head of ``picks`` (the likely next current
        track) and the similarity blends of the context it would make. Call it when idle,
        e.g. after showing the list: the re-rank after the next skip or track change then
        finds the full-library rows and blends it would compute made."""
        if not picks:
            return
        head = picks[0].item
        for source in self.explainers.values():
            warm: Callable[[int], None] | None = getattr(source, "warm", None)
            if warm is not None:
                warm(head)
        # The scores that depend on the context alone (the similarity blends), for the
        # likely next context: the head playing after the current track.
        prepare: Callable[[Context], None] | None = getattr(self.scorer, "prepare", None)
        last = self._last_context
        if prepare is not None and last is not None:
            session = last.session if last.current is None else (*last.session, last.current)
            prepare(Context(current=head, session=session, now=last.now))

    def climb_ladder(self, n_listens: int, audio_coverage: float) -> dict[str, float]:
        """Move the cold-start ladder (``feedback.cold_start_prior``) as history grows and
        the library gets analysed; what was learned from feedback is kept. Returns the
        weights now in use."""
        if self.feedback is None:
            raise ValueError("the cold-start ladder needs adaptive weights (feedback=...)")
        self.feedback.set_prior(cold_start_prior(n_listens, audio_coverage))
        for name, weight in self.feedback.weights().items():
            if name in self.scorer.weights:
                self.scorer.set_weight(name, weight)
        return dict(self.scorer.weights)

    # -- building ------------------------------------------------------------------

    def build(
        self, context: Context, pinned: Mapping[int, int] | None = None, length: int | None = None
    ) -> list[Pick]:
        """The up-next list: ``pinned`` maps positions to items the user placed (default:
        ``context.queue`` at the head, in order); every other position gets an automatic
        pick. Pinned entries come back as picks from source ``"user"``."""
        cfg = self.config
        if pinned is None:
            pinned = dict(enumerate(context.queue))
        size = max(length or cfg.length, max(pinned, default=-1) + 1)
        self._last_context = context
        breakdown = self.scorer.score(context)
        relevance = self._tilted(breakdown.total)
        blocked, relaxed = self._blocked(context, pinned.values(), size - len(pinned))
        pool, pool_scores = self._pool(relevance, blocked)
        if relaxed.size:
            # Tracks the window let back in come after every other candidate, the one
            # played longest ago first.
            order = np.full(self.n_items, -1, dtype=np.int64)
            order[relaxed] = np.arange(relaxed.size)
            back = order[pool] >= 0
            pool_scores[back] = np.float32(_RELAXED) - order[pool][back]
        # One similarity matrix over the pool and the steering and pinned tracks serves
        # the steers, the diversity pass and the pinned neighbours alike.
        anchors = [s.item for s in self._steers] + list(pinned.values())
        matrix = self.similarity.pairwise(np.concatenate([pool, np.asarray(anchors, np.int64)]))
        to_pool = matrix[:, : pool.size]
        anchor_rows = {item: to_pool[pool.size + i] for i, item in enumerate(anchors)}
        for steer in self._steers:
            pool_scores += np.float32(steer.strength) * anchor_rows[steer.item]
        sequence = self._fill(context, pool, pool_scores, to_pool, anchor_rows, pinned, size)
        return self._explain(context, breakdown, sequence, pinned)

    def _tilted(self, total: FloatArray) -> FloatArray:
        """The familiar <-> discover knob: lift never-heard tracks and lower known ones (or
        the reverse) by up to ``discover_strength`` times the best score, so at the ends of
        the knob it outweighs relevance, and in between it breaks near-ties."""
        cfg = self.config
        tilt = cfg.discover_strength * (2.0 * cfg.discover - 1.0)
        base = np.asarray(total, dtype=np.float32)
        if tilt == 0:
            return base.copy()
        peak = float(base.max()) if base.size else 0.0  # banned/queued are -inf, never +inf
        shift = np.float32(tilt * (peak if 0 < peak < np.inf else 1.0))
        # Heard tracks move down by ``shift`` and never-heard ones up (or the reverse);
        # never-heard tracks the user half knows (by an artist they heard, near a
        # favourite) move part of the way back. With a young history the few tracks
        # heard are mostly still in the repeat window: those are what "familiar" offers.
        known = self.taste.known()
        unheard = np.where(known, np.float32(-1.0), np.float32(1.0) - self.acquaintance())
        result: FloatArray = (base + shift * unheard).astype(np.float32, copy=False)
        return result

    def acquaintance(self) -> FloatArray:
        """How well the user half-knows each track, in [0, ``_HALF_KNOWN``]: what the
        taste source scores (liked album or artist, near a favourite), or a track by an
        artist they have heard."""
        known = self.taste.known()
        taste = np.asarray(self.taste.scores(Context(current=None)), dtype=np.float32)
        top = float(taste.max()) if taste.size else 0.0
        half = np.float32(_HALF_KNOWN)
        near: FloatArray = (
            half / np.float32(top) * taste if top > 0 else np.zeros(known.size, np.float32)
        )
        # Artists heard, as a table by artist id (slot 0: unknown artist): one gather
        # over the library, no sort (np.isin costs ~4 ms at 100,000 tracks).
        heard = np.zeros(int(self.artist_ids.max(initial=-1)) + 2, dtype=np.float32)
        heard[self.artist_ids[known] + 1] = half
        heard[0] = 0.0
        np.maximum(near, heard[self.artist_ids + 1], out=near)
        return near

    def _blocked(
        self, context: Context, pinned: Iterable[int], wanted: int
    ) -> tuple[npt.NDArray[np.bool_], IntArray]:
        """What may not be picked: bans, unplayable tracks, what is playing or queued, and
        what played within the repeat window. The window is a preference: when it would
        leave fewer than ``wanted`` candidates (a library with less music than the window
        holds), the tracks played longest ago come back (returned second, oldest first),
        so the music never stops while the library has something playable that is not
        banned."""
        hard: npt.NDArray[np.bool_] = self.taste.banned | self.unavailable
        others = [*context.queue, *pinned]
        if context.current is not None:
            others.append(context.current)
        if others:
            hard[np.asarray(others, dtype=np.int64)] = True
        # When each track last played; session items the engine never saw played (no
        # time known) count as just played.
        played = self.taste.last_played
        recent = played > context.now - self.config.repeat_window_s
        unseen = [i for i in context.session if not np.isfinite(played[i])]
        if unseen:
            played = played.copy()  # the engine's own array stays as it is
            played[np.asarray(unseen, dtype=np.int64)] = context.now
            recent[np.asarray(unseen, dtype=np.int64)] = True
        blocked: npt.NDArray[np.bool_] = hard | recent
        missing = wanted - int(blocked.size - np.count_nonzero(blocked))
        oldest = _NO_ITEMS
        if missing > 0:
            relaxable = np.flatnonzero(recent & ~hard)
            when = played[relaxable]
            if missing < relaxable.size:  # only the oldest few are sorted
                keep = np.argpartition(when, missing - 1)[:missing]
                relaxable, when = relaxable[keep], when[keep]
            # Least recently played first (ties in library order).
            oldest = relaxable[np.lexsort((relaxable, when))]
            blocked[oldest] = False
        return blocked, oldest.astype(np.int64, copy=False)

    def _pool(
        self, relevance: FloatArray, blocked: npt.NDArray[np.bool_]
    ) -> tuple[IntArray, FloatArray]:
        """Top candidates by score, plus the neighbours of recently liked tracks (so a
        like can pull up tracks the blend had not ranked)."""
        scores = relevance  # a fresh array from _tilted: masked in place
        np.putmask(scores, blocked, np.float32(-np.inf))
        size = min(self.config.pool, scores.size)
        cut = scores.size - size
        top = np.argpartition(scores, cut)[cut:] if cut > 0 else np.arange(scores.size)
        # The latest like's neighbours only: older likes already live in the taste
        # source, and the pool must stay small (MMR's similarity matrix is pool-squared).
        extra = [s.neighbours for s in self._steers if s.strength > 0][-1:]
        candidates = np.unique(np.concatenate([top, *extra])) if extra else top
        candidates = candidates[np.isfinite(scores[candidates])]
        values = scores[candidates]
        # Min-max onto [0, 1], the scale of the steers and of MMR's similarity term; it
        # keeps the order even when every total is negative (recency penalties, skips).
        low, high = (float(values.min()), float(values.max())) if values.size else (0.0, 0.0)
        spread = high - low
        normalised = (
            (values - np.float32(low)) / np.float32(spread)
            if spread > 0
            else (np.ones_like(values) if high > 0 else np.zeros_like(values))
        )
        return candidates.astype(np.int64), normalised.astype(np.float32)

    def _fill(
        self,
        context: Context,
        pool: IntArray,
        relevance: FloatArray,
        similarity: FloatArray,
        anchor_rows: Mapping[int, FloatArray],
        pinned: Mapping[int, int],
        size: int,
    ) -> list[tuple[int, float]]:
        """Greedy MMR over the pool, slot by slot; pinned slots are fixed."""
        cfg = self.config
        lam = np.float32(cfg.mmr_lambda)
        history = [*context.session]
        if context.current is not None:
            history.append(context.current)
        sequence: list[tuple[int, float]] = []
        available = np.ones(pool.size, dtype=bool)
        redundancy = np.zeros(pool.size, dtype=np.float32)
        for item in pinned.values():
            np.maximum(redundancy, anchor_rows[item], out=redundancy)
        pool_artists = self.artist_ids[pool]
        weighted_relevance = lam * relevance
        for position in range(size):
            if position in pinned:
                sequence.append((pinned[position], float("nan")))
                continue
            if not available.any():
                break
            objective = weighted_relevance - (np.float32(1) - lam) * redundancy
            previous = sequence[-1][0] if sequence else (history[-1] if history else None)
            objective -= self._transition_penalty(previous, pool)
            objective[~available] = -np.inf
            allowed = self._artist_allowed(pool_artists, history, sequence, pinned, position)
            constrained = np.where(allowed, objective, -np.inf)
            # Spacing is a preference a tiny library cannot always satisfy: then relax it.
            choice = int(np.argmax(constrained if np.isfinite(constrained).any() else objective))
            available[choice] = False
            item = int(pool[choice])
            sequence.append((item, float(relevance[choice])))
            np.maximum(redundancy, similarity[choice], out=redundancy)
        return sequence

    def _artist_allowed(
        self,
        pool_artists: IntArray,
        history: list[int],
        sequence: list[tuple[int, float]],
        pinned: Mapping[int, int],
        position: int,
    ) -> npt.NDArray[np.bool_]:
        spacing = self.config.artist_spacing
        allowed = np.ones(pool_artists.size, dtype=bool)
        if spacing <= 0:
            return allowed
        before = (history + [item for item, _ in sequence])[-spacing:]
        after = [pinned[p] for p in range(position + 1, position + 1 + spacing) if p in pinned]
        for artist in {int(self.artist_ids[item]) for item in before + after}:
            if artist >= 0:
                allowed &= pool_artists != artist
        return allowed

    def _transition_penalty(self, previous: int | None, pool: IntArray) -> FloatArray | float:
        """How abrupt the move from ``previous`` to each candidate is, in [0, weight]:
        tempo compares by octave-folded ratio (half/double time is smooth), energy by
        difference. Unknown values cost nothing."""
        cfg = self.config
        if previous is None or cfg.transition_weight <= 0:
            return 0.0
        penalty = np.zeros(pool.size, dtype=np.float32)
        parts = 0
        if self.bpm is not None:
            ratio = np.abs(np.log2(self.bpm[pool] / self.bpm[previous]))
            folded = np.minimum(ratio % 1.0, 1.0 - ratio % 1.0)
            penalty += np.nan_to_num(np.minimum(folded / cfg.tempo_tolerance, 1.0), nan=0.0)
            parts += 1
        if self.energy is not None:
            jump = np.abs(self.energy[pool] - self.energy[previous]) / cfg.energy_tolerance
            penalty += np.nan_to_num(np.minimum(jump, 1.0), nan=0.0)
            parts += 1
        if not parts:
            return 0.0
        result: FloatArray = np.float32(cfg.transition_weight / parts) * penalty
        return result

    # -- reasons -------------------------------------------------------------------

    def _explain(
        self,
        context: Context,
        breakdown: ScoreBreakdown,
        sequence: list[tuple[int, float]],
        pinned: Mapping[int, int],
    ) -> list[Pick]:
        picks: list[Pick] = []
        asked = self._asked_likeness([item for item, _ in sequence])
        for position, (item, score) in enumerate(sequence):
            if position in pinned:
                picks.append(Pick(item, float("nan"), USER_SOURCE, USER_REASON))
                continue
            source = self._top_source(breakdown, item)
            reason = asked.get(item) or self._knob_reason(item, self._reason(source, item, context))
            picks.append(Pick(item, score, source, reason))
            self._picked_by[item] = source
            self._picked_by.move_to_end(item)
        while len(self._picked_by) > 512:
            self._picked_by.popitem(last=False)
        return picks

    def _asked_likeness(self, items: list[int]) -> dict[int, str]:
        """After "more like this": the picks close to that track, with the reason."""
        asked = next((s for s in reversed(self._steers) if s.asked and s.strength > 0), None)
        if asked is None or not items:
            return {}
        matrix = self.similarity.pairwise(np.asarray([asked.item, *items], dtype=np.int64))
        likeness = [
            (item, similarity)
            for item, similarity in zip(items, matrix[0, 1:].tolist(), strict=True)
            if item != asked.item
        ]
        # The similarity's scale depends on what is known (tags, sound): the picks
        # nearly as close as the closest one are those the request brought.
        best = max((s for _, s in likeness), default=0.0)
        floor = max(_ASKED_SIMILAR, _ASKED_SHARE * best)
        label = artist_title(self.describe(asked.item))
        return {item: f"more like {label}, as you asked" for item, s in likeness if s >= floor}

    def _knob_reason(self, item: int, reason: str) -> str:
        """With the knob towards Discover a never-heard pick says it is new to the user;
        towards Familiar a liked or much-played one says it is a favourite."""
        knob = self.config.discover
        if knob >= _KNOB_DISCOVER and not self.taste.known()[item]:
            if reason.startswith(NEW_REASON):
                return reason
            return f"{NEW_REASON}, {reason}" if reason else NEW_REASON
        if knob <= _KNOB_FAMILIAR and (
            self.taste.liked[item] or self.taste.net[item] >= self.taste.config.favourite_weight
        ):
            if "favourite" in reason or reason.startswith("you liked this"):
                return reason
            return f"a favourite: {reason}" if reason else "a favourite"
        return reason

    @staticmethod
    def _top_source(breakdown: ScoreBreakdown, item: int) -> str:
        """The source whose weighted part contributed most to ``item``'s score
        (``"library"`` when none did: the knob or the diversity pass brought it in)."""
        best, best_value = NO_SOURCE, 0.0
        for name, part in breakdown.parts.items():
            value = breakdown.weights.get(name, 1.0) * float(part[item])
            if value > best_value:
                best, best_value = name, value
        return best

    def _reason(self, source: str, item: int, context: Context) -> str:
        explainer = self.explainers.get(source)
        if explainer is not None:
            text = explainer.reason(item, context, self.describe)
            if text:
                return text
        if source == "cf":
            return followed_reason(self._cf_anchor(item, context), self.describe)
        if source == "artist" and context.current is not None:
            artist = self.describe(context.current).artist
            if artist:
                return f"you often play this artist after {artist}"
        if source in GENERIC:
            return GENERIC[source]
        # Nothing scored it: the knob or the diversity pass brought it in.
        return DEFAULT_REASON if self.taste.known()[item] else NEW_REASON

    def _cf_anchor(self, item: int, context: Context) -> int | None:
        """The recent track that ``item`` most often followed (the current one when the
        co-occurrence is not known)."""
        recent = ([] if context.current is None else [context.current]) + list(
            reversed(context.session[-3:])
        )
        if self.followed_by is None or len(recent) < 2:
            return recent[0] if recent else None
        weights = [self.followed_by(anchor, item, context.now) for anchor in recent]
        best = int(np.argmax(weights))
        return recent[best] if weights[best] > 0 else recent[0]


@dataclass
class _Entry:
    item: int
    pinned: bool


class UpNextQueue:
    """The up-next list as the player holds it: items the user placed stay where they
    put them; the automatic tail is re-ranked after every event."""

    def __init__(self, upnext: UpNext, length: int | None = None) -> None:
        self.upnext = upnext
        self.length = length or upnext.config.length
        self._entries: list[_Entry] = []
        self.picks: list[Pick] = []

    @property
    def items(self) -> list[int]:
        return [entry.item for entry in self._entries]

    def pinned(self) -> dict[int, int]:
        return {i: e.item for i, e in enumerate(self._entries) if e.pinned}

    def pin(self, item: int, position: int | None = None) -> None:
        """The user queues ``item`` at ``position`` (default: after the pinned ones)."""
        if position is None:
            position = max(self.pinned(), default=-1) + 1
        self._entries.insert(min(position, len(self._entries)), _Entry(item, True))

    def remove(self, position: int) -> None:
        del self._entries[position]

    def advance(self) -> int | None:
        """The head plays next: it leaves the list."""
        if not self._entries:
            return None
        self.picks = self.picks[1:]
        return self._entries.pop(0).item

    def refresh(self, context: Context) -> list[Pick]:
        """Re-rank the automatic entries around the pinned ones."""
        self.picks = self.upnext.build(context, self.pinned(), self.length)
        self._entries = [_Entry(p.item, p.source == USER_SOURCE) for p in self.picks]
        return self.picks

    def on_event(self, event: api.Event, context: Context) -> list[Pick]:
        self.upnext.observe(event)
        return self.refresh(context)
