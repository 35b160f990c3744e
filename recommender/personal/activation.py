"""Re-listening as ACT-R base-level activation: each past play of a track adds
``age ** -d``, so frequent and recent tracks come back, at a pace (the decay ``d``) this
listener's own log chooses.

The power law is held as a sum of exponentials with time constants from a minute to ten
years (``t ** -d`` is a mixture of ``exp(-t / tau)``; the mixture weights are fitted once per
decay), so a play updates one row and a ranking is one matrix-vector product, whatever the
history's length. Values are kept relative to a reference time and rebased now and then.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import numpy.typing as npt
from scipy.optimize import nnls

FloatArray = npt.NDArray[np.float64]
TAUS = np.geomspace(60.0, 10 * 365 * 86400.0, 18)
DECAYS = (0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 1.0)
_MIN_AGE_S = 60.0  # a play that just began has not yet "aged": the floor of the power law
_REBASE = 500.0  # rebase once the shortest time constant has passed this many times


@lru_cache(maxsize=32)
def mixture(decay: float) -> tuple[float, ...]:
    """Non-negative weights c with sum c_k exp(-t / tau_k) ~ t ** -decay (relative error a
    few per cent from a minute to five years)."""
    t = np.geomspace(_MIN_AGE_S, 5 * 365 * 86400.0, 400)
    basis = np.exp(-t[:, None] / TAUS[None, :]) * (t**decay)[:, None]
    weights, _ = nnls(basis, np.ones_like(t), maxiter=20 * TAUS.size)
    return tuple(float(w) for w in weights)


class Activation:
    """Base-level activation of every track, for several decays at once."""

    def __init__(self, n_items: int, decays: tuple[float, ...] = DECAYS) -> None:
        self.decays = decays
        self.coef = np.array([mixture(d) for d in decays], dtype=np.float64).T  # K x D
        self.values = np.zeros((n_items, TAUS.size), dtype=np.float64)
        self.count = np.zeros(n_items, dtype=np.float64)
        self.last = np.full(n_items, -np.inf, dtype=np.float64)
        self.base = 0.0  # reference time of ``values``
        self.started = False

    @property
    def n_items(self) -> int:
        return int(self.count.size)

    def grow(self, n_items: int) -> None:
        extra = n_items - self.n_items
        if extra > 0:
            self.values = np.vstack([self.values, np.zeros((extra, TAUS.size))])
            self.count = np.concatenate([self.count, np.zeros(extra)])
            self.last = np.concatenate([self.last, np.full(extra, -np.inf)])

    def _rebase(self, now: float) -> None:
        if not self.started:
            self.base, self.started = now, True
            return
        if now - self.base > _REBASE * TAUS[0]:
            self.values *= np.exp(-(now - self.base) / TAUS)
            self.base = now

    def observe(self, item: int, ts: float, weight: float = 1.0) -> None:
        self._rebase(ts)
        self.values[item] += weight * np.exp(np.minimum((ts - self.base) / TAUS, 700.0))
        self.count[item] += 1.0
        self.last[item] = max(self.last[item], ts)

    def observe_many(self, items: npt.ArrayLike, ts: npt.ArrayLike) -> None:
        """A whole history at once (vectorised; ``ts`` ascending)."""
        it = np.asarray(items, dtype=np.int64)
        t = np.asarray(ts, dtype=np.float64)
        if it.size == 0:
            return
        new_base = max(self.base, float(t[-1])) if self.started else float(t[-1])
        if self.started:
            self.values *= np.exp(-(new_base - self.base) / TAUS)
        self.base, self.started = new_base, True
        contrib = np.exp(np.maximum(-(self.base - t)[:, None] / TAUS[None, :], -700.0))
        for k in range(TAUS.size):
            self.values[:, k] += np.bincount(it, contrib[:, k], minlength=self.n_items)
        self.count += np.bincount(it, minlength=self.n_items)
        np.maximum.at(self.last, it, t)

    def all_decays(self, now: float, rows: npt.NDArray[np.int64] | None = None) -> FloatArray:
        """Activation (not yet logged) per item and decay: items x decays."""
        scale = np.exp(np.maximum(-max(now - self.base, 0.0) / TAUS, -700.0))  # no negative ages
        weights = self.coef * scale[:, None]
        values = self.values if rows is None else self.values[rows]
        result: FloatArray = values @ weights
        return result

    def scores(
        self, now: float, decay_index: int, rows: npt.NDArray[np.int64] | None = None
    ) -> FloatArray:
        scale = np.exp(np.maximum(-max(now - self.base, 0.0) / TAUS, -700.0))  # no negative ages
        values = self.values if rows is None else self.values[rows]
        result: FloatArray = values @ (self.coef[:, decay_index] * scale)
        return result


class DecayChooser:
    """Which decay ranks this listener's next play best: a running mean of each decay's
    log-rank of the played track, among the tracks heard before."""

    def __init__(self, decays: tuple[float, ...] = DECAYS, default: float = 0.5) -> None:
        self.decays = decays
        self.loss = np.zeros(len(decays), dtype=np.float64)
        self.seen = 0
        self.default = decays.index(default) if default in decays else 0

    def learn(self, activation: FloatArray, played: FloatArray) -> None:
        """``activation``: heard tracks x decays; ``played``: the played track's row."""
        higher = np.count_nonzero(activation > played[None, :], axis=0)
        self.loss += np.log1p(higher)
        self.seen += 1

    @property
    def best(self) -> int:
        if self.seen < 50:
            return self.default
        return int(np.argmin(self.loss))

    @property
    def decay(self) -> float:
        return self.decays[self.best]
