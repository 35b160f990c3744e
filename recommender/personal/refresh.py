"""Keeping the personal model's latent factors fresh while the session runs.

The PPMI-SVD factors (``factors.py``) are fitted from the "shared a session" counts, which
grow with every play. The policy: fit them again once ``PersonalConfig.refit_every`` plays
are new since the last fit. ``FactorRefresh`` applies it after every play the model learns,
in the app on a thread of its own (one fit at a time, never two),
from a snapshot of the counts taken in O(new bumps) on the session thread, the new
factors swapped in on the session thread between two rankings, so a ranking never mixes
two fits; in a replay (``segue eval``) inline, at the same moments, so the replay measures
what the app does.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp

from recommender.personal.factors import ppmi_embeddings
from recommender.personal.sequence import CountRows

FloatArray = npt.NDArray[np.float32]
IntArray = npt.NDArray[np.int64]


@dataclass(frozen=True)
class CountsSnapshot:
    """The counts at one moment: the compact base (``CountRows.fold`` makes new arrays,
    so these stay as they are) and a copy of the pending bumps."""

    indptr: IntArray
    indices: npt.NDArray[np.int32]
    counts: npt.NDArray[np.int32]
    delta: dict[int, dict[int, int]]

    @classmethod
    def of(cls, rows: CountRows) -> CountsSnapshot:
        """O(pending bumps): no fold, the session thread is not held up."""
        delta = {a: dict(row) for a, row in rows.delta.items()}
        return cls(rows.indptr, rows.indices, rows.counts, delta)

    def entries(self) -> tuple[IntArray, IntArray, npt.NDArray[np.float64]]:
        """Every (row, column, count), the bumps added to the base."""
        r_base = np.repeat(np.arange(self.indptr.size - 1, dtype=np.int64), np.diff(self.indptr))
        if not self.delta:
            return r_base, self.indices.astype(np.int64), self.counts.astype(np.float64)
        r_new = np.fromiter((a for a, row in self.delta.items() for _ in row), np.int64)
        c_new = np.fromiter((b for row in self.delta.values() for b in row), np.int64)
        v_new = np.fromiter((x for row in self.delta.values() for x in row.values()), np.float64)
        n = max(self.indptr.size - 1, int(r_new.max()) + 1, int(c_new.max()) + 1)
        matrix = sp.csr_matrix(
            (
                np.concatenate([self.counts.astype(np.float64), v_new]),
                (np.concatenate([r_base, r_new]), np.concatenate([self.indices, c_new])),
            ),
            shape=(n, n),
        )
        matrix.sum_duplicates()
        coo = matrix.tocoo()
        return coo.row.astype(np.int64), coo.col.astype(np.int64), coo.data


class _Config(Protocol):
    @property
    def refit_every(self) -> int: ...


class Refreshable(Protocol):
    """What a refresh needs of the model (``PersonalModel``)."""

    n_items: int
    embedding: FloatArray | None
    since_refit: int  # plays learnt since the last fit started

    @property
    def config(self) -> _Config: ...

    def together_rows(self) -> CountRows: ...


def _fit(snapshot: CountsSnapshot, n_items: int, dim: int) -> FloatArray | None:
    return ppmi_embeddings(snapshot.entries(), n_items, dim)


class FactorRefresh:
    """Refits a model's factors, at most one fit at a time. ``background``: on a thread,
    the result swapped in by ``swap`` (called on the session thread); otherwise inline."""

    def __init__(self, dim: int, background: bool) -> None:
        self.dim = dim
        self.background = background
        self.fits = 0  # fits swapped in: a caller saving after each one watches this
        self._thread: threading.Thread | None = None
        self._done: FloatArray | None = None
        self._finished = False
        self._lock = threading.Lock()
        self.fit: Callable[[CountsSnapshot, int, int], FloatArray | None] = _fit

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def after_play(self, model: Refreshable) -> None:
        """The policy, after each play the model learnt: swap in a finished fit; start a
        new one once ``refit_every`` plays are new (if one still runs, at a later play)."""
        self.swap(model)
        if model.since_refit >= model.config.refit_every and self.start(model):
            model.since_refit = 0

    def start(self, model: Refreshable) -> bool:
        """Fit from the counts as they are now; False (nothing started) while a fit runs."""
        if self.running or self._finished:
            return False
        snapshot = CountsSnapshot.of(model.together_rows())
        n = model.n_items
        if not self.background:
            model.embedding = self.fit(snapshot, n, self.dim)
            self.fits += 1
            return True

        def work() -> None:
            result = self.fit(snapshot, n, self.dim)
            with self._lock:
                self._done, self._finished = result, True

        self._thread = threading.Thread(target=work, name="segue-factors", daemon=True)
        self._thread.start()
        return True

    def swap(self, model: Refreshable) -> bool:
        """Put a finished fit in place (on the thread that ranks: a ranking never sees two
        fits); True if it did. Tracks added since the snapshot get zero rows."""
        with self._lock:
            if not self._finished:
                return False
            result, self._done, self._finished = self._done, None, False
        if result is not None and result.shape[0] < model.n_items:
            pad = np.zeros((model.n_items - result.shape[0], result.shape[1]), np.float32)
            result = np.vstack([result, pad])
        if result is not None:  # too few counts yet: the previous factors stay
            model.embedding = result
        self.fits += 1
        return True

    def wait(self, timeout: float | None = None) -> bool:
        """Until the running fit is done (tests, a one-shot command); True if none runs."""
        thread = self._thread
        if thread is not None:
            thread.join(timeout)
        return not self.running
