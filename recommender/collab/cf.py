"""Incremental item-item collaborative filtering over the listener's own sessions.

Every play adds directed co-occurrence ``C[i, j]`` from each of the ``window`` plays ``i``
before it in the same session to the played item ``j``, weighted ``distance_decay ** (d-1)``
by session distance ``d`` and by the play's weight (a completed play counts more than a
partial one). A skip of ``j`` right after ``i`` adds a negative weight to ``(i, j)``. The same
happens one level up, between artists and between albums, which is what a track heard once or
never falls back on.

Old habits fade: weights decay exponentially with age. Rather than touching every entry as
time passes, an event at time ``t`` is stored *inflated* by ``exp((t - t_ref) / tau)``; every
stored number shares the same deflation factor, which cancels in the normalised scores and
is applied explicitly where absolute values matter (shrinkage, :meth:`SessionCF.pair_weight`).

Storage is a CSR matrix plus a small append buffer: an event costs O(window) appends, and the
buffer is merged into the CSR (vectorised, amortised O(1) per entry because the buffer's
capacity grows with the matrix) once it is full. Nothing is ever recomputed from the log except
by an explicit :meth:`SessionCF.rebuild`.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp

from recommender import api
from recommender.collab.signals import (
    SIGNAL_CODES,
    EventLog,
    Sessioniser,
    Signal,
    SignalConfig,
    session_ids,
    weigh,
    weigh_log,
)

FloatArray = api.FloatArray
IntArray = api.IntArray
Sparse = tuple[IntArray, FloatArray]  # scores where they may be nonzero: (ids, values)
_NO_SCORES: Sparse = (np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32))
for _array in _NO_SCORES:
    _array.flags.writeable = False
_MAX_EXPONENT = 30.0  # rescale stored weights before exp(...) leaves float32's comfort zone
_MAX_DEFLATION = 600.0  # |exponent| of the deflation factor: exp(600) is finite in float64
_MIN_BUFFER = 1 << 15
# Scoring scans the buffer once per row it reads: cap it so that stays well under a millisecond.
_MAX_BUFFER = 1 << 17


@dataclass(frozen=True)
class CFConfig:
    window: int = 5  # plays back in the session that a new play co-occurs with
    distance_decay: float = 0.6  # weight of the pair at session distance d: decay ** (d - 1)
    half_life_days: float = 90.0  # co-occurrence loses half its weight in this time
    shrinkage: float = 2.0  # lift shrinkage: pairs seen rarely are trusted less
    symmetric: float = 0.3  # how much "played before j" counts as well as "after j"
    skip_penalty: float = 1.0  # multiplies the (negative) skip weight on the pair
    context_decay: float = 0.5  # weight of the k-th most recent session item when scoring
    backoff: float = 3.0  # plays of the current track at which item CF and backoff weigh equal
    popularity_prior: float = 0.5  # pseudo-plays of each track when sharing out an artist's score
    same_group: float = 0.0  # extra score of "same artist/album again", relative to its best
    session_gap_s: float = 30 * 60.0


_EMPTY = sp.csr_matrix((0, 0), dtype=np.float32)  # a placeholder while a merge rebuilds


class _Cooc:
    """Directed co-occurrence counts between ``n`` keys: CSR base plus an append buffer."""

    def __init__(self, n: int) -> None:
        self.n = n
        self.base = sp.csr_matrix((n, n), dtype=np.float32)
        self.base_t = sp.csr_matrix((n, n), dtype=np.float32)
        self.out_deg = np.zeros(n, dtype=np.float64)
        self.in_deg = np.zeros(n, dtype=np.float64)
        self._rows = np.zeros(_MIN_BUFFER, dtype=np.int32)
        self._cols = np.zeros(_MIN_BUFFER, dtype=np.int32)
        self._vals = np.zeros(_MIN_BUFFER, dtype=np.float32)
        self._fill = 0

    def grow(self, n: int) -> None:
        if n <= self.n:
            return
        self.compact()
        self.base = _resized(self.base, n)
        self.base_t = _resized(self.base_t, n)
        self.out_deg = np.concatenate([self.out_deg, np.zeros(n - self.n)])
        self.in_deg = np.concatenate([self.in_deg, np.zeros(n - self.n)])
        self.n = n

    def add(
        self,
        rows: npt.NDArray[np.integer],
        cols: npt.NDArray[np.integer],
        vals: npt.NDArray[np.floating],
    ) -> None:
        """Add entries; only positive weights count in the degrees used to normalise."""
        m = rows.size
        if m == 0:
            return
        pos = np.maximum(vals, 0.0)
        if m > 1024:
            self.out_deg += np.bincount(rows, weights=pos, minlength=self.n)
            self.in_deg += np.bincount(cols, weights=pos, minlength=self.n)
        else:
            np.add.at(self.out_deg, rows, pos)
            np.add.at(self.in_deg, cols, pos)
        if m > self._rows.size // 4:
            self._merge(rows, cols, vals)
            return
        if self._fill + m > self._rows.size:
            self.compact()
        end = self._fill + m
        self._rows[self._fill : end] = rows
        self._cols[self._fill : end] = cols
        self._vals[self._fill : end] = vals
        self._fill = end

    def compact(self) -> None:
        if self._fill:
            f = self._fill
            self._fill = 0
            self._merge(self._rows[:f], self._cols[:f], self._vals[:f].astype(np.float64))
        # Grow the buffer with the matrix so that merges stay amortised O(1) per entry.
        capacity = min(max(_MIN_BUFFER, self.base.nnz // 8), _MAX_BUFFER)
        if capacity > self._rows.size:
            self._rows = np.zeros(capacity, dtype=np.int32)
            self._cols = np.zeros(capacity, dtype=np.int32)
            self._vals = np.zeros(capacity, dtype=np.float32)

    def _merge(
        self,
        rows: npt.NDArray[np.integer],
        cols: npt.NDArray[np.integer],
        vals: npt.NDArray[np.floating],
    ) -> None:
        delta = sp.csr_matrix(
            (vals.astype(np.float32), (rows, cols)), shape=(self.n, self.n), dtype=np.float32
        )
        # Old matrices are dropped before their successors are built: at a million events
        # each is tens of MB, and the rebuild's peak is set here.
        merged = (self.base + delta).tocsr()
        del delta
        self.base = self.base_t = _EMPTY
        merged.sort_indices()
        self.base = merged
        self.base_t = merged.T.tocsr()
        self.base_t.sort_indices()

    def scale(self, factor: float) -> None:
        self.base.data *= np.float32(factor)
        self.base_t.data *= np.float32(factor)
        self._vals[: self._fill] *= np.float32(factor)
        self.out_deg *= factor
        self.in_deg *= factor

    def row(
        self, i: int, transposed: bool = False
    ) -> tuple[npt.NDArray[np.integer], npt.NDArray[np.floating]]:
        """Entries of row ``i`` (or column ``i``), possibly with repeated indices."""
        m = self.base_t if transposed else self.base
        lo, hi = m.indptr[i : i + 2].tolist()
        idx: npt.NDArray[np.integer] = m.indices[lo:hi]
        val: npt.NDArray[np.floating] = m.data[lo:hi]
        if self._fill:
            key, other = (self._cols, self._rows) if transposed else (self._rows, self._cols)
            hit = np.flatnonzero(key[: self._fill] == i)
            if hit.size:
                idx = np.concatenate([idx, other[hit]])
                val = np.concatenate([val, self._vals[hit]])
        return idx, val

    def normalised_row(
        self, i: int, shrink: float, transposed: bool = False
    ) -> tuple[npt.NDArray[np.integer], npt.NDArray[np.float64]]:
        """Cosine-style lift ``C[i, j] / (sqrt(out_i * in_j) + shrink)`` of row ``i``."""
        idx, val = self.row(i, transposed)
        if idx.size == 0:
            return idx, np.zeros(0)
        mine, theirs = (self.in_deg, self.out_deg) if transposed else (self.out_deg, self.in_deg)
        denom = np.sqrt(mine[i] * theirs[idx])
        denom += shrink
        result: npt.NDArray[np.float64] = np.divide(val, denom, out=denom)
        return idx, result

    def dense(self) -> npt.NDArray[np.float64]:
        self.compact()
        return np.asarray(self.base.toarray(), dtype=np.float64)


def _resized(m: sp.csr_matrix, n: int) -> sp.csr_matrix:
    indptr = np.concatenate([m.indptr, np.full(n - m.shape[0], m.indptr[-1], m.indptr.dtype)])
    return sp.csr_matrix((m.data, m.indices, indptr), shape=(n, n))


class SessionCF:
    """Item-item (and artist-artist, album-album) session co-occurrence, learned online."""

    name = "cf"

    def __init__(
        self,
        n_items: int,
        n_artists: int = 0,
        n_albums: int = 0,
        config: CFConfig | None = None,
        signals: SignalConfig | None = None,
    ) -> None:
        self.config = config or CFConfig()
        self.signals = signals or SignalConfig()
        self.n_items = n_items
        self.items = _Cooc(n_items)
        self.artists = _Cooc(n_artists)
        self.albums = _Cooc(n_albums)
        self.item_artist = np.full(n_items, -1, dtype=np.int64)
        self.item_album = np.full(n_items, -1, dtype=np.int64)
        self.plays = np.zeros(n_items, dtype=np.float64)  # inflated positive weight per item
        self.t_ref: float | None = None
        self._groups_version = 0  # bumped whenever a track's artist or album changes
        self._observed = 0  # events learned so far: keys the per-scoring cache
        self._group_cache: dict[str, tuple[object, Sparse]] = {}
        self._member_cache: dict[int, tuple[IntArray, IntArray, IntArray, int]] = {}
        self._tau = self.config.half_life_days * 86400.0 / math.log(2.0)
        self._sessions = Sessioniser(self.config.session_gap_s)
        self._session_key = -1
        self._recent: deque[int] = deque(maxlen=self.config.window)

    # ----------------------------------------------------------------- catalogue
    @property
    def n_artists(self) -> int:
        return self.artists.n

    @property
    def n_albums(self) -> int:
        return self.albums.n

    def grow(self, n_items: int, n_artists: int = 0, n_albums: int = 0) -> None:
        """Make room for a grown library (ids only ever get added)."""
        if n_items > self.n_items:
            self.items.grow(n_items)
            extra = n_items - self.n_items
            self.item_artist = np.concatenate([self.item_artist, np.full(extra, -1, np.int64)])
            self.item_album = np.concatenate([self.item_album, np.full(extra, -1, np.int64)])
            self.plays = np.concatenate([self.plays, np.zeros(extra)])
            self.n_items = n_items
        self._groups_version += 1
        self.artists.grow(n_artists)
        self.albums.grow(n_albums)

    def set_groups(
        self, item_artist: npt.ArrayLike | None = None, item_album: npt.ArrayLike | None = None
    ) -> None:
        """Tell the model every track's artist/album (-1 unknown), e.g. from the library."""
        if item_artist is not None:
            a = np.asarray(item_artist, dtype=np.int64)
            self.grow(a.size, int(a.max(initial=-1)) + 1)
            self.item_artist[: a.size] = a
            self._groups_version += 1
        if item_album is not None:
            b = np.asarray(item_album, dtype=np.int64)
            self.grow(b.size, 0, int(b.max(initial=-1)) + 1)
            self.item_album[: b.size] = b
            self._groups_version += 1

    # ----------------------------------------------------------------- learning
    def _inflation(self, ts: float) -> float:
        if self.t_ref is None:
            self.t_ref = ts
        exponent = (ts - self.t_ref) / self._tau
        if exponent > _MAX_EXPONENT:
            self._rescale(ts)
            exponent = 0.0
        return math.exp(exponent)

    def _rescale(self, new_ref: float) -> None:
        assert self.t_ref is not None
        factor = math.exp(-(new_ref - self.t_ref) / self._tau)
        for cooc in (self.items, self.artists, self.albums):
            cooc.scale(factor)
        self.plays *= factor
        self.t_ref = new_ref

    def _note_groups(self, event: api.Event) -> None:
        if event.artist is not None and event.artist >= 0:
            if event.artist >= self.n_artists:
                self.grow(self.n_items, event.artist + 1)
            if self.item_artist[event.item] != event.artist:
                self.item_artist[event.item] = event.artist
                self._groups_version += 1
        if event.album is not None and event.album >= 0:
            if event.album >= self.n_albums:
                self.grow(self.n_items, 0, event.album + 1)
            if self.item_album[event.item] != event.album:
                self.item_album[event.item] = event.album
                self._groups_version += 1

    def observe(self, event: api.Event) -> None:
        """Learn from one event, in O(window)."""
        self._observed += 1
        if event.item >= self.n_items:
            self.grow(event.item + 1)
        self._note_groups(event)
        signal = weigh(event, self.signals)
        if signal.signal in (Signal.LIKE, Signal.UNLIKE):
            infl = self._inflation(event.ts)
            self.plays[event.item] = max(0.0, self.plays[event.item] + signal.weight * infl)
            return
        if signal.signal not in (Signal.PLAY, Signal.SKIP):
            return
        key = self._sessions.key(event.ts, event.session)
        if key != self._session_key:
            self._session_key = key
            self._recent.clear()
        infl = self._inflation(event.ts)
        j = event.item
        if signal.signal is Signal.SKIP:
            if self._recent:
                penalty = signal.weight * self.config.skip_penalty * infl
                self._add_pairs(np.array([self._recent[-1]]), j, np.array([penalty]))
            return
        self.plays[j] += signal.weight * infl
        if self._recent:
            before = np.array(self._recent, dtype=np.int64)[::-1]  # most recent first
            dist = np.arange(before.size)
            weights = (signal.weight * infl * self.config.distance_decay**dist).astype(np.float64)
            self._add_pairs(before, j, weights)
        self._recent.append(j)

    def _add_pairs(self, before: IntArray, j: int, w: npt.NDArray[np.float64]) -> None:
        self.items.add(before, np.full(before.size, j, dtype=np.int64), w)
        for cooc, group in ((self.artists, self.item_artist), (self.albums, self.item_album)):
            gj = group[j]
            if gj < 0:
                continue
            gi = group[before]
            ok = (gi >= 0) & (gj >= 0)
            if ok.any():
                cooc.add(gi[ok], np.full(int(ok.sum()), gj, dtype=np.int64), w[ok])

    @classmethod
    def rebuild(
        cls,
        events: EventLog | list[api.Event] | tuple[api.Event, ...],
        n_items: int,
        n_artists: int = 0,
        n_albums: int = 0,
        config: CFConfig | None = None,
        signals: SignalConfig | None = None,
    ) -> SessionCF:
        """A model equal to observing ``events`` one by one, built in vectorised passes."""
        log = events if isinstance(events, EventLog) else EventLog.from_events(events)
        model = cls(n_items, n_artists, n_albums, config, signals)
        if len(log) == 0:
            return model
        in_order = bool(np.all(log.ts[1:] >= log.ts[:-1]))
        order = np.arange(len(log)) if in_order else np.argsort(log.ts, kind="stable")
        sorted_log = log if in_order else log.take(order)  # no copies of a sorted log
        item, ts = sorted_log.item, sorted_log.ts
        artist, album = sorted_log.artist, sorted_log.album
        model.grow(
            int(item.max()) + 1, int(artist.max(initial=-1)) + 1, int(album.max(initial=-1)) + 1
        )
        known = artist >= 0
        model.item_artist[item[known]] = artist[known]  # the last known artist wins, as online
        known = album >= 0
        model.item_album[item[known]] = album[known]
        model._groups_version += 1

        signal, weight = weigh_log(sorted_log, model.signals)
        codes = SIGNAL_CODES
        cfg = model.config
        model.t_ref = float(ts[0])
        infl = (ts - ts[0]) / model._tau
        if infl[-1] > _MAX_EXPONENT:
            model.t_ref = float(ts[-1])  # old entries simply fade towards zero
            infl = (ts - ts[-1]) / model._tau
        np.exp(infl, out=infl)
        # Each event's weight, inflated to the reference time, from here on. Per-event
        # temporaries are dropped or kept 32-bit as soon as possible: at a million events
        # each costs 4-8 MB, and they are all alive while the pairs are merged.
        infl *= weight
        del weight

        fond = (signal == codes[Signal.LIKE]) | (signal == codes[Signal.UNLIKE])
        is_play = signal == codes[Signal.PLAY]
        if fond.any():
            _replay_likes(model.plays, item, infl, is_play | fond, fond)
        else:
            np.add.at(model.plays, item[is_play], infl[is_play])
        del fond
        weight = infl.astype(np.float32)
        del infl

        rows_l = np.flatnonzero(is_play | (signal == codes[Signal.SKIP])).astype(np.int32)
        sess = session_ids(ts[rows_l], explicit=sorted_log.session[rows_l], gap_s=cfg.session_gap_s)
        sess = sess.astype(np.int32)
        play_mask = is_play[rows_l]
        del is_play
        plays = rows_l[play_mask]
        play_sess = sess[play_mask]
        item32 = item.astype(np.int32)  # halves the pair arrays of a big log

        def add_pairs(
            earlier: npt.NDArray[np.integer],
            later: npt.NDArray[np.integer],
            w: npt.NDArray[np.floating],
        ) -> None:
            # One chunk (a session distance, or the skips) at a time keeps peak memory low.
            rows, cols = item32[earlier], item32[later]
            model.items.add(rows, cols, w)
            for cooc, group in (
                (model.artists, model.item_artist),
                (model.albums, model.item_album),
            ):
                if cooc.n == 0:
                    continue
                gi, gj = group[rows], group[cols]
                ok = (gi >= 0) & (gj >= 0)
                cooc.add(gi[ok], gj[ok], w[ok])

        for d in range(1, cfg.window + 1):
            if plays.size <= d:
                break
            same = play_sess[d:] == play_sess[:-d]
            later, earlier = plays[d:][same], plays[:-d][same]
            add_pairs(earlier, later, weight[later] * np.float32(cfg.distance_decay ** (d - 1)))
        # A skip counts against the play right before it in its session.
        skips = rows_l[~play_mask]
        if skips.size:
            last_play = np.maximum.accumulate(np.where(play_mask, np.arange(rows_l.size), -1))
            prev = last_play[~play_mask]
            ok = prev >= 0
            ok[ok] &= sess[prev[ok]] == sess[~play_mask][ok]
            add_pairs(rows_l[prev[ok]], skips[ok], weight[skips[ok]] * np.float32(cfg.skip_penalty))
        # Leave the online state where observing would have: ready for the next event.
        last = rows_l[-1] if rows_l.size else None
        if last is not None:
            model._sessions.current = int(sess[-1])
            model._sessions._last_ts = float(ts[last])
            s = int(sorted_log.session[last])
            model._sessions._last_explicit = None if s < 0 else _explicit_of(events, order, last)
            model._session_key = int(sess[-1])
            tail = plays[play_sess == sess[-1]][-cfg.window :]
            model._recent.extend(int(x) for x in item[tail])
        return model

    # ----------------------------------------------------------------- scoring
    def _deflation(self, now: float | None) -> float:
        if self.t_ref is None or now is None or now <= 0:
            return 1.0
        # Clamped: a time far from the reference (a log holding an impossible timestamp,
        # say milliseconds read as seconds) must not overflow, nor deflate to zero.
        exponent = -(now - self.t_ref) / self._tau
        return math.exp(min(max(exponent, -_MAX_DEFLATION), _MAX_DEFLATION))

    def _context_items(self, context: api.Context) -> list[int]:
        """The recent session, most recent first, starting with the current track."""
        recent = list(context.session[::-1])
        if context.current is not None and (not recent or recent[0] != context.current):
            recent.insert(0, context.current)
        return recent[: self.config.window]

    def _group_scores(
        self,
        cooc: _Cooc,
        group: IntArray,
        recent: list[int],
        deflation: float,
    ) -> Sparse:
        """Scores from group co-occurrence, shared out among each group's tracks by plays:
        the tracks of the scored groups (each once) and their scores; the rest score 0."""
        cfg = self.config
        n_groups = cooc.n
        if n_groups == 0:
            return _NO_SCORES
        shrink = cfg.shrinkage / deflation
        # Each group's score as the sum of these parts in this order (one bincount).
        ids: list[npt.NDArray[np.integer]] = []
        parts: list[npt.NDArray[np.float64]] = []
        for k, it in enumerate(recent):
            g = int(group[it]) if it < group.size else -1
            if g < 0:
                continue
            w = cfg.context_decay**k
            idx, val = cooc.normalised_row(g, shrink)
            if idx.size == 0 or not (val > 0).any():
                # nothing learned yet about this artist: stay with it
                ids.append(np.array([g]))
                parts.append(np.array([w]))
                continue
            ids.append(idx)
            parts.append(w * val)
            # The data already holds "same artist again" on the diagonal; this is a prior on top.
            if cfg.same_group:
                ids.append(np.array([g]))
                parts.append(np.array([w * cfg.same_group * float(val.max())]))
        if not ids:
            return _NO_SCORES
        gscore = np.bincount(np.concatenate(ids), weights=np.concatenate(parts), minlength=n_groups)
        groups = np.flatnonzero(gscore != 0)  # a bool pass is much faster than on floats
        if groups.size == 0:
            return _NO_SCORES
        # Share each scored group's score among its tracks by their plays plus a prior of
        # ``popularity_prior`` plays (in today's units), so unheard tracks still get a little.
        members, ptr = self._members(group, n_groups)
        lo, hi = ptr[groups], ptr[groups + 1]
        sizes = hi - lo
        items = members[np.repeat(lo - np.cumsum(sizes) + sizes, sizes) + np.arange(sizes.sum())]
        local = np.repeat(np.arange(groups.size), sizes)
        mass = self.plays[items] + cfg.popularity_prior / deflation
        group_mass = np.bincount(local, weights=mass, minlength=groups.size)
        shared = gscore[groups][local] * mass / np.maximum(group_mass[local], 1e-12)
        return items, shared.astype(np.float32)

    def _members(self, group: IntArray, n_groups: int) -> tuple[IntArray, IntArray]:
        """Each group's items as CSR (members, indptr), rebuilt only after the mapping changed."""
        key = id(group)
        cached = self._member_cache.get(key)
        if cached is not None and cached[0] is group and cached[3] == self._groups_version:
            return cached[1], cached[2]
        known = np.flatnonzero(group >= 0)
        order = known[np.argsort(group[known], kind="stable")]
        ptr = np.zeros(n_groups + 1, dtype=np.int64)
        np.cumsum(np.bincount(group[known], minlength=n_groups)[:n_groups], out=ptr[1:])
        self._member_cache[key] = (group, order, ptr, self._groups_version)
        return order, ptr

    def item_scores(self, context: api.Context) -> FloatArray:
        """Item-level session CF: normalised co-occurrence with the recent session."""
        return self._dense(self._item_sparse(context))

    def _item_sparse(self, context: api.Context) -> Sparse:
        """``item_scores`` where they may be nonzero: the ids the recent tracks' rows reach."""
        cfg = self.config
        shrink = cfg.shrinkage / self._deflation(context.now)
        ids: list[npt.NDArray[np.integer]] = []
        parts: list[npt.NDArray[np.float64]] = []
        for k, it in enumerate(self._context_items(context)):
            if it >= self.n_items:
                continue
            w = cfg.context_decay**k
            idx, val = self.items.normalised_row(it, shrink)
            ids.append(idx)
            parts.append(w * val)
            if cfg.symmetric:
                idx, val = self.items.normalised_row(it, shrink, transposed=True)
                ids.append(idx)
                parts.append(cfg.symmetric * w * val)
        if not ids:
            return _NO_SCORES
        # Summed in the order the rows come, from 0, as adding row after row would be
        # (bincount adds its weights in input order).
        support, where = np.unique(np.concatenate(ids), return_inverse=True)
        sums = np.bincount(where, weights=np.concatenate(parts), minlength=support.size)
        return support.astype(np.int64), sums.astype(np.float32)

    def _dense(self, scores: Sparse) -> FloatArray:
        out = np.zeros(self.n_items, dtype=np.float32)
        out[scores[0]] = scores[1]
        return out

    def artist_scores(self, context: api.Context) -> FloatArray:
        """Artist-level co-occurrence with the session, shared out by each artist's plays."""
        return self._dense(self._cached_group("artist", context))

    def album_scores(self, context: api.Context) -> FloatArray:
        """Album-level co-occurrence with the session, shared out by each album's plays."""
        return self._dense(self._cached_group("album", context))

    def _cached_group(self, which: str, context: api.Context) -> Sparse:
        # The CF back-off and the hybrid's artist source ask for the same scores in one
        # scoring: compute them once per (context, model state).
        key = (which, context, self._observed, self._groups_version)
        hit = self._group_cache.get(which)
        if hit is not None and hit[0] == key:
            return hit[1]
        cooc, group = (
            (self.artists, self.item_artist)
            if which == "artist"
            else (
                self.albums,
                self.item_album,
            )
        )
        result = self._group_scores(
            cooc, group, self._context_items(context), self._deflation(context.now)
        )
        for array in result:
            array.flags.writeable = False
        self._group_cache[which] = (key, result)
        return result

    def scores(self, context: api.Context) -> FloatArray:
        """Item CF, backing off to album then artist co-occurrence for sparsely heard tracks."""
        return self._dense(self.sparse_scores(context))

    def sparse_scores(self, context: api.Context) -> Sparse:
        """``scores`` where they may be nonzero (ids distinct, float32); the rest are 0. A
        few thousand tracks, not the library: the hybrid adds them where they are."""
        item = self._item_sparse(context)
        current = context.current
        if current is None or current >= self.n_items:
            return item
        seen = self.plays[current] * self._deflation(context.now)
        backoff = self.config.backoff / (self.config.backoff + seen)
        if backoff < 1e-3:
            return item
        album, artist = self._cached_group("album", context), self._cached_group("artist", context)
        # The union of the supports; each part laid out on it (0 where it has nothing).
        support, where = np.unique(
            np.concatenate([item[0], album[0], artist[0]]), return_inverse=True
        )
        n_item, n_album = item[0].size, album[0].size
        item_values = np.zeros(support.size, dtype=np.float32)
        item_values[where[:n_item]] = item[1]
        group = np.zeros(support.size, dtype=np.float32)
        group[where[n_item : n_item + n_album]] = album[1]
        group[where[n_item + n_album :]] += artist[1]  # album + artist, as dense vectors add
        # The largest |item| and the largest group score over the library, where every
        # track outside the supports counts as a 0.
        outside = support.size < self.n_items
        top = max(float(np.abs(item_values).max(initial=0.0)), 0.0)
        gtop = float(group.max(initial=0.0 if outside else -np.inf)) if support.size else 0.0
        if outside:
            gtop = max(gtop, 0.0)
        if gtop > 0:
            # Put the back-off on the item scores' scale so the blend means what it says.
            group *= (top if top > 0 else 1.0) / gtop
        # (1 - backoff) x item + backoff x group, in the precision numpy's promotion gives
        # (float64: ``backoff`` is a numpy scalar), rounded once to float32.
        precision = np.result_type(item_values, backoff)
        mixed = np.multiply(item_values, 1.0 - backoff, dtype=precision)
        part = np.multiply(group, backoff, dtype=precision)
        blended: FloatArray = np.empty(support.size, dtype=np.float32)
        np.add(mixed, part, out=blended, casting="same_kind")
        return support, blended

    def neighbours(self, item: int, k: int = 10) -> tuple[IntArray, FloatArray]:
        """The ``k`` items most often played around ``item`` (before or after it, alike)."""
        shrink = self.config.shrinkage / self._deflation(None)
        s = np.zeros(self.n_items, dtype=np.float64)
        for transposed in (False, True):
            idx, val = self.items.normalised_row(item, shrink, transposed)
            np.add.at(s, idx, val)
        s[item] = -np.inf  # a track is not its own neighbour
        positive = np.flatnonzero(s > 0)
        if positive.size > k:
            positive = positive[np.argpartition(-s[positive], k - 1)[:k]]
        order = positive[np.argsort(-s[positive], kind="stable")]
        return order.astype(np.int64), s[order].astype(np.float32)

    def pair_weight(self, i: int, j: int, now: float) -> float:
        """The decayed co-occurrence weight of ``j`` after ``i`` as of ``now``."""
        idx, val = self.items.row(i)
        return float(val[idx == j].sum()) * self._deflation(now)

    # ----------------------------------------------------------------- persistence
    def save(self, path: str | Path) -> None:
        for cooc in (self.items, self.artists, self.albums):
            cooc.compact()
        arrays: dict[str, npt.NDArray[np.generic]] = {
            "item_artist": self.item_artist,
            "item_album": self.item_album,
            "plays": self.plays,
            "t_ref": np.array([np.nan if self.t_ref is None else self.t_ref]),
            "recent": np.array(list(self._recent), dtype=np.int64),
            "session_state": np.array(
                [
                    self._session_key,
                    self._sessions.current,
                    np.nan if self._sessions._last_ts is None else self._sessions._last_ts,
                ],
                dtype=np.float64,
            ),
            "config": np.array(list(asdict(self.config).values()), dtype=np.float64),
        }
        for name, cooc in (
            ("items", self.items),
            ("artists", self.artists),
            ("albums", self.albums),
        ):
            arrays[f"{name}_data"] = cooc.base.data
            arrays[f"{name}_indices"] = cooc.base.indices
            arrays[f"{name}_indptr"] = cooc.base.indptr
            arrays[f"{name}_out"] = cooc.out_deg
            arrays[f"{name}_in"] = cooc.in_deg
        with open(path, "wb") as fh:
            np.savez(fh, **arrays)  # type: ignore[arg-type]

    @classmethod
    def load(cls, path: str | Path, signals: SignalConfig | None = None) -> SessionCF:
        with np.load(path) as z:
            names = list(CFConfig.__dataclass_fields__)
            values = [float(v) for v in z["config"]]
            kwargs: dict[str, float | int] = dict(zip(names, values, strict=True))
            kwargs["window"] = int(kwargs["window"])
            config = CFConfig(**kwargs)  # type: ignore[arg-type]
            n_items = int(z["plays"].size)
            n_artists = int(z["artists_out"].size)
            n_albums = int(z["albums_out"].size)
            model = cls(n_items, n_artists, n_albums, config, signals)
            model.item_artist = z["item_artist"].astype(np.int64)
            model.item_album = z["item_album"].astype(np.int64)
            model.plays = z["plays"].astype(np.float64)
            t_ref = float(z["t_ref"][0])
            model.t_ref = None if math.isnan(t_ref) else t_ref
            model._recent.extend(int(x) for x in z["recent"])
            key, current, last_ts = (float(x) for x in z["session_state"])
            model._session_key = int(key)
            model._sessions.current = int(current)
            model._sessions._last_ts = None if math.isnan(last_ts) else last_ts
            for name, cooc in (
                ("items", model.items),
                ("artists", model.artists),
                ("albums", model.albums),
            ):
                n = cooc.n
                cooc.base = sp.csr_matrix(
                    (z[f"{name}_data"], z[f"{name}_indices"], z[f"{name}_indptr"]), shape=(n, n)
                )
                cooc.base_t = cooc.base.T.tocsr()
                cooc.base_t.sort_indices()
                cooc.out_deg = z[f"{name}_out"].astype(np.float64)
                cooc.in_deg = z[f"{name}_in"].astype(np.float64)
        return model


def _explicit_of(
    events: EventLog | list[api.Event] | tuple[api.Event, ...], order: IntArray, row: int
) -> str | int | None:
    """The original explicit session id of a sorted row (strings survive for Event input)."""
    if isinstance(events, EventLog):
        return int(events.session[order[row]])
    return events[int(order[row])].session


def _replay_likes(
    plays: npt.NDArray[np.float64],
    item: IntArray,
    w: npt.NDArray[np.float64],
    counted: npt.NDArray[np.bool_],
    fond: npt.NDArray[np.bool_],
) -> None:
    """Plays plus likes/unlikes, with the online floor at zero after an unlike."""
    # Unlikes are rare: replay only the items that have one, in order; sum the rest at once.
    unliked = np.unique(item[fond & (w < 0)])
    simple = counted & ~np.isin(item, unliked)
    np.add.at(plays, item[simple], w[simple])
    for it in unliked:
        total = 0.0
        for wk in w[counted & (item == it)]:
            total = max(0.0, total + float(wk))
        plays[it] += total
