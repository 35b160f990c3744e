"""The content feature vector: fixed-length, float32, versioned, in named groups.

Columns 0..56 reproduce, in order and with librosa's default definitions at 22,050 Hz
mono, the 57 feature columns of the GTZAN reference table (``gtzan_features_30_sec.csv``:
chroma_stft, rms, spectral centroid/bandwidth/rolloff, zero-crossing rate, harmonic and
percussive parts, tempo, 20 MFCCs; mean and variance of each), so that weights tuned on
that table transfer to real audio. The columns after those add what the table lacks:
spectral contrast and flatness, per-pitch chroma, tonal centroid and key, tempo
confidence, onset rate, pulse clarity, loudness dynamics and MFCC deltas.

Everything comes from ONE short-time Fourier transform per window (n_fft 2048, hop 512):
magnitude for the spectral shape, power through the mel bank for MFCC and onsets, and
for chroma. HPSS, the usual hotspot (two 31-wide median filters over the whole
spectrogram, ~1 s CPU for 30 s of audio), runs on a spectrogram pooled 2x in time and
frequency with half-length kernels: the same seconds and hertz of context, a quarter of
the cells, ~8x cheaper. Only the energies of the two parts are kept (their time-domain
variances, by Parseval), so no inverse STFT is needed.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from recommender.audio.decode import SR

# Bump when any column's definition changes: stored vectors of older versions keep serving
# until the pipeline re-analyses them.
FEATURE_VERSION = 1

N_FFT = 2048
HOP = 512
N_MFCC = 20
_KRUMHANSL_MAJOR = np.array(
    [6.35, 2.23, 3.48, 2.33, 4.38, 4.09, 2.52, 5.19, 2.39, 3.66, 2.29, 2.88]
)
_KRUMHANSL_MINOR = np.array(
    [6.33, 2.68, 3.52, 5.38, 2.60, 3.53, 2.54, 4.75, 3.98, 2.69, 3.34, 3.17]
)
KEY_NAMES = ("C", "C#", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B")


def _gtzan_names() -> list[str]:
    names = []
    for base in (
        "chroma_stft",
        "rms",
        "spectral_centroid",
        "spectral_bandwidth",
        "rolloff",
        "zero_crossing_rate",
        "harmony",
        "perceptr",
    ):
        names += [f"{base}_mean", f"{base}_var"]
    names.append("tempo")
    for i in range(1, N_MFCC + 1):
        names += [f"mfcc{i}_mean", f"mfcc{i}_var"]
    return names


GTZAN_COLUMNS: tuple[str, ...] = tuple(_gtzan_names())
assert len(GTZAN_COLUMNS) == 57

EXTRA_COLUMNS: tuple[str, ...] = (
    *(f"contrast{i}_mean" for i in range(1, 8)),
    *(f"contrast{i}_var" for i in range(1, 8)),
    "flatness_mean",
    "flatness_var",
    *(f"chroma_{k}_mean" for k in KEY_NAMES),
    *(f"tonnetz{i}_mean" for i in range(1, 7)),
    "key_strength",
    "mode_major",
    "tempo_confidence",
    "onset_rate",
    "pulse_clarity",
    "onset_strength_mean",
    "onset_strength_var",
    "loudness_db",
    "dynamic_range_db",
    "percussive_ratio",
    *(f"mfcc{i}_delta_var" for i in range(1, N_MFCC + 1)),
)

FEATURE_NAMES: tuple[str, ...] = GTZAN_COLUMNS + EXTRA_COLUMNS
N_FEATURES = len(FEATURE_NAMES)


def _group_of(name: str) -> str:
    if name.startswith(("mfcc",)):
        return "timbre"
    if name.startswith(("chroma", "tonnetz", "key_", "mode_")):
        return "harmony"
    if name.startswith(("tempo", "onset", "pulse", "perceptr", "percussive")):
        return "rhythm"
    if name.startswith(("rms", "harmony", "loudness", "dynamic")):
        return "loudness"
    return "spectral"  # centroid, bandwidth, rolloff, zero-crossing rate, contrast, flatness


GROUP_NAMES: tuple[str, ...] = ("timbre", "harmony", "rhythm", "spectral", "loudness")
FEATURE_GROUPS: dict[str, npt.NDArray[np.int64]] = {
    group: np.array(
        [i for i, n in enumerate(FEATURE_NAMES) if _group_of(n) == group], dtype=np.int64
    )
    for group in GROUP_NAMES
}


@dataclass(frozen=True)
class Scalars:
    """Interpretable values for explanations, filters and transitions."""

    bpm: float
    bpm_confidence: float  # 0-1
    key: int  # pitch class 0 = C .. 11 = B
    mode: int  # 1 major, 0 minor
    key_strength: float  # correlation with the best key profile, -1..1
    energy: float  # 0-1
    brightness: float  # 0-1: share of spectral energy above 1,500 Hz
    pulse_strength: float  # 0-1: how clearly a beat stands out (pulse clarity)
    acousticness: float  # 0-1 heuristic: harmonic, tonal, not noisy, not bright
    loudness_db: float  # mean RMS level in dBFS

    @property
    def key_name(self) -> str:
        return f"{KEY_NAMES[self.key]} {'major' if self.mode else 'minor'}"


@dataclass(frozen=True)
class Features:
    vector: npt.NDArray[np.float32]
    scalars: Scalars


@functools.cache
def _mel_basis() -> npt.NDArray[np.float32]:
    from librosa.filters import mel

    basis: npt.NDArray[np.float32] = mel(sr=SR, n_fft=N_FFT).astype(np.float32)
    return basis


@functools.lru_cache(maxsize=128)
def _chroma_basis(tuning: float) -> npt.NDArray[np.float32]:
    from librosa.filters import chroma

    basis: npt.NDArray[np.float32] = chroma(sr=SR, n_fft=N_FFT, tuning=tuning).astype(np.float32)
    return basis


def _mean_var(x: npt.NDArray[np.floating]) -> list[float]:
    """Per-row mean and variance over frames, as the reference table computes them."""
    out: list[float] = []
    for row in np.atleast_2d(x):
        out += [float(np.mean(row)), float(np.var(row))]
    return out


def _frames(y: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
    """Centred frames (librosa's convention for rms and zero-crossing rate)."""
    import librosa

    padded = np.pad(y, N_FFT // 2, mode="constant")
    frames: npt.NDArray[np.float32] = librosa.util.frame(padded, frame_length=N_FFT, hop_length=HOP)
    return frames


# Pooling smooths the spectrogram, which moves a little energy from the harmonic part to
# the percussive one. Measured on the 8 real recordings in ../shared/data/audio (30 s each,
# against librosa.effects.hpss): harmonic variance came out at 0.82x the exact value
# (0.76-0.86), percussive within +-20 % either way. The harmonic part is scaled back.
_HARMONIC_CALIBRATION = 1.0 / 0.82
_POOL_F = 2  # pooling factors in frequency and time
_POOL_T = 2


def _hpss_energy(mag: npt.NDArray[np.float32]) -> tuple[float, float]:
    """Energies (time-domain variances) of the harmonic and percussive parts.

    librosa.effects.hpss's soft masks (power 2, 31-wide median filters), computed on a
    2x2-pooled magnitude with 16-wide kernels: the same context in seconds and hertz.
    """
    import scipy.ndimage as ndi

    f, t = mag.shape
    f2, t2 = (f - 1) // _POOL_F, t // _POOL_T
    pooled = mag[: _POOL_F * f2, : _POOL_T * t2].reshape(f2, _POOL_F, t2, _POOL_T).mean(axis=(1, 3))
    harm = ndi.median_filter(pooled, size=(1, 31 // _POOL_T + 1), mode="reflect")
    perc = ndi.median_filter(pooled, size=(31 // _POOL_F + 1, 1), mode="reflect")
    h2, p2 = harm.astype(np.float64) ** 2, perc.astype(np.float64) ** 2
    total = h2 + p2
    safe = np.where(total > 0, total, 1.0)
    mask_h = np.where(total > 0, h2 / safe, 0.5)
    mask_p = 1.0 - mask_h
    power = pooled.astype(np.float64) ** 2
    # Parseval for a Hann-windowed STFT with hop n_fft/4: sum(y^2) ~ sum|X|^2 / (1.5 n_fft),
    # counting the one-sided bins twice. Each pooled cell stands for _POOL_F * _POOL_T cells.
    scale = _POOL_F * _POOL_T * 2.0 / (1.5 * N_FFT) / (t * HOP)
    var_h = float(np.sum(power * mask_h**2) * scale) * _HARMONIC_CALIBRATION
    var_p = float(np.sum(power * mask_p**2) * scale)
    return var_h, var_p


def _key(chroma_mean: npt.NDArray[np.float64]) -> tuple[int, int, float]:
    """Krumhansl-Schmuckler: the key whose profile best correlates with the chroma."""
    best = (0, 1, -2.0)
    c = chroma_mean - chroma_mean.mean()
    if not np.any(c):
        return 0, 1, 0.0
    for mode, profile in ((1, _KRUMHANSL_MAJOR), (0, _KRUMHANSL_MINOR)):
        for key in range(12):
            p = np.roll(profile, key)
            r = float(np.corrcoef(c, p)[0, 1])
            if r > best[2]:
                best = (key, mode, r)
    return best


def _pulse(onset_env: npt.NDArray[np.float32]) -> tuple[float, float]:
    """Pulse clarity and tempo confidence from the onset envelope's autocorrelation.

    Pulse clarity: the highest normalised autocorrelation peak at a lag between 30 and
    240 bpm. Confidence: how far that peak stands above the median of the same range.
    """
    x = onset_env.astype(np.float64) - float(np.mean(onset_env))
    denom = float(np.dot(x, x))
    if len(x) < 8 or denom <= 0:
        return 0.0, 0.0
    spectrum = np.fft.rfft(x, n=2 * len(x))
    ac = np.fft.irfft(np.abs(spectrum) ** 2)[: len(x)] / denom
    fps = SR / HOP
    lo, hi = int(fps * 60 / 240), min(len(ac) - 1, int(fps * 60 / 30))
    if hi <= lo:
        return 0.0, 0.0
    band = ac[lo : hi + 1]
    peak = float(np.max(band))
    clarity = float(np.clip(peak, 0.0, 1.0))
    confidence = float(
        np.clip((peak - float(np.median(band))) / (1.0 - float(np.median(band)) + 1e-9), 0, 1)
    )
    return clarity, confidence


def extract(windows: list[npt.NDArray[np.float32]]) -> Features:
    """Features of the given mono 22,050 Hz windows, taken together as one excerpt."""
    import librosa
    from librosa.onset import onset_detect, onset_strength

    windows = [w for w in windows if len(w) >= N_FFT]
    if not windows:
        raise ValueError("no window is long enough to analyse")
    y = np.concatenate(windows)
    # One STFT per window (so no frame straddles a cut), frames side by side.
    stft = np.concatenate([librosa.stft(w, n_fft=N_FFT, hop_length=HOP) for w in windows], axis=1)
    mag = np.abs(stft).astype(np.float32)
    power = mag.astype(np.float32) ** 2
    frames = np.concatenate([_frames(w) for w in windows], axis=1)

    # chroma_stft with its estimated tuning (every 4th frame is plenty to estimate a
    # tuning offset in 0.01-semitone steps, and 4x cheaper); the filter banks are cached.
    tuning = float(librosa.estimate_tuning(S=mag[:, ::4], sr=SR, n_fft=N_FFT))
    chroma = librosa.util.normalize(_chroma_basis(round(tuning, 2)) @ power, norm=np.inf, axis=0)
    rms = np.sqrt(np.mean(frames.astype(np.float64) ** 2, axis=0))
    centroid = librosa.feature.spectral_centroid(S=mag, sr=SR)
    bandwidth = librosa.feature.spectral_bandwidth(S=mag, sr=SR, centroid=centroid)
    rolloff = librosa.feature.spectral_rolloff(S=mag, sr=SR)
    signs = np.signbit(frames)
    zcr = np.mean(signs[1:] != signs[:-1], axis=0)
    var_h, var_p = _hpss_energy(mag)
    percussive_ratio = var_p / max(var_h + var_p, 1e-12)
    mel_db = librosa.power_to_db(_mel_basis() @ power)
    onset_env = onset_strength(S=mel_db, sr=SR)
    tempo = float(librosa.feature.tempo(onset_envelope=onset_env, sr=SR, hop_length=HOP)[0])
    mfcc = librosa.feature.mfcc(S=mel_db, n_mfcc=N_MFCC)

    gtzan = (
        _mean_var(chroma.reshape(1, -1))
        + _mean_var(rms)
        + _mean_var(centroid)
        + _mean_var(bandwidth)
        + _mean_var(rolloff)
        + _mean_var(zcr)
        # The parts' means are the signal's DC offset (~1e-5 in the table), shared out
        # in proportion to their energies.
        + [float(np.mean(y)) * (1.0 - percussive_ratio), var_h]
        + [float(np.mean(y)) * percussive_ratio, var_p]
        + [tempo]
        + _mean_var(mfcc)
    )

    contrast = librosa.feature.spectral_contrast(S=mag, sr=SR)
    flatness = librosa.feature.spectral_flatness(S=mag)
    chroma_mean = chroma.mean(axis=1).astype(np.float64)
    tonnetz = librosa.feature.tonnetz(chroma=chroma, sr=SR)
    key, mode, key_strength = _key(chroma_mean)
    clarity, confidence = _pulse(onset_env)
    onsets = onset_detect(onset_envelope=onset_env, sr=SR, hop_length=HOP)
    seconds = len(y) / SR
    onset_rate = len(onsets) / seconds
    rms_db = 20 * np.log10(np.maximum(rms, 1e-5))
    loudness_db = float(20 * np.log10(max(float(np.sqrt(np.mean(rms**2))), 1e-5)))
    dynamic_range = float(np.percentile(rms_db, 95) - np.percentile(rms_db, 10))
    delta_var = np.var(librosa.feature.delta(mfcc), axis=1)

    extra = (
        list(contrast.mean(axis=1))
        + list(contrast.var(axis=1))
        + _mean_var(flatness)
        + list(chroma_mean)
        + list(tonnetz.mean(axis=1))
        + [key_strength, float(mode), confidence, onset_rate, clarity]
        + _mean_var(onset_env)
        + [loudness_db, dynamic_range, percussive_ratio]
        + list(delta_var)
    )
    vector = np.asarray(gtzan + extra, dtype=np.float32)
    assert vector.shape == (N_FEATURES,)

    freqs = librosa.fft_frequencies(sr=SR, n_fft=N_FFT)
    band_power = power.sum(axis=1, dtype=np.float64)
    brightness = float(band_power[freqs >= 1500].sum() / max(band_power.sum(), 1e-20))
    flat = float(np.mean(flatness))
    # Energy: level (-40 dBFS -> 0, -8 dBFS -> 1) and activity (onset rate up to ~6/s).
    level = float(np.clip((loudness_db + 40.0) / 32.0, 0.0, 1.0))
    activity = float(np.clip(onset_rate / 6.0, 0.0, 1.0))
    energy = 0.7 * level + 0.3 * activity
    # Acousticness-like: harmonic rather than percussive, tonal rather than noisy, and
    # not dominated by the bright spectrum of amplified and electronic music.
    acoustic = (1.0 - percussive_ratio) * (1.0 - min(1.0, 10.0 * flat)) * (1.0 - brightness)
    scalars = Scalars(
        bpm=tempo,
        bpm_confidence=confidence,
        key=key,
        mode=mode,
        key_strength=key_strength,
        energy=float(np.clip(energy, 0.0, 1.0)),
        brightness=brightness,
        pulse_strength=clarity,
        acousticness=float(np.clip(acoustic, 0.0, 1.0)),
        loudness_db=loudness_db,
    )
    if not np.all(np.isfinite(vector)):
        raise ValueError("the features are not finite")
    return Features(vector, scalars)
