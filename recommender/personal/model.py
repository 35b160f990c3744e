"""The personal model: what one listener's own long history teaches, as one score source.

Sources (each a feature of the learned blender, each with words for a reason):

- re-listening: ACT-R activation with the decay this listener's log prefers, play count,
  time since the last play (``activation.py``);
- the session: item-kNN over its last tracks, tracks that shared a session with any track
  of this one, what followed the current track and the current pair before, whether a
  track already played in this session or is playing now (``sequence.py``);
- context: time of day, day of week, position in the session (``timeofday.py``);
- latent factors: PPMI-SVD track embeddings of the sessions (``factors.py``);
- skips: each track's skip rate and whether its last play was skipped.

Ranking is two-stage: a candidate set (everything the session's sources reach, plus the
most activated and the closest in the latent space) is featurised and scored by the
blender (``blender.py``); the rest of the catalogue ranks below it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from recommender.memory import release_freed_memory
from recommender.personal.activation import Activation, DecayChooser
from recommender.personal.blender import Blender
from recommender.personal.factors import ppmi_embeddings
from recommender.personal.refresh import FactorRefresh
from recommender.personal.sequence import CountRows, Transitions, WindowCooccurrence
from recommender.personal.timeofday import TimeOfDay, hour_and_day, part_of_day

FloatArray = npt.NDArray[np.float32]
IntArray = npt.NDArray[np.int64]

FEATURES = (
    "knn",
    "together",
    "followed",
    "followed_pair",
    "in_session",
    "is_current",
    "activation",
    "plays",
    "since_last",
    "hour",
    "weekday",
    "factors",
    "skip_rate",
    "last_skipped",
    "session_position",
    "current_skipped",
    "extra",
)
_F = {name: i for i, name in enumerate(FEATURES)}
# Hand-set weights (on the raw features): the ranking until the blender has learned.
FALLBACK = {
    "knn": 1.0,
    "together": 0.15,
    "followed": 1.0,
    "followed_pair": 0.5,
    "in_session": -0.3,
    "is_current": 0.3,
    "activation": 0.15,
    "plays": 0.05,
    "hour": 0.05,
    "factors": 0.2,
    "skip_rate": -0.3,
    "extra": 1.0,
}
# Feature groups a reason can name: the one that added most to a pick's score speaks.
GROUPS: dict[str, tuple[str, ...]] = {
    "favourite": ("activation", "plays", "since_last"),
    "follows": ("followed", "followed_pair"),
    "session": ("knn", "together", "factors"),
    "time": ("hour", "weekday"),
    "repeat": ("is_current",),
}
_GROUP_COLUMNS = [[_F[name] for name in names] for names in GROUPS.values()]
_TOGETHER_TOP = 300
_FACTOR_SEARCH_MAX = 30_000
_LATELY = 2000  # plays whose tracks may be among the most activated ...
_MOST_PLAYED = 500  # ... with the most played tracks
_MOST_PLAYED_EVERY = 200
_ACTIVE_EVERY_PLAYS = 5
_ACTIVE_EVERY_S = 900.0
_RECENT = 10  # the last plays are always candidates
_DECAY_SAMPLE = 512  # heard tracks a play is ranked among, to choose the decay
_WEEKDAYS = ("Mondays", "Tuesdays", "Wednesdays", "Thursdays", "Fridays", "Saturdays", "Sundays")


@dataclass(frozen=True)
class PersonalConfig:
    window: int = 3  # co-occurrence "near": within this many plays
    knn_last: int = 5  # item-kNN over the session's last tracks
    top_activation: int = 100  # candidates by activation
    top_factors: int = 30  # candidates by latent similarity
    negatives: int = 48  # sampled candidates per learning step (48 > 24 on the early 30 %)
    # Plays between latent-factor refits (``refresh.py``; on a thread in the app). On the
    # first 30 % of the dev logs HR@10 / best baseline, geomean: never 1.470, every 2000
    # 1.473, 1000 1.478, 500 1.472, 250 1.480 -- the same within noise, so a few hundred
    # plays keeps the factors fresh for tracks newly heard together at little cost.
    refit_every: int = 500
    # At each refit, one more pass of the blender over its last this many learning steps
    # (``refresh.py``). Off: on the first 30 % of the dev logs 2000 lifted the geomean
    # 1.472 -> 1.486 (jbolding 0.479 -> 0.491), but on the whole logs (refit every 500)
    # jbolding 0.505 -> 0.513, khushi 0.301 -> 0.299, ssharma 0.328 -> 0.323 (skip AUC
    # 0.566 -> 0.562, below bll_knn's 0.563): no gain that holds.
    retrain_last: int = 0
    factor_dim: int = 32
    hidden: int = 16
    warmup: int = 300  # learning steps before the network replaces the hand weights
    learning_rate: float = 3e-3
    skip_weight: float = 0.3  # a skipped play as a positive counts this much
    utc_offset_s: float = 0.0  # the listener's clock, for time of day
    background: bool = False  # refit the factors on a thread (the app) or inline (replays)


@dataclass
class _Featurised:
    key: object
    length: int
    candidates: IntArray
    features: npt.NDArray[np.float64]
    scores: npt.NDArray[np.float64]
    best_two: IntArray | None = None  # the two best candidates, for the reasons


def _human_age(seconds: float) -> str:
    days = seconds / 86400.0
    if days >= 60:
        return f"{int(days // 30)} months"
    if days >= 14:
        return f"{int(days // 7)} weeks"
    if days >= 2:
        return f"{int(days)} days"
    return "a day"


class PersonalModel:
    def __init__(self, n_items: int, config: PersonalConfig | None = None, seed: int = 0) -> None:
        self.config = cfg = config or PersonalConfig()
        self.n_items = n_items
        self.near = WindowCooccurrence(n_items, cfg.window)
        self.transitions = Transitions(n_items)
        self.activation = Activation(n_items)
        self.decay = DecayChooser()
        self.time = TimeOfDay(n_items, cfg.utc_offset_s)
        self.skips = np.zeros(n_items, dtype=np.float64)
        self.labelled = np.zeros(n_items, dtype=np.float64)  # plays with a skip label
        self.last_skipped = np.zeros(n_items, dtype=np.float64)
        self.embedding: FloatArray | None = None
        self.since_refit = 0
        # Refits the factors every ``refit_every`` plays (on a thread in the app).
        self.refresh = FactorRefresh(cfg.factor_dim, cfg.background)
        fallback = np.zeros(len(FEATURES))
        for name, weight in FALLBACK.items():
            fallback[_F[name]] = weight
        self.blender = Blender(
            fallback, hidden=cfg.hidden, lr=cfg.learning_rate, warmup=cfg.warmup, seed=seed
        )
        self.rng = np.random.default_rng(seed)
        self.plays_seen = 0
        # The most activated tracks (candidates), refreshed every few plays or minutes:
        # a ranking of the whole catalogue is the costliest step at 100,000 tracks.
        self._top_active: IntArray = np.zeros(0, dtype=np.int64)
        self._top_active_at = (-1, -np.inf)
        self._recent: list[int] = []
        self._history: IntArray = np.zeros(0, dtype=np.int64)  # the last plays, in order
        self._most_played: IntArray = np.zeros(0, dtype=np.int64)
        self._most_played_at = -(1 << 62)
        self._session_key: object = None
        self._current_skipped = 0.0
        self._cache: _Featurised | None = None

    # -- learning ------------------------------------------------------------------------

    def grow(self, n_items: int) -> None:
        if n_items <= self.n_items:
            return
        extra = n_items - self.n_items
        self.near.grow(n_items)
        self.transitions.grow(n_items)
        self.activation.grow(n_items)
        self.time.grow(n_items)
        self.skips = np.concatenate([self.skips, np.zeros(extra)])
        self.labelled = np.concatenate([self.labelled, np.zeros(extra)])
        self.last_skipped = np.concatenate([self.last_skipped, np.zeros(extra)])
        if self.embedding is not None:
            self.embedding = np.vstack(
                [self.embedding, np.zeros((extra, self.embedding.shape[1]), np.float32)]
            )
        self.n_items = n_items

    def observe(
        self,
        item: int,
        ts: float,
        session: object,
        skipped: bool | None = None,
        train: bool = True,
    ) -> None:
        """Learn one play (``skipped``: True/False when known). If the last ranking was made
        for this very moment of this session, the blender first learns from it."""
        if item >= self.n_items:
            self.grow(item + 1)
        cache = self._cache
        if train and cache is not None and cache.key == session:
            self._learn_rank(cache, item, bool(skipped))
        self._cache = None
        if self.plays_seen % 3 == 0 and self.activation.count[item] > 0:
            self._learn_decay(item, ts)
        self.near.observe(item, session)
        self.transitions.observe(item, session)
        self.activation.observe(item, ts)
        self.time.observe(item, ts)
        if skipped is not None:
            self.labelled[item] += 1.0
            self.skips[item] += float(skipped)
            self.last_skipped[item] = float(skipped)
        self._current_skipped = float(bool(skipped))
        self._recent = [*self._recent[-_RECENT + 1 :], item]
        if self._history.size >= 2 * _LATELY:
            self._history = self._history[-_LATELY:]
        self._history = np.append(self._history, item)
        self._session_key = session
        self.plays_seen += 1
        self.since_refit += 1
        self.refresh.after_play(self)

    def together_rows(self) -> CountRows:
        return self.transitions.together

    def _learn_decay(self, item: int, ts: float) -> None:
        """Each decay's rank of this play among (a sample of) the tracks heard before."""
        heard = np.flatnonzero(self.activation.count > 0)
        if heard.size > _DECAY_SAMPLE:
            heard = self.rng.choice(heard, _DECAY_SAMPLE, replace=False)
        rows = np.append(heard, item)
        values = self.activation.all_decays(ts, rows)
        self.decay.learn(values[:-1], values[-1])

    def _learn_rank(self, cache: _Featurised, item: int, skipped: bool) -> None:
        cand = cache.candidates  # ascending ids
        pos = int(np.searchsorted(cand, item))
        if pos >= cand.size or cand[pos] != item:
            return
        n = cand.size
        if n < 2:
            return
        # Hard negatives (what ranked highest) and random ones.
        k = self.config.negatives
        half = min(k // 2, n - 1)
        top = np.argpartition(-cache.scores, half)[:half] if half > 0 else np.zeros(0, np.int64)
        rand = self.rng.choice(n, size=min(k // 2, n), replace=False)
        # Both kinds, once each, in order, without the play (a mask: cheaper than unique).
        chosen = np.zeros(n, dtype=bool)
        chosen[top] = True
        chosen[rand] = True
        chosen[pos] = False
        rows = np.flatnonzero(chosen)
        batch = cache.features[np.concatenate([[pos], rows])]
        weight = self.config.skip_weight if skipped else 1.0
        self.blender.learn(batch, 0, weight=weight)

    def refit_factors_now(self) -> None:
        """Refit the factors inline; the counts' pending bumps are folded first (after a
        replay they would otherwise stay in the dicts)."""
        self.since_refit = 0
        self.near.rows.fold()
        self.transitions.after.fold()
        self.embedding = ppmi_embeddings(
            self.transitions.together, self.n_items, self.config.factor_dim
        )
        release_freed_memory()

    def state(self) -> dict[str, npt.NDArray[np.float64]]:
        """What cannot be recounted from the log cheaply: the blender and the decay."""
        out = self.blender.state()
        out["decay_loss"] = self.decay.loss.copy()
        out["decay_seen"] = np.array([self.decay.seen], dtype=np.float64)
        out["features"] = np.array([len(FEATURES)], dtype=np.float64)
        return out

    def load_state(self, state: dict[str, npt.NDArray[np.float64]]) -> bool:
        """Restore a saved state; False (nothing changed) if it is from another layout."""
        features = state.get("features")
        loss = state.get("decay_loss")
        if features is None or int(features[0]) != len(FEATURES):
            return False
        if loss is None or loss.shape != self.decay.loss.shape:
            return False
        if not self.blender.load(state):
            return False
        self.decay.loss = np.array(loss, dtype=np.float64)
        self.decay.seen = int(state["decay_seen"][0])
        return True

    # -- ranking -------------------------------------------------------------------------

    def featurise(
        self,
        session: Sequence[int],
        key: object,
        now: float,
        extra: FloatArray | None = None,
    ) -> _Featurised:
        cfg = self.config
        n = self.n_items
        current = session[-1] if session else None
        knn = (
            self.near.session_knn(list(session), n, cfg.knn_last)
            if session
            else np.zeros(n, np.float32)
        )
        together = self.transitions.with_session(key)
        # The candidates, as a mask over the catalogue (cheaper than unions of id lists).
        mask = knn > 0
        if together is not None:
            # The tracks sharing most sessions with this one (all of them, in a long one,
            # would be thousands of candidates).
            shared = np.flatnonzero(together != 0)  # a bool pass: ~6x faster on floats
            if shared.size > _TOGETHER_TOP:
                best = np.argpartition(-together[shared], _TOGETHER_TOP)[:_TOGETHER_TOP]
                shared = shared[best]
            mask[shared] = True
        followed_idx, followed_val = (
            self.transitions.followed(current)
            if current is not None
            else (np.zeros(0, np.int64), np.zeros(0))
        )
        if len(session) >= 2:
            pair_idx, pair_val = self.transitions.followed_pair(session[-2], session[-1])
        else:
            pair_idx, pair_val = np.zeros(0, np.int64), np.zeros(0)
        session_items = np.asarray(session, dtype=np.int64)
        mask[followed_idx] = True
        mask[pair_idx] = True
        mask[session_items] = True
        decay = self.decay.best
        mask[self._most_active(now, decay)] = True
        mask[self._recent] = True
        session_vec = None
        if self.embedding is not None and session:
            emb = self.embedding
            session_vec = emb[session_items[-cfg.knn_last :]].mean(axis=0)
            # New candidates from the latent space while a full pass is cheap; beyond
            # that the factors only score the candidates the other sources found.
            if cfg.top_factors < n <= _FACTOR_SEARCH_MAX:
                sim_all = emb @ session_vec
                mask[np.argpartition(-sim_all, cfg.top_factors)[: cfg.top_factors]] = True
        if extra is not None and n > 50:
            mask[np.argpartition(-extra, 50)[:50]] = True
        cand = np.flatnonzero(mask).astype(np.int64)
        if cand.size == 0:
            cand = np.arange(min(n, 1), dtype=np.int64)
        x = np.zeros((cand.size, len(FEATURES)), dtype=np.float64)
        x[:, _F["knn"]] = knn[cand]
        if together is not None:
            x[:, _F["together"]] = together[cand]
        x[np.searchsorted(cand, followed_idx), _F["followed"]] = followed_val
        x[np.searchsorted(cand, pair_idx), _F["followed_pair"]] = pair_val
        if len(session) > 1:
            earlier = np.zeros(n, dtype=bool)
            earlier[session_items[:-1]] = True
            x[:, _F["in_session"]] = earlier[cand]
        if current is not None:
            x[:, _F["is_current"]] = cand == current
        x[:, _F["activation"]] = np.log(self.activation.scores(now, decay, cand) + 1e-7)
        counts = self.activation.count[cand]
        x[:, _F["plays"]] = np.log1p(counts)
        last = self.activation.last[cand]
        age = np.where(np.isfinite(last), np.maximum(now - last, 0.0), 1e9)
        x[:, _F["since_last"]] = np.log1p(age / 3600.0)
        hour, weekday = self.time.lift(cand, now, counts)
        x[:, _F["hour"]] = hour
        x[:, _F["weekday"]] = weekday
        if session_vec is not None and self.embedding is not None:
            x[:, _F["factors"]] = self.embedding[cand] @ session_vec
        x[:, _F["skip_rate"]] = self.skips[cand] / (self.labelled[cand] + 2.0)
        x[:, _F["last_skipped"]] = self.last_skipped[cand]
        x[:, _F["session_position"]] = np.log1p(len(session))
        x[:, _F["current_skipped"]] = self._current_skipped if key == self._session_key else 0.0
        if extra is not None:
            x[:, _F["extra"]] = extra[cand]
        scores = self.blender.score(x)
        result = _Featurised(key, len(session), cand, x, scores)
        self._cache = result
        return result

    def _most_active(self, now: float, decay: int) -> IntArray:
        """The ``top_activation`` most activated tracks. Only a track played lately or
        played often can be among them, so they are sought among the distinct tracks of
        the last plays and the most played ones (a few thousand, whatever the library)."""
        plays, when = self._top_active_at
        if self.plays_seen - plays >= _ACTIVE_EVERY_PLAYS or abs(now - when) > _ACTIVE_EVERY_S:
            if self.plays_seen - self._most_played_at >= _MOST_PLAYED_EVERY:
                counts = self.activation.count
                k = min(_MOST_PLAYED, counts.size - 1)
                self._most_played = (
                    np.argpartition(-counts, k)[:k] if k > 0 else np.arange(counts.size)
                )
                self._most_played = self._most_played[counts[self._most_played] > 0]
                self._most_played_at = self.plays_seen
            heard = np.zeros(self.n_items, dtype=bool)  # the distinct ones, ascending
            heard[self._most_played] = True
            heard[self._history[-_LATELY:]] = True
            pool = np.flatnonzero(heard)
            top = self.config.top_activation
            if pool.size > top:
                act = self.activation.scores(now, decay, pool)
                pool = pool[np.argpartition(-act, top)[:top]]
            self._top_active = pool
            self._top_active_at = (self.plays_seen, now)
        return self._top_active

    def scores(
        self, session: Sequence[int], key: object, now: float, extra: FloatArray | None = None
    ) -> FloatArray:
        """One score per item: the candidates by the blender, the rest far below."""
        f = self.featurise(session, key, now, extra)
        out = np.full(self.n_items, -1e9, dtype=np.float32)
        out[f.candidates] = f.scores.astype(np.float32)
        return out

    # -- reasons ---------------------------------------------------------------------------

    def strongest(self, item: int) -> str | None:
        """The group of sources that added most to ``item``'s last score."""
        cache = self._cache
        if cache is None:
            return None
        where = np.flatnonzero(cache.candidates == item)
        if where.size == 0:
            return None
        # What lifts it above its strongest rival (the best other candidate) speaks.
        if cache.best_two is None:  # once per ranking, not once per pick
            cache.best_two = np.argsort(-cache.scores)[:2]
        rivals = cache.best_two
        rivals = rivals[rivals != where[0]][:1]
        if rivals.size == 0:
            return None
        contrib = self.blender.contributions(
            cache.features[where], _GROUP_COLUMNS, cache.features[rivals].mean(axis=0)
        )[0]
        best = int(np.argmax(contrib))
        return list(GROUPS)[best] if contrib[best] > 0 else None

    def reason(
        self, item: int, session: Sequence[int], now: float, name: Callable[[int], str]
    ) -> str:
        group = self.strongest(item)
        count = float(self.activation.count[item]) if item < self.n_items else 0.0
        last = float(self.activation.last[item]) if item < self.n_items else -np.inf
        if group == "favourite" and count >= 3 and np.isfinite(last):
            if now - last >= 2 * 86400:
                return f"a favourite you haven't heard for {_human_age(now - last)}"
            return "one of your favourites lately"
        if group == "time" and count >= 3:
            hour, day = hour_and_day(now, self.time.utc_offset_s)
            hour_lift, day_lift = self.time.lift(np.array([item]), now)
            if day_lift[0] > hour_lift[0]:
                return f"you often play this on {_WEEKDAYS[day]}"
            return f"you often play this {part_of_day(hour)}"
        if group == "follows" and session:
            return f"often follows {name(session[-1])} in your sessions"
        if group == "repeat":
            return "you often play this again right away"
        if group == "session" and session:
            anchor = self._anchor(item, session)
            if anchor is not None:
                return f"often played with {name(anchor)} in your sessions"
        return ""

    def _anchor(self, item: int, session: Sequence[int]) -> int | None:
        best, best_count = None, 0.0
        for other in dict.fromkeys(reversed(session)):
            count = self.transitions.together.count(other, item)
            if count > best_count and other != item:
                best, best_count = other, count
        return best
