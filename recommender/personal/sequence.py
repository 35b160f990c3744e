"""What one listener's sessions say about order: which tracks play near each other, and
what followed what before.

Counts live in one dict per item (sparse rows: a listener's catalogue of heard tracks is
small, and a play touches only a handful of rows); a row is read as arrays when scored.
"""

from __future__ import annotations

from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeVar

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float32]
IntArray = npt.NDArray[np.int64]
Row = dict[int, int]  # counts as small ints: Python shares the objects of 0..256
_TOGETHER_CAP = 50


def row_arrays(row: Row | None) -> tuple[IntArray, npt.NDArray[np.float64]]:
    if not row:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float64)
    return (
        np.fromiter(row.keys(), np.int64, len(row)),
        np.fromiter(row.values(), np.float64, len(row)),
    )


def _bump(rows: dict[int, Row], a: int, b: int) -> None:
    row = rows.get(a)
    if row is None:
        rows[a] = row = {}
    row[b] = row.get(b, 0) + 1


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
        self.rows: dict[int, Row] = {}
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
            _bump(self.rows, item, other)
            if other != item:
                _bump(self.rows, other, item)
        recent.append(item)

    def cosine_row(self, item: int) -> tuple[IntArray, npt.NDArray[np.float64]]:
        idx, co = row_arrays(self.rows.get(item))
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
        self.after: dict[int, Row] = {}
        self.after_pair: dict[tuple[int, int], Row] = {}
        self.together: dict[int, Row] = {}
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
            _bump(self.after, seen[-1], item)
            if len(seen) >= 2:
                key = (seen[-2], seen[-1])
                row = self.after_pair.get(key)
                if row is None:
                    self.after_pair[key] = row = {}
                row[item] = row.get(item, 0) + 1
        if item not in state.seen_set:
            idx, counts = row_arrays(self.together.get(item))
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
                _bump(self.together, item, other)
                _bump(self.together, other, item)
            state.seen_set.add(item)
            state.distinct.append(item)
        seen.append(item)
        if len(seen) > 2 * _TOGETHER_CAP:
            del seen[:_TOGETHER_CAP]

    def followed(self, previous: int) -> tuple[IntArray, npt.NDArray[np.float64]]:
        """Share of the times after ``previous`` that each track came next."""
        idx, counts = row_arrays(self.after.get(previous))
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
