"""A cheap check of whether a file holds playable audio, and how long it is (mutagen).

The null backend uses it to behave like a real engine: it "plays" for the file's real
length and refuses the files an engine would refuse, with a one-line reason.
"""

from __future__ import annotations

import os
from dataclasses import dataclass


@dataclass(frozen=True)
class Probe:
    duration: float | None  # seconds; None when the file cannot be played
    error: str | None  # one-line reason when it cannot


def probe_audio(path: str) -> Probe:
    import mutagen  # deferred: only the null backend needs it

    try:
        size = os.stat(path).st_size
    except FileNotFoundError:
        return Probe(None, "file not found")
    except OSError as exc:
        return Probe(None, f"cannot read the file ({exc.strerror or exc})")
    if size == 0:
        return Probe(None, "the file is empty")
    try:
        audio = mutagen.File(path)
    except Exception as exc:  # mutagen raises many types for damaged files
        return Probe(None, f"not a readable audio file ({type(exc).__name__})")
    if audio is None:
        return Probe(None, "not a recognised audio format")
    length = getattr(getattr(audio, "info", None), "length", None)
    if not length or length <= 0:
        return Probe(None, "the file holds no audio")
    return Probe(float(length), None)
