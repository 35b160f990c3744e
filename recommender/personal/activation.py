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

FloatArray = npt.NDArray[np.float64]
TAUS = np.geomspace(60.0, 10 * 365 * 86400.0, 18)
DECAYS = (0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 1.0)
_MIN_AGE_S = 60.0  # a play that just began has not yet "aged": the floor of the power law
_REBASE = 500.0  # rebase once the shortest time constant has passed this many times


# ``mixture`` of each decay the model offers, as scipy's nnls fits them (the 17 digits of
# each float, exactly): fitting needs scipy.optimize, whose import alone would cost the app
# ~15 MB of RSS for as long as it runs. tests/test_personal.py checks it is still the fit.
_FITTED = """
0.3: 0.13174506114411763 0.048937888808088685 0.060471031060416174 0.03508050035954844
    0.03178656305048453 0.021979592636413137 0.017481936352132188 0.013320469500926992
    0.009676985342432737 0.008113358433559441 0.00521986194450982 0.005049850851104567
    0.002820951709386069 0.0026805052975272772 0.00277088635670055 0.0 0.0
    0.005479319725901005
0.4: 0.11922255254866827 0.0392303192393924 0.04561581164726487 0.023564287239326742
    0.020084315448080634 0.012180784157886978 0.00938979924178599 0.005961917551722028
    0.004556013094763371 0.0028033886162681667 0.002303802740906122 0.001227424222153123
    0.0012603304312817703 0.00041543741327260115 0.0008106695732582484
    9.585080893414398e-05 0.0 0.0008450529352230029
0.5: 0.0999782611915104 0.02934672278615514 0.03172978158795171 0.014885491629343993
    0.011572765425323582 0.006457711232444765 0.0044792093351625735 0.002660122388533149
    0.0017877529580330436 0.0010663148845585825 0.0007312623493570227
    0.00041383641762690387 0.0003115614835385122 0.00014726375937340705
    0.00014504169039855985 5.52905469085122e-05 0.0 0.00012564282903774698
0.6: 0.07975709831415585 0.020857615784994833 0.021002862534439806 0.008930974291506489
    0.006353472931593103 0.003245072500232824 0.002041934589876784 0.0011195413236886498
    0.0006749414585372575 0.00037793697238354765 0.00022665662508825857
    0.00012560388880264074 7.748187970229437e-05 4.0617993634503406e-05
    2.7148550834806084e-05 1.4972393961194345e-05 0.0 1.862032523892137e-05
0.7: 0.061336475121448304 0.014281598822602555 0.013402213585862284 0.005162781609800606
    0.0033644913724611117 0.0015696088385690821 0.0008991769233134224
    0.0004525002423715601 0.0002469557247505089 0.00012794876180889148
    6.860711735346927e-05 3.589695825016103e-05 1.915330085679556e-05
    1.0062074838676115e-05 5.2350804785693745e-06 3.3256992726719145e-06 0.0
    2.7508085626245537e-06
0.8: 0.04584466883091059 0.009500701416514254 0.008310986817465709 0.0029000357329331335
    0.001732167557209503 0.0007371645543991185 0.00038537467816383576
    0.0001772875989370849 8.816710863027426e-05 4.182020362494713e-05
    2.0390412857137288e-05 9.801083116590074e-06 4.727974005514674e-06
    2.3032844646759603e-06 1.0699373482290748e-06 6.21721596374673e-07
    4.5327357146448063e-08 3.864880289136176e-07
1.0: 0.023983032070052437 0.0039384066430098 0.002990590523470342 0.0008577842045995871
    0.0004297962273974113 0.0001522902910190539 6.632291603688741e-05
    2.546079468305042e-05 1.0544397283428163e-05 4.170803308261804e-06
    1.6956678309523671e-06 6.783845125949568e-07 2.73739556654617e-07
    1.1022682074843296e-07 4.3848994215745945e-08 1.9128009240111454e-08
    3.902520449892635e-09 7.121082178938817e-09
"""


def _parse(text: str) -> dict[float, tuple[float, ...]]:
    table: dict[float, list[float]] = {}
    weights: list[float] = []
    for token in text.split():
        if token.endswith(":"):
            weights = table.setdefault(float(token[:-1]), [])
        else:
            weights.append(float(token))
    return {decay: tuple(values) for decay, values in table.items()}


_MIXTURES = _parse(_FITTED)


@lru_cache(maxsize=32)
def mixture(decay: float) -> tuple[float, ...]:
    """Non-negative weights c with sum c_k exp(-t / tau_k) ~ t ** -decay (relative error a
    few per cent from a minute to five years)."""
    fitted = _MIXTURES.get(decay)
    return fitted if fitted is not None else fit_mixture(decay)


def fit_mixture(decay: float) -> tuple[float, ...]:
    """``mixture`` fitted afresh (non-negative least squares on a log-spaced grid)."""
    from scipy.optimize import nnls

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
