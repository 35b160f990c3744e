"""One file in, a vector or a clear reason out: every format, and every hard input."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from recommender.audio import FEATURE_NAMES, KEY_NAMES, N_FEATURES, AnalysisError, analyze_file
from recommender.audio.analyze import DEEP_PATCHES
from tests.audiogen import write_audio

FORMATS = ["wav", "flac", "ogg", "opus", "mp3", "aiff", "m4a", "alac", "wma"]


@pytest.mark.parametrize("fmt", FORMATS)
def test_every_format_gets_a_vector(tmp_path: Path, fmt: str) -> None:
    sr = 48000 if fmt == "opus" else 44100
    name = "alac.m4a" if fmt == "alac" else f"song.{fmt}"
    path = write_audio(tmp_path / name, seconds=4.0, sr=sr, channels=2, fmt=fmt)
    features = analyze_file(str(path))
    assert features.vector.shape == (N_FEATURES,)
    assert features.vector.dtype == np.float32
    assert np.all(np.isfinite(features.vector))
    assert 60.0 <= features.scalars.bpm <= 240.0


def test_the_same_music_in_two_codecs_is_closer_than_other_music(
    shared_data: Path, tmp_path: Path
) -> None:
    """What similarity depends on: the codec barely moves a song, other music moves it."""
    import csv

    src = shared_data / "audio"
    a, _ = sf.read(str(src / "Kevin_MacLeod_-_Vibe_Ace.ogg"), dtype="float32", frames=44100 * 20)
    b, _ = sf.read(
        str(src / "admiralbob77_-_Choice_-_Drum-bass.ogg"), dtype="float32", frames=44100 * 20
    )
    with open(shared_data / "gtzan_features_30_sec.csv", newline="") as f:
        rows = list(csv.reader(f))
    spread = np.array([[float(v) for v in r[2:59]] for r in rows[1:]]).std(axis=0)

    def vec(path: Path) -> np.ndarray:
        return analyze_file(str(path)).vector[:57].astype(np.float64) / spread

    sf.write(str(tmp_path / "a.flac"), a, 44100, format="FLAC")
    sf.write(str(tmp_path / "a.mp3"), a, 44100, format="MP3", subtype="MPEG_LAYER_III")
    sf.write(str(tmp_path / "b.flac"), b, 44100, format="FLAC")
    a_flac, a_mp3 = vec(tmp_path / "a.flac"), vec(tmp_path / "a.mp3")
    b_flac = vec(tmp_path / "b.flac")
    assert np.linalg.norm(a_flac - a_mp3) < 0.25 * np.linalg.norm(a_flac - b_flac)


@pytest.mark.parametrize(
    ("sr", "channels"), [(8000, 1), (11025, 2), (48000, 6), (96000, 2), (192000, 1)]
)
def test_rates_and_channel_counts(tmp_path: Path, sr: int, channels: int) -> None:
    path = write_audio(tmp_path / "x.wav", seconds=3.0, sr=sr, channels=channels)
    features = analyze_file(str(path))
    assert features.vector.shape == (N_FEATURES,)
    # The note is an A (440 Hz) at every rate and channel count.
    chroma = [FEATURE_NAMES.index(f"chroma_{k}_mean") for k in KEY_NAMES]
    assert KEY_NAMES[int(np.argmax(features.vector[chroma]))] == "A"


def _reason(path: Path) -> AnalysisError:
    with pytest.raises(AnalysisError) as err:
        analyze_file(str(path))
    assert str(err.value) and "\n" not in str(err.value)
    return err.value


def test_silent_file(tmp_path: Path) -> None:
    err = _reason(write_audio(tmp_path / "silence.flac", seconds=5.0, kind="silence"))
    assert err.kind == "silent" and "silent" in str(err)


def test_file_shorter_than_one_second(tmp_path: Path) -> None:
    err = _reason(write_audio(tmp_path / "blip.wav", seconds=0.5))
    assert err.kind == "too_short" and "0.50 s" in str(err)


def test_corrupt_and_empty_files(tmp_path: Path) -> None:
    noise = tmp_path / "corrupt.flac"
    noise.write_bytes(np.random.default_rng(7).bytes(64_000))
    empty = tmp_path / "empty.mp3"
    empty.write_bytes(b"")
    for path in (noise, empty):
        assert _reason(path).kind in {"unreadable", "no_audio"}


def test_truncated_files(tmp_path: Path) -> None:
    """Cut mid-stream: what decodes is analysed. Cut to the header: a clear reason."""
    for fmt in ("flac", "mp3", "m4a"):
        whole = write_audio(tmp_path / f"whole.{fmt}", seconds=20.0, sr=44100, fmt=fmt)
        data = whole.read_bytes()
        half = tmp_path / f"half.{fmt}"
        half.write_bytes(data[: len(data) // 2])
        if fmt == "m4a":
            # MP4 keeps its index (moov) at the end: half a file has none to decode with.
            assert _reason(half).kind == "unreadable"
        else:
            assert analyze_file(str(half)).vector.shape == (N_FEATURES,)
        stub = tmp_path / f"stub.{fmt}"
        stub.write_bytes(data[:600])
        assert _reason(stub).kind in {"truncated", "unreadable", "too_short", "no_audio"}


def test_a_long_file_cut_short_is_analysed_from_what_remains(tmp_path: Path) -> None:
    """The header says 4 minutes, the data stops after ~25 s: every spread window falls
    past the end, so the excerpt is read from the start instead."""
    whole = write_audio(tmp_path / "long.flac", seconds=240.0, sr=8000)
    data = whole.read_bytes()
    cut = tmp_path / "cut.flac"
    cut.write_bytes(data[: len(data) // 10])
    assert sf.info(str(cut)).duration == pytest.approx(240.0)
    assert analyze_file(str(cut)).vector.shape == (N_FEATURES,)


def test_mislabelled_files_are_analysed_by_content(tmp_path: Path) -> None:
    flac_as_mp3 = tmp_path / "song.mp3"
    write_audio(flac_as_mp3, seconds=3.0, fmt="flac")
    wma_as_m4a = tmp_path / "song.m4a"
    write_audio(wma_as_m4a, seconds=3.0, fmt="wma")
    text_as_ogg = tmp_path / "notes.ogg"
    text_as_ogg.write_text("not audio at all\n" * 200)
    assert analyze_file(str(flac_as_mp3)).vector.shape == (N_FEATURES,)
    assert analyze_file(str(wma_as_m4a)).vector.shape == (N_FEATURES,)
    assert _reason(text_as_ogg).kind in {"unreadable", "no_audio"}


def test_missing_file(tmp_path: Path) -> None:
    assert _reason(tmp_path / "gone.flac").kind == "missing"


def test_the_network_hears_a_two_hour_file_without_decoding_it_whole(tmp_path: Path) -> None:
    """With the music network on, a 2-hour file still costs three windows of memory, and
    a clip shorter than the network's 3 s patch is padded, not dropped."""
    import tracemalloc

    from recommender.audio.features import N_DEEP_FEATURES
    from recommender.audio.musicnn import shipped

    net = shipped()
    path = tmp_path / "two_hours.wav"
    sr = 8000
    block = (0.3 * np.sin(2 * np.pi * 440 * np.arange(60 * sr) / sr)).astype(np.float32)
    with sf.SoundFile(str(path), "w", sr, 1, subtype="PCM_U8", format="WAV") as f:
        for _ in range(120):
            f.write(block)
    analyze_file(str(write_audio(tmp_path / "warm.wav", seconds=3.0)), net)
    tracemalloc.start()
    try:
        features = analyze_file(str(path), net)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert features.deep is not None and features.deep.patches == DEEP_PATCHES
    assert features.stored_vector.shape == (N_DEEP_FEATURES,)
    # Two hours at 22,050 Hz would be 635 MB of float32; three windows and the network's
    # working buffers stay far below.
    assert peak < 80 * 1024 * 1024
    short = analyze_file(str(write_audio(tmp_path / "short.wav", seconds=1.5)), net)
    assert short.deep is not None and short.deep.patches == 1
    assert np.isfinite(short.stored_vector).all()


def test_both_networks_hear_the_same_patches_of_one_log_mel(tmp_path: Path) -> None:
    """With the MTT network too, a track's vector is version 3: version 2's columns
    unchanged, then MTT's tag probabilities over MTT_PATCHES of the same patches (the
    first and the last); a clip of one patch gets that one."""
    from recommender.audio.analyze import MTT_PATCHES
    from recommender.audio.features import MTT_FEATURE_VERSION, N_DEEP_FEATURES, N_MTT_FEATURES
    from recommender.audio.musicnn import MTT, shipped

    net, mtt = shipped(), shipped(MTT)
    seen: list[np.ndarray] = []

    class Watched:
        def forward(self, patches: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
            seen.append(patches)
            return mtt.forward(patches)

    path = write_audio(tmp_path / "long.wav", seconds=90.0)
    both = analyze_file(str(path), net, Watched())  # type: ignore[arg-type]
    msd_only = analyze_file(str(path), net)
    assert both.version == MTT_FEATURE_VERSION and both.deep is not None
    assert both.stored_vector.shape == (N_MTT_FEATURES,)
    np.testing.assert_array_equal(both.stored_vector[:N_DEEP_FEATURES], msd_only.stored_vector)
    assert both.deep.mtt_tags is not None and both.deep.mtt_tags.shape == (50,)
    assert len(seen) == 1 and len(seen[0]) == MTT_PATCHES < DEEP_PATCHES
    short = analyze_file(str(write_audio(tmp_path / "short.wav", seconds=1.5)), net, mtt)
    assert short.deep is not None and short.deep.mtt_tags is not None
    assert ((short.deep.mtt_tags > 0) & (short.deep.mtt_tags < 1)).all()


@pytest.mark.parametrize("seconds", [15.0, 30.0])
def test_a_clip_is_heard_whole_every_patch_of_it_averaged(tmp_path: Path, seconds: float) -> None:
    """A 15-30 s file is decoded whole, and the network hears all of it: every
    non-overlapping 3-s patch, averaged (as the reference evaluation heard 30-s clips),
    not just the three patches a long track gets."""
    import soxr

    from recommender.audio import musicnn
    from recommender.audio.decode import SR

    net = musicnn.shipped()
    sr = 22050
    t = np.arange(int(seconds * sr)) / sr
    # Its halves sound different: hearing only the middle would miss either end.
    y = np.where(t < seconds / 2, np.sin(2 * np.pi * 220 * t), np.sign(np.sin(2 * np.pi * 3 * t)))
    y = (0.3 * y + 0.02 * np.random.default_rng(0).standard_normal(t.size)).astype(np.float32)
    path = tmp_path / "clip.wav"
    sf.write(str(path), y, sr, subtype="FLOAT")
    features = analyze_file(str(path), net)
    assert features.deep is not None
    assert features.deep.patches == int(seconds / musicnn.PATCH_SECONDS) > DEEP_PATCHES
    heard = net.describe([np.asarray(soxr.resample(y, SR, musicnn.SR, quality="HQ"), np.float32)])
    np.testing.assert_allclose(features.deep.embedding, heard.embedding, atol=1e-4)
    np.testing.assert_allclose(features.deep.tags, heard.tags, atol=1e-5)


def test_a_long_file_cut_short_is_not_taken_for_a_short_clip(tmp_path: Path) -> None:
    """The header says 4 minutes and the data stops after ~25 s: it is read from its
    start in one window, but it is not a whole short clip, so the network hears the
    long-track number of patches, not every patch of what it read."""
    from recommender.audio.musicnn import shipped

    long_file = write_audio(tmp_path / "long.flac", seconds=240.0, sr=8000)
    cut = tmp_path / "cut.flac"
    cut.write_bytes(long_file.read_bytes()[: long_file.stat().st_size // 10])
    features = analyze_file(str(cut), shipped())
    assert features.deep is not None and features.deep.patches == DEEP_PATCHES
