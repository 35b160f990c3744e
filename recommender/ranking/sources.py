"""Score sources for the hybrid blend (``api.ScoreSource``) and the reasons they give.

- ``content``: how much each track sounds like what is playing (over the content index
  of audio vectors; tracks without a vector score 0, they are not an error);
- ``metadata``: tag, genre, artist, album and year similarity to what is playing;
- ``taste``: the user's own likes, bans, plays and skips, with "close to your favourites"
  for tracks never played.

Every source returns float32 scores in [0, 1] over all items, and can say in a few words
why it scored an item (``reason``), for the up-next list.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np
import numpy.typing as npt

from recommender import api
from recommender.api import Context, FloatArray, IntArray
from recommender.collab import signals
from recommender.content.metadata import MetadataIndex
from recommender.ranking.reasons import Describe

Neighbours = Callable[[int, int], tuple[IntArray, FloatArray]]


class RowSimilarity(Protocol):
    """Anything that gives one item's similarity to every item, in [0, 1]."""

    def similarities(self, item: int) -> FloatArray: ...


class DistanceIndex(Protocol):
    """The part of ``content.ContentIndex`` the content source uses."""

    def distances(self, item: int) -> FloatArray: ...

    def explain(self, a: int, b: int) -> str: ...


def cosine_distance_to_similarity(distances: FloatArray) -> FloatArray:
    """Cosine distance (0 same, 1 unrelated, 2 opposite) to a [0, 1] similarity; items
    without a vector (NaN or infinite distance) get 0. For indexes of plain vectors."""
    sim: FloatArray = np.subtract(np.float32(1.0), distances, dtype=np.float32)
    np.fmax(sim, np.float32(0.0), out=sim)  # fmax turns NaN (and 1 - inf) into 0
    np.minimum(sim, np.float32(1.0), out=sim)
    return sim


# Mutual proximity of a random pair: each track ranks the other closer than a random
# track with probability 1/2, so 1 - distance averages 1/4 over random pairs.
_RANDOM_PAIR_PROXIMITY = 0.25


def proximity_to_similarity(distances: FloatArray) -> FloatArray:
    """The content index's mutual-proximity distance (0 nearest, 1 farthest or no vector)
    to a [0, 1] similarity in which a random pair scores 0, not 1/4: otherwise every
    unrelated track would get a quarter of the content score and claim the reason."""
    baseline = np.float32(1.0 - _RANDOM_PAIR_PROXIMITY)
    sim: FloatArray = np.subtract(baseline, distances, dtype=np.float32)
    sim *= np.float32(1.0 / baseline)
    np.fmax(sim, np.float32(0.0), out=sim)  # fmax turns NaN into 0
    np.minimum(sim, np.float32(1.0), out=sim)
    return sim


class ContentRows:
    """Similarity rows from the content index's distances, with a small row cache: the
    current track and the last few of the session are asked for again and again."""

    def __init__(
        self,
        index: DistanceIndex,
        n_items: int,
        to_similarity: Callable[[FloatArray], FloatArray] = proximity_to_similarity,
        cache_rows: int = 64,
    ) -> None:
        self.index = index
        self.n_items = n_items
        self._to_similarity = to_similarity
        self._rows: OrderedDict[int, FloatArray] = OrderedDict()
        self._cache_rows = cache_rows

    def clear_cache(self) -> None:
        self._rows.clear()

    def similarities(self, item: int) -> FloatArray:
        row = self._rows.get(item)
        if row is not None:
            self._rows.move_to_end(item)
            return row
        try:
            distances = np.asarray(self.index.distances(item), dtype=np.float32)
        except (KeyError, IndexError, ValueError):
            # No audio vector for this track yet: it has no content neighbours (the
            # cold-start ladder falls back to its tags).
            distances = np.full(self.n_items, np.inf, dtype=np.float32)
        row = self._to_similarity(distances)
        row.setflags(write=False)
        self._rows[item] = row
        if len(self._rows) > self._cache_rows:
            self._rows.popitem(last=False)
        return row


class PairwiseSimilarity(Protocol):
    """Similarity among a few hundred items (up-next's pool), as a dense matrix."""

    def pairwise(self, items: Sequence[int] | IntArray) -> FloatArray: ...


class VectorSimilarity:
    """Cosine similarity of audio vectors, clipped to [0, 1], for up-next's pool (tracks
    without a vector, NaN rows, are similar to nothing)."""

    def __init__(self, vectors: npt.NDArray[np.floating]) -> None:
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        unit = np.asarray(vectors, dtype=np.float32) / np.where(norms > 0, norms, 1.0)
        self.unit = np.nan_to_num(unit.astype(np.float32), nan=0.0)

    def pairwise(self, items: Sequence[int] | IntArray) -> FloatArray:
        rows = self.unit[np.asarray(items, dtype=np.int64)]
        result: FloatArray = np.clip(rows @ rows.T, 0.0, 1.0)
        return result


class MixedSimilarity:
    """A weighted mean of pool similarities, e.g. tags and audio: a skip then pushes
    down tracks that share its tags *or* its sound."""

    def __init__(self, parts: Sequence[tuple[PairwiseSimilarity, float]]) -> None:
        total = sum(weight for _, weight in parts)
        if total <= 0:
            raise ValueError("similarity weights must sum to more than 0")
        self.parts = [(similarity, weight / total) for similarity, weight in parts]

    def pairwise(self, items: Sequence[int] | IntArray) -> FloatArray:
        result: FloatArray | None = None
        for similarity, weight in self.parts:
            part = np.float32(weight) * similarity.pairwise(items)
            result = part if result is None else result + part
        assert result is not None
        return result


@dataclass(frozen=True)
class AnchorPolicy:
    """Which tracks a similarity source scores against: the current one, then the last
    ``recent`` of the session, each weighing ``decay`` times the one after it."""

    recent: int = 2
    decay: float = 0.5


def anchors(context: Context, policy: AnchorPolicy) -> list[tuple[int, float]]:
    """(item, weight) pairs, most recent first."""
    found: list[tuple[int, float]] = []
    seen: set[int] = set()
    history = ([] if context.current is None else [context.current]) + list(
        reversed(context.session)
    )
    weight = 1.0
    for item in history:
        if item in seen:
            continue
        seen.add(item)
        found.append((item, weight))
        weight *= policy.decay
        if len(found) > policy.recent:
            break
    return found


_BLENDS_KEPT = 2  # the current blend and the one prepared for the next event


class AnchoredSource:
    """Similarity to the current track and the recent session, normalised to [0, 1]."""

    def __init__(self, name: str, rows: RowSimilarity, n_items: int, policy: AnchorPolicy) -> None:
        self.name = name
        self.rows = rows
        self.n_items = n_items
        self.policy = policy
        # The last blends, by their anchors: a like or a ban re-ranks with the same anchors,
        # and ``prepare`` computes the likely next one ahead of need.
        self._blends: OrderedDict[tuple[tuple[int, float], ...], FloatArray] = OrderedDict()

    def scores(self, context: Context) -> FloatArray:
        key = tuple(anchors(context, self.policy))
        blend = self._blends.get(key)
        if blend is not None:
            self._blends.move_to_end(key)
            return blend
        total = np.zeros(self.n_items, dtype=np.float32)
        weighted = np.empty(self.n_items, dtype=np.float32)  # one buffer for w x row
        weights = sum(weight for _, weight in key)
        for item, weight in key:
            # Rows are pure functions of their item (cached), so the blend is too.
            np.multiply(self.rows.similarities(item), np.float32(weight / weights), out=weighted)
            total += weighted
        total.setflags(write=False)
        self._blends[key] = total
        while len(self._blends) > _BLENDS_KEPT:
            self._blends.popitem(last=False)
        return total

    def prepare(self, context: Context) -> FloatArray:
        """Compute the blend for a likely next ``context`` ahead of need (when idle): the
        re-rank that then asks for it finds it made. Returns it (read-only)."""
        return self.scores(context)

    def forget(self) -> None:
        """Drop cached rows: call after the index changed (e.g. new audio vectors)."""
        self._blends.clear()
        clear = getattr(self.rows, "clear_cache", None)
        if clear is not None:
            clear()

    def warm(self, item: int) -> None:
        """Compute ``item``'s similarity row ahead of need (the likely next track), so the
        re-rank after the next event finds it cached."""
        self.rows.similarities(item)

    def best_anchor(self, item: int, context: Context) -> int | None:
        """The anchor that makes ``item`` score highest: the track a reason names."""
        best, best_score = None, 0.0
        for anchor, weight in anchors(context, self.policy):
            score = weight * float(self.rows.similarities(anchor)[item])
            if score > best_score:
                best, best_score = anchor, score
        return best


class ContentSource(AnchoredSource):
    """``content``: sounds like what is playing. Reason: "sounds like Title: mellow,
    jazzy, with female vocals" (the tags heard in both), else "sounds like Title: similar
    tempo and timbre"."""

    def __init__(
        self,
        index: DistanceIndex,
        n_items: int,
        policy: AnchorPolicy | None = None,
        to_similarity: Callable[[FloatArray], FloatArray] = proximity_to_similarity,
        heard: Sequence[Sequence[str]] | None = None,
    ) -> None:
        super().__init__(
            "content", ContentRows(index, n_items, to_similarity), n_items, policy or AnchorPolicy()
        )
        self.index = index
        self.heard = heard

    def reason(self, item: int, context: Context, describe: Describe) -> str:
        anchor = self.best_anchor(item, context)
        if anchor is None:
            return ""
        title = describe(anchor).title
        if self.heard is not None and max(anchor, item) < len(self.heard):
            from recommender.audio.tags import phrase

            theirs = set(self.heard[anchor])
            shared = [t for t in self.heard[item] if t in theirs]
            if shared:
                return f"sounds like {title}: {phrase(shared)}"
        what = self.index.explain(anchor, item)
        # Only a positive aspect makes the reason ("similar tempo and timbre"), never a
        # hedge such as "not much alike".
        if what.startswith(("similar", "somewhat similar")):
            return f"sounds like {title}: {what}"
        return f"sounds like {title}"


class MetadataSource(AnchoredSource):
    """``metadata``: shares artist, album, genre or tags with what is playing."""

    def __init__(self, index: MetadataIndex, policy: AnchorPolicy | None = None) -> None:
        super().__init__("metadata", index, index.n_items, policy or AnchorPolicy())
        self.index = index

    def reason(self, item: int, context: Context, describe: Describe) -> str:
        anchor = self.best_anchor(item, context)
        if anchor is None:
            return ""
        what = self.index.explain(anchor, item)
        label = describe(anchor)
        if what == "same album":
            return f"from the same album as {label.title}"
        if what == "same artist":
            return f"more from {label.artist}" if label.artist else f"same artist as {label.title}"
        if what.startswith("both "):
            return f"{what.removeprefix('both ')}, like {label.title}"
        if what.startswith("shared tags: "):
            return f"tagged like {label.title}: {what.removeprefix('shared tags: ')}"
        return f"similar tags to {label.title}"


@dataclass(frozen=True)
class TasteConfig:
    liked: float = 1.0  # a liked track itself
    liked_album: float = 0.8  # another track of an album the user liked a track of
    liked_artist: float = 0.6
    near_favourite: float = 0.6  # times the similarity to the closest favourite
    played: float = 0.7  # the most that play history alone gives (many completed plays)
    played_half: float = 3.0  # net listening weight at which ``played`` is half reached
    favourite_weight: float = 3.0  # net listening weight that makes a favourite
    neighbours_k: int = 50  # how many neighbours of each favourite count as "close"
    max_favourites: int = 200  # favourites whose neighbours are gathered on a rebuild


class TasteSource:
    """``taste``: the user's likes, plays and skips, and closeness to their favourites.

    It also holds what up-next's constraints need: bans, when each track last played,
    and which tracks the user knows (for the familiar <-> discover knob).
    """

    name = "taste"

    def __init__(
        self,
        n_items: int,
        *,
        artist_ids: IntArray | None = None,
        album_ids: IntArray | None = None,
        neighbours: Sequence[Neighbours] = (),
        config: TasteConfig | None = None,
        signal_config: signals.SignalConfig | None = None,
    ) -> None:
        self.n_items = n_items
        self.config = config or TasteConfig()
        self.signal_config = signal_config or signals.SignalConfig()
        self.artist_ids = _ids_or_none(artist_ids, n_items)
        self.album_ids = _ids_or_none(album_ids, n_items)
        self.neighbours = list(neighbours)
        self.net = np.zeros(n_items, dtype=np.float64)  # signed listening weight
        self.plays = np.zeros(n_items, dtype=np.int32)
        self.skips = np.zeros(n_items, dtype=np.int32)
        self.liked = np.zeros(n_items, dtype=bool)
        self.banned = np.zeros(n_items, dtype=bool)
        self.last_played = np.full(n_items, -np.inf, dtype=np.float64)
        self.near_favourite = np.zeros(n_items, dtype=np.float32)
        self._known = np.zeros(n_items, dtype=bool)
        self._albums = _Groups(self.album_ids)
        self._artists = _Groups(self.artist_ids)
        # Favourites (liked, or played through often) and their neighbours' similarities.
        self._favourites: dict[int, tuple[IntArray, FloatArray]] = {}
        # Kept up to date item by item: an event touches an album, an artist and a few
        # dozen neighbours, never the whole library.
        self._scores = np.zeros(n_items, dtype=np.float32)

    # -- learning ------------------------------------------------------------------

    def observe(self, event: api.Event) -> None:
        """Learn from one event in O(album + artist + neighbours), not O(library)."""
        weighted = signals.weigh(event, self.signal_config)
        item, kind = event.item, weighted.signal
        touched: list[IntArray] = [np.array([item], dtype=np.int64)]
        if kind in (signals.Signal.PLAY, signals.Signal.SKIP):
            self.net[item] += weighted.weight
            self.last_played[item] = max(self.last_played[item], event.ts)
            self._known[item] = True
            if kind is signals.Signal.PLAY:
                self.plays[item] += 1
            else:
                self.skips[item] += 1
        elif kind is signals.Signal.LIKE:
            # The latest rating wins: liking a banned track lifts the ban.
            self.banned[item] = False
            touched += self._set_liked(item, True)
            self._known[item] = True
        elif kind is signals.Signal.UNLIKE:
            # "Unlike" clears the user's rating, a ban included.
            touched += self._set_liked(item, False)
            self.banned[item] = False
        elif kind is signals.Signal.BAN:
            self.banned[item] = True
            touched += self._set_liked(item, False)
        else:
            return
        favourite = (self.liked[item] or self.net[item] >= self.config.favourite_weight) and (
            not self.banned[item]
        )
        if favourite:
            touched.append(self._add_favourite(item))
        elif item in self._favourites:
            touched.append(self._remove_favourite(item))
        self._update(np.concatenate(touched))

    def lift_ban(self, item: int) -> None:
        """The user took a dislike back: the track may be picked again."""
        if self.banned[item]:
            self.banned[item] = False
            self._update(np.array([item], dtype=np.int64))

    def _set_liked(self, item: int, liked: bool) -> list[IntArray]:
        if self.liked[item] == liked:
            return []
        self.liked[item] = liked
        step = 1 if liked else -1
        return [self._albums.add(item, step), self._artists.add(item, step)]

    def fit(self, log: signals.EventLog) -> None:
        """Rebuild from a whole events log (time order), vectorised."""
        codes, weights = signals.weigh_log(log, self.signal_config)
        code = signals.SIGNAL_CODES
        listen = (codes == code[signals.Signal.PLAY]) | (codes == code[signals.Signal.SKIP])
        items = log.item
        self.net[:] = np.bincount(items[listen], weights[listen], self.n_items)
        played = codes == code[signals.Signal.PLAY]
        self.plays[:] = np.bincount(items[played], minlength=self.n_items)
        self.skips[:] = np.bincount(items[listen & ~played], minlength=self.n_items)
        self.last_played[:] = -np.inf
        np.maximum.at(self.last_played, items[listen], log.ts[listen])
        like, unlike, ban = (
            code[signals.Signal.LIKE],
            code[signals.Signal.UNLIKE],
            code[signals.Signal.BAN],
        )
        rating = np.isin(codes, (like, unlike, ban))
        # The last rating event of each item decides its rating.
        rated_items, rated_codes = items[rating][::-1], codes[rating][::-1]
        last_items, first = np.unique(rated_items, return_index=True)
        last_codes = rated_codes[first]
        self.liked[:] = False
        self.banned[:] = False
        self.liked[last_items[last_codes == like]] = True
        self.banned[last_items[last_codes == ban]] = True
        self._known[:] = (self.plays > 0) | (self.skips > 0)
        self._known[items[codes == like]] = True
        self._albums.recount(self.liked)
        self._artists.recount(self.liked)
        self._refresh_favourites()
        self._update(np.arange(self.n_items))

    def _refresh_favourites(self) -> None:
        cfg = self.config
        self.near_favourite[:] = 0.0
        self._favourites.clear()
        by_weight = np.where(self.liked, np.inf, self.net)
        candidates = np.flatnonzero(
            (self.liked | (self.net >= cfg.favourite_weight)) & ~self.banned
        )
        strongest = candidates[np.argsort(-by_weight[candidates], kind="stable")]
        for item in strongest[: cfg.max_favourites]:
            self._add_favourite(int(item))

    def _add_favourite(self, item: int) -> IntArray:
        """Mark ``item``'s neighbours as close to a favourite; returns them."""
        if item in self._favourites:
            return _NO_ITEMS
        found = [
            (ids, sims)
            for find in self.neighbours
            for ids, sims in [find(item, self.config.neighbours_k)]
        ]
        ids = np.concatenate([_NO_ITEMS, *(ids for ids, _ in found)])
        sims = np.concatenate([_NO_SCORES, *(sims.astype(np.float32) for _, sims in found)])
        self._favourites[item] = (ids, sims)
        np.maximum.at(self.near_favourite, ids, sims)
        return ids

    def _remove_favourite(self, item: int) -> IntArray:
        """Forget a favourite: its neighbours keep only what other favourites give them."""
        ids, _ = self._favourites.pop(item)
        self.near_favourite[ids] = 0.0
        if self._favourites:
            all_ids = np.concatenate([i for i, _ in self._favourites.values()])
            all_sims = np.concatenate([s for _, s in self._favourites.values()])
            affected = np.isin(all_ids, ids)
            np.maximum.at(self.near_favourite, all_ids[affected], all_sims[affected])
        return ids

    # -- scoring -------------------------------------------------------------------

    def known(self) -> npt.NDArray[np.bool_]:
        """Tracks the user has heard or rated: "familiar" for the discover knob."""
        return self._known

    def scores(self, context: Context) -> FloatArray:
        return self._scores

    def _update(self, items: IntArray) -> None:
        score = self._components(items).max(axis=0)
        score[self.banned[items]] = 0.0
        self._scores[items] = score

    def _components(self, items: IntArray) -> FloatArray:
        """Rows: liked, liked album, liked artist, near a favourite, play history."""
        cfg = self.config
        parts = np.zeros((5, items.size), dtype=np.float32)
        parts[0] = cfg.liked * self.liked[items]
        parts[1] = cfg.liked_album * self._albums.flagged(items)
        parts[2] = cfg.liked_artist * self._artists.flagged(items)
        parts[3] = cfg.near_favourite * self.near_favourite[items]
        positive = np.maximum(self.net[items], 0.0)
        parts[4] = cfg.played * positive / (positive + cfg.played_half)
        return parts

    def _item_components(self, item: int) -> list[float]:
        """``_components`` of one item, as scalars (a reason asks for ten items at most):
        the same float32 values, without building arrays."""
        cfg = self.config
        positive = max(float(self.net[item]), 0.0)
        return [
            float(np.float32(cfg.liked * float(self.liked[item]))),
            float(np.float32(cfg.liked_album * float(self._albums.flagged_one(item)))),
            float(np.float32(cfg.liked_artist * float(self._artists.flagged_one(item)))),
            float(np.float32(cfg.near_favourite) * self.near_favourite[item]),
            float(np.float32(cfg.played * positive / (positive + cfg.played_half))),
        ]

    def reason(self, item: int, context: Context, describe: Describe) -> str:
        parts = self._item_components(item)
        which = max(range(len(parts)), key=parts.__getitem__)  # the first best, as argmax
        if parts[which] <= 0:
            return ""
        if which == 0:
            return "you liked this"
        if which == 1:
            return "you liked this album"
        if which == 2:
            artist = describe(item).artist
            return f"you like {artist}" if artist else "by an artist you like"
        if which == 3:
            if self._known[item]:
                return "close to your favourites"
            return "new to you, close to your favourites"
        if self.net[item] >= self.config.favourite_weight:
            return "one of your most played"
        return "you have enjoyed this before"


_NO_ITEMS: IntArray = np.empty(0, dtype=np.int64)
_NO_SCORES: FloatArray = np.empty(0, dtype=np.float32)


class _Groups:
    """Items grouped by album or artist (-1: none), with a count of liked items per
    group, so that a like finds its album-mates without scanning the library."""

    def __init__(self, group_of: IntArray) -> None:
        self.group_of = group_of
        n_groups = int(group_of.max(initial=-1)) + 1
        grouped = np.flatnonzero(group_of >= 0)
        self._members = grouped[np.argsort(group_of[grouped], kind="stable")]
        self._starts = np.searchsorted(group_of[self._members], np.arange(n_groups + 1))
        self.liked = np.zeros(n_groups, dtype=np.int32)

    def members(self, group: int) -> IntArray:
        if group < 0:
            return _NO_ITEMS
        result: IntArray = self._members[self._starts[group] : self._starts[group + 1]]
        return result

    def add(self, item: int, step: int) -> IntArray:
        """Count ``item``'s like (+1) or unlike (-1); returns its group's members."""
        group = int(self.group_of[item])
        if group < 0:
            return _NO_ITEMS
        self.liked[group] += step
        return self.members(group)

    def recount(self, liked: npt.NDArray[np.bool_]) -> None:
        grouped = liked & (self.group_of >= 0)
        self.liked[:] = np.bincount(self.group_of[grouped], minlength=self.liked.size)

    def flagged_one(self, item: int) -> bool:
        group = int(self.group_of[item])
        return group >= 0 and self.liked.size > 0 and bool(self.liked[group] > 0)

    def flagged(self, items: IntArray) -> npt.NDArray[np.bool_]:
        groups = self.group_of[items]
        if self.liked.size == 0:
            return np.zeros(items.size, dtype=bool)
        result: npt.NDArray[np.bool_] = (groups >= 0) & (self.liked[np.maximum(groups, 0)] > 0)
        return result


def _ids_or_none(ids: IntArray | None, n_items: int) -> IntArray:
    if ids is None:
        return np.full(n_items, -1, dtype=np.int64)
    array = np.asarray(ids, dtype=np.int64)
    if array.shape != (n_items,):
        raise ValueError(f"expected {n_items} ids, got shape {array.shape}")
    return array
