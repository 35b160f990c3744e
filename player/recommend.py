"""The player's side of the recommender: from the library DB to engine arrays and back.

The engine works on dense item ids ``0..n-1``; this module owns the mapping to track ids,
reads the catalogue, the listening log and the audio vectors in a few bulk queries, and
turns the engine's picks into (track id, reason) pairs for the queue. It is the
``SessionRecommender`` the listening session uses, and what ``segue upnext`` asks.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from player.library import events as events_repo
from player.library.db import Database
from player.queue import AutoItem, FillRequest
from recommender import api
from recommender.engine import Catalog, Engine
from recommender.signals import EventLog

# How the player's logged kinds reach the engine. A stop is a partial listen (the
# engine weighs it by how much was heard); a failure says nothing about taste.
_KIND = {
    "play": api.PLAY,
    "stop": api.PLAY,
    "skip": api.SKIP,
    "like": api.LIKE,
    "unlike": api.UNLIKE,
    "dislike": api.DISLIKE,
}
# Cold start from tags: a play count or a rating some other player left in the file.
_TAG_PLAYS_CAP = 5
_TAG_LIKE_RATING = 0.8


@dataclass(frozen=True)
class Mapping:
    track_ids: npt.NDArray[np.int64]  # dense item -> track id
    playable: npt.NDArray[np.bool_]  # present on disk and holding audio

    def item(self, track_id: int) -> int | None:
        index = int(np.searchsorted(self.track_ids, track_id))
        if index < self.track_ids.size and self.track_ids[index] == track_id:
            return index
        return None

    def items(self, track_ids: Sequence[int]) -> list[int]:
        return [i for i in (self.item(t) for t in track_ids) if i is not None]


def _session_code(text: str | None) -> int:
    if not text:
        return -1
    return int.from_bytes(hashlib.blake2b(text.encode(), digest_size=7).digest(), "big")


class EngineHost:
    """Builds the engine from the DB and answers the listening session."""

    def __init__(self, db: Database, *, now: float | None = None) -> None:
        from threadpoolctl import threadpool_limits

        # One BLAS thread: the engine's products are small, and on 2 cores a threaded
        # BLAS makes each re-rank 5-50x slower (measured in bench_upnext).
        threadpool_limits(limits=1, user_api="blas")
        self.db = db
        self.mapping, catalog, durations = self._load_catalog()
        self.durations = durations
        log = self._load_log(now if now is not None else time.time())
        vector_items, vectors, groups, bpm, energy = self._load_vectors()
        self.engine = Engine.build(
            catalog,
            log,
            vector_items=vector_items,
            vectors=vectors,
            groups=groups,
            bpm=bpm,
            energy=energy,
        )
        self._unplayable = np.flatnonzero(~self.mapping.playable)

    # -- loading -----------------------------------------------------------------------

    def _load_catalog(self) -> tuple[Mapping, Catalog, npt.NDArray[np.float64]]:
        rows = self.db.query(
            "SELECT id, title, artist, albumartist, album, genre, year, comment, lyrics, "
            "duration, missing, has_audio FROM tracks ORDER BY id"
        )
        ids = np.array([r["id"] for r in rows], dtype=np.int64)
        playable = np.array([not r["missing"] and r["has_audio"] for r in rows], dtype=bool)
        catalog = Catalog(
            titles=[r["title"] for r in rows],
            artists=[r["artist"] or r["albumartist"] for r in rows],
            albums=[
                f"{r['albumartist'] or r['artist'] or ''}\x1f{r['album']}" if r["album"] else None
                for r in rows
            ],
            genres=[r["genre"] for r in rows],
            years=[r["year"] for r in rows],
            comments=[r["comment"] for r in rows],
            lyrics=[r["lyrics"] for r in rows],
        )
        durations = np.array(
            [r["duration"] if r["duration"] else np.nan for r in rows], dtype=np.float64
        )
        return Mapping(ids, playable), catalog, durations

    def _load_log(self, now: float) -> EventLog:
        verdicts = events_repo.verdicts(self.db)
        item_of = {int(t): i for i, t in enumerate(self.mapping.track_ids)}
        items: list[int] = []
        ts: list[float] = []
        kinds: list[int] = []
        sessions: list[int] = []
        positions: list[float] = []
        durations: list[float] = []
        from recommender.signals import KIND_CODES

        for row in self.db.conn.execute(
            "SELECT track_id, ts, kind, position_ms, duration_ms, session_id FROM events "
            "WHERE track_id IS NOT NULL ORDER BY ts, id"
        ):
            track_id, when, kind, position_ms, duration_ms, session_id = row
            item = item_of.get(track_id)
            engine_kind = _KIND.get(kind)
            if item is None or engine_kind is None:
                continue
            # Replay only the verdicts that still hold (an undone like or ban is gone).
            if kind == "like" and track_id not in verdicts["like"]:
                continue
            if kind == "dislike" and track_id not in verdicts["dislike"]:
                continue
            items.append(item)
            ts.append(float(when))
            kinds.append(KIND_CODES[engine_kind])
            sessions.append(_session_code(session_id))
            positions.append(position_ms / 1000.0 if position_ms is not None else np.nan)
            durations.append(duration_ms / 1000.0 if duration_ms is not None else np.nan)
        self._add_tag_history(items, ts, kinds, sessions, positions, durations, item_of)
        order = np.argsort(np.asarray(ts, dtype=np.float64), kind="stable")
        n = len(items)

        def arr(values: list[float] | list[int], dtype: type) -> npt.NDArray[np.generic]:
            return np.asarray(values, dtype=dtype)[order] if n else np.zeros(0, dtype=dtype)

        return EventLog(
            item=arr(items, np.int64),  # type: ignore[arg-type]
            ts=arr(ts, np.float64),  # type: ignore[arg-type]
            kind=arr(kinds, np.int8),  # type: ignore[arg-type]
            session=arr(sessions, np.int64),  # type: ignore[arg-type]
            position_s=arr(positions, np.float64),  # type: ignore[arg-type]
            duration_s=arr(durations, np.float64),  # type: ignore[arg-type]
            artist=np.full(n, -1, dtype=np.int64),
            album=np.full(n, -1, dtype=np.int64),
        )

    def _add_tag_history(
        self,
        items: list[int],
        ts: list[float],
        kinds: list[int],
        sessions: list[int],
        positions: list[float],
        durations: list[float],
        item_of: dict[int, int],
    ) -> None:
        """Play counts and ratings found in tags (POPM, FMPS, RATING) as listens and likes
        dated when the track was added, so a library arrives with its history."""
        from recommender.signals import KIND_CODES

        for track_id, count, rating, added, duration in self.db.conn.execute(
            "SELECT id, tag_playcount, tag_rating, added_at, duration FROM tracks "
            "WHERE tag_playcount > 0 OR tag_rating >= ?",
            (_TAG_LIKE_RATING,),
        ):
            item = item_of.get(track_id)
            if item is None:
                continue
            length = float(duration) if duration else np.nan
            for k in range(min(int(count or 0), _TAG_PLAYS_CAP)):
                items.append(item)
                ts.append(float(added) - 3600.0 * (k + 1))
                kinds.append(KIND_CODES[api.PLAY])
                sessions.append(-1)
                positions.append(length)
                durations.append(length)
            if rating is not None and rating >= _TAG_LIKE_RATING:
                items.append(item)
                ts.append(float(added) - 1.0)
                kinds.append(KIND_CODES[api.LIKE])
                sessions.append(-1)
                positions.append(np.nan)
                durations.append(np.nan)

    def _load_vectors(
        self,
    ) -> tuple[
        npt.NDArray[np.int64] | None,
        npt.NDArray[np.float32] | None,
        dict[str, npt.NDArray[np.int64]] | None,
        npt.NDArray[np.float32] | None,
        npt.NDArray[np.float32] | None,
    ]:
        if not self.db.db["track_features"].exists():
            return None, None, None, None, None
        from player.library.features import FeatureStore
        from recommender.audio.features import FEATURE_GROUPS, FEATURE_NAMES

        serving = FeatureStore(self.db).serving(len(FEATURE_NAMES))
        if serving.track_ids.size == 0:
            return None, None, None, None, None
        keep = [(i, self.mapping.item(int(t))) for i, t in enumerate(serving.track_ids)]
        rows = np.array([i for i, item in keep if item is not None], dtype=np.int64)
        items = np.array([item for _, item in keep if item is not None], dtype=np.int64)
        vectors = serving.vectors[rows]
        groups = FEATURE_GROUPS if vectors.shape[1] == len(FEATURE_NAMES) else None
        n = self.mapping.track_ids.size
        bpm = np.full(n, np.nan, dtype=np.float32)
        energy = np.full(n, np.nan, dtype=np.float32)
        for track_id, tempo, level in self.db.conn.execute(
            "SELECT track_id, bpm, energy FROM track_features"
        ):
            item = self.mapping.item(track_id)
            if item is not None:
                bpm[item] = tempo if tempo is not None else np.nan
                energy[item] = level if level is not None else np.nan
        return items, vectors, groups, bpm, energy

    # -- the session's interface -------------------------------------------------------

    def _context(
        self, current: int | None, history: Sequence[int], queued: Sequence[int], now: float
    ) -> api.Context:
        item = self.mapping.item(current) if current is not None else None
        return api.Context(
            current=item,
            session=tuple(self.mapping.items(history)),
            queue=tuple(self.mapping.items(queued)),
            now=now,
        )

    def recommend(
        self,
        current: int | None,
        history: Sequence[int] = (),
        queued: Sequence[int] = (),
        exclude: Sequence[int] = (),
        count: int = 10,
        now: float | None = None,
    ) -> list[tuple[int, str]]:
        """The next ``count`` tracks after ``current``, as (track id, reason)."""
        context = self._context(current, history, queued, now if now is not None else time.time())
        blocked = [*self.mapping.items(exclude), *self._unplayable.tolist()]
        picks = self.engine.recommend(context, count, exclude=blocked)
        return [(int(self.mapping.track_ids[p.item]), p.reason) for p in picks]

    def fill(self, request: FillRequest) -> list[AutoItem]:
        return self.recommend(
            request.current,
            request.history,
            request.queued,
            sorted(request.exclude),
            request.count,
        )

    def observe(self, event: events_repo.NewEvent) -> None:
        item = self.mapping.item(event.track_id)
        if item is not None and event.kind == "undislike":
            self.engine.lift_ban(item)
            return
        kind = _KIND.get(event.kind)
        if item is None or kind is None:
            return
        self.engine.observe(
            api.Event(
                item=item,
                ts=event.ts if event.ts is not None else time.time(),
                kind=kind,
                session=event.session_id,
                position_s=event.position_ms / 1000.0 if event.position_ms is not None else None,
                duration_s=event.duration_ms / 1000.0 if event.duration_ms is not None else None,
            )
        )

    def steer(self, track_id: int, strength: float) -> None:
        item = self.mapping.item(track_id)
        if item is not None:
            self.engine.steer(item, strength)

    def set_discover(self, value: float) -> None:
        self.engine.discover = value

    def configure(
        self,
        *,
        skip_threshold_s: float | None = None,
        repeat_window_s: float | None = None,
        artist_spacing: int | None = None,
    ) -> None:
        self.engine.configure(
            skip_seconds=skip_threshold_s,
            repeat_window_s=repeat_window_s,
            artist_spacing=artist_spacing,
        )
