"""Decoding: every format the scanner indexes, any channel count and rate, only the
windows the features need, with bounded memory."""

from __future__ import annotations

import itertools
import tracemalloc
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from hypothesis import given
from hypothesis import strategies as st

from recommender.audio import WINDOW_COUNT, WINDOW_SECONDS
from recommender.audio.decode import SR, DecodeError, load_excerpt, plan_windows
from tests.audiogen import signal, write_audio

FORMATS = ["wav", "flac", "ogg", "opus", "mp3", "aiff", "m4a", "alac", "wma"]


def _path(tmp_path: Path, fmt: str) -> Path:
    # ALAC lives in .m4a files, like the real ones.
    return tmp_path / (f"{fmt}.m4a" if fmt == "alac" else f"tone.{fmt}")


def _dominant_hz(y: np.ndarray) -> float:
    spectrum = np.abs(np.fft.rfft(y * np.hanning(len(y))))
    return float(np.fft.rfftfreq(len(y), 1.0 / SR)[int(np.argmax(spectrum))])


@pytest.mark.parametrize("fmt", FORMATS)
def test_every_format_decodes_to_mono_22050(tmp_path: Path, fmt: str) -> None:
    sr = 48000 if fmt == "opus" else 44100
    path = write_audio(_path(tmp_path, fmt), seconds=3.0, sr=sr, channels=2, fmt=fmt)
    excerpt = load_excerpt(str(path), WINDOW_COUNT, WINDOW_SECONDS)
    y = np.concatenate(excerpt.windows)
    assert y.dtype == np.float32 and y.ndim == 1
    # The whole 3 s (lossy codecs pad or trim a few ms at the ends).
    assert abs(len(y) / SR - 3.0) < 0.1
    assert excerpt.channels == 2 and excerpt.source_rate == sr
    # The generated note is 440 Hz with harmonics: the decoder got the pitch right.
    assert abs(_dominant_hz(y[: SR * 2]) - 440.0) < 5.0


@pytest.mark.parametrize("fmt", ["wav", "m4a"])
def test_stereo_is_averaged_like_librosa(tmp_path: Path, fmt: str) -> None:
    """Both decoders mix channels by averaging (FFmpeg's own downmix is 3 dB louder)."""
    path = write_audio(tmp_path / f"s.{fmt}", seconds=2.0, sr=44100, channels=2, fmt=fmt)
    y = np.concatenate(load_excerpt(str(path), 3, 10.0).windows)
    source = signal(2.0, 44100, 2).mean(axis=1)
    ratio = float(np.sqrt(np.mean(y**2)) / np.sqrt(np.mean(source**2)))
    assert 0.9 < ratio < 1.1


@pytest.mark.parametrize("channels", [1, 2, 6])
@pytest.mark.parametrize("sr", [8000, 22050, 44100, 96000, 192000])
def test_any_channel_count_and_sample_rate(tmp_path: Path, channels: int, sr: int) -> None:
    path = write_audio(tmp_path / f"{sr}_{channels}.flac", seconds=2.0, sr=sr, channels=channels)
    excerpt = load_excerpt(str(path), 3, 10.0)
    y = np.concatenate(excerpt.windows)
    assert excerpt.channels == channels and excerpt.source_rate == sr
    assert abs(len(y) - 2 * SR) <= SR // 100
    assert abs(_dominant_hz(y) - 440.0) < 5.0


def test_windows_spread_across_the_track_skip_intro_and_outro() -> None:
    windows = plan_windows(240.0, 3, 10.0)
    assert len(windows) == 3
    assert all(length == 10.0 for _, length in windows)
    starts = [start for start, _ in windows]
    assert starts == sorted(starts)
    assert starts[0] >= 0.1 * 240 - 10 and starts[-1] + 10 <= 0.9 * 240 + 10
    # A short track is taken whole; an unknown length reads from the start.
    assert plan_windows(20.0, 3, 10.0) == [(0.0, 20.0)]
    assert plan_windows(float("nan"), 3, 10.0)[0][0] == 0.0


def _three_part_track(seconds_each: float, sr: int) -> np.ndarray:
    parts = []
    for i, hz in enumerate((220.0, 440.0, 880.0)):
        t = np.arange(int(seconds_each * sr)) / sr + i * seconds_each
        parts.append(0.5 * np.sin(2 * np.pi * hz * t))
    return np.concatenate(parts).astype(np.float32)


@pytest.mark.parametrize("fmt", ["flac", "mp3", "m4a"])
def test_windows_come_from_where_they_were_asked(tmp_path: Path, fmt: str) -> None:
    """Seeking lands in the right part of the file: 3 parts, 3 windows, 3 pitches."""
    from tests.audiogen import _encode_pyav

    sr = 44100
    y = _three_part_track(40.0, sr)
    path = tmp_path / f"parts.{fmt}"
    if fmt == "m4a":
        _encode_pyav(path, y, sr, 1, "ipod", "aac")
    else:
        subtype = "MPEG_LAYER_III" if fmt == "mp3" else "PCM_16"
        sf.write(str(path), y, sr, format=fmt.upper(), subtype=subtype)
    excerpt = load_excerpt(str(path), 3, 10.0)
    assert abs(excerpt.duration - 120.0) < 1.0
    assert [round(len(w) / SR) for w in excerpt.windows] == [10, 10, 10]
    pitches = [_dominant_hz(w) for w in excerpt.windows]
    assert [round(p / 10) * 10 for p in pitches] == [220, 440, 880]


def test_a_long_file_is_never_decoded_whole(tmp_path: Path) -> None:
    """Two hours of audio: only the three windows are ever held in memory."""
    path = tmp_path / "two_hours.wav"
    sr = 8000
    block = (0.3 * np.sin(2 * np.pi * 440 * np.arange(60 * sr) / sr)).astype(np.float32)
    with sf.SoundFile(str(path), "w", sr, 1, subtype="PCM_U8", format="WAV") as f:
        for _ in range(120):
            f.write(block)
    tracemalloc.start()
    try:
        excerpt = load_excerpt(str(path), 3, 10.0)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert abs(excerpt.duration - 7200.0) < 1.0
    assert abs(excerpt.seconds - 30.0) < 0.1
    # The whole file at 22,050 Hz would be 635 MB of float32.
    assert peak < 30 * 1024 * 1024


def test_mislabelled_files_decode_by_content(tmp_path: Path) -> None:
    wav_as_mp3 = tmp_path / "really_a_wav.mp3"
    write_audio(wav_as_mp3, seconds=2.0, fmt="wav")
    m4a_as_ogg = tmp_path / "really_an_m4a.ogg"
    write_audio(m4a_as_ogg, seconds=2.0, fmt="m4a")
    for path in (wav_as_mp3, m4a_as_ogg):
        excerpt = load_excerpt(str(path), 3, 10.0)
        assert abs(excerpt.seconds - 2.0) < 0.1


def test_undecodable_inputs_raise_a_reason(tmp_path: Path) -> None:
    garbage = tmp_path / "garbage.mp3"
    garbage.write_bytes(np.random.default_rng(1).bytes(50_000))
    empty = tmp_path / "empty.flac"
    empty.write_bytes(b"")
    for path in (garbage, empty):
        with pytest.raises(DecodeError) as err:
            load_excerpt(str(path), 3, 10.0)
        assert err.value.kind in {"unreadable", "no_audio", "too_short"}
        assert str(err.value)
    with pytest.raises(DecodeError) as err:
        load_excerpt(str(tmp_path / "gone.flac"), 3, 10.0)
    assert err.value.kind == "missing"


@given(
    count=st.integers(min_value=1, max_value=5),
    length=st.floats(min_value=1.0, max_value=30.0),
    # The track's length as a multiple of what the windows need: around 1 is where they
    # only just fit and overlaps would hide; up to 400 covers two-hour files.
    ratio=st.one_of(
        st.floats(min_value=0.01, max_value=2.0), st.floats(min_value=0.01, max_value=400.0)
    ),
)
def test_windows_always_lie_inside_the_track(count: int, length: float, ratio: float) -> None:
    duration = ratio * count * length
    windows = plan_windows(duration, count, length)
    assert 1 <= len(windows) <= count
    assert sum(size for _, size in windows) <= count * length + 1e-9
    for start, size in windows:
        assert start >= 0.0 and start + size <= duration + 1e-6
    starts = [start for start, _ in windows]
    assert starts == sorted(starts)
    # Windows never overlap: no second of audio is analysed twice.
    for (a, la), (b, _) in itertools.pairwise(windows):
        assert a + la <= b + 1e-6
