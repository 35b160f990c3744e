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
spectrogram, ~1 s CPU for 30 s of audio), runs on a pooled spectrogram with shorter
kernels: the same seconds and hertz of context, ~12x cheaper. Only the energies of the
two parts are kept (their time-domain variances, by Parseval): no inverse STFT needed.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from recommender.audio import dsp
from recommender.audio.decode import SR
from recommender.audio.musicnn import EMBEDDING_DIMS, MSD_LABELS, MTT_LABELS, DeepFeatures
from recommender.audio.tags import heard_text

# Bump when any column's definition changes: stored vectors of older versions keep serving
# until the pipeline re-analyses them.
FEATURE_VERSION = 1
# Version 2: the FEATURE_VERSION 1 columns, then what the music network hears (see
# musicnn.py): its 200-d embedding and its 50 tag probabilities. Analysed without the
# network (its weights missing or damaged), a track gets a version 1 vector.
DEEP_FEATURE_VERSION = 2
# Version 3: the version 2 columns, then MTT_musicnn's 50 tag probabilities (the same
# network trained on MagnaTagATune: "classical" and the instruments), computed from the
# same log-mel patches; only the heard tags read them. Without the MTT weights, a track
# gets a version 2 vector.
MTT_FEATURE_VERSION = 3
# What a track analysed at an older version than the full one lacks, for the one line
# that says why (``current_version``).
LACKING: dict[int, str] = {
    FEATURE_VERSION: "no heard tags",
    DEEP_FEATURE_VERSION: "no classical or instrument tags",
}

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
DEEP_COLUMNS: tuple[str, ...] = tuple(f"deep{i}" for i in range(1, EMBEDDING_DIMS + 1))
TAG_COLUMNS: tuple[str, ...] = tuple(f"tag:{label}" for label in MSD_LABELS)
DEEP_FEATURE_NAMES: tuple[str, ...] = FEATURE_NAMES + DEEP_COLUMNS + TAG_COLUMNS
N_DEEP_FEATURES = len(DEEP_FEATURE_NAMES)
DEEP_SLICE = slice(N_FEATURES, N_FEATURES + EMBEDDING_DIMS)
TAG_SLICE = slice(N_FEATURES + EMBEDDING_DIMS, N_DEEP_FEATURES)
# The columns a content index reads (not the tag probabilities): what the index's callers
# ask FeatureStore.serving for, which keeps 100,000 tracks' vectors 50 columns narrower.
N_INDEXED_FEATURES = DEEP_SLICE.stop
MTT_TAG_COLUMNS: tuple[str, ...] = tuple(f"mtt:{label}" for label in MTT_LABELS)
MTT_FEATURE_NAMES: tuple[str, ...] = DEEP_FEATURE_NAMES + MTT_TAG_COLUMNS
N_MTT_FEATURES = len(MTT_FEATURE_NAMES)
MTT_TAG_SLICE = slice(N_DEEP_FEATURES, N_MTT_FEATURES)


def tag_probabilities(
    vector: npt.ArrayLike,
) -> tuple[npt.NDArray[np.float32] | None, npt.NDArray[np.float32] | None]:
    """A stored vector's MSD and MTT tag probabilities, each None where its layout has
    none (version 1 has neither, version 2 no MTT ones)."""
    v = np.asarray(vector, dtype=np.float32)
    msd = v[TAG_SLICE] if len(v) >= N_DEEP_FEATURES else None
    mtt = v[MTT_TAG_SLICE] if len(v) >= N_MTT_FEATURES else None
    return msd, mtt


def stored_heard_text(vector: npt.ArrayLike) -> str | None:
    """The heard-tags text a stored vector's tag probabilities give, under the current
    rule (``tags.heard_text``); None for a vector without the music network's columns."""
    msd, mtt = tag_probabilities(vector)
    return None if msd is None else heard_text(msd, mtt)


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


DEEP_GROUP = "deep"
DEEP_GROUPS: dict[str, npt.NDArray[np.int64]] = {
    **FEATURE_GROUPS,
    DEEP_GROUP: np.arange(N_DEEP_FEATURES, dtype=np.int64)[DEEP_SLICE],
}


def layout_groups(dims: int) -> dict[str, npt.NDArray[np.int64]] | None:
    """The content index's column groups for a stored layout of ``dims`` columns (the
    tag probabilities are in none: they name, the embedding compares), or None for a
    layout this version does not know."""
    if dims == N_FEATURES:
        return FEATURE_GROUPS
    if dims in (N_INDEXED_FEATURES, N_DEEP_FEATURES, N_MTT_FEATURES):
        return DEEP_GROUPS
    return None


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
    vector: npt.NDArray[np.float32]  # the FEATURE_VERSION columns
    scalars: Scalars
    deep: DeepFeatures | None = None

    @property
    def version(self) -> int:
        if self.deep is None:
            return FEATURE_VERSION
        return DEEP_FEATURE_VERSION if self.deep.mtt_tags is None else MTT_FEATURE_VERSION

    @property
    def stored_vector(self) -> npt.NDArray[np.float32]:
        """The vector to store: its version's full layout."""
        if self.deep is None:
            return self.vector
        parts = [self.vector, self.deep.embedding, self.deep.tags]
        if self.deep.mtt_tags is not None:
            parts.append(self.deep.mtt_tags)
        return np.concatenate(parts).astype(np.float32)


def _mean_var(x: npt.NDArray[np.floating]) -> list[float]:
    """Per-row mean and variance over frames, as the reference table computes them."""
    out: list[float] = []
    for row in np.atleast_2d(x):
        out += [float(np.mean(row)), float(np.var(row))]
    return out


# HPSS on a pooled spectrogram: 2x2 cells (frequency x time) for the percussive median
# (across 16 pooled bins = librosa's 31), and 2x4 for the harmonic one (across 8 pooled
# frames = librosa's 31), then the masks as librosa builds them. Pooling smooths, which
# moves some energy between the parts. Measured on the 8 real recordings in
# ../shared/data/audio (30 s each, against librosa.effects.hpss): harmonic variance at
# 0.78-0.96x the exact value, percussive at 0.68-0.98x, both 0.86x on average, so both
# are scaled back by that. Cost: ~0.08 s CPU for 30 s of audio, against ~1 s for
# librosa's full-resolution filters.
_HPSS_CALIBRATION = 1.0 / 0.86


def _median_rows(x: npt.NDArray[np.float32], size: int) -> npt.NDArray[np.float32]:
    """scipy.ndimage.median_filter along each row (mode "reflect", the window centred as
    scipy centres it, an even size taking the upper median), the same values: one
    np.partition over the rows' sliding windows takes ~0.55x the CPU of scipy's rank
    filter (measured at the HPSS sizes)."""
    half = size // 2
    if x.shape[1] < size:  # reflections of reflections: numpy and scipy part ways there
        import scipy.ndimage as ndi

        short: npt.NDArray[np.float32] = ndi.median_filter(x, size=(1, size), mode="reflect")
        return short
    padded = np.pad(x, ((0, 0), (half, size - 1 - half)), mode="symmetric")
    windows = np.lib.stride_tricks.sliding_window_view(padded, size, axis=1)
    out: npt.NDArray[np.float32] = np.partition(windows, half, axis=-1)[..., half]
    return out


def _hpss_energy(mag: npt.NDArray[np.float32]) -> tuple[float, float]:
    """Energies (time-domain variances) of librosa.effects.hpss's harmonic and percussive
    parts (soft masks, power 2), from a pooled magnitude spectrogram; see above."""
    f, t = mag.shape
    f2, t2 = (f - 1) // 2, t // 2
    pooled = mag[: 2 * f2, : 2 * t2].reshape(f2, 2, t2, 2).mean(axis=(1, 3))
    perc = _median_rows(pooled.T, 16).T
    t4 = t2 // 2
    coarse = pooled[:, : 2 * t4].reshape(f2, t4, 2).mean(axis=2)
    harm = np.repeat(_median_rows(coarse, 8), 2, axis=1)
    if harm.shape[1] < t2:  # an odd number of pooled frames: repeat the last one
        harm = np.concatenate([harm, harm[:, -1:]], axis=1)
    h2, p2 = harm.astype(np.float64) ** 2, perc.astype(np.float64) ** 2
    total = h2 + p2
    mask_h = np.where(total > 0, h2 / np.where(total > 0, total, 1.0), 0.5)
    mask_p = 1.0 - mask_h
    power = pooled.astype(np.float64) ** 2
    # Parseval for a Hann-windowed STFT with hop n_fft/4: sum(y^2) ~ sum|X|^2 / (1.5 n_fft),
    # counting the one-sided bins twice. Each pooled cell stands for 4 cells.
    scale = 4 * 2.0 / (1.5 * N_FFT) / (t * HOP) * _HPSS_CALIBRATION
    var_h = float(np.sum(power * mask_h**2) * scale)
    var_p = float(np.sum(power * mask_p**2) * scale)
    return var_h, var_p


# librosa implements these two (piptrack's local maxima and parabolic interpolation, the
# onset peak picker) with numba; see dsp.py for why the workers do without it.


def _estimate_tuning(mag: npt.NDArray[np.float32]) -> float:
    """librosa.estimate_tuning(spec=mag) with its defaults (piptrack between 150 Hz and
    4 kHz, peaks above 0.1 x the frame maximum, magnitudes above their median)."""
    if mag.shape[0] < 3 or mag.shape[1] == 0:
        return 0.0
    # Only bins from 150 Hz to 4 kHz can hold a peak: work on that band (and one bin
    # either side, for the neighbours), with the threshold from each whole frame.
    lo = int(np.ceil(150.0 * N_FFT / SR))
    hi = int(np.ceil(4000.0 * N_FFT / SR))  # first bin at or above 4 kHz, excluded
    band = mag[lo - 1 : hi + 1].astype(np.float64)
    kept = np.where(band > mag.max(axis=0, keepdims=True) * 0.1, band, 0.0)
    peaks = (kept[1:-1] > kept[:-2]) & (kept[1:-1] >= kept[2:])
    rows, cols = np.nonzero(peaks)
    centre, below, above = band[rows + 1, cols], band[rows, cols], band[rows + 2, cols]
    a = above + below - 2 * centre
    b = (above - below) / 2
    with np.errstate(divide="ignore", invalid="ignore"):
        shift = np.where(np.abs(b) >= np.abs(a), 0.0, -b / a)
    # np.gradient along frequency is the central difference b away from the edges.
    pitch = (rows + lo + shift) * SR / N_FFT
    strength = centre + 0.5 * b * shift
    voiced = pitch > 0
    if not voiced.any():
        return 0.0
    threshold = np.median(strength[voiced])
    chosen = pitch[(strength >= threshold) & voiced]
    return dsp.pitch_tuning(chosen)


def _onset_frames(onset_env: npt.NDArray[np.float64]) -> npt.NDArray[np.int64]:
    """librosa.onset.onset_detect's peak picking at 22,050 Hz / hop 512: a frame that is
    the maximum of its previous and own frame, and 0.07 above the mean of the 0.1 s
    around it, on the envelope normalised to 0..1."""
    import scipy.ndimage as ndi

    env = onset_env.astype(np.float64)
    env = env - env.min()
    if env.max() <= 0:
        return np.zeros(0, dtype=np.int64)
    env /= env.max()
    fps = SR / HOP
    pre_max, pre_avg = int(0.03 * fps), int(0.10 * fps)
    # Windows x[n - pre_max .. n] and x[n - pre_avg .. n + pre_avg], as librosa takes them.
    local_max = ndi.maximum_filter1d(env, size=pre_max + 1, origin=(pre_max + 1) // 2 - pre_max)
    local_mean = ndi.uniform_filter1d(env, size=2 * pre_avg + 1, mode="constant")
    is_peak = (env >= local_max) & (env >= local_mean + 0.07)
    frames = np.flatnonzero(is_peak)
    # librosa waits 30 ms (one frame) after a peak: drop immediate neighbours.
    if len(frames) > 1:
        frames = frames[np.concatenate(([True], np.diff(frames) > int(0.03 * fps)))]
    return frames.astype(np.int64)


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


def _pulse(onset_env: npt.NDArray[np.float64]) -> tuple[float, float]:
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
    windows = [w for w in windows if len(w) >= N_FFT]
    if not windows:
        raise ValueError("no window is long enough to analyse")
    y = np.concatenate(windows)
    # One STFT per window (so no frame straddles a cut), frames side by side.
    mag = np.concatenate([np.abs(dsp.stft(w, N_FFT, HOP)) for w in windows], axis=1)
    power = mag**2
    freqs = dsp.fft_frequencies(SR, N_FFT)

    chroma = dsp.chroma(power, SR, N_FFT, _estimate_tuning(mag))
    rms = np.concatenate([dsp.rms(w, N_FFT, HOP) for w in windows])
    zcr = np.concatenate([dsp.zero_crossing_rate(w, N_FFT, HOP) for w in windows])
    centroid = dsp.spectral_centroid(mag, freqs)
    bandwidth = dsp.spectral_bandwidth(mag, freqs, centroid)
    rolloff = dsp.spectral_rolloff(mag, freqs)
    var_h, var_p = _hpss_energy(mag)
    percussive_ratio = var_p / max(var_h + var_p, 1e-12)
    mel_db = dsp.power_to_db(dsp.mel_filters(SR, N_FFT) @ power)
    onset_env = dsp.onset_strength(mel_db, N_FFT, HOP)
    tempo = dsp.tempo(onset_env, SR, HOP)
    mfcc = dsp.mfcc(mel_db, N_MFCC)

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

    contrast = dsp.spectral_contrast(mag, freqs)
    flatness = dsp.spectral_flatness(mag)
    chroma_mean = chroma.mean(axis=1)
    tonnetz = dsp.tonnetz(chroma)
    key, mode, key_strength = _key(chroma_mean)
    clarity, confidence = _pulse(onset_env)
    onset_rate = len(_onset_frames(onset_env)) / (len(y) / SR)
    rms_db = 20 * np.log10(np.maximum(rms, 1e-5))
    loudness_db = float(20 * np.log10(max(float(np.sqrt(np.mean(rms**2))), 1e-5)))
    dynamic_range = float(np.percentile(rms_db, 95) - np.percentile(rms_db, 10))
    delta_var = np.var(dsp.delta(mfcc), axis=1)

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
    if vector.shape != (N_FEATURES,):
        raise AssertionError(f"feature vector has {vector.shape} columns, not {N_FEATURES}")

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


def current_version() -> tuple[int, str | None]:
    """The feature version this installation writes, and why it is not the full one:
    version 3 when both networks' weights load; version 2 (MSD_musicnn alone) when the
    MTT weights do not; else the signal features alone (1), with the one-line problem
    (``LACKING[version]`` says what the tracks go without). Analysis, its backlog and
    ``segue doctor`` all ask this."""
    from recommender.audio.musicnn import MSD, MTT, ModelError, check

    try:
        check(MSD)  # whether the weights load, without keeping them in this process
    except ModelError as exc:
        return FEATURE_VERSION, str(exc)
    try:
        check(MTT)
    except ModelError as exc:
        return DEEP_FEATURE_VERSION, str(exc)
    return MTT_FEATURE_VERSION, None
