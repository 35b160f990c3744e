"""Ask a real decoder (FFmpeg, bundled in PyAV's wheels) whether a file holds audio.

Used only for the few files mutagen cannot describe (MPEG-1 layer I, mislabelled or
damaged files), so the scanner can index every file that really plays.
"""

from __future__ import annotations

from dataclasses import dataclass

# Decode at most this many samples: enough to prove there is audio, cheap on any file.
_PROOF_SAMPLES = 1


@dataclass(frozen=True)
class ProbedAudio:
    format: str | None
    codec: str | None
    duration: float | None
    sample_rate: int | None
    channels: int | None
    bitrate: int | None


def probe_audio(path: str) -> ProbedAudio | None:
    try:
        import av
    except ImportError:  # pragma: no cover - av is a declared dependency
        return None
    av.logging.set_level(av.logging.PANIC)
    try:
        with av.open(path, mode="r", timeout=10.0) as container:
            streams = [s for s in container.streams if s.type == "audio"]
            if not streams:
                return None
            stream = streams[0]
            samples = 0
            for frame in container.decode(stream):
                samples += frame.samples
                if samples >= _PROOF_SAMPLES:
                    break
            if samples == 0:
                return None
            duration: float | None = None
            if stream.duration is not None and stream.time_base is not None:
                duration = float(stream.duration * stream.time_base)
            elif container.duration is not None:
                duration = container.duration / 1_000_000
            ctx = stream.codec_context
            fmt = container.format.name.split(",")[0] if container.format else None
            return ProbedAudio(
                format=fmt,
                codec=ctx.name if ctx is not None else None,
                duration=duration if duration and duration > 0 else None,
                sample_rate=ctx.sample_rate or None,
                channels=ctx.channels or None,
                bitrate=(ctx.bit_rate or container.bit_rate or None),
            )
    except Exception:  # any decoder failure means "no audio we can play"
        return None
