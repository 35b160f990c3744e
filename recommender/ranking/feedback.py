"""The blend adapts to the user: each source's weight follows how its picks fare.

When a track picked for reason X (source X contributed most) is skipped, X's weight drops;
when it is played through or liked, X's weight rises. Updates happen in log space with soft
bounds: a step shrinks as the weight nears its bound, so weights move smoothly, never jump,
and never leave ``[prior * low, prior * high]``.

The prior itself is the cold-start ladder: tags first, then audio, then the user's own
history, as each becomes available (``cold_start_prior``).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from enum import Enum

from recommender import api
from recommender.collab import signals


class Outcome(Enum):
    COMPLETED = "completed"
    LIKED = "liked"
    SKIPPED = "skipped"
    BANNED = "banned"


@dataclass(frozen=True)
class FeedbackConfig:
    like_step: float = 0.2  # log-weight change at the prior; smaller nearer a bound
    complete_step: float = 0.08  # a played-through pick is weaker evidence than a like
    skip_step: float = 0.15
    ban_step: float = 0.3
    low: float = 0.25  # a source never falls below prior * low ...
    high: float = 4.0  # ... nor rises above prior * high


def outcome_of(event: api.Event, config: signals.SignalConfig | None = None) -> Outcome | None:
    """What an event says about the pick it concerns; None for partial plays, seeks,
    unlikes: no evidence either way."""
    cfg = config or signals.SignalConfig()
    weighted = signals.weigh(event, cfg)
    if weighted.signal is signals.Signal.LIKE:
        return Outcome.LIKED
    if weighted.signal is signals.Signal.BAN:
        return Outcome.BANNED
    if weighted.signal is signals.Signal.SKIP:
        return Outcome.SKIPPED
    if weighted.signal is signals.Signal.PLAY and weighted.weight >= cfg.complete_weight:
        return Outcome.COMPLETED
    return None


def cold_start_prior(
    n_listens: int, audio_coverage: float = 0.0, ramp: float = 200.0
) -> dict[str, float]:
    """Base weights for the ladder. With no history, tags (``metadata``) lead and audio
    (``content``) counts as far as the library has vectors; history-based sources
    (``cf``, ``taste``) grow with the number of listens, reaching half strength at ``ramp``.
    """
    history = n_listens / (n_listens + ramp) if n_listens > 0 else 0.0
    coverage = min(max(audio_coverage, 0.0), 1.0)
    return {
        "metadata": 1.0 - 0.5 * history,
        "content": coverage * (1.0 - 0.3 * history),
        "cf": 2.0 * history,
        "taste": 1.0 * history,
    }


class AdaptiveWeights:
    """Source weights = prior x a learned multiplier, updated by each pick's outcome."""

    def __init__(self, prior: Mapping[str, float], config: FeedbackConfig | None = None) -> None:
        self.config = config or FeedbackConfig()
        if not 0 < self.config.low < 1 < self.config.high:
            raise ValueError("bounds must satisfy 0 < low < 1 < high")
        self.prior = dict(prior)
        self.log_multiplier = dict.fromkeys(self.prior, 0.0)

    def set_prior(self, prior: Mapping[str, float]) -> None:
        """Move the ladder (more history, more audio vectors); learned multipliers stay."""
        self.prior.update(prior)
        for name in prior:
            self.log_multiplier.setdefault(name, 0.0)

    def weight(self, name: str) -> float:
        return self.prior.get(name, 0.0) * math.exp(self.log_multiplier.get(name, 0.0))

    def weights(self) -> dict[str, float]:
        return {name: self.weight(name) for name in self.prior}

    def multiplier(self, name: str) -> float:
        return math.exp(self.log_multiplier.get(name, 0.0))

    def update(self, source: str, outcome: Outcome) -> float:
        """Credit ``source`` with a pick's outcome; returns its new weight."""
        cfg = self.config
        x = self.log_multiplier.setdefault(source, 0.0)
        self.prior.setdefault(source, 1.0)
        lo, hi = math.log(cfg.low), math.log(cfg.high)
        if outcome in (Outcome.LIKED, Outcome.COMPLETED):
            step = cfg.like_step if outcome is Outcome.LIKED else cfg.complete_step
            x += step * (hi - x) / hi  # the closer to the top, the smaller the step
        else:
            step = cfg.ban_step if outcome is Outcome.BANNED else cfg.skip_step
            x -= step * (x - lo) / -lo
        self.log_multiplier[source] = min(max(x, lo), hi)
        return self.weight(source)

    def state(self) -> dict[str, float]:
        """The learned multipliers (log space), to save with the user's profile."""
        return dict(self.log_multiplier)

    def restore(self, state: Mapping[str, float]) -> None:
        lo, hi = math.log(self.config.low), math.log(self.config.high)
        for name, value in state.items():
            self.log_multiplier[name] = min(max(float(value), lo), hi)
