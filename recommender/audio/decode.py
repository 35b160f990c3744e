"""Decode the excerpt of a file that the features need: mono float32 at 22,050 Hz.

Two decoders, chosen per format by measurement (see ``choose_backend``):

- soundfile (libsndfile: wav, aiff, flac, ogg vorbis/opus, mp3) reads the requested
  frames after a sample-accurate seek, then soxr resamples;
- PyAV (FFmpeg bundled in its wheel) for everything else (m4a AAC/ALAC, wma, mp2, ...)
  and as the fallback when libsndfile refuses a file (mislabelled or damaged ones):
  it seeks in the container and swresample downmixes and resamples while decoding.

Only the requested windows are decoded where the format seeks, and at most
``MAX_DECODE_S`` seconds of audio are ever held, so a 2-hour file costs what a
4-minute one does.
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

SR = 22050  # librosa's default rate, the one the GTZAN reference features use
MAX_DECODE_S = 90.0  # memory bound: never hold more than this much decoded audio

# Formats libsndfile decodes. Measured on 4-min stereo files, 3 x 10 s windows, median CPU
# per file (tests/benchmarks/bench_analysis.py, decode_* fields): MP3 40 ms with
# soundfile vs 46 ms with PyAV, FLAC 37 vs 34 ms. Speed is a wash, so libsndfile keeps
# these for its sample-accurate seeks (PyAV's MP3 windows land ~550 samples off, the
# encoder delay) and PyAV is the fallback for what libsndfile refuses.
SOUNDFILE_SUFFIXES = frozenset(
    {".wav", ".wave", ".flac", ".ogg", ".oga", ".opus", ".mp3", ".aif", ".aiff", ".aifc"}
)

Audio = npt.NDArray[np.float32]


class DecodeError(Exception):
    """The file holds no audio we can decode; ``kind`` names why, the text says it."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind


@dataclass(frozen=True)
class Excerpt:
    """Decoded windows of one file (mono float32 at ``SR``) and what the file holds."""

    windows: list[Audio]
    duration: float  # the whole file's length in seconds, as far as the decoder knows
    source_rate: int
    channels: int
    backend: str

    @property
    def seconds(self) -> float:
        return sum(len(w) for w in self.windows) / SR


WindowPlan = Sequence[tuple[float, float]]  # (start_s, length_s) pairs


def plan_windows(duration: float, count: int, length: float) -> list[tuple[float, float]]:
    """``count`` windows of ``length`` s spread across the track, skipping intro and outro.

    Short tracks are taken whole. Window centres sit at equal spacing inside the middle
    80 % of the track, where the music is rather than the fade-in and fade-out; windows
    never overlap.
    """
    total = count * length
    if not math.isfinite(duration) or duration <= 0:
        return [(0.0, min(total, MAX_DECODE_S))]
    if duration <= total:
        return [(0.0, duration)]
    lo, hi = 0.1 * duration, 0.9 * duration
    if (hi - lo) / count < length:
        # The middle 80 % cannot hold them apart: spread them over the whole track.
        if count == 1:
            return [((duration - length) / 2, length)]
        step = (duration - length) / (count - 1)
        return [(i * step, length) for i in range(count)]
    centres = [lo + (hi - lo) * (i + 0.5) / count for i in range(count)]
    return [(c - length / 2, length) for c in centres]


def _mono(block: npt.NDArray[Any]) -> Audio:
    if block.ndim == 2:
        block = block.mean(axis=1)
    return np.ascontiguousarray(block, dtype=np.float32)


def _resample(y: Audio, sr: int) -> Audio:
    if sr == SR or len(y) == 0:
        return y
    import soxr

    return np.asarray(soxr.resample(y, sr, SR, quality="HQ"), dtype=np.float32)


def _soundfile_excerpt(path: str, count: int, length: float, from_start: bool = False) -> Excerpt:
    import soundfile as sf

    with sf.SoundFile(path) as f:
        sr, channels = int(f.samplerate), int(f.channels)
        frames = int(f.frames)
        duration = frames / sr if frames > 0 else float("nan")
        windows: list[Audio] = []
        plan = [(0.0, count * length)] if from_start else plan_windows(duration, count, length)
        for start, size in plan:
            if start > 0:
                f.seek(int(start * sr))
            block = f.read(int(size * sr), dtype="float32", always_2d=True)
            windows.append(_resample(_mono(block), sr))
    return Excerpt(windows, duration, sr, channels, "soundfile")


def _pyav_excerpt(path: str, count: int, length: float, from_start: bool = False) -> Excerpt:
    import av

    av.logging.set_level(av.logging.PANIC)
    try:
        container = av.open(path, mode="r", timeout=10.0)
    except Exception as exc:
        raise DecodeError(
            "unreadable", f"not an audio file FFmpeg can open ({_why(exc)})"
        ) from None
    with container:
        streams = [s for s in container.streams if s.type == "audio"]
        if not streams:
            raise DecodeError("no_audio", "the file holds no audio stream")
        stream = streams[0]
        ctx = stream.codec_context
        sr, channels = int(ctx.sample_rate or 0), int(ctx.channels or 0)
        duration = float("nan")
        if stream.duration is not None and stream.time_base is not None:
            duration = float(stream.duration * stream.time_base)
        elif container.duration is not None:
            duration = container.duration / 1_000_000
        windows: list[Audio] = []
        plan = [(0.0, count * length)] if from_start else plan_windows(duration, count, length)
        for start, size in plan:
            windows.append(_pyav_window(container, stream, start, size))
    return Excerpt(windows, duration, sr, channels, "pyav")


def _pyav_window(container: Any, stream: Any, start: float, size: float) -> Audio:
    import av

    # Resample only; channels are averaged here, as librosa.to_mono does. (FFmpeg's own
    # mono downmix scales stereo by 1/sqrt(2) instead, which would shift every level.)
    resampler = av.AudioResampler(format="fltp", rate=SR)
    if start > 0:
        try:
            container.seek(int(start / stream.time_base), stream=stream, backward=True)
        except Exception:
            # A container that cannot seek is read from the start instead; the frames
            # before ``start`` are dropped as they come, so memory stays bounded.
            container.seek(0, stream=stream)
    need = int(size * SR)
    skip_until = start
    parts: list[Audio] = []
    got = 0
    try:
        for frame in container.decode(stream):
            t = float(frame.pts * stream.time_base) if frame.pts is not None else None
            for out in resampler.resample(frame):
                planes = out.to_ndarray()
                data = planes.mean(axis=0, dtype=np.float32) if planes.ndim == 2 else planes
                if t is not None and t < skip_until:
                    drop = int((skip_until - t) * SR)
                    data = data[drop:]
                if len(data):
                    parts.append(data)
                    got += len(data)
            if got >= need:
                break
    except av.error.EOFError:
        pass
    except Exception:
        # A damaged stream: keep what decoded before the damage (the caller decides
        # whether it is enough).
        pass
    y = np.concatenate(parts) if parts else np.zeros(0, dtype=np.float32)
    return np.ascontiguousarray(y[:need])


def _why(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return text[:160]


def choose_backend(path: str) -> str:
    suffix = path[path.rfind(".") :].lower() if "." in path else ""
    return "soundfile" if suffix in SOUNDFILE_SUFFIXES else "pyav"


def load_excerpt(path: str, count: int, length: float, *, min_seconds: float = 1.0) -> Excerpt:
    """Decode up to ``count`` windows of ``length`` s. Raises DecodeError with a reason.

    soundfile first for the formats it handles; on any failure there (a mislabelled or
    damaged file, an MP3 variant libsndfile rejects) PyAV probes the content instead.
    """
    if not os.path.exists(path) or os.path.isdir(path):
        raise DecodeError("missing", "the file is gone (moved, deleted or its drive is offline)")
    backends = ["soundfile", "pyav"] if choose_backend(path) == "soundfile" else ["pyav"]
    # If the windows spread across the declared length come back (nearly) empty, the file
    # may hold less than its header says: read what there is from the start instead.
    attempts = [(b, False) for b in backends] + [(b, True) for b in backends]
    first_error: DecodeError | None = None
    best: Excerpt | None = None
    for backend, from_start in attempts:
        if from_start and best is None:
            break  # nothing opened at all: reading from the start will not help
        try:
            if backend == "soundfile":
                excerpt = _soundfile_excerpt(path, count, length, from_start)
            else:
                excerpt = _pyav_excerpt(path, count, length, from_start)
        except DecodeError as exc:
            first_error = first_error or exc
            continue
        except FileNotFoundError:
            raise DecodeError("missing", "the file is gone") from None
        except Exception as exc:  # libsndfile's errors, truncated headers, bad frames...
            first_error = first_error or DecodeError("unreadable", f"cannot decode: {_why(exc)}")
            continue
        if excerpt.seconds >= min_seconds:
            return excerpt
        if best is None or excerpt.seconds > best.seconds:
            best = excerpt
    if best is not None:
        # The file opened but holds too little audio: a truly short file, or a
        # truncated one whose header promises more than is there.
        promised = best.duration
        if math.isfinite(promised) and promised >= min_seconds:
            raise DecodeError(
                "truncated",
                f"only {best.seconds:.2f} s of audio decodes of the {promised:.1f} s the file "
                "declares (truncated or damaged)",
            )
        if best.seconds == 0:
            raise DecodeError("unreadable", "no audio decodes from it (corrupt or not audio)")
        raise DecodeError(
            "too_short", f"too short to analyse: {best.seconds:.2f} s (at least {min_seconds:g} s)"
        )
    assert first_error is not None
    raise first_error
