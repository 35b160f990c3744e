"""What the playlists know about the listener, from the events log, vectorised.

Likes and bans follow the taste source's rules (the last verdict wins, a dislike bans);
plays are weighed by :mod:`recommender.collab.signals` (a completed play counts fully, a partial
one a little, a skip nothing).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from recommender.api import FloatArray
from recommender.collab.signals import SIGNAL_CODES, EventLog, Signal, SignalConfig, weigh_log
from recommender.ranking.sources import TasteSource

DAY_S = 86400.0


@dataclass(frozen=True)
class ProfileConfig:
    half_life_days: float = 60.0  # a completed play's weight in the taste halves in this time
    like_weight: float = 3.0  # a like counts as this many fresh completed plays


@dataclass
class ListeningProfile:
    completed: npt.NDArray[np.int64]  # completed plays per item
    plays: npt.NDArray[np.int64]  # any play, partial ones included
    skips: npt.NDArray[np.int64]
    liked: npt.NDArray[np.bool_]
    banned: npt.NDArray[np.bool_]
    last_played: npt.NDArray[np.float64]  # -inf: never
    last_loved: npt.NDArray[np.float64]  # last completed play or like; -inf: never
    affinity: FloatArray  # likes + completed plays weighted by recency
    now: float

    @property
    def n_items(self) -> int:
        return int(self.completed.size)

    @classmethod
    def from_log(
        cls,
        log: EventLog,
        n_items: int,
        now: float,
        config: ProfileConfig | None = None,
        signals: SignalConfig | None = None,
    ) -> ListeningProfile:
        cfg = config or ProfileConfig()
        sig = signals or SignalConfig()
        taste = TasteSource(n_items, signal_config=sig)
        taste.fit(log)
        codes, weights = weigh_log(log, sig)
        played = codes == SIGNAL_CODES[Signal.PLAY]
        complete = played & (weights >= sig.complete_weight)
        items = log.item
        completed = np.bincount(items[complete], minlength=n_items).astype(np.int64)
        age_days = np.maximum(now - log.ts[complete], 0.0) / DAY_S
        decay = 0.5 ** (age_days / cfg.half_life_days)
        affinity = np.bincount(items[complete], decay, minlength=n_items).astype(np.float64)
        affinity = affinity + cfg.like_weight * taste.liked.astype(np.float64)
        liked_events = codes == SIGNAL_CODES[Signal.LIKE]
        last_loved = np.full(n_items, -np.inf)
        loved = complete | liked_events
        np.maximum.at(last_loved, items[loved], log.ts[loved])
        return cls(
            completed=completed,
            plays=taste.plays.astype(np.int64),
            skips=taste.skips.astype(np.int64),
            liked=taste.liked.copy(),
            banned=taste.banned.copy(),
            last_played=taste.last_played.copy(),
            last_loved=last_loved,
            affinity=affinity.astype(np.float32),
            now=now,
        )

    def grow(self, n_items: int) -> None:
        """Room for items added since (no history yet)."""
        extra = n_items - self.n_items
        if extra <= 0:
            return
        self.completed = np.concatenate([self.completed, np.zeros(extra, np.int64)])
        self.plays = np.concatenate([self.plays, np.zeros(extra, np.int64)])
        self.skips = np.concatenate([self.skips, np.zeros(extra, np.int64)])
        self.liked = np.concatenate([self.liked, np.zeros(extra, bool)])
        self.banned = np.concatenate([self.banned, np.zeros(extra, bool)])
        self.last_played = np.concatenate([self.last_played, np.full(extra, -np.inf)])
        self.last_loved = np.concatenate([self.last_loved, np.full(extra, -np.inf)])
        self.affinity = np.concatenate([self.affinity, np.zeros(extra, np.float32)])
