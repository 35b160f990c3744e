"""Keeping the personal model fresh while a long session runs.

The PPMI-SVD factors (``factors.py``) are fitted from the "shared a session" counts, which
grow with every play; the blender learns online from each play. The policy: once
``PersonalConfig.refit_every`` plays are new since the last refresh, fit the factors again
and (if ``PersonalConfig.retrain_last``, off by default) give the blender one more pass over
its last learning steps.
``FactorRefresh`` applies it after every play the model learns. In the app a refresh runs
on a thread of its own, one at a time, from a snapshot of the counts (taken in O(new
counts)) and a copy of the blender; both are swapped in on the session thread at the
next play, so a ranking never mixes two fits, and the steps learnt meanwhile are learnt
by the new blender too. A replay (``segue eval``) refreshes inline at the same plays, so
it measures what the app does.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp

from recommender.personal.blender import Blender, Step
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

    @property
    def retrain_last(self) -> int: ...


class Refreshable(Protocol):
    """What a refresh needs of the model (``PersonalModel``)."""

    n_items: int
    embedding: FloatArray | None
    blender: Blender
    since_refit: int  # plays learnt since the last fit started

    @property
    def config(self) -> _Config: ...

    def together_rows(self) -> CountRows: ...


def _fit(snapshot: CountsSnapshot, n_items: int, dim: int) -> FloatArray | None:
    return ppmi_embeddings(snapshot.entries(), n_items, dim)


def retrain(blender: Blender, steps: Sequence[Step], seed: int) -> None:
    """One more pass over the kept steps, shuffled (not kept again)."""
    memory, blender.memory = blender.memory, None
    for i in np.random.default_rng(seed).permutation(len(steps)).tolist():
        x, positive, weight, negative = steps[i]
        blender.learn(x.astype(np.float64), positive, weight, negative)
    blender.memory = memory


@dataclass
class _Fitted:
    embedding: FloatArray | None
    blender: Blender | None  # retrained from the copy taken at the start
    recorded: int  # the live blender's steps kept when the copy was taken


class FactorRefresh:
    """Refits a model's factors (and retrains its blender once over its last
    ``retrain_last`` learning steps), at most one refresh at a time. ``background``: on a
    thread, the result swapped in by ``swap`` (on the session thread); otherwise inline."""

    def __init__(self, dim: int, background: bool) -> None:
        self.dim = dim
        self.background = background
        self.fits = 0  # refreshes swapped in: a caller saving after each one watches this
        self._thread: threading.Thread | None = None
        self._done: _Fitted | None = None
        self._lock = threading.Lock()
        self.fit: Callable[[CountsSnapshot, int, int], FloatArray | None] = _fit

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def after_play(self, model: Refreshable) -> None:
        """The policy, after each play the model learnt: swap in a finished refresh; start
        a new one once ``refit_every`` plays are new (if one still runs, at a later play)."""
        keep = model.config.retrain_last
        if keep > 0 and model.blender.memory is None:  # the steps a retraining pass goes over
            model.blender.memory = deque(maxlen=keep)
        self.swap(model)
        if model.since_refit >= model.config.refit_every and self.start(model):
            model.since_refit = 0

    def start(self, model: Refreshable) -> bool:
        """Refresh from the counts and steps as they are now; False (nothing started)
        while one runs or waits to be swapped in."""
        if self.running or self._done is not None:
            return False
        snapshot = CountsSnapshot.of(model.together_rows())
        n, live = model.n_items, model.blender
        steps = list(live.memory) if live.memory is not None else []
        seed = self.fits
        if not self.background:
            fitted = self.fit(snapshot, n, self.dim)
            if fitted is not None:  # too few counts yet: the previous factors stay
                model.embedding = fitted
            if steps:
                retrain(live, steps, seed)
            self.fits += 1
            return True
        twin = live.copy() if steps else None
        recorded = live.recorded

        def work() -> None:
            result = self.fit(snapshot, n, self.dim)
            if twin is not None:
                retrain(twin, steps, seed)
            with self._lock:
                self._done = _Fitted(result, twin, recorded)

        self._thread = threading.Thread(target=work, name="segue-factors", daemon=True)
        self._thread.start()
        return True

    def swap(self, model: Refreshable) -> bool:
        """Put a finished refresh in place (on the thread that ranks: a ranking never sees
        two fits); True if it did. Tracks added since the snapshot get zero rows; the
        steps the live blender learnt meanwhile are learnt by the retrained one too."""
        with self._lock:
            done, self._done = self._done, None
        if done is None:
            return False
        result = done.embedding
        if result is not None and result.shape[0] < model.n_items:
            pad = np.zeros((model.n_items - result.shape[0], result.shape[1]), np.float32)
            result = np.vstack([result, pad])
        if result is not None:  # too few counts yet: the previous factors stay
            model.embedding = result
        if done.blender is not None:
            live, twin = model.blender, done.blender
            since = live.recorded - done.recorded
            memory = list(live.memory) if live.memory is not None and since > 0 else []
            for x, positive, weight, negative in memory[max(0, len(memory) - since) :]:
                twin.learn(x.astype(np.float64), positive, weight, negative)
            twin.memory, twin.recorded = live.memory, live.recorded
            model.blender = twin
        self.fits += 1
        return True

    def wait(self, timeout: float | None = None) -> bool:
        """Until the running refresh is done (tests, a one-shot command); True if none
        runs."""
        thread = self._thread
        if thread is not None:
            thread.join(timeout)
        return not self.running
