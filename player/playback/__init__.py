"""Playback: the backend interface, its libVLC and null engines, and ReplayGain.

Qt-free and SQL-free: the listening session and the GUI drive it from outside.
"""

from player.playback.backend import PlaybackBackend, State
from player.playback.factory import BackendChoice, create_backend
from player.playback.null import NullBackend
from player.playback.replaygain import ReplayGainMode, ReplayGainTags, gain_factor

__all__ = [
    "BackendChoice",
    "NullBackend",
    "PlaybackBackend",
    "ReplayGainMode",
    "ReplayGainTags",
    "State",
    "create_backend",
    "gain_factor",
]
