"""librosa's feature definitions, restated in numpy for the analysis workers.

Why not call librosa: importing ``librosa.core.spectrum`` pulls in scipy.signal and numba,
and numba compiles librosa's vectorised stencils at import time, which costs ~190 MB per
process before any audio is touched; the analysis budget is 300 MB per worker. Each
function here reproduces one librosa function with its default parameters (the names
say which; version 0.11), and tests/test_audio_features.py checks them against librosa
itself on real recordings. Only what the feature vector uses is here.
"""

from __future__ import annotations

import functools
import itertools

import numpy as np
import numpy.typing as npt

F32 = npt.NDArray[np.float32]
F64 = npt.NDArray[np.float64]
_TINY32 = float(np.finfo(np.float32).tiny)


def hann(n: int) -> F64:
    """scipy.signal.get_window("hann", n): the periodic Hann window."""
    return 0.5 - 0.5 * np.cos(2.0 * np.pi * np.arange(n) / n)


def frame(y: npt.NDArray[np.floating], length: int, hop: int) -> npt.NDArray[np.floating]:
    """librosa.util.frame (frames as columns, a view)."""
    n = 1 + (len(y) - length) // hop
    return np.lib.stride_tricks.as_strided(
        y, shape=(length, n), strides=(y.strides[0], y.strides[0] * hop), writeable=False
    )


def stft(y: F32, n_fft: int, hop: int) -> npt.NDArray[np.complex64]:
    """librosa.stft(y, n_fft, hop): Hann window, centred with zero padding."""
    padded = np.pad(y.astype(np.float32, copy=False), n_fft // 2, mode="constant")
    frames = frame(padded, n_fft, hop) * hann(n_fft).astype(np.float32)[:, None]
    return np.fft.rfft(frames, axis=0).astype(np.complex64, copy=False)


def rms(y: F32, length: int, hop: int) -> F64:
    """librosa.feature.rms(y=y): centred frames, zero padding."""
    padded = np.pad(y, length // 2, mode="constant").astype(np.float64)
    frames = frame(padded, length, hop)
    out: F64 = np.sqrt(np.mean(frames**2, axis=0))
    return out


def zero_crossing_rate(y: F32, length: int, hop: int) -> F64:
    """librosa.feature.zero_crossing_rate(y): centred frames with edge padding, samples
    within 1e-10 of zero counted as positive."""
    padded = np.pad(y, length // 2, mode="edge")
    signs = frame(np.signbit(np.where(np.abs(padded) <= 1e-10, 0.0, padded)), length, hop)
    # Counted inside each frame: its first sample is never a crossing (librosa's pad=False).
    out: F64 = np.sum(signs[1:] != signs[:-1], axis=0) / length
    return out


def fft_frequencies(sr: int, n_fft: int) -> F64:
    return np.fft.rfftfreq(n_fft, 1.0 / sr).astype(np.float64)


def _hz_to_mel(f: F64) -> F64:
    f_sp, min_log_hz = 200.0 / 3, 1000.0
    mels = f / f_sp
    logstep = np.log(6.4) / 27.0
    log_t = f >= min_log_hz
    mels[log_t] = min_log_hz / f_sp + np.log(f[log_t] / min_log_hz) / logstep
    return mels


def _mel_to_hz(m: F64) -> F64:
    f_sp, min_log_hz = 200.0 / 3, 1000.0
    min_log_mel = min_log_hz / f_sp
    freqs = f_sp * m
    logstep = np.log(6.4) / 27.0
    log_t = m >= min_log_mel
    freqs[log_t] = min_log_hz * np.exp(logstep * (m[log_t] - min_log_mel))
    return freqs


@functools.cache
def mel_filters(sr: int, n_fft: int, n_mels: int = 128) -> F32:
    """librosa.filters.mel(sr=sr, n_fft=n_fft): Slaney mel scale and area normalisation."""
    fftfreqs = fft_frequencies(sr, n_fft)
    lo, hi = _hz_to_mel(np.array([0.0])), _hz_to_mel(np.array([sr / 2.0]))
    mel_f = _mel_to_hz(np.linspace(lo[0], hi[0], n_mels + 2))
    fdiff = np.diff(mel_f)
    ramps = np.subtract.outer(mel_f, fftfreqs)
    lower = -ramps[:-2] / fdiff[:-1, None]
    upper = ramps[2:] / fdiff[1:, None]
    weights = np.maximum(0.0, np.minimum(lower, upper))
    weights *= (2.0 / (mel_f[2 : n_mels + 2] - mel_f[:n_mels]))[:, None]
    return weights.astype(np.float32)


def _normalize_columns(x: F64, order: float) -> F64:
    """librosa.util.normalize(x, norm=order, axis=0): columns below ``tiny`` untouched."""
    if np.isinf(order):
        length = np.max(np.abs(x), axis=0)
    elif order == 1:
        length = np.sum(np.abs(x), axis=0)
    else:
        length = np.sqrt(np.sum(np.abs(x) ** 2, axis=0))
    tiny = float(np.finfo(x.dtype).tiny)
    return x / np.where(length < tiny, 1.0, length)


@functools.lru_cache(maxsize=128)
def chroma_filters(sr: int, n_fft: int, tuning: float = 0.0) -> F32:
    """librosa.filters.chroma(sr=sr, n_fft=n_fft, tuning=tuning)."""
    n_chroma = 12
    frequencies = np.linspace(0, sr, n_fft, endpoint=False)[1:]
    a440 = 440.0 * 2.0 ** (tuning / n_chroma)
    frqbins = n_chroma * np.log2(frequencies / (a440 / 16))
    frqbins = np.concatenate(([frqbins[0] - 1.5 * n_chroma], frqbins))
    binwidthbins = np.concatenate((np.maximum(frqbins[1:] - frqbins[:-1], 1.0), [1]))
    d = np.subtract.outer(frqbins, np.arange(0, n_chroma, dtype="d")).T
    half = np.round(float(n_chroma) / 2)
    d = np.remainder(d + half + 10 * n_chroma, n_chroma) - half
    wts = np.exp(-0.5 * (2 * d / np.tile(binwidthbins, (n_chroma, 1))) ** 2)
    wts = _normalize_columns(wts, 2)
    wts *= np.tile(np.exp(-0.5 * (((frqbins / n_chroma - 5.0) / 2.0) ** 2)), (n_chroma, 1))
    wts = np.roll(wts, -3, axis=0)
    return np.ascontiguousarray(wts[:, : int(1 + n_fft / 2)], dtype=np.float32)


def chroma(power: F32, sr: int, n_fft: int, tuning: float) -> F64:
    """librosa.feature.chroma_stft(S=power, tuning=tuning): inf-norm per frame."""
    raw = (chroma_filters(sr, n_fft, round(tuning, 2)) @ power).astype(np.float64)
    return _normalize_columns(raw, np.inf)


def power_to_db(s: npt.NDArray[np.floating], top_db: float = 80.0) -> F64:
    """librosa.power_to_db(s) with ref 1.0, amin 1e-10, top_db 80 (over the whole array)."""
    log = 10.0 * np.log10(np.maximum(1e-10, s.astype(np.float64)))
    out: F64 = np.maximum(log, log.max() - top_db)
    return out


@functools.cache
def _dct_matrix(n_out: int, n_in: int) -> F64:
    """scipy.fft.dct(type=2, norm="ortho") as a matrix on the first axis."""
    k = np.arange(n_out)[:, None]
    n = np.arange(n_in)[None, :]
    m: F64 = np.cos(np.pi * k * (2 * n + 1) / (2 * n_in)) * np.sqrt(2.0 / n_in)
    m[0] /= np.sqrt(2.0)
    return m


def mfcc(mel_db: F64, n_mfcc: int) -> F64:
    """librosa.feature.mfcc(S=mel_db, n_mfcc=n_mfcc)."""
    return _dct_matrix(n_mfcc, mel_db.shape[0]) @ mel_db


def spectral_centroid(mag: F32, freqs: F64) -> F64:
    norm = _normalize_columns(mag.astype(np.float64), 1)
    return freqs @ norm


def spectral_bandwidth(mag: F32, freqs: F64, centroid: F64) -> F64:
    norm = _normalize_columns(mag.astype(np.float64), 1)
    dev = np.abs(freqs[:, None] - centroid[None, :])
    out: F64 = np.sqrt(np.sum(norm * dev**2, axis=0))
    return out


def spectral_rolloff(mag: F32, freqs: F64, percent: float = 0.85) -> F64:
    total = np.cumsum(mag, axis=0)  # in the input precision, as librosa sums
    threshold = percent * total[-1]
    reached = total >= threshold[None, :]
    first = np.argmax(reached, axis=0)
    out: F64 = freqs[first]
    return out


def spectral_flatness(mag: F32) -> F64:
    """librosa.feature.spectral_flatness(S=mag): power 2, amin 1e-10."""
    s = np.maximum(1e-10, mag.astype(np.float64) ** 2)
    out: F64 = np.exp(np.mean(np.log(s), axis=0)) / np.mean(s, axis=0)
    return out


def spectral_contrast(mag: F32, freqs: F64, fmin: float = 200.0, n_bands: int = 6) -> F64:
    """librosa.feature.spectral_contrast(S=mag): octave bands from 200 Hz, 2 % quantiles."""
    octa = np.zeros(n_bands + 2)
    octa[1:] = fmin * (2.0 ** np.arange(0, n_bands + 1))
    valley = np.zeros((n_bands + 1, mag.shape[1]))
    peak = np.zeros_like(valley)
    for k, (f_low, f_high) in enumerate(itertools.pairwise(octa)):
        band = (freqs >= f_low) & (freqs <= f_high)
        idx = np.flatnonzero(band)
        if k > 0:
            band[idx[0] - 1] = True
        if k == n_bands:
            band[idx[-1] + 1 :] = True
        sub = mag[band]
        if k < n_bands:
            sub = sub[:-1]
        q = max(int(np.rint(0.02 * np.sum(band))), 1)
        ordered = np.sort(sub, axis=0)
        valley[k] = np.mean(ordered[:q], axis=0)
        peak[k] = np.mean(ordered[-q:], axis=0)
    return power_to_db(peak) - power_to_db(valley)


def tonnetz(chroma_frames: F64) -> F64:
    """librosa.feature.tonnetz(chroma=chroma_frames): fifths, minor and major thirds."""
    dim_map = np.linspace(0, 12, num=12, endpoint=False)
    scale = np.asarray([7.0 / 6, 7.0 / 6, 3.0 / 2, 3.0 / 2, 2.0 / 3, 2.0 / 3])
    v = np.multiply.outer(scale, dim_map)
    v[::2] -= 0.5
    r = np.array([1, 1, 1, 1, 0.5, 0.5])
    phi = r[:, None] * np.cos(np.pi * v)
    out: F64 = phi @ _normalize_columns(chroma_frames, 1)
    return out


def onset_strength(mel_db: F64, n_fft: int, hop: int) -> F64:
    """librosa.onset.onset_strength(S=mel_db): spectral flux (lag 1), mean over bands,
    shifted to align with centred frames."""
    flux = np.maximum(0.0, mel_db[:, 1:] - mel_db[:, :-1])
    env = np.mean(flux, axis=0)
    pad = 1 + n_fft // (2 * hop)
    env = np.pad(env, (pad, 0), mode="constant")
    return env[: mel_db.shape[1]]


def _autocorrelate(x: F64, max_size: int) -> F64:
    """librosa.autocorrelate along the first axis."""
    n = x.shape[0]
    size = 1 << int(np.ceil(np.log2(2 * n - 1)))
    spec = np.fft.rfft(x, n=size, axis=0)
    return np.fft.irfft(np.abs(spec) ** 2, n=size, axis=0)[:max_size]


def tempo(onset_env: F64, sr: int, hop: int) -> float:
    """librosa.feature.tempo(onset_envelope=onset_env): 8 s autocorrelation tempogram,
    averaged, under a log-normal prior around 120 bpm (one octave), below 320 bpm."""
    win = int(8.0 * sr) // hop
    padded = np.pad(onset_env, win // 2, mode="linear_ramp", end_values=(0, 0))
    frames = frame(padded, win, 1)[:, : len(onset_env)] * hann(win)[:, None]
    tg = _autocorrelate(frames, win)
    tg = _normalize_columns(tg, np.inf)
    mean_tg = np.mean(tg, axis=1)
    with np.errstate(divide="ignore"):
        bpms = np.concatenate(([np.inf], 60.0 * sr / (hop * np.arange(1.0, win))))
        logprior = -0.5 * ((np.log2(bpms) - np.log2(120.0)) / 1.0) ** 2
    logprior[: int(np.argmax(bpms < 320.0))] = -np.inf
    return float(bpms[int(np.argmax(np.log1p(1e6 * mean_tg) + logprior))])


def delta(x: F64, width: int = 9) -> F64:
    """First derivative along frames: librosa.feature.delta's Savitzky-Golay slope in the
    interior (edges repeat the nearest frame rather than fitting a polynomial)."""
    half = width // 2
    weights = np.arange(-half, half + 1, dtype=np.float64)
    weights /= np.sum(weights**2)
    padded = np.pad(x, ((0, 0), (half, half)), mode="edge")
    windows = np.lib.stride_tricks.sliding_window_view(padded, width, axis=1)
    return windows @ weights


def pitch_tuning(frequencies: F64, resolution: float = 0.01) -> float:
    """librosa.pitch_tuning: the most common deviation from A440 in fractions of a bin."""
    frequencies = frequencies[frequencies > 0]
    if not len(frequencies):
        return 0.0
    octs = np.log2(frequencies / (440.0 / 16))
    residual = np.mod(12 * octs, 1.0)
    residual[residual >= 0.5] -= 1.0
    bins = np.linspace(-0.5, 0.5, int(np.ceil(1.0 / resolution)) + 1)
    counts, edges = np.histogram(residual, bins)
    return float(edges[int(np.argmax(counts))])
