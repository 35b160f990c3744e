"""Real audio files for tests: numpy makes the signal, soundfile or PyAV encodes it,
mutagen writes the tags. Shared by the unit tests and the benchmarks."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import soundfile as sf

# soundfile (libsndfile) writes these directly; the rest are encoded with PyAV.
_SOUNDFILE = {
    "wav": ("WAV", "PCM_16"),
    "flac": ("FLAC", "PCM_16"),
    "ogg": ("OGG", "VORBIS"),
    "opus": ("OGG", "OPUS"),
    "mp3": ("MP3", "MPEG_LAYER_III"),
    "aiff": ("AIFF", "PCM_16"),
}
_PYAV = {"m4a": ("ipod", "aac"), "alac": ("ipod", "alac"), "wma": ("asf", "wmav2")}


def signal(
    seconds: float = 1.0,
    sr: int = 44100,
    channels: int = 1,
    freq: float = 440.0,
    seed: int = 0,
    kind: str = "tone",
) -> np.ndarray:
    """A test signal: ``tone`` (a note with harmonics and a beat), ``noise`` or ``silence``."""
    n = max(1, int(seconds * sr))
    t = np.arange(n, dtype=np.float64) / sr
    rng = np.random.default_rng(seed)
    if kind == "silence":
        mono = np.zeros(n)
    elif kind == "noise":
        mono = 0.3 * rng.standard_normal(n)
    else:
        mono = sum(0.3 / h * np.sin(2 * np.pi * freq * h * t) for h in (1, 2, 3))
        beat = (np.sin(2 * np.pi * 2.0 * t) > 0.95).astype(np.float64)  # 120 bpm clicks
        mono = mono + 0.2 * beat * rng.standard_normal(n)
    mono = np.clip(mono, -0.99, 0.99).astype(np.float32)
    if channels == 1:
        return mono
    return np.stack([mono * (1.0 - 0.1 * c) for c in range(channels)], axis=1)


def write_audio(
    path: Path,
    *,
    seconds: float = 1.0,
    sr: int = 44100,
    channels: int = 1,
    freq: float = 440.0,
    kind: str = "tone",
    fmt: str | None = None,
) -> Path:
    """Encode a signal to ``path``; the format comes from ``fmt`` or the file extension."""
    fmt = fmt or path.suffix.lstrip(".").lower()
    data = signal(seconds, sr, channels, freq, kind=kind)
    path.parent.mkdir(parents=True, exist_ok=True)
    if fmt in _SOUNDFILE:
        container, subtype = _SOUNDFILE[fmt]
        if fmt == "opus" and sr not in (8000, 12000, 16000, 24000, 48000):
            raise ValueError("opus needs 8/12/16/24/48 kHz")
        # libsndfile's Vorbis/Opus encoders crash on very large single writes: go in blocks.
        with sf.SoundFile(
            str(path), "w", samplerate=sr, channels=channels, format=container, subtype=subtype
        ) as out:
            for start in range(0, len(data), 65536):
                out.write(data[start : start + 65536])
        return path
    if fmt in _PYAV:
        _encode_pyav(path, data, sr, channels, *_PYAV[fmt])
        return path
    raise ValueError(f"no encoder for {fmt}")


def _encode_pyav(
    path: Path, data: np.ndarray, sr: int, channels: int, container: str, codec: str
) -> None:
    import av

    layout = "mono" if channels == 1 else "stereo"
    with av.open(str(path), mode="w", format=container) as out:
        stream: Any = out.add_stream(codec, rate=sr)
        stream.layout = layout
        stream.bit_rate = 128000
        planar = np.ascontiguousarray(np.atleast_2d(data.T if channels > 1 else data))
        fmt_name = "fltp" if codec in ("aac", "wmav2") else "s16p"
        if fmt_name == "s16p":
            planar = (planar * 32767).astype(np.int16)
        frame_size = stream.codec_context.frame_size or 1024
        for start in range(0, planar.shape[1], frame_size):
            chunk = np.ascontiguousarray(planar[:, start : start + frame_size])
            frame = av.AudioFrame.from_ndarray(chunk, format=fmt_name, layout=layout)
            frame.sample_rate = sr
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)


def tag(path: Path, **fields: Any) -> Path:
    """Write tags with mutagen's easy interfaces (ID3 for mp3/wav/aiff, Vorbis, MP4, ASF).

    Keys: title, artist (str or list), album, albumartist, genre, date, tracknumber,
    discnumber, composer.
    """
    import mutagen
    from mutagen.easyid3 import EasyID3
    from mutagen.easymp4 import EasyMP4

    suffix = path.suffix.lower()
    values = {k: (v if isinstance(v, list) else [str(v)]) for k, v in fields.items()}
    if suffix == ".mp3":
        try:
            easy = EasyID3(str(path))
        except mutagen.id3.ID3NoHeaderError:
            easy = EasyID3()
        for key, val in values.items():
            easy[key] = val
        easy.save(str(path))
        return path
    if suffix in (".m4a", ".mp4"):
        mp4 = EasyMP4(str(path))
        for key, val in values.items():
            mp4[key] = val
        mp4.save()
        return path
    audio: Any = mutagen.File(str(path))
    if suffix in (".wav", ".aiff"):
        from mutagen.id3 import TALB, TCON, TDRC, TIT2, TPE1, TRCK

        frames = {
            "title": TIT2,
            "artist": TPE1,
            "album": TALB,
            "genre": TCON,
            "date": TDRC,
            "tracknumber": TRCK,
        }
        if audio.tags is None:
            audio.add_tags()
        for key, val in values.items():
            audio.tags.add(frames[key](encoding=3, text=val))
        audio.save()
        return path
    if suffix == ".wma":
        names = {
            "title": "Title",
            "artist": "Author",
            "album": "WM/AlbumTitle",
            "genre": "WM/Genre",
            "date": "WM/Year",
            "tracknumber": "WM/TrackNumber",
        }
        for key, val in values.items():
            audio[names[key]] = val
        audio.save()
        return path
    if audio.tags is None:
        audio.add_tags()
    for key, val in values.items():
        audio[key] = val
    audio.save()
    return path
