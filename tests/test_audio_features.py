"""The feature vector: librosa's definitions (checked against librosa itself on a real
recording), the GTZAN column contract the index relies on, and scalars that mean what
they say."""

from __future__ import annotations

import csv
import warnings
from pathlib import Path

import numpy as np
import pytest

from recommender.audio import (
    FEATURE_GROUPS,
    FEATURE_NAMES,
    GTZAN_COLUMNS,
    N_FEATURES,
    dsp,
    extract,
)
from recommender.audio.decode import SR
from recommender.audio.features import _estimate_tuning, _median_rows

REAL = "audio/Kevin_MacLeod_-_Vibe_Ace.ogg"


@pytest.fixture(scope="module")
def real_clip() -> np.ndarray:
    from tests.conftest import SHARED_DATA

    if not SHARED_DATA.is_dir():
        pytest.skip("../shared/data is not present")
    import librosa

    y, _ = librosa.load(str(SHARED_DATA / REAL), sr=SR, mono=True, offset=20.0, duration=15.0)
    return np.asarray(y, dtype=np.float32)


def test_first_57_columns_are_the_gtzan_table_columns_in_order(shared_data: Path) -> None:
    with open(shared_data / "gtzan_features_30_sec.csv", newline="") as f:
        header = next(csv.reader(f))
    assert list(GTZAN_COLUMNS) == header[2:-1]
    assert FEATURE_NAMES[:57] == GTZAN_COLUMNS
    assert len(FEATURE_NAMES) == N_FEATURES == len(set(FEATURE_NAMES))


def test_groups_are_the_agreed_names_and_partition_the_vector() -> None:
    assert set(FEATURE_GROUPS) == {"timbre", "harmony", "rhythm", "spectral", "loudness"}
    every = np.concatenate(list(FEATURE_GROUPS.values()))
    assert sorted(every.tolist()) == list(range(N_FEATURES))
    names = {g: {FEATURE_NAMES[i] for i in idx} for g, idx in FEATURE_GROUPS.items()}
    assert "mfcc1_mean" in names["timbre"] and "chroma_stft_mean" in names["harmony"]
    assert "tempo" in names["rhythm"] and "rms_mean" in names["loudness"]
    assert "spectral_centroid_mean" in names["spectral"]


def test_numpy_restatements_match_librosa(real_clip: np.ndarray) -> None:
    import librosa

    y = real_clip
    mag = np.abs(librosa.stft(y))
    power = mag**2
    freqs = dsp.fft_frequencies(SR, 2048)
    mel_db = librosa.power_to_db(librosa.feature.melspectrogram(S=power, sr=SR))
    chroma = librosa.feature.chroma_stft(S=power, sr=SR, tuning=0.0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        pairs = {
            "stft": (np.abs(dsp.stft(y, 2048, 512)), mag),
            "rms": (dsp.rms(y, 2048, 512), librosa.feature.rms(y=y)[0]),
            "zcr": (dsp.zero_crossing_rate(y, 2048, 512), librosa.feature.zero_crossing_rate(y)[0]),
            "mel": (dsp.mel_filters(SR, 2048), librosa.filters.mel(sr=SR, n_fft=2048)),
            "chroma filters": (
                dsp.chroma_filters(SR, 2048, 0.07),
                librosa.filters.chroma(sr=SR, n_fft=2048, tuning=0.07),
            ),
            "chroma": (dsp.chroma(power, SR, 2048, 0.0), chroma),
            "mfcc": (
                dsp.mfcc(dsp.power_to_db(dsp.mel_filters(SR, 2048) @ power), 20),
                librosa.feature.mfcc(y=y, sr=SR, n_mfcc=20),
            ),
            "centroid": (
                dsp.spectral_centroid(mag, freqs),
                librosa.feature.spectral_centroid(S=mag, sr=SR)[0],
            ),
            "bandwidth": (
                dsp.spectral_bandwidth(mag, freqs, dsp.spectral_centroid(mag, freqs)),
                librosa.feature.spectral_bandwidth(S=mag, sr=SR)[0],
            ),
            "rolloff": (
                dsp.spectral_rolloff(mag, freqs),
                librosa.feature.spectral_rolloff(S=mag, sr=SR)[0],
            ),
            "flatness": (dsp.spectral_flatness(mag), librosa.feature.spectral_flatness(S=mag)[0]),
            "contrast": (
                dsp.spectral_contrast(mag, freqs),
                librosa.feature.spectral_contrast(S=mag, sr=SR),
            ),
            "tonnetz": (dsp.tonnetz(chroma), librosa.feature.tonnetz(chroma=chroma)),
            "onset strength": (
                dsp.onset_strength(mel_db, 2048, 512),
                librosa.onset.onset_strength(S=mel_db, sr=SR),
            ),
            "tempo": (
                np.array([dsp.tempo(librosa.onset.onset_strength(y=y, sr=SR), SR, 512)]),
                librosa.feature.tempo(y=y, sr=SR),
            ),
            "tuning": (
                np.array([_estimate_tuning(mag)]),
                np.array([librosa.estimate_tuning(S=mag, sr=SR)]),
            ),
        }
    for name, (ours, theirs) in pairs.items():
        assert ours.shape == theirs.shape, name
        scale = float(np.max(np.abs(theirs))) or 1.0
        assert float(np.max(np.abs(ours - theirs))) <= 1e-3 * scale, name


def _gtzan_reference(y: np.ndarray) -> np.ndarray:
    """The 57 columns as the GTZAN table computes them, with librosa."""
    import librosa

    harmonic, percussive = librosa.effects.hpss(y)
    out: list[float] = []
    for f in (
        librosa.feature.chroma_stft(y=y, sr=SR),
        librosa.feature.rms(y=y),
        librosa.feature.spectral_centroid(y=y, sr=SR),
        librosa.feature.spectral_bandwidth(y=y, sr=SR),
        librosa.feature.spectral_rolloff(y=y, sr=SR),
        librosa.feature.zero_crossing_rate(y),
        harmonic,
        percussive,
    ):
        out += [float(np.mean(f)), float(np.var(f))]
    out.append(float(librosa.feature.tempo(y=y, sr=SR)[0]))
    for row in librosa.feature.mfcc(y=y, sr=SR, n_mfcc=20):
        out += [float(np.mean(row)), float(np.var(row))]
    return np.array(out)


def test_gtzan_columns_reproduce_librosa_on_real_audio(real_clip: np.ndarray) -> None:
    ours = extract([real_clip]).vector[:57].astype(np.float64)
    ref = _gtzan_reference(real_clip)
    rel = np.abs(ours - ref) / np.maximum(np.abs(ref), 1e-9)
    for i, name in enumerate(GTZAN_COLUMNS):
        if name in ("harmony_mean", "perceptr_mean"):
            assert abs(ours[i]) < 1e-3  # a DC offset, ~0 in both
        elif name in ("harmony_var", "perceptr_var"):
            assert rel[i] < 0.25, name  # the cheaper pooled HPSS
        else:
            assert rel[i] < 0.03, name


def _progression(chords: list[list[str]], seconds_each: float = 2.0) -> np.ndarray:
    """Sustained chords of pure tones, one after another (note names as in KEY_NAMES)."""
    from recommender.audio import KEY_NAMES

    t = np.arange(int(seconds_each * SR)) / SR
    parts = []
    for chord in chords:
        freqs = [261.63 * 2 ** (KEY_NAMES.index(n) / 12) for n in chord]
        parts.append(sum(np.sin(2 * np.pi * f * t) for f in freqs) / len(freqs))
    return (0.3 * np.concatenate(parts)).astype(np.float32)


def test_key_and_mode_of_simple_progressions() -> None:
    a_major = _progression([["A", "C#", "E"], ["D", "F#", "A"], ["E", "Ab", "B"], ["A", "C#", "E"]])
    scalars = extract([a_major]).scalars
    assert (scalars.key, scalars.mode, scalars.key_name) == (9, 1, "A major")
    c_minor = _progression([["C", "Eb", "G"], ["F", "Ab", "C"], ["G", "Bb", "D"], ["C", "Eb", "G"]])
    scalars = extract([c_minor]).scalars
    assert (scalars.key, scalars.mode) == (0, 0)
    assert scalars.key_strength > 0.5


def test_tempo_of_a_120_bpm_click_track() -> None:
    from tests.audiogen import signal

    y = signal(20.0, SR, 1, kind="tone")
    features = extract([y])
    assert abs(features.scalars.bpm - 120.0) < 6.0
    assert features.scalars.pulse_strength > 0.3
    assert features.vector[GTZAN_COLUMNS.index("tempo")] == pytest.approx(features.scalars.bpm)


def test_scalars_rank_sounds_the_way_a_listener_would() -> None:
    from tests.audiogen import signal

    low_soft_tone = 0.1 * signal(10.0, SR, 1, freq=110.0, kind="tone")
    loud_noise = 3.0 * signal(10.0, SR, 1, kind="noise")
    soft, noisy = extract([low_soft_tone]).scalars, extract([loud_noise]).scalars
    assert noisy.brightness > soft.brightness
    assert noisy.energy > soft.energy
    assert soft.acousticness > noisy.acousticness
    for s in (soft, noisy):
        for value in (s.energy, s.brightness, s.pulse_strength, s.acousticness):
            assert 0.0 <= value <= 1.0


def test_windows_are_analysed_together() -> None:
    """Three windows give one vector; a quiet and a loud window average out."""
    from tests.audiogen import signal

    quiet = 0.05 * signal(5.0, SR, 1)
    loud = signal(5.0, SR, 1)
    both = extract([quiet, loud]).vector
    rms_mean = GTZAN_COLUMNS.index("rms_mean")
    only_quiet, only_loud = extract([quiet]).vector, extract([loud]).vector
    assert only_quiet[rms_mean] < both[rms_mean] < only_loud[rms_mean]
    assert both.shape == (N_FEATURES,) and both.dtype == np.float32


@pytest.mark.parametrize("size", [7, 8, 16])
@pytest.mark.parametrize("length", [2, 5, 16, 40, 513])
def test_the_hpss_median_filter_gives_scipys_values(size: int, length: int) -> None:
    """The HPSS energies' row median (np.partition over sliding windows) must pick the
    very values scipy.ndimage.median_filter does, edges, ties and even sizes included."""
    import scipy.ndimage as ndi

    rng = np.random.default_rng(size * 1000 + length)
    x = rng.random((6, length)).astype(np.float32)
    x[0] = 0.0  # silence: all ties
    x[1] = np.round(x[1], 1)  # many ties
    expected = ndi.median_filter(x, size=(1, size), mode="reflect")
    np.testing.assert_array_equal(_median_rows(x, size), expected)
