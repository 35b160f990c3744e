"""All automatic playlists of a library, built together over one joint embedding.

The caller (the player) hands in a :class:`LibraryState`: dense item ids ``0..n-1`` with
their artist/album ids, genre text, years, optional audio vectors and scalars, and the
events log. :class:`PlaylistEngine` fits the embedding once and builds every playlist from
it; :meth:`PlaylistEngine.add_items` takes new tracks in without refitting (their
embedding rows come from the stored transforms, they join the nearest mix).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from recommender.api import FloatArray, IntArray
from recommender.collab.signals import EventLog
from recommender.playlists.base import Playlist
from recommender.playlists.discover import DiscoverConfig, discover
from recommender.playlists.embedding import EmbeddingConfig, JointEmbedding
from recommender.playlists.forgotten import ForgottenConfig, forgotten_favourites
from recommender.playlists.mixes import (
    Clustering,
    MixConfig,
    carry_names,
    cluster,
    cluster_phrases,
    mix_playlists,
    name_clusters,
)
from recommender.playlists.mood import MoodConfig, energy_scores, mood_playlists
from recommender.playlists.order import listening_order
from recommender.playlists.profile import ListeningProfile, ProfileConfig
from recommender.playlists.radio import RadioConfig, radio
from recommender.ranking.reasons import Describe, TrackLabel


def _nan(n: int) -> FloatArray:
    return np.full(n, np.nan, dtype=np.float32)


@dataclass
class LibraryState:
    n_items: int
    artist_ids: IntArray  # -1: unknown
    album_ids: IntArray
    genres: list[str | None]
    log: EventLog
    now: float
    describe: Describe
    years: FloatArray | None = None
    content_items: IntArray | None = None  # items with an audio vector
    content_vectors: FloatArray | None = None
    bpm: FloatArray | None = None
    energy: FloatArray | None = None
    acousticness: FloatArray | None = None
    available: npt.NDArray[np.bool_] | None = None  # playable (not missing); default all


@dataclass(frozen=True)
class PlaylistsConfig:
    embedding: EmbeddingConfig = field(default_factory=EmbeddingConfig)
    profile: ProfileConfig = field(default_factory=ProfileConfig)
    discover: DiscoverConfig = field(default_factory=DiscoverConfig)
    forgotten: ForgottenConfig = field(default_factory=ForgottenConfig)
    mixes: MixConfig = field(default_factory=MixConfig)
    mood: MoodConfig = field(default_factory=MoodConfig)
    radio: RadioConfig = field(default_factory=RadioConfig)
    ordered: bool = True


class PlaylistEngine:
    def __init__(
        self,
        state: LibraryState,
        config: PlaylistsConfig | None = None,
        previous_mixes: tuple[IntArray, Sequence[str]] | None = None,
    ) -> None:
        """``previous_mixes``: the last build's mix label per item (aligned with this
        state's items, -1 where unknown) and the mix names, so names carry over."""
        self.state = state
        self.config = cfg = config or PlaylistsConfig()
        n = state.n_items
        self.available = (
            np.ones(n, dtype=bool) if state.available is None else state.available.copy()
        )
        self.profile = ListeningProfile.from_log(state.log, n, state.now, cfg.profile)
        self.embedding = JointEmbedding.fit(
            n,
            content_items=state.content_items,
            content_vectors=state.content_vectors,
            log=state.log,
            genres=state.genres,
            config=cfg.embedding,
        )
        self.energy, self.from_sound = energy_scores(
            state.genres, state.energy, state.bpm, state.acousticness
        )
        self.clustering = cluster(self.embedding.vectors, cfg.mixes)
        names = name_clusters(
            self.clustering.labels, self.clustering.k, state.genres, state.years, self.energy
        )
        if previous_mixes is not None:
            names = carry_names(self.clustering.labels, names, *previous_mixes)
        self.mix_names = names
        self.mix_phrases = cluster_phrases(
            self.clustering.labels, self.clustering.k, state.genres, state.years, self.energy
        )

    # -- growing -------------------------------------------------------------------

    def add_items(
        self,
        artist_ids: IntArray,
        album_ids: IntArray,
        genres: Sequence[str | None],
        describe: Describe,
        years: FloatArray | None = None,
        content_rows: IntArray | None = None,
        content_vectors: FloatArray | None = None,
    ) -> IntArray:
        """Append new tracks (no history yet) without refitting; returns their ids."""
        s = self.state
        m = len(genres)
        start = s.n_items
        rows = self.embedding.embed_new(genres, content_rows, content_vectors)
        self.embedding.extend(rows)
        s.n_items += m
        s.artist_ids = np.concatenate([s.artist_ids, np.asarray(artist_ids, np.int64)])
        s.album_ids = np.concatenate([s.album_ids, np.asarray(album_ids, np.int64)])
        s.genres = [*s.genres, *genres]
        s.describe = describe
        if s.years is not None:
            s.years = np.concatenate([s.years, _nan(m) if years is None else years])
        for name in ("bpm", "energy", "acousticness"):
            values = getattr(s, name)
            if values is not None:
                setattr(s, name, np.concatenate([values, _nan(m)]))
        self.available = np.concatenate([self.available, np.ones(m, dtype=bool)])
        self.profile.grow(s.n_items)
        energy, from_sound = energy_scores(genres)
        self.energy = np.concatenate([self.energy, energy])
        self.from_sound = np.concatenate([self.from_sound, from_sound])
        self.clustering = Clustering(
            np.concatenate([self.clustering.labels, self.clustering.assign(rows)]),
            self.clustering.centroids,
        )
        return np.arange(start, s.n_items, dtype=np.int64)

    # -- playlists -----------------------------------------------------------------

    def _ordered(self, playlist: Playlist, first: int | None = None) -> Playlist:
        if not self.config.ordered or len(playlist) <= 2:
            return playlist
        order = listening_order(
            playlist.items,
            self.embedding.vectors,
            self.state.artist_ids,
            bpm=self.state.bpm,
            energy=self.state.energy,
            first=first,
        )
        position = {int(item): i for i, item in enumerate(playlist.items.tolist())}
        picks = [position[int(item)] for item in order.tolist()]
        playlist.items = order
        playlist.reasons = [playlist.reasons[i] for i in picks]
        playlist.scores = playlist.scores[picks]
        return playlist

    def discover(self) -> Playlist:
        s = self.state
        found = discover(
            self.profile,
            self.embedding.vectors,
            s.artist_ids,
            self.available,
            s.describe,
            self.config.discover,
            regions=self.clustering.labels,
            region_names=self.mix_phrases,
        )
        return self._ordered(found)

    def forgotten(self) -> Playlist:
        return self._ordered(
            forgotten_favourites(self.profile, self.available, self.config.forgotten)
        )

    def mixes(self) -> list[Playlist]:
        found = mix_playlists(
            self.clustering,
            self.mix_names,
            self.embedding.vectors,
            self.profile.affinity,
            self.available,
            self.config.mixes,
            phrases=self.mix_phrases,
        )
        return [self._ordered(p) for p in found]

    def moods(self) -> list[Playlist]:
        found = mood_playlists(
            self.energy,
            self.from_sound,
            self.profile.affinity,
            self.available,
            self.config.mood,
            genres=self.state.genres,
        )
        return [self._ordered(p) for p in found]

    def radio(
        self, seeds: Sequence[int] | IntArray, label: str, key: str, length: int | None = None
    ) -> Playlist:
        """Radio from one track (it plays first) or from an artist's or album's tracks."""
        seeds = np.asarray(seeds, dtype=np.int64)
        if seeds.size == 0:
            raise ValueError("a radio needs at least one seed track")
        allowed = self.available & ~self.profile.banned
        one_track = seeds.size == 1
        cfg = self.config.radio
        if length is not None:
            cfg = RadioConfig(length=length, artist_share=cfg.artist_share)
        found = radio(
            seeds,
            label,
            key,
            self.embedding,
            self.state.artist_ids,
            allowed,
            RadioConfig(length=cfg.length - 1, artist_share=cfg.artist_share) if one_track else cfg,
            include_seeds=not one_track,
        )
        if one_track:
            seed = int(seeds[0])
            found.items = np.concatenate([[seed], found.items]).astype(np.int64)
            found.reasons = ["the seed", *found.reasons]
            found.scores = np.concatenate([[np.float32(1.0)], found.scores]).astype(np.float32)
            return self._ordered(found, first=seed)
        return self._ordered(found)

    def filter_mood(self, playlist: Playlist, mood: str) -> Playlist:
        """Keep the tracks of one end of the calm <-> energetic scale ("calm": the lower
        ``filter_band``, "energetic": the upper), in the playlist's order; tracks whose
        energy is unknown (no analysis, no telling genre) are left out."""
        band = self.config.mood.filter_band
        energy = self.energy[playlist.items]
        if mood == "calm":
            keep = energy <= band
        elif mood == "energetic":
            keep = energy >= 1.0 - band
        else:
            raise ValueError(f"unknown mood {mood!r} (calm or energetic)")
        keep &= np.isfinite(energy)
        rows = np.flatnonzero(keep)
        return Playlist(
            key=f"{playlist.key}+{mood}",
            name=f"{playlist.name} ({mood})",
            kind=playlist.kind,
            how=f"{playlist.how}, {mood} tracks only",
            items=playlist.items[rows],
            reasons=[playlist.reasons[i] for i in rows.tolist()],
            scores=playlist.scores[rows] if playlist.scores.size else playlist.scores,
        )

    def build_all(self) -> list[Playlist]:
        """Discover, Forgotten favourites, the mixes, Calm and Energetic."""
        return [self.discover(), self.forgotten(), *self.mixes(), *self.moods()]


def describe_nothing(item: int) -> TrackLabel:
    return TrackLabel(title=f"track {item}")
