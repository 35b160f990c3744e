"""Automatic playlists: seed radio, Discover, Forgotten favourites, mixes, calm and
energetic, each in listening order with a reason per track. See :mod:`.engine`."""

from recommender.playlists.base import Playlist
from recommender.playlists.engine import LibraryState, PlaylistEngine, PlaylistsConfig

__all__ = ["LibraryState", "Playlist", "PlaylistEngine", "PlaylistsConfig"]
