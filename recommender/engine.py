"""The whole engine in one object: everything the player needs to rank up-next.

``Engine.build`` composes the parts from plain arrays (the caller's catalogue, its event
log, optional audio vectors): item-item CF over the listening sessions, content and
metadata similarity, the user's taste (likes, skips, bans), the adaptive hybrid blend and
the up-next builder with its constraints and reasons. Dense item ids ``0..n-1``
throughout; the caller owns the mapping to tracks.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import numpy.typing as npt

from recommender import api
from recommender.api import Context, FloatArray, IntArray, Pick
from recommender.collab.cf import SessionCF
from recommender.collab.hybrid import CFSource, HybridScorer
from recommender.collab.signals import EventLog, SignalConfig
from recommender.content.metadata import MetadataIndex
from recommender.personal.source import PersonalSource
from recommender.ranking.feedback import AdaptiveWeights, cold_start_prior
from recommender.ranking.reasons import labels_from_arrays
from recommender.ranking.sources import (
    ContentSource,
    MetadataSource,
    MixedSimilarity,
    PairwiseSimilarity,
    TasteSource,
    VectorSimilarity,
)
from recommender.ranking.upnext import UpNext, UpNextConfig

# A cosine distance no real neighbour reaches: "no audio information" for the content
# source, so tracks without vectors fall back to tags and history (the cold-start ladder).
_NO_AUDIO_DISTANCE = 2.0


@dataclass(frozen=True)
class Catalog:
    """What the engine knows of each track, by dense id (None where unknown)."""

    titles: Sequence[str | None]
    artists: Sequence[str | None]
    albums: Sequence[str | None] | None = None
    genres: Sequence[str | None] | None = None
    years: Sequence[int | float | None] | None = None
    comments: Sequence[str | None] | None = None
    lyrics: Sequence[str | None] | None = None
    heard: Sequence[Sequence[str]] | None = None  # tags heard in the audio, likeliest first

    def __len__(self) -> int:
        return len(self.titles)


class SubsetContentIndex:
    """A content index over the analysed tracks, addressed by the engine's item ids.

    Tracks without an audio vector are at distance 2 from everything, so the content
    source simply has nothing to say about them.
    """

    def __init__(
        self,
        n_items: int,
        items: IntArray,
        vectors: npt.NDArray[np.float32],
        groups: Mapping[str, slice | IntArray] | None = None,
        fitted: Any = None,
    ) -> None:
        from recommender.content.index import ContentIndex

        self.n_items = n_items
        self.items = np.asarray(items, dtype=np.int64)
        self.row_of = np.full(n_items, -1, dtype=np.int64)
        self.row_of[self.items] = np.arange(self.items.size)
        layout = dict(groups) if groups else {"timbre": slice(0, vectors.shape[1])}
        # ``fitted``: an index the caller already fitted on ``vectors`` (e.g. cached).
        self.index = fitted if fitted is not None else ContentIndex.fit(vectors, layout)

    def distances(self, item: int) -> FloatArray:
        out = np.full(self.n_items, _NO_AUDIO_DISTANCE, dtype=np.float32)
        row = int(self.row_of[item]) if 0 <= item < self.n_items else -1
        if row >= 0:
            out[self.items] = self.index.distances(row)
        return out

    def embedding_by_item(self) -> npt.NDArray[np.float32]:
        """The index's scaled, weighted vectors by engine item (NaN rows: not analysed)."""
        embedding = np.asarray(self.index.embedding, dtype=np.float32)
        out = np.full((self.n_items, embedding.shape[1]), np.nan, dtype=np.float32)
        out[self.items] = embedding
        return out

    def explain(self, a: int, b: int) -> str:
        ra, rb = int(self.row_of[a]), int(self.row_of[b])
        if ra < 0 or rb < 0:
            return ""
        return str(self.index.explain(ra, rb))


class Engine:
    """Ranks up-next picks with reasons, and learns from every event."""

    def __init__(
        self,
        upnext: UpNext,
        cf: SessionCF,
        metadata: MetadataIndex,
        personal: PersonalSource | None = None,
    ) -> None:
        self.upnext = upnext
        self.cf = cf
        self.metadata = metadata
        self.personal = personal
        self._last_picks: list[Pick] = []  # the last ranking, for ``prefetch``

    @classmethod
    def build(
        cls,
        catalog: Catalog,
        log: EventLog,
        *,
        vector_items: IntArray | None = None,
        vectors: npt.NDArray[np.float32] | None = None,
        groups: Mapping[str, slice | IntArray] | None = None,
        bpm: FloatArray | None = None,
        energy: FloatArray | None = None,
        config: UpNextConfig | None = None,
        content_index: Any = None,
        personal_state: Mapping[str, npt.NDArray[np.float64]] | None = None,
        personal_background: bool = True,
        personal: PersonalSource | None = None,
        signals: SignalConfig | None = None,
    ) -> Engine:
        """``personal_state``: the personal model's saved state (see ``Engine.personal``);
        the personal model learns the log on a thread unless ``personal_background`` is
        False, and ranks as soon as it is done. ``personal``: the previous engine's model,
        kept as it is when the items are the same ones (it has learnt every event since),
        so a rebuild for new audio vectors replays nothing. ``signals``: the user's skip
        rule, which the personal model's replay of the log needs from the start."""
        n = len(catalog)
        metadata = MetadataIndex(
            artists=catalog.artists,
            albums=catalog.albums,
            genres=catalog.genres,
            years=catalog.years,
            comments=catalog.comments,
            lyrics=catalog.lyrics,
        )
        n_artists = int(metadata.artist_ids.max(initial=-1)) + 1
        n_albums = int(metadata.album_ids.max(initial=-1)) + 1
        log = _with_groups(log, metadata)
        cf = SessionCF.rebuild(log, n, n_artists=n_artists, n_albums=n_albums)
        taste = TasteSource(
            n,
            artist_ids=metadata.artist_ids,
            album_ids=metadata.album_ids,
            neighbours=[metadata.similar],
        )
        taste.fit(log)
        meta_source = MetadataSource(metadata)
        if personal is None or personal.n_items != n:
            personal = PersonalSource(n, signals=signals)
            personal.rebuild(
                log,
                dict(personal_state) if personal_state is not None else None,
                background=personal_background,
            )
        sources: list[api.ScoreSource] = [CFSource(cf), meta_source, taste, personal]
        explainers: list[object] = [personal, meta_source, taste]
        coverage = 0.0
        # A skip pushes down what shares its tags, and (once analysed) what sounds like it.
        similarity: PairwiseSimilarity = metadata
        if vectors is not None and vector_items is not None and len(vector_items) >= 2:
            index = SubsetContentIndex(n, vector_items, vectors, groups, content_index)
            content = ContentSource(index, n, heard=catalog.heard)
            sources.insert(1, content)
            explainers.insert(0, content)
            coverage = len(vector_items) / max(n, 1)
            similarity = MixedSimilarity(
                [(metadata, 0.5), (VectorSimilarity(index.embedding_by_item()), 0.5)]
            )
        prior = cold_start_prior(int(np.count_nonzero(log.kind == 0)), audio_coverage=coverage)
        # The personal model grows with the history like session CF, and leads once the
        # listener has one: it carries what a single long history teaches. Tuned on the
        # first 30 % of the dev logs (tests/benchmarks/tune_personal.py --app-weights:
        # session CF, tags, taste and personal as weighed here; no audio, no up-next
        # constraints), HR@10 / best baseline, geomean over the four: personal = 0 x CF
        # 1.066, 0.75 x 1.244, 1.5 x 1.306, 2.5 x 1.331, 4 x 1.350, 6 x 1.357, 8 x 1.365,
        # 12 x 1.368, 16 x 1.366, 100 x 1.360; 8 x, where the plateau starts.
        weights = {**prior, "personal": 8.0 * prior["cf"]}
        scorer = HybridScorer(n, sources=sources, weights=weights)
        scorer.last_played[:] = taste.last_played
        scorer.banned[:] = taste.banned
        upnext = UpNext(
            scorer,
            taste,
            describe=labels_from_arrays(catalog.titles, catalog.artists, catalog.albums),
            similarity=similarity,
            artist_ids=metadata.artist_ids,
            explainers=explainers,  # type: ignore[arg-type]
            neighbours=[metadata.similar],
            feedback=AdaptiveWeights(prior),
            followed_by=cf.pair_weight,
            bpm=bpm,
            energy=energy,
            config=config,
        )
        return cls(upnext, cf, metadata, personal)

    # -- learning ----------------------------------------------------------------------

    def observe(self, event: api.Event) -> None:
        if event.artist is None and 0 <= event.item < self.metadata.n_items:
            event = api.Event(
                item=event.item,
                ts=event.ts,
                kind=event.kind,
                session=event.session,
                position_s=event.position_s,
                duration_s=event.duration_s,
                artist=int(self.metadata.artist_ids[event.item]),
                album=int(self.metadata.album_ids[event.item]),
            )
        self.upnext.observe(event)

    def set_unavailable(self, items: IntArray) -> None:
        """Tracks that cannot be played (missing, or no audio): never picked."""
        self.upnext.unavailable[:] = False
        self.upnext.unavailable[np.asarray(items, dtype=np.int64)] = True

    def lift_ban(self, item: int) -> None:
        """The user took a dislike back: the track may be picked again."""
        self.upnext.taste.banned[item] = False
        banned = getattr(self.upnext.scorer, "banned", None)
        if banned is not None:
            banned[item] = False

    def steer(self, item: int, strength: float) -> None:
        """ "More like this" (> 0) or "less like this" (< 0) for the rest of the session."""
        self.upnext.steer(item, strength)

    def configure(
        self,
        *,
        skip_seconds: float | None = None,
        repeat_window_s: float | None = None,
        artist_spacing: int | None = None,
    ) -> None:
        """The user's listening settings: what counts as a skip, how long before a track
        may repeat, how many picks before an artist may play again."""
        upnext = self.upnext
        if repeat_window_s is not None or artist_spacing is not None:
            changes: dict[str, float | int] = {}
            if repeat_window_s is not None:
                changes["repeat_window_s"] = max(0.0, float(repeat_window_s))
            if artist_spacing is not None:
                changes["artist_spacing"] = max(0, int(artist_spacing))
            upnext.config = replace(upnext.config, **changes)  # type: ignore[arg-type]
        if skip_seconds is not None:
            signals = replace(upnext.taste.signal_config, skip_seconds=max(0.0, skip_seconds))
            upnext.taste.signal_config = signals
            self.cf.signals = signals
            if hasattr(upnext.scorer, "signals"):
                upnext.scorer.signals = signals
            if self.personal is not None:
                self.personal.signals = signals

    @property
    def discover(self) -> float:
        return self.upnext.discover

    @discover.setter
    def discover(self, value: float) -> None:
        self.upnext.discover = value

    # -- ranking -----------------------------------------------------------------------

    def recommend(
        self,
        context: Context,
        length: int,
        pinned: Mapping[int, int] | None = None,
        exclude: Sequence[int] = (),
    ) -> list[Pick]:
        """The next ``length`` picks after ``context.current`` (automatic ones only,
        unless ``pinned`` places user items), each with a reason."""
        if exclude:
            context = Context(
                current=context.current,
                session=context.session,
                queue=tuple(dict.fromkeys((*context.queue, *exclude))),
                now=context.now,
            )
        picks = self.upnext.build(context, pinned=pinned or {}, length=length)
        self._last_picks = picks
        return [p for p in picks if p.source != "user"]

    def prefetch(self) -> None:
        """Warm what the re-rank after the next event needs (the likely next track's
        similarity rows and blends). The caller runs it once the list is shown, while
        nothing waits on it: it is off the event path."""
        picks, self._last_picks = self._last_picks, []
        if picks:
            self.upnext.prefetch(picks)


def _with_groups(log: EventLog, metadata: MetadataIndex) -> EventLog:
    """Fill the log's artist and album ids from the catalogue where they are unknown."""
    if len(log) == 0:
        return log
    artist = np.where(log.artist >= 0, log.artist, metadata.artist_ids[log.item])
    album = np.where(log.album >= 0, log.album, metadata.album_ids[log.item])
    return EventLog(
        item=log.item,
        ts=log.ts,
        kind=log.kind,
        session=log.session,
        position_s=log.position_s,
        duration_s=log.duration_s,
        artist=artist.astype(np.int64),
        album=album.astype(np.int64),
    )
