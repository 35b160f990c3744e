"""The player's side of the recommender: from the library DB to engine arrays and back.

The engine works on dense item ids ``0..n-1``; this module owns the mapping to track ids,
reads the catalogue, the listening log and the audio vectors in a few bulk queries, and
turns the engine's picks into (track id, reason) pairs for the queue. It is the
``SessionRecommender`` the listening session uses, and what ``segue upnext`` asks.
"""

from __future__ import annotations

import contextlib
import ctypes
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from player.library import engine_data
from player.library import events as events_repo
from player.library.db import Database
from player.queue import AutoItem, FillRequest
from recommender import api
from recommender.collab.signals import EventLog
from recommender.engine import Catalog, Engine
from recommender.memory import release_freed_memory

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
# A library that grows while the session runs is taken in at most this often.
_REBUILD_EVERY_S = 20.0
# Cold start from tags: a play count or a rating some other player left in the file.
_TAG_PLAYS_CAP = 5
_TAG_LIKE_RATING = 0.8
_SAVE_EVERY = 100  # plays between saves of the personal model's learned state


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

    def present(self, track_ids: npt.NDArray[np.int64]) -> npt.NDArray[np.bool_]:
        """Which of these track ids the engine knows (vectorised)."""
        index = np.searchsorted(self.track_ids, track_ids)
        inside = index < self.track_ids.size
        found = np.zeros(track_ids.shape, dtype=bool)
        found[inside] = self.track_ids[index[inside]] == track_ids[inside]
        return found

    def items_of(self, track_ids: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
        """Dense items of known track ids (vectorised; see ``present``)."""
        return np.searchsorted(self.track_ids, track_ids).astype(np.int64)


# glibc's mallopt parameters: the size from which an allocation gets its own mmap, and
# how much free memory at the top of the heap is kept rather than handed back.
_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3
_BUILD_MMAP_THRESHOLD = 1 << 20
_STEADY_MMAP_THRESHOLD = 32 << 20  # glibc's own ceiling for its moving thresholds
_STEADY_TRIM_THRESHOLD = 64 << 20


def _mallopt(param: int, value: int) -> None:
    if not sys.platform.startswith("linux"):
        return
    with contextlib.suppress(OSError, AttributeError):  # not glibc (musl): nothing to do
        ctypes.CDLL("libc.so.6").mallopt(param, value)


@contextlib.contextmanager
def _big_arrays_returned_at_once() -> Iterator[None]:
    """While building, every allocation of 1 MiB or more (the log's per-event arrays)
    gets its own mapping, so freeing it returns it to the system at once; glibc would
    otherwise keep them in the heap. Measured at 100,000 tracks and 1M events: peak RSS
    404 -> 391 MB, steady 328 -> 280 MB.

    The setting is process-wide (other threads' big allocations are mapped too while
    the build runs) and glibc's thresholds stay fixed from then on, no longer adaptive:
    afterwards they are pinned at the ceilings glibc itself would reach (32 MiB mmap,
    64 MiB kept free at the heap's top), so big arrays come from the heap again. Left
    at 1 MiB, or with the trim threshold frozen at its 128 KB default, every re-rank
    paid page faults for its rows: ~0.6 ms a ranking."""
    _mallopt(_M_MMAP_THRESHOLD, _BUILD_MMAP_THRESHOLD)
    try:
        yield
    finally:
        _mallopt(_M_MMAP_THRESHOLD, _STEADY_MMAP_THRESHOLD)
        _mallopt(_M_TRIM_THRESHOLD, _STEADY_TRIM_THRESHOLD)


def _seconds(milliseconds: Sequence[int | None]) -> npt.NDArray[np.float64]:
    return np.fromiter(
        (np.nan if ms is None else ms / 1000.0 for ms in milliseconds),
        np.float64,
        len(milliseconds),
    )


class EngineHost:
    """Builds the engine from the DB and answers the listening session."""

    def __init__(self, db: Database, *, now: float | None = None, background: bool = True) -> None:
        from threadpoolctl import threadpool_limits

        # One BLAS thread: the engine's products are small, and on 2 cores a threaded
        # BLAS makes each re-rank 5-50x slower (measured in bench_upnext).
        threadpool_limits(limits=1, user_api="blas")
        self.db = db
        # The personal model learns the log on a thread (the app stays usable meanwhile);
        # a one-shot CLI command asks for it at once instead.
        self._background = background
        self._content_index: Any = None  # fitted by _load_vectors, cached beside the DB
        # What the user set on this engine, applied again to a rebuilt one.
        self._discover: float | None = None
        self._options: dict[str, Any] = {}
        self._steering: dict[int, float] = {}
        # Which personal model may save its state: a model of an earlier generation (its
        # log was wiped or replaced) never does. Saves and the bump hold the lock, so a
        # save in progress ends before the state file is deleted.
        self._generation = 0
        self._saving = threading.Lock()
        self._rebuild(now)

    def _rebuild(self, now: float | None = None, *, fresh: bool = False) -> None:
        started = time.monotonic()
        self._data_version = engine_data.data_version(self.db)
        self._signature = engine_data.catalog_signature(self.db)
        with _big_arrays_returned_at_once():
            self._build(now if now is not None else time.time(), fresh=fresh)
        release_freed_memory()
        self._built_at = time.monotonic()
        self._build_seconds = self._built_at - started
        if self._discover is not None:
            self.engine.discover = self._discover
        if self._options:
            self.configure(**self._options)
        for track_id, strength in self._steering.items():
            item = self.mapping.item(track_id)
            if item is not None:
                self.engine.steer(item, strength)

    def reset_history(self, *, forget_learned: bool = False) -> None:
        """The listening log was wiped or replaced under the engine (Settings ▸ Wipe, a
        history import): build it again from the log as it is now, so likes, bans, plays
        and what the personal model learned from the old log are gone or replaced.
        ``forget_learned``: also drop the personal model's saved state (learned from a log
        that no longer exists). What the user asked of this session ("more like this")
        and the settings stay."""
        # The old model stops, and can no longer save, before its saved state is deleted:
        # a replay ending meanwhile must not write back what the wipe deletes.
        self._retire_personal()
        if forget_learned:
            from player.personal_cache import forget_state

            forget_state(self.db.path)
        self._rebuild(fresh=True)

    def _retire_personal(self) -> None:
        """The current personal model is superseded: its replay stops and its saves are
        no-ops from now on."""
        engine: Engine | None = getattr(self, "engine", None)
        with self._saving:
            self._generation += 1
            if engine is not None and engine.personal is not None:
                engine.personal.cancel()

    def refresh(self, wanted: Sequence[int] = ()) -> bool:
        """Take in a library that changed since the build (a scan adding tracks while
        music plays, an analysis adding or upgrading audio vectors, tracks removed from
        the library). Rebuilt at once when a track the session asks about is unknown or
        tracks were removed, otherwise at most every ``_REBUILD_EVERY_S`` (and
        never more than a tenth of the time): a scan of thousands of files must not keep
        the session busy rebuilding. True when it rebuilt."""
        version = engine_data.data_version(self.db)
        if version == self._data_version:  # nobody else wrote: the usual case, ~0 ms
            return False
        signature = engine_data.catalog_signature(self.db)  # scans the tracks table
        if signature == self._signature:  # others wrote, but not to the catalogue
            self._data_version = version
            return False
        # The catalogue changed: _data_version stays behind until the rebuild, so a
        # rebuild put off below is asked about again at the next ranking.
        unknown = any(self.mapping.item(t) is None for t in wanted)
        # "Remove from library" is the user's own act, never a scan's stream of changes:
        # a removed track must not be picked again, so that rebuilds at once too.
        removed = signature[3] != self._signature[3]
        waited = time.monotonic() - self._built_at
        if not (unknown or removed) and waited < max(_REBUILD_EVERY_S, 10 * self._build_seconds):
            return False
        self._rebuild()
        return True

    def _build(self, now: float, *, fresh: bool = False) -> None:
        built: Mapping | None = getattr(self, "mapping", None)  # None at the first build
        old_engine: Engine | None = getattr(self, "engine", None)
        previous = built.track_ids if built is not None else None
        old_personal = old_engine.personal if old_engine is not None else None
        self.mapping, catalog, durations = self._load_catalog()
        # The same items (new audio vectors, say): the personal model carries over and
        # nothing is replayed. Other items, or a log that was replaced (``fresh``): the
        # old model's replay, if still running, stops, so rebuilds during a scan never
        # pile up replay threads.
        keep = (
            not fresh and previous is not None and np.array_equal(previous, self.mapping.track_ids)
        )
        if old_personal is not None and not keep:
            self._retire_personal()
        self.durations = durations
        log = self._load_log(now)
        vector_items, vectors, groups, bpm, energy = self._load_vectors()
        release_freed_memory()  # before the build allocates: keeps the peak down
        from player.personal_cache import load_state

        self.engine = Engine.build(
            catalog,
            log,
            vector_items=vector_items,
            vectors=vectors,
            groups=groups,
            bpm=bpm,
            energy=energy,
            content_index=self._content_index,
            personal_state=None if keep else load_state(self.db.path),
            personal_background=self._background,
            personal=old_personal if keep else None,
            signals=self._signals(),
        )
        self.engine.set_unavailable(np.flatnonzero(~self.mapping.playable))
        self._plays_since_save = 0
        self._factor_fits_saved = 0
        personal = self.engine.personal
        if personal is not None:
            generation = self._generation
            personal.on_ready = lambda: self._personal_ready(personal, generation)
            if personal.ready.is_set():
                self.save_personal()

    def _signals(self) -> Any:
        """The user's skip rule once configured (a rebuild's replay needs it from the start)."""
        from recommender.collab.signals import SignalConfig

        skip = self._options.get("skip_threshold_s")
        return None if skip is None else SignalConfig(skip_seconds=max(0.0, float(skip)))

    def _personal_ready(self, personal: Any, generation: int) -> None:
        """The personal model learned the log (on its thread): save what it learned, unless
        it was superseded meanwhile. (Its replay already handed the heap it churned
        through back: ``refit_factors_now``.)"""
        self._save(personal, generation)

    def save_personal(self) -> None:
        """Keep the personal model's learned state beside the DB (``library.personal.npz``)."""
        self._save(self.engine.personal, self._generation)

    def _save(self, personal: Any, generation: int) -> None:
        from player.personal_cache import save_state

        if personal is None or not personal.ready.is_set():
            return
        with self._saving:
            if generation != self._generation:
                return  # a superseded model: what it learned was wiped or replaced
            save_state(self.db.path, personal.state())

    # -- loading -----------------------------------------------------------------------

    def _load_catalog(self) -> tuple[Mapping, Catalog, npt.NDArray[np.float64]]:
        from recommender.audio.tags import heard_words, with_heard

        # Artists, albums and genres repeat across tracks: one string object for each
        # spelling, not one per track (the reasons keep titles, artists and albums).
        shared: dict[str, str] = {}

        def one(text: str | None) -> str | None:
            return None if text is None else shared.setdefault(text, text)

        no_words: list[str] = []  # shared by every track nothing was heard in (read only)
        ids: list[int] = []
        playable: list[bool] = []
        lengths: list[float] = []
        titles: list[str | None] = []
        artists: list[str | None] = []
        albums: list[str | None] = []
        genres: list[str | None] = []
        years: list[int | None] = []
        comments: list[str | None] = []
        lyrics: list[str | None] = []
        heard: list[list[str]] = []
        for (
            track_id,
            title,
            artist,
            albumartist,
            album,
            genre,
            year,
            comment,
            lyric,
            duration,
            missing,
            has_audio,
            removed,
            heard_tags,
        ) in engine_data.catalog_rows(self.db):
            ids.append(track_id)
            playable.append(bool(not missing and not removed and has_audio))
            lengths.append(duration if duration else np.nan)
            titles.append(title)
            artists.append(one(artist or albumartist))
            albums.append(one(f"{albumartist or artist or ''}\x1f{album}") if album else None)
            # What the network heard joins the file's genre: an untagged library still
            # gets text similarity, mix names and reasons.
            genres.append(one(with_heard(genre, heard_tags)))
            years.append(year)
            comments.append(comment)
            lyrics.append(lyric)
            heard.append(heard_words(heard_tags) if heard_tags else no_words)
        catalog = Catalog(
            titles=titles,
            artists=artists,
            albums=albums,
            genres=genres,
            years=years,
            comments=comments,
            lyrics=lyrics,
            heard=heard,
        )
        durations = np.array(lengths, dtype=np.float64)
        ids_array = np.array(ids, dtype=np.int64)
        return Mapping(ids_array, np.array(playable, dtype=bool)), catalog, durations

    def _load_log(self, now: float) -> EventLog:
        """The listening log as engine arrays, read in chunks straight into numpy (a
        million events never become a million Python objects), plus the history tags
        carry."""
        from recommender.collab.signals import KIND_CODES

        verdicts = events_repo.verdicts(self.db)
        liked = np.fromiter(verdicts["like"], np.int64, len(verdicts["like"]))
        disliked = np.fromiter(verdicts["dislike"], np.int64, len(verdicts["dislike"]))
        kind_code = {kind: KIND_CODES[engine_kind] for kind, engine_kind in _KIND.items()}
        like_code, dislike_code = kind_code["like"], kind_code["dislike"]
        sessions: dict[str | None, int] = {None: -1, "": -1}
        chunks: list[tuple[npt.NDArray[np.generic], ...]] = [self._tag_history()]
        for rows in engine_data.event_chunks(self.db):
            track_id, when, kind, position, duration, session = zip(*rows, strict=True)
            tracks = np.asarray(track_id, dtype=np.int64)
            codes = np.fromiter((kind_code.get(k, -1) for k in kind), np.int8, len(rows))
            keep = (codes >= 0) & self.mapping.present(tracks)
            # Replay only the verdicts that still hold (an undone like or ban is gone).
            keep &= (codes != like_code) | np.isin(tracks, liked)
            keep &= (codes != dislike_code) | np.isin(tracks, disliked)
            chunks.append(
                (
                    self.mapping.items_of(tracks[keep]),
                    np.asarray(when, dtype=np.float64)[keep],
                    codes[keep],
                    np.fromiter(
                        (sessions.setdefault(s, len(sessions)) for s in session),
                        np.int64,
                        len(rows),
                    )[keep],
                    _seconds(position)[keep],
                    _seconds(duration)[keep],
                )
            )
        # One column at a time, each column's chunks dropped once joined: the log is never
        # held twice over (the build's peak).
        parts = [list(column) for column in zip(*chunks, strict=True)]
        del chunks
        columns: list[npt.NDArray[np.generic]] = []
        for pieces in parts:
            columns.append(np.concatenate(pieces))
            pieces.clear()
        stamps = np.asarray(columns[1], dtype=np.float64)
        if stamps.size > 1 and not bool(np.all(stamps[1:] >= stamps[:-1])):
            # Tag history (dated before its track was added) falls among the log's events.
            # The log itself comes in time order, so usually nothing moves and nothing is
            # copied.
            order = np.argsort(stamps, kind="stable")
            for i, column in enumerate(columns):
                columns[i] = column[order]
            del order
        del stamps
        item, ts, kind_codes, session_codes, position_s, duration_s = columns
        del columns
        n = int(item.size)
        return EventLog(
            item=item.astype(np.int64, copy=False),
            ts=ts.astype(np.float64, copy=False),
            kind=kind_codes.astype(np.int8, copy=False),
            session=session_codes.astype(np.int64, copy=False),
            position_s=position_s.astype(np.float64, copy=False),
            duration_s=duration_s.astype(np.float64, copy=False),
            artist=np.full(n, -1, dtype=np.int64),
            album=np.full(n, -1, dtype=np.int64),
        )

    def _tag_history(self) -> tuple[npt.NDArray[np.generic], ...]:
        """Play counts and ratings found in tags (POPM, FMPS, RATING) as listens and likes
        dated just before the track was added, so a library arrives with its history."""
        from recommender.collab.signals import KIND_CODES

        items: list[int] = []
        ts: list[float] = []
        kinds: list[int] = []
        lengths: list[float] = []
        for track_id, count, rating, added, duration in engine_data.tag_history(
            self.db, _TAG_LIKE_RATING
        ):
            item = self.mapping.item(track_id)
            if item is None:
                continue
            length = float(duration) if duration else np.nan
            for k in range(min(int(count or 0), _TAG_PLAYS_CAP)):
                items.append(item)
                ts.append(float(added) - 3600.0 * (k + 1))
                kinds.append(KIND_CODES[api.PLAY])
                lengths.append(length)
            if rating is not None and rating >= _TAG_LIKE_RATING:
                items.append(item)
                ts.append(float(added) - 1.0)
                kinds.append(KIND_CODES[api.LIKE])
                lengths.append(np.nan)
        n = len(items)
        played = np.asarray(lengths, dtype=np.float64)
        return (
            np.asarray(items, dtype=np.int64),
            np.asarray(ts, dtype=np.float64),
            np.asarray(kinds, dtype=np.int8),
            np.full(n, -1, dtype=np.int64),
            played,
            played.copy(),
        )

    def _load_vectors(
        self,
    ) -> tuple[
        npt.NDArray[np.int64] | None,
        npt.NDArray[np.float32] | None,
        dict[str, npt.NDArray[np.int64]] | None,
        npt.NDArray[np.float32] | None,
        npt.NDArray[np.float32] | None,
    ]:
        if not engine_data.has_features(self.db):
            return None, None, None, None, None
        from player.library.features import FeatureStore
        from recommender.audio.features import N_INDEXED_FEATURES, layout_groups

        serving = FeatureStore(self.db).serving(N_INDEXED_FEATURES)
        if serving.track_ids.size == 0:
            return None, None, None, None, None
        keep = [(i, self.mapping.item(int(t))) for i, t in enumerate(serving.track_ids)]
        rows = np.array([i for i, item in keep if item is not None], dtype=np.int64)
        items = np.array([item for _, item in keep if item is not None], dtype=np.int64)
        vectors = serving.vectors[rows]
        groups = layout_groups(vectors.shape[1])
        if groups is not None and rows.size >= 2:
            from player.content_cache import fitted_index

            self._content_index = fitted_index(
                self.db.path, serving.track_ids[rows], serving.versions[rows], vectors, groups
            )
        n = self.mapping.track_ids.size
        bpm = np.full(n, np.nan, dtype=np.float32)
        energy = np.full(n, np.nan, dtype=np.float32)
        for track_id, tempo, level in engine_data.tempo_and_energy(self.db):
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
        self.refresh([t for t in (current, *history[-1:]) if t is not None])
        context = self._context(current, history, queued, now if now is not None else time.time())
        picks = self.engine.recommend(context, count, exclude=self.mapping.items(exclude))
        return [(int(self.mapping.track_ids[p.item]), p.reason) for p in picks]

    def fill(self, request: FillRequest) -> list[AutoItem]:
        return self.recommend(
            request.current,
            request.history,
            request.queued,
            sorted(request.exclude),
            request.count,
        )

    def warm(self) -> None:
        """Prepare the next re-rank (see ``Engine.prefetch``); the session runs it after
        publishing the list it just ranked."""
        self.engine.prefetch()

    def observe(self, event: events_repo.NewEvent) -> None:
        item = self.mapping.item(event.track_id)
        if item is not None and event.kind == "undislike":
            self.engine.lift_ban(item)
            return
        kind = _KIND.get(event.kind)
        if item is None or kind is None:
            return
        if kind in (api.PLAY, api.SKIP):
            self._plays_since_save += 1
            if self._plays_since_save >= _SAVE_EVERY:
                self._plays_since_save = 0
                self.save_personal()
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
        self._save_after_refresh()

    def _save_after_refresh(self) -> None:
        """The personal model refits its factors every few hundred plays on a thread; once
        a fit is swapped in (on this thread, at a play), its learned state is saved."""
        personal = self.engine.personal
        if personal is None or not personal.ready.is_set():
            return
        fits = personal.model.refresh.fits
        if fits != self._factor_fits_saved:
            self._factor_fits_saved = fits
            self.save_personal()

    def steer(self, track_id: int, strength: float) -> None:
        self._steering[track_id] = self._steering.get(track_id, 0.0) + strength
        item = self.mapping.item(track_id)
        if item is not None:
            self.engine.steer(item, strength)

    def set_discover(self, value: float) -> None:
        self._discover = value
        self.engine.discover = value

    def configure(
        self,
        *,
        skip_threshold_s: float | None = None,
        repeat_window_s: float | None = None,
        artist_spacing: int | None = None,
    ) -> None:
        given = {
            "skip_threshold_s": skip_threshold_s,
            "repeat_window_s": repeat_window_s,
            "artist_spacing": artist_spacing,
        }
        self._options.update({k: v for k, v in given.items() if v is not None})
        self.engine.configure(
            skip_seconds=skip_threshold_s,
            repeat_window_s=repeat_window_s,
            artist_spacing=artist_spacing,
        )
