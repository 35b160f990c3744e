"""One file in, one feature vector and its scalars out, or a clear reason why not."""

from __future__ import annotations

import math

import numpy as np

from recommender.audio import musicnn
from recommender.audio.decode import SR, DecodeError, Excerpt, load_excerpt
from recommender.audio.features import Features, extract

# Three windows of 10 s at 10-90 % of the track. Measured against features of the whole
# track on the real recordings over 60 s in ../shared/data/audio (RMS distance over the 57
# reference columns, in GTZAN standard deviations): one 30 s window in the middle 0.50,
# 2 x 15 s 0.43, 3 x 10 s 0.36, 3 x 15 s 0.33, 3 x 20 s 0.32. 3 x 10 s takes most of the
# gain at the cost of 30 s of audio, the length of the GTZAN reference clips.
WINDOW_COUNT = 3
WINDOW_SECONDS = 10.0
MIN_SECONDS = 1.0
# Below this RMS (about -70 dBFS) a file is taken as silence: nothing to describe.
SILENCE_RMS = 10 ** (-70 / 20)
# What the music network hears (3-s patches, ~20 ms of CPU each with onnxruntime):
# - a file no longer than the three windows (<= 30 s: a clip, a sketch, a short piece)
#   is decoded whole, and heard whole: every non-overlapping patch of it, averaged, as
#   musicnn's embedding was evaluated on 30-s clips (at most WHOLE_PATCHES);
# - a longer track: DEEP_PATCHES patches over the windows (the middle of each), as many
#   as the throughput target allows: >= 4 tracks/s with 2 workers on 4-minute MP3s
#   (tests/benchmarks/bench_analysis.py). Worker CPU per track, measured at load 7-8:
#   numpy with 3 patches 0.318 s (4.30 tracks/s on the idle machine); onnxruntime with
#   3 / 4 / 6 / 9 patches 0.291 / 0.316 / 0.354 / 0.416 s, ~0.021 s a patch. Scaled from
#   that idle figure: 3 / 4 / 5 / 6 patches ~4.7 / 4.3 / 4.1 / 3.9 tracks/s. At load ~3:
#   numpy 3 patches 0.262 s, onnxruntime 4 patches 0.263 s (6.73 tracks/s), 6 0.326 s.
#   What more patches buy (bench_deep_similarity.py --patches, 6 real recordings of
#   46-133 s): cosine distance of the embedding to the whole recording's 0.041 / 0.022 /
#   0.012 with 3 / 6 / 9 patches, against 0.79 between two recordings.
DEEP_PATCHES = 4
WHOLE_PATCHES = 10
# The MTT network (heard tags only: "classical", instruments) hears MTT_PATCHES of those
# patches, the first and the last (the first and last analysis windows of a long track),
# so the second network adds ~2 x 20 ms a track whatever its length. All 4 patches cost
# 0.08 s more a track (worker CPU 0.295 -> 0.379 s, 4.06 -> 3.15 tracks/s at load ~3-5);
# on the 8 real recordings, 2 patches heard the same "classical" and "strings" as 4 (the
# string orchestra 0.78 / 0.51 against 0.80 / 0.55, Tchaikovsky 0.64 / 0.31 against
# 0.57 / 0.26), the borderline instruments (piano, flute at 0.1-0.3) varying either way;
# the 409 snippets, one patch each, measured the words' precision.
MTT_PATCHES = 2


class AnalysisError(Exception):
    """A file that cannot be analysed. ``kind`` is a short code stored with the reason:
    missing, unreadable, no_audio, truncated, too_short, silent, failed."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind


def analyze_file(
    path: str, net: musicnn.Musicnn | None = None, mtt: musicnn.Musicnn | None = None
) -> Features:
    """The features of ``path``; with ``net`` (MSD_musicnn), also what the network hears
    in it, and with ``mtt`` as well (MTT_musicnn), its tags too, from the same patches."""
    try:
        excerpt = load_excerpt(path, WINDOW_COUNT, WINDOW_SECONDS, min_seconds=MIN_SECONDS)
    except DecodeError as exc:
        raise AnalysisError(exc.kind, str(exc)) from None
    y = np.concatenate(excerpt.windows)
    if not np.all(np.isfinite(y)):
        raise AnalysisError("unreadable", "the decoder returned invalid samples")
    rms = float(np.sqrt(np.mean(y.astype(np.float64) ** 2)))
    if rms < SILENCE_RMS:
        raise AnalysisError(
            "silent", f"silent: the audio stays below -70 dBFS ({len(y) / SR:.1f} s checked)"
        )
    try:
        features = extract(excerpt.windows)
    except ValueError as exc:
        raise AnalysisError("failed", f"feature extraction failed: {exc}") from None
    if net is None:
        return features
    return Features(
        features.vector,
        features.scalars,
        deep_features(net, excerpt.windows, whole=_whole(excerpt), mtt=mtt),
    )


def _whole(excerpt: Excerpt) -> bool:
    """Whether the excerpt is the whole file (short enough to decode whole, see
    plan_windows). One window alone does not say so: a file of unknown length, or one
    whose header promises more than it holds, is read from its start, one window long."""
    duration = excerpt.duration
    return (
        len(excerpt.windows) == 1
        and math.isfinite(duration)
        and 0 < duration <= excerpt.seconds + 1.0
    )


def deep_features(
    net: musicnn.Musicnn,
    windows: list[np.ndarray],
    whole: bool = False,
    mtt: musicnn.Musicnn | None = None,
) -> musicnn.DeepFeatures:
    """The network's embedding and tags (22,050 Hz in, resampled to its 16 kHz). With
    ``whole`` (``windows`` is the whole file), every non-overlapping patch of it, up to
    ``WHOLE_PATCHES`` from the middle; else ``DEEP_PATCHES`` over the middles of the
    windows, the first windows taking one more where they don't divide evenly. With
    ``mtt`` (the MTT_musicnn training), its tag probabilities over ``MTT_PATCHES`` of the
    same patches, evenly spaced: the log-mel is computed once, for both."""
    import soxr

    windows = [w for w in windows if len(w)]
    if whole:
        counts = [WHOLE_PATCHES] * len(windows)
        middles = windows
    else:
        n = max(len(windows), 1)
        counts = [DEEP_PATCHES // n + (1 if i < DEEP_PATCHES % n else 0) for i in range(n)]
        # Only the middle of each window is heard: resample and transform just that much
        # (the patches, and a few frames to spare).
        middles = []
        for w, count in zip(windows, counts, strict=True):
            needed = int(SR * (count * musicnn.PATCH_SECONDS + 0.1))
            middles.append(w[max(0, (len(w) - needed) // 2) :][:needed])
    batch = np.concatenate(
        [
            musicnn.patches(
                musicnn.log_mel(
                    np.asarray(soxr.resample(w, SR, musicnn.SR, quality="HQ"), dtype=np.float32)
                ),
                limit=count,
            )
            for w, count in zip(middles, counts, strict=True)
            if count > 0
        ]
    )
    embedding, probs = net.forward(batch)
    mtt_tags = None
    if mtt is not None:
        heard = np.unique(np.linspace(0, len(batch) - 1, min(MTT_PATCHES, len(batch))).round())
        mtt_tags = mtt.forward(batch[heard.astype(np.int64)])[1].mean(axis=0)
    return musicnn.DeepFeatures(embedding.mean(axis=0), probs.mean(axis=0), len(batch), mtt_tags)


def warm_up(net: musicnn.Musicnn | None = None, mtt: musicnn.Musicnn | None = None) -> None:
    """Run every code path once (imports, FFT plans, cached filter banks), so the first
    real track of a worker costs what the others do."""
    rng = np.random.default_rng(0)
    t = np.arange(int(2.0 * SR)) / SR
    y = (0.3 * np.sin(2 * np.pi * 440 * t) + 0.05 * rng.standard_normal(len(t))).astype(np.float32)
    extract([y])
    if net is not None:
        deep_features(net, [y], whole=True, mtt=mtt)
