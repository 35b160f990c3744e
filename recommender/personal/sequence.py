"""What one listener's sessions say about order: which tracks play near each other, and
what followed what before.

Counts live in compact sparse rows (``CountRows``: int32 CSR plus the latest bumps in
dicts); a row is read as arrays when scored.
"""

from __future__ import annotations

from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeVar

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp

FloatArray = npt.NDArray[np.float32]
IntArray = npt.NDArray[np.int64]
Row = dict[int, int]  # counts as small ints: Python shares the objects of 0..256
_TOGETHER_CAP = 50
_FOLD_EVERY = 50_000  # pending bumps before they are folded into the compact base


def row_arrays(row: Row | None) -> tuple[IntArray, npt.NDArray[np.float64]]:
    if not row:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float64)
    return (
        np.fromiter(row.keys(), np.int64, len(row)),
        np.fromiter(row.values(), np.float64, len(row)),
    )


class CountRows:
    """Sparse rows of co-occurrence counts: a compact CSR base (int32 ids and counts, rows
    sorted) plus the latest bumps in small dicts, folded into the base once they pile up.
    A listener's counts are millions of entries: as dicts they would cost ~100 bytes each,
    as CSR 8."""

    def __init__(self, fold_every: int = _FOLD_EVERY) -> None:
        self.indptr = np.zeros(1, dtype=np.int64)
        self.indices = np.zeros(0, dtype=np.int32)
        self.counts = np.zeros(0, dtype=np.int32)
        self.delta: dict[int, Row] = {}
        self._pending = 0
        self.fold_every = fold_every

    def bump(self, a: int, b: int) -> None:
        row = self.delta.get(a)
        if row is None:
            self.delta[a] = row = {}
        row[b] = row.get(b, 0) + 1
        self._pending += 1
        if self._pending >= self.fold_every:
            self.fold()

    def _base(self, a: int) -> tuple[npt.NDArray[np.int32], npt.NDArray[np.int32]]:
        if a + 1 >= self.indptr.size:
            return self.indices[:0], self.counts[:0]
        lo, hi = self.indptr[a], self.indptr[a + 1]
        return self.indices[lo:hi], self.counts[lo:hi]

    def arrays(self, a: int) -> tuple[IntArray, npt.NDArray[np.float64]]:
        """Row ``a``'s ids (distinct) and counts."""
        idx, cnt = self._base(a)
        out_idx = idx.astype(np.int64)
        out_cnt = cnt.astype(np.float64)
        row = self.delta.get(a)
        if not row:
            return out_idx, out_cnt
        d_idx, d_cnt = row_arrays(row)
        if out_idx.size == 0:
            return d_idx, d_cnt
        pos = np.minimum(np.searchsorted(out_idx, d_idx), out_idx.size - 1)
        hit = out_idx[pos] == d_idx
        out_cnt[pos[hit]] += d_cnt[hit]
        miss = ~hit
        return (
            np.concatenate([out_idx, d_idx[miss]]),
            np.concatenate([out_cnt, d_cnt[miss]]),
        )

    def count(self, a: int, b: int) -> float:
        idx, cnt = self._base(a)
        pos = int(np.searchsorted(idx, b))
        base = int(cnt[pos]) if pos < idx.size and idx[pos] == b else 0
        return float(base + self.delta.get(a, {}).get(b, 0))

    def fold(self) -> None:
        """Fold the pending bumps into the base (new arrays: a snapshot stays valid)."""
        self._pending = 0
        if not self.delta:
            return
        r_new = np.fromiter((a for a, row in self.delta.items() for _ in row), np.int64)
        c_new = np.fromiter((b for row in self.delta.values() for b in row), np.int64)
        v_new = np.fromiter((x for row in self.delta.values() for x in row.values()), np.int64)
        self.delta = {}
        n = max(self.indptr.size - 1, int(r_new.max()) + 1, int(c_new.max()) + 1)
        r_old = np.repeat(np.arange(self.indptr.size - 1, dtype=np.int32), np.diff(self.indptr))
        rows = np.concatenate([r_old, r_new.astype(np.int32)])
        cols = np.concatenate([self.indices, c_new.astype(np.int32)])
        vals = np.concatenate([self.counts, v_new.astype(np.int32)])
        del r_old, r_new, c_new, v_new
        matrix = sp.csr_matrix((vals, (rows, cols)), shape=(n, n))
        del rows, cols, vals
        matrix.sum_duplicates()  # also sorts each row's ids
        self.indptr = matrix.indptr.astype(np.int64)
        self.indices = matrix.indices.astype(np.int32, copy=False)
        self.counts = matrix.data.astype(np.int32, copy=False)

    def coo(self) -> tuple[IntArray, IntArray, npt.NDArray[np.float64]]:
        """Every entry as (row, column, count), all bumps folded in."""
        self.fold()
        rows = np.repeat(np.arange(self.indptr.size - 1, dtype=np.int64), np.diff(self.indptr))
        return rows, self.indices.astype(np.int64), self.counts.astype(np.float64)

    def __len__(self) -> int:
        """Rows with at least one entry."""
        self.fold()
        return int(np.count_nonzero(np.diff(self.indptr)))


# One int object per track id, shared by every dict that holds it as a key: a listener's
# co-occurrence counts are millions of entries, and a fresh int per entry would double
# their memory.
_INTERNED: list[int] = []


def _intern(item: int) -> int:
    if item >= len(_INTERNED):
        _INTERNED.extend(range(len(_INTERNED), item + 1))
    return _INTERNED[item]


class WindowCooccurrence:
    """Symmetric counts of tracks played within ``window`` plays of each other in a session
    (a track repeated inside the window is its own neighbour), and each track's plays."""

    def __init__(self, n_items: int, window: int = 3) -> None:
        self.window = window
        self.rows = CountRows()
        self.plays = np.zeros(n_items, dtype=np.float64)
        # Each open session's last plays: sessions may interleave (several listeners in
        # one log, or a device's history merged late).
        self._recent: OrderedDict[object, deque[int]] = OrderedDict()

    def grow(self, n_items: int) -> None:
        if n_items > self.plays.size:
            self.plays = np.concatenate([self.plays, np.zeros(n_items - self.plays.size)])

    def observe(self, item: int, session: object) -> None:
        recent = _open(self._recent, session, lambda: deque(maxlen=self.window))
        item = _intern(item)
        self.plays[item] += 1.0
        for other in recent:
            self.rows.bump(item, other)
            if other != item:
                self.rows.bump(other, item)
        recent.append(item)

    def cosine_row(self, item: int) -> tuple[IntArray, npt.NDArray[np.float64]]:
        idx, co = self.rows.arrays(item)
        if idx.size:
            co = co / np.sqrt(self.plays[item] * self.plays[idx])
        return idx, co

    def session_knn(
        self, session: list[int] | tuple[int, ...], n_items: int, last: int = 5
    ) -> FloatArray:
        """Item-kNN over the last ``last`` tracks of the session, weighted 1/distance."""
        out = np.zeros(n_items, dtype=np.float32)
        for distance, item in enumerate(reversed(session[-last:]), start=1):
            idx, cos = self.cosine_row(item)
            if idx.size:  # a row's ids are distinct: plain fancy-index addition is exact
                out[idx] += (cos / distance).astype(np.float32)
        return out


@dataclass
class _Session:
    seen: list[int] = field(default_factory=list)
    seen_set: set[int] = field(default_factory=set)
    distinct: list[int] = field(default_factory=list)
    # Each distinct track's "shared a session before" row, as it arrived (the last ones).
    touched: deque[tuple[IntArray, FloatArray]] = field(default_factory=deque)


class Transitions:
    """What followed a track, and a pair of tracks, in this listener's sessions; and which
    tracks shared a session with each other at any distance ("people replay playlists")."""

    def __init__(self, n_items: int = 0) -> None:
        self.after = CountRows()
        self.after_pair: dict[tuple[int, int], Row] = {}
        self.together = CountRows()
        self._sessions: OrderedDict[object, _Session] = OrderedDict()
        # One session's "shared a session before with a track of this one" as a dense
        # array: log(1 + sessions shared) summed over its distinct tracks.
        self.session_scores = np.zeros(n_items, dtype=np.float32)
        self._owner: object = None

    def grow(self, n_items: int) -> None:
        if n_items > self.session_scores.size:
            extra = n_items - self.session_scores.size
            self.session_scores = np.concatenate([self.session_scores, np.zeros(extra, np.float32)])

    def observe(self, item: int, session: object) -> None:
        if item >= self.session_scores.size:
            self.grow(item + 1)
        state = _open(self._sessions, session, _Session)
        item = _intern(item)
        seen = state.seen
        if seen:
            self.after.bump(seen[-1], item)
            if len(seen) >= 2:
                key = (seen[-2], seen[-1])
                row = self.after_pair.get(key)
                if row is None:
                    self.after_pair[key] = row = {}
                row[item] = row.get(item, 0) + 1
        if item not in state.seen_set:
            idx, counts = self.together.arrays(item)
            if idx.size:
                part = np.log1p(counts).astype(np.float32)
                state.touched.append((idx, part))
                if session == self._owner:
                    self.session_scores[idx] += part
                if len(state.touched) > _TOGETHER_CAP:  # the session's last tracks only
                    old_idx, old_part = state.touched.popleft()
                    if session == self._owner:
                        self.session_scores[old_idx] -= old_part
            # The session's last distinct tracks only: an endless session (a log without
            # session ids) must not cost a pass over everything heard.
            for other in state.distinct[-_TOGETHER_CAP:]:
                self.together.bump(item, other)
                self.together.bump(other, item)
            state.seen_set.add(item)
            state.distinct.append(item)
        seen.append(item)
        if len(seen) > 2 * _TOGETHER_CAP:
            del seen[:_TOGETHER_CAP]

    def followed(self, previous: int) -> tuple[IntArray, npt.NDArray[np.float64]]:
        """Share of the times after ``previous`` that each track came next."""
        idx, counts = self.after.arrays(previous)
        return idx, counts / max(float(counts.sum()), 1.0)

    def followed_pair(self, first: int, second: int) -> tuple[IntArray, npt.NDArray[np.float64]]:
        idx, counts = row_arrays(self.after_pair.get((first, second)))
        return idx, counts / max(float(counts.sum()), 1.0)

    def with_session(self, session: object) -> FloatArray | None:
        """Tracks that shared an earlier session with any track of ``session`` (one still
        open), scored by log(1 + sessions shared) summed over its tracks; dense, None when
        there is nothing to say."""
        state = self._sessions.get(session)
        if state is None or not state.touched:
            return None
        if session != self._owner:  # another session's turn: rebuild the dense array
            self.session_scores[:] = 0.0
            for idx, part in state.touched:
                self.session_scores[idx] += part
            self._owner = session
        return self.session_scores


_OPEN_SESSIONS = 256  # sessions whose state is kept (the most recently played)
_T = TypeVar("_T")


def _open(sessions: OrderedDict[object, _T], key: object, new: Callable[[], _T]) -> _T:
    """The state of session ``key`` (made if new), kept among the most recent ones."""
    state = sessions.get(key)
    if state is None:
        state = sessions[key] = new()
        if len(sessions) > _OPEN_SESSIONS:
            sessions.popitem(last=False)
    else:
        sessions.move_to_end(key)
    return state
