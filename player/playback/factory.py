"""Pick the playback engine: libVLC when it can be loaded, else the null backend.

The app always starts. Without libVLC it gets the null backend (its clock runs by wall
time, so the queue and the listening log still work) and a one-line reason to show.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from player.playback.backend import PlaybackBackend
from player.playback.null import NullBackend
from player.playback.vlc_backend import DEFAULT_VLC_ARGS, VlcBackend, VlcUnavailable


@dataclass(frozen=True)
class BackendChoice:
    backend: PlaybackBackend
    # None when real playback works; otherwise why not, in one line for the user.
    unavailable_reason: str | None


def create_backend(
    *, audio: bool = True, vlc_args: Sequence[str] = (), realtime_fallback: bool = True
) -> BackendChoice:
    """The libVLC backend, or the null backend with the reason playback is unavailable.

    ``vlc_args`` are added to the offline defaults (e.g. ``--aout=dummy`` in tests).
    ``audio=False`` (``--no-audio``) asks for the null backend on purpose.
    """
    if not audio:
        return BackendChoice(
            NullBackend(realtime=realtime_fallback), "Playback is off (--no-audio)."
        )
    from player.playback.outputs import audio_output_problem

    # No device at all: libVLC's dummy output keeps time (and the listening log) without
    # its ALSA output printing thousands of errors to the terminal.
    silent = None if any(a.startswith("--aout") for a in vlc_args) else audio_output_problem()
    extra = ["--aout=dummy"] if silent else []
    try:
        backend = VlcBackend([*DEFAULT_VLC_ARGS, *extra, *vlc_args])
    except VlcUnavailable as exc:
        reason = f"Playback unavailable: {exc}."
        return BackendChoice(NullBackend(realtime=realtime_fallback), reason)
    return BackendChoice(backend, f"Silent: {silent}." if silent else None)
