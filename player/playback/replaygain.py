"""ReplayGain: the linear volume factor for a track, from the gains and peaks in its tags.

The scanner stores the tag values in the library (``rg_track_gain``/``rg_track_peak``,
``rg_album_gain``/``rg_album_peak``; Opus R128 gains already converted to the ReplayGain
reference). This module turns them into one linear *amplitude* factor; the backend
multiplies the amplitude of the user's volume by it (libVLC's volume is perceptual, so
the backend hands libVLC ``volume * cbrt(factor)``; see ``backend.output_amplitude``).

We apply the gain through the volume rather than libVLC's own ``--audio-replay-gain-*``
options because (1) the library's values are the ones the user sees and can fix, while
libVLC reads only some tag families, (2) track/album mode can change per track without
restarting libVLC, and (3) the null backend and the tests see the very same number.

Rules:
- *track* mode uses the track gain and peak, falling back to the album's when the track
  has none; *album* mode the other way round; *off* gives 1.0.
- A track with no gain at all gets ``fallback_db`` (0 dB by default).
- ``preamp_db`` is added to the gain.
- Clipping prevention: the factor never exceeds ``1 / peak``, so the loudest sample
  stays at or below full scale.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from enum import Enum
from typing import Any


class ReplayGainMode(Enum):
    OFF = "off"
    TRACK = "track"
    ALBUM = "album"


@dataclass(frozen=True)
class ReplayGainTags:
    track_gain: float | None = None  # dB
    track_peak: float | None = None  # linear, 1.0 = full scale
    album_gain: float | None = None
    album_peak: float | None = None

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> ReplayGainTags:
        """From a track row of the library (the ``rg_*`` columns; missing keys are None)."""

        def number(key: str) -> float | None:
            value = row.get(key)
            if value is None:
                return None
            try:
                result = float(value)
            except (TypeError, ValueError):
                return None
            return result if math.isfinite(result) else None

        return cls(
            track_gain=number("rg_track_gain"),
            track_peak=number("rg_track_peak"),
            album_gain=number("rg_album_gain"),
            album_peak=number("rg_album_peak"),
        )


def db_to_linear(db: float) -> float:
    return float(10.0 ** (db / 20.0))


def gain_factor(
    tags: ReplayGainTags,
    mode: ReplayGainMode,
    *,
    preamp_db: float = 0.0,
    fallback_db: float = 0.0,
    prevent_clipping: bool = True,
) -> float:
    """The linear factor to multiply the user's volume by for this track."""
    if mode is ReplayGainMode.OFF:
        return 1.0
    if mode is ReplayGainMode.TRACK:
        choices = [(tags.track_gain, tags.track_peak), (tags.album_gain, tags.album_peak)]
    else:
        choices = [(tags.album_gain, tags.album_peak), (tags.track_gain, tags.track_peak)]
    gain_db, peak = next(((g, p) for g, p in choices if g is not None), (None, None))
    if gain_db is None:
        gain_db = fallback_db
        # A track without gain tags may still carry a peak: use the one of the same kind.
        peak = next((p for _, p in choices if p is not None), None)
    factor = db_to_linear(gain_db + preamp_db)
    if prevent_clipping and peak is not None and peak > 0.0:
        factor = min(factor, 1.0 / peak)
    return factor
