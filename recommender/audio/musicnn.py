"""musicnn (Pons & Serra, 2019) in plain numpy: a 200-d "how it sounds" embedding and tag
probabilities, from either of two trainings of the same network:

- ``MSD``: MSD_musicnn, trained on the Million Song Dataset's 50 Last.fm tags (genres,
  decades, moods): the embedding and most heard tags;
- ``MTT``: MTT_musicnn, trained on MagnaTagATune's 50 tags, which name what MSD's lack:
  "classical" and the instruments (strings, piano, violin, harpsichord, choir...). Only
  its tag probabilities are used (its embedding is weaker for "sounds like": genre P@5
  0.55 against MSD's 0.72 on the labelled snippets).

The weights are converted once from the musicnn 0.1.0 wheel (ISC licence) by
``resources/models/convert_musicnn.py`` and shipped as ``resources/models/
msd_musicnn.npz`` and ``mtt_musicnn.npz``; no ML framework runs here. The network, as
``musicnn.models.build_musicnn`` defines it for both (every batch normalisation in
inference mode, epsilon 1e-3):

- input: 3 s patches of a log-mel spectrogram, 187 frames x 96 bands (16 kHz mono,
  n_fft 512, hop 256, Slaney mel, ``log10(10000 mel + 1)`` in float32), batch-normed;
- front end: timbral convolutions over 7 frames x 38 and 7 x 67 bands (204 filters each,
  time padded by 3), temporal ones over 128, 64 and 32 frames x 1 band (51 filters each,
  'same' padding); each ReLU, batch norm, then max over frequency -> 187 x 561;
- mid end: three 7-frame convolutions to 64 channels (ReLU, batch norm), the second and
  third with residual connections; with the front end: 187 x 753;
- back end: max and mean over time (interleaved, 1506), batch norm, dense 200 (ReLU,
  batch norm: the penultimate layer, our embedding), dense 50 + sigmoid (the tags).

Checked against the original TensorFlow graphs on real recordings
(tests/fixtures/musicnn_reference.npz and mtt_musicnn_reference.npz, see their README):
outputs agree within 1e-4.

Two backends run the same weights. onnxruntime, when it is installed and the ONNX file
beside the weights was built from them (``msd_musicnn.onnx``, by the same converter
script; its metadata names the weights' sha256): ~1.35x faster, its MLAS kernels closer
to the CPU's peak than OpenBLAS's on these convolutions (~2.8 GFLOP a patch; per 3-s
patch, CPU time, one thread, 2-core Xeon with AVX-512 at load ~5-6: numpy 25.7-26.3 ms,
its batches of 3 / 12 no faster; onnxruntime 18.8-19.2 ms). Otherwise numpy, the fallback
(``SEGUE_MUSICNN_BACKEND=numpy`` forces it). Both match the fixture within 1e-4 and
each other within 1e-5.
"""

from __future__ import annotations

import functools
import hashlib
import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from recommender import resources
from recommender.audio import dsp

SR = 16000
N_FFT = 512
HOP = 256
N_MELS = 96
PATCH_FRAMES = 187  # 3 s: musicnn's training input
PATCH_SECONDS = PATCH_FRAMES * HOP / SR
EMBEDDING_DIMS = 200
BN_EPS = 1e-3
# Patches pushed through the network together. One at a time holds the im2col buffers to
# ~12 MB, and bigger batches measured no faster (3 patches: 207 / 212 / 215 ms CPU in
# batches of 1 / 2 / 3, on the loaded 2-core machine).
CHUNK_PATCHES = 1
# The same for onnxruntime: 18.9 / 23.6 / 29.5 ms per patch in batches of 1 / 3 / 4
# without its memory arena, and peak RSS 101 / 197 / 258 MB.
ONNX_CHUNK_PATCHES = 1

F32 = npt.NDArray[np.float32]

# The 50 Last.fm tags of the Million Song Dataset, in the network's output order
# (musicnn.configuration.MSD_LABELS); the weights file carries them too, and must agree.
MSD_LABELS: tuple[str, ...] = (
    "rock", "pop", "alternative", "indie", "electronic", "female vocalists", "dance", "00s",
    "alternative rock", "jazz", "beautiful", "metal", "chillout", "male vocalists",
    "classic rock", "soul", "indie rock", "Mellow", "electronica", "80s", "folk", "90s",
    "chill", "instrumental", "punk", "oldies", "blues", "hard rock", "ambient", "acoustic",
    "experimental", "female vocalist", "guitar", "Hip-Hop", "70s", "party", "country",
    "easy listening", "sexy", "catchy", "funk", "electro", "heavy metal", "Progressive rock",
    "60s", "rnb", "indie pop", "sad", "House", "happy",
)  # fmt: skip

# MagnaTagATune's 50 tags, in MTT_musicnn's output order (musicnn.configuration.MTT_LABELS).
MTT_LABELS: tuple[str, ...] = (
    "guitar", "classical", "slow", "techno", "strings", "drums", "electronic", "rock",
    "fast", "piano", "ambient", "beat", "violin", "vocal", "synth", "female", "indian",
    "opera", "male", "singing", "vocals", "no vocals", "harpsichord", "loud", "quiet",
    "flute", "woman", "male vocal", "no vocal", "pop", "soft", "sitar", "solo", "man",
    "classic", "choir", "voice", "new age", "dance", "male voice", "female vocal", "beats",
    "harp", "cello", "no voice", "weird", "country", "metal", "female voice", "choral",
)  # fmt: skip

_log = logging.getLogger(__name__)

BACKEND_ENV = "SEGUE_MUSICNN_BACKEND"  # "numpy" forces the numpy network
# The ONNX model's metadata key holding the sha256 of the weights file it was built from.
ONNX_SHA_KEY = "weights_sha256"
# Beside the source tree (a checkout, the editable install, the PyInstaller bundle)...
_SOURCE_DIR = Path(__file__).resolve().parents[2] / "resources" / "models"


@dataclass(frozen=True)
class ModelSpec:
    """One training of the network: its weights file, its tags, how the user hears of it."""

    name: str  # musicnn's name for it
    file: str  # the shipped weights, in resources/models
    labels: tuple[str, ...]
    env: str  # names another weights file (tests; a user's own build)
    what: str  # "the music model": how a one-line problem names it


MSD = ModelSpec(
    "MSD_musicnn", "msd_musicnn.npz", MSD_LABELS, "SEGUE_MUSICNN_MODEL", "the music model"
)
MTT = ModelSpec(
    "MTT_musicnn", "mtt_musicnn.npz", MTT_LABELS, "SEGUE_MTT_MODEL", "the instrument-tag model"
)
SPECS = (MSD, MTT)
MODEL_ENV = MSD.env
MODEL_NAME = MSD.file


_CONVS = (
    "timbral74",
    "timbral77",
    "temporal128",
    "temporal64",
    "temporal32",
    "mid1",
    "mid2",
    "mid3",
)
_NORMS = ("input", *_CONVS, "pool", "dense")
# The front end's layers, max-pooled over frequency after their activation.
_POOLED = frozenset(_CONVS[:5])
_EXPECTED_SHAPES: dict[str, tuple[int, ...]] = {
    "timbral74/kernel": (7, 38, 1, 204),
    "timbral77/kernel": (7, 67, 1, 204),
    "temporal128/kernel": (128, 1, 1, 51),
    "temporal64/kernel": (64, 1, 1, 51),
    "temporal32/kernel": (32, 1, 1, 51),
    "mid1/kernel": (7, 561, 1, 64),
    "mid2/kernel": (7, 64, 1, 64),
    "mid3/kernel": (7, 64, 1, 64),
    "dense/kernel": (1506, 200),
    "output/kernel": (200, 50),  # both trainings have 50 tags
}


class ModelError(Exception):
    """The weights file is missing or damaged; the text is one line for the user."""


def model_path(spec: ModelSpec = MSD) -> Path:
    """Where ``spec``'s weights are: the file its environment variable names, else beside
    the source tree, else where a wheel installed them."""
    named = os.environ.get(spec.env)
    if named:
        return Path(named)
    source = _SOURCE_DIR / spec.file
    if not source.exists():
        found = resources.installed(f"models/{spec.file}")
        if found is not None:
            return found
    return source


@dataclass(frozen=True)
class Layer:
    """A convolution or dense layer followed by ReLU (or not) and batch norm, the norm
    folded into one scale and shift per channel."""

    kernel: F32  # (K, out): im2col rows times this
    bias: F32
    scale: F32
    shift: F32
    # +1 or -1 per channel, the sign of ``scale``, already multiplied into ``kernel`` of
    # the front end's layers (see ``_pool_then_activate``); all ones elsewhere.
    sign: F32


@dataclass(frozen=True)
class DeepFeatures:
    """What the network hears in one track."""

    embedding: F32  # (200,) penultimate layer, averaged over patches
    tags: F32  # (50,) tag probabilities, averaged over patches
    patches: int
    # (50,) MTT_musicnn's tag probabilities over the same patches, or None (not run)
    mtt_tags: F32 | None = None


def weights_sha256(path: str | Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


# What this process has already warned of (one line a process, for both networks).
_warned: set[str] = set()


def _onnx_session(weights_path: Path) -> tuple[Any, str | None]:
    """An onnxruntime session over the ONNX file beside ``weights_path``, or None and
    why not: onnxruntime is forced off or missing, the file is absent, unreadable, or
    was built from other weights (then numpy runs the network: same numbers, a little
    slower). A missing or broken onnxruntime logs one warning a process (whichever
    network asks first), a damaged file one each time. One thread: the analysis runs one
    worker per core."""
    onnx_path = weights_path.with_suffix(".onnx")
    if os.environ.get(BACKEND_ENV, "").lower() == "numpy":
        return None, f"{BACKEND_ENV}=numpy asks for it"
    if not onnx_path.is_file():
        return None, f"{onnx_path} is missing"
    try:
        import onnxruntime as ort
    except Exception as exc:  # not installed (no wheel for this platform), a broken wheel
        why = "onnxruntime is not installed"
        if not isinstance(exc, ModuleNotFoundError):
            why = f"onnxruntime does not load ({type(exc).__name__}: {exc})"
        if "onnxruntime" not in _warned:
            _log.warning("musicnn: %s; the networks run on numpy", why)
            _warned.add("onnxruntime")
        return None, why
    try:
        options = ort.SessionOptions()
        options.intra_op_num_threads = 1
        options.inter_op_num_threads = 1
        options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        options.log_severity_level = 3
        # No arena, no memory pattern, one patch per run: peak RSS ~100 MB with the
        # session against ~260 MB with the defaults and 4-patch runs, at the same speed
        # (the layout-changing "all" optimisations add ~20 MB and save nothing here).
        options.enable_cpu_mem_arena = False
        options.enable_mem_pattern = False
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_EXTENDED
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        session = ort.InferenceSession(str(onnx_path), options, providers=["CPUExecutionProvider"])
        built_from = session.get_modelmeta().custom_metadata_map.get(ONNX_SHA_KEY)
    except Exception as exc:  # a damaged file, an onnxruntime too old for it
        why = f"{onnx_path} is unusable ({exc})"
        _log.warning("musicnn: %s; the network runs on numpy", why)
        return None, why
    if built_from != weights_sha256(weights_path):
        # Other weights (a user's own): numpy runs them.
        return None, f"{onnx_path} was built from other weights than {weights_path.name}"
    return session, None


def network_backend() -> tuple[str, str | None]:
    """What analysis runs the shipped network on: ("onnxruntime " + its version, None),
    or ("numpy", why not onnxruntime). For ``segue doctor``; raises ``ModelError`` when
    the weights themselves are missing or damaged."""
    check()
    session, why = _onnx_session(model_path())
    if session is None:
        return "numpy", why
    import onnxruntime as ort

    return f"onnxruntime {ort.__version__}", None


class Musicnn:
    """The network with one training's weights (``spec``). Thread-safe (read-only arrays; an
    onnxruntime session's ``run`` is thread-safe too)."""

    # The onnxruntime session that runs ``forward`` (see ``load``), else None: numpy,
    # and ``fallback`` says why ("onnxruntime is not installed").
    session: Any = None
    fallback: str | None = None

    def __init__(self, weights: dict[str, npt.NDArray[np.generic]], spec: ModelSpec = MSD) -> None:
        self.spec = spec
        try:
            self.labels: tuple[str, ...] = tuple(str(x) for x in weights["labels"])
            for name, shape in _EXPECTED_SHAPES.items():
                if tuple(weights[name].shape) != shape:
                    raise ModelError(f"{name} has shape {weights[name].shape}, not {shape}")
            norms = {n: self._norm(weights, n) for n in _NORMS}
            self.input_scale, self.input_shift = norms["input"]
            self.layers: dict[str, Layer] = {}
            for name in (*_CONVS, "dense"):
                kernel = np.asarray(weights[f"{name}/kernel"], dtype=np.float32)
                scale, shift = norms[name]
                sign = np.ones_like(scale)
                if name in _POOLED:
                    sign[scale < 0] = -1.0
                self.layers[name] = Layer(
                    np.ascontiguousarray(kernel.reshape(-1, kernel.shape[-1]) * sign),
                    np.asarray(weights[f"{name}/bias"], dtype=np.float32),
                    scale,
                    shift,
                    sign,
                )
            self.pool_scale, self.pool_shift = norms["pool"]
            self.output_kernel = np.asarray(weights["output/kernel"], dtype=np.float32)
            self.output_bias = np.asarray(weights["output/bias"], dtype=np.float32)
        except KeyError as exc:
            raise ModelError(f"the weights lack {exc.args[0]}") from None
        if self.labels != spec.labels:
            raise ModelError(f"the weights' tag labels are not {spec.name}'s")
        finite = all(np.isfinite(layer.kernel).all() for layer in self.layers.values())
        if not finite or not np.isfinite(self.output_kernel).all():
            raise ModelError("the weights hold invalid numbers")

    @staticmethod
    def _norm(weights: dict[str, npt.NDArray[np.generic]], name: str) -> tuple[F32, F32]:
        p = {
            k: np.asarray(weights[f"bn_{name}/{k}"], dtype=np.float64)
            for k in ("gamma", "beta", "moving_mean", "moving_variance")
        }
        scale = p["gamma"] / np.sqrt(p["moving_variance"] + BN_EPS)
        shift = p["beta"] - p["moving_mean"] * scale
        return scale.astype(np.float32), shift.astype(np.float32)

    @property
    def backend(self) -> str:
        return "numpy" if self.session is None else "onnxruntime"

    @classmethod
    def load(
        cls, path: str | Path | None = None, backend: str = "auto", spec: ModelSpec = MSD
    ) -> Musicnn:
        """The ``spec`` network (``MSD`` or ``MTT``) from a weights file (default: the one
        Segue ships), whose tag labels must be that training's. Raises ``ModelError``
        with one line if it is missing or damaged. ``backend`` "auto" runs it with
        onnxruntime where it can (see ``_onnx_session``), "numpy" never."""
        path = Path(path) if path is not None else model_path(spec)
        try:
            with np.load(path, allow_pickle=False) as data:
                weights = {k: data[k] for k in data.files}
        except FileNotFoundError:
            raise ModelError(f"{spec.what} {path} is missing") from None
        except Exception as exc:  # zip, header or CRC errors of a damaged file
            raise ModelError(f"{spec.what} {path} is damaged ({type(exc).__name__})") from None
        try:
            net = cls(weights, spec)
        except ModelError as exc:
            raise ModelError(f"{spec.what} {path} is damaged: {exc}") from None
        if backend == "numpy":
            net.fallback = "asked for numpy"
        else:
            net.session, net.fallback = _onnx_session(path)
        return net

    # ---- the layers ------------------------------------------------------------------

    @staticmethod
    def _activate(x: F32, layer: Layer) -> F32:
        """ReLU then batch norm, in place."""
        np.maximum(x, 0.0, out=x)
        x *= layer.scale
        x += layer.shift
        return x

    @classmethod
    def _pool_then_activate(cls, z: F32, layer: Layer, freq_axis: int = 2) -> F32:
        """max over frequency of ReLU(z + bias) * scale + shift, for z (P, T, F, C)
        (or (P, F, T, C) with ``freq_axis`` 1) computed with the sign-flipped kernel
        (``Layer.sign``): the same numbers as activating every frequency first, at 1/F
        of the element-wise work. Adding the bias, ReLU and a positive scale are
        monotone, so the maximum can go first; where the scale is negative the maximum
        becomes the minimum, which is minus the maximum of the negated outputs, and
        negating is exact in floating point."""
        pooled: F32 = z.max(axis=freq_axis)
        pooled *= layer.sign
        pooled += layer.bias
        return cls._activate(pooled, layer)

    def timbral(self, x: F32, name: str) -> F32:
        """(P, 187, 96) normalised input -> (P, 187, 204): a 7 x F convolution (time
        padded by 3, frequency 'valid'), ReLU, batch norm, max over frequency."""
        layer = self.layers[name]
        f_width = layer.kernel.shape[0] // 7
        padded = np.pad(x, ((0, 0), (3, 3), (0, 0)))
        windows = np.lib.stride_tricks.sliding_window_view(padded, (7, f_width), axis=(1, 2))
        p, t, f = windows.shape[:3]
        cols = windows.reshape(p * t * f, 7 * f_width)  # the im2col copy
        return self._pool_then_activate((cols @ layer.kernel).reshape(p, t, f, -1), layer)

    def temporal(self, x: F32, name: str) -> F32:
        """(P, 187, 96) -> (P, 187, 51): a K x 1 convolution along time ('same' padding
        as TensorFlow pads: the extra frame after), ReLU, batch norm, max over frequency."""
        layer = self.layers[name]
        k = layer.kernel.shape[0]
        before = (k - 1) // 2
        # Frequency-major, so each window is k contiguous floats: a cheaper im2col copy
        # than gathering k frames 96 floats apart (bit-identical rows, ~10 % faster).
        padded = np.pad(x.transpose(0, 2, 1), ((0, 0), (0, 0), (before, k - 1 - before)))
        windows = np.lib.stride_tricks.sliding_window_view(padded, k, axis=2)  # (P,F,T,k)
        p, f, t = windows.shape[:3]
        out = (windows.reshape(p * f * t, k) @ layer.kernel).reshape(p, f, t, -1)
        return self._pool_then_activate(out, layer, freq_axis=1)

    def front_end(self, x: F32) -> F32:
        """(P, 187, 96) log-mel patches -> (P, 187, 561)."""
        x = x * self.input_scale[0] + self.input_shift[0]
        return np.concatenate(
            [self.timbral(x, "timbral74"), self.timbral(x, "timbral77")]
            + [self.temporal(x, n) for n in ("temporal128", "temporal64", "temporal32")],
            axis=2,
        )

    def _mid_conv(self, x: F32, name: str) -> F32:
        """A 7-frame convolution over all channels (time padded by 3): one matrix
        product per frame offset, summed, so no im2col copy."""
        layer = self.layers[name]
        c = x.shape[2]
        kernel = layer.kernel.reshape(7, c, -1)
        padded = np.pad(x, ((0, 0), (3, 3), (0, 0)))
        t = x.shape[1]
        out = padded[:, 0:t] @ kernel[0]
        for dt in range(1, 7):
            out += padded[:, dt : dt + t] @ kernel[dt]
        out += layer.bias
        return self._activate(out, layer)

    def mid_end(self, front: F32) -> F32:
        """(P, 187, 561) -> (P, 187, 753): the front end and three 64-channel layers."""
        c1 = self._mid_conv(front, "mid1")
        c2 = self._mid_conv(c1, "mid2") + c1
        c3 = self._mid_conv(c2, "mid3") + c2
        return np.concatenate([front, c1, c2, c3], axis=2)

    def back_end(self, mid: F32) -> tuple[F32, F32]:
        """(P, 187, 753) -> penultimate (P, 200) and tag logits (P, 50)."""
        pooled = np.stack([mid.max(axis=1), mid.mean(axis=1)], axis=2).reshape(len(mid), -1)
        pooled = pooled * self.pool_scale + self.pool_shift
        dense = self.layers["dense"]
        hidden: F32 = (pooled @ dense.kernel).astype(np.float32, copy=False)
        hidden += dense.bias
        penultimate = self._activate(hidden, dense)
        logits = penultimate @ self.output_kernel + self.output_bias
        return penultimate, logits

    def forward(self, patches: F32) -> tuple[F32, F32]:
        """(P, 187, 96) log-mel patches -> penultimate (P, 200), probabilities (P, 50)."""
        patches = np.ascontiguousarray(patches, dtype=np.float32)
        if patches.ndim != 3 or patches.shape[1:] != (PATCH_FRAMES, N_MELS):
            raise ValueError(f"patches must be (P, {PATCH_FRAMES}, {N_MELS}), not {patches.shape}")
        if self.session is not None:
            # One patch per run, as the numpy code runs: the convolutions' buffers stay small.
            outs = [
                self.session.run(None, {"logmel": patches[i : i + ONNX_CHUNK_PATCHES]})
                for i in range(0, len(patches), ONNX_CHUNK_PATCHES)
            ]
            return (
                np.concatenate([o[0] for o in outs]).astype(np.float32, copy=False),
                np.concatenate([o[1] for o in outs]).astype(np.float32, copy=False),
            )
        return self.forward_numpy(patches)

    def forward_numpy(self, patches: F32) -> tuple[F32, F32]:
        """``forward`` in numpy, whatever the backend."""
        patches = np.ascontiguousarray(patches, dtype=np.float32)
        embeddings, probs = [], []
        for start in range(0, len(patches), CHUNK_PATCHES):
            chunk = patches[start : start + CHUNK_PATCHES]
            penultimate, logits = self.back_end(self.mid_end(self.front_end(chunk)))
            embeddings.append(penultimate)
            probs.append(1.0 / (1.0 + np.exp(-logits)))
        return (
            np.concatenate(embeddings).astype(np.float32),
            np.concatenate(probs).astype(np.float32),
        )

    def describe(self, windows: list[F32]) -> DeepFeatures:
        """Embedding and tags of a track from its mono 16 kHz windows (see ``patches``)."""
        batch = np.concatenate([patches(log_mel(w)) for w in windows])
        embedding, probs = self.forward(batch)
        return DeepFeatures(embedding.mean(axis=0), probs.mean(axis=0), len(batch))


# ---- the input ---------------------------------------------------------------------


def log_mel(y: F32) -> F32:
    """(frames, 96) ``log10(10000 * mel + 1)`` of mono 16 kHz audio, as musicnn's input
    (librosa.feature.melspectrogram's defaults: centred Hann STFT, power 2, Slaney mel).
    In float32: float16, which musicnn's own code casts to, overflows to inf above a mel
    power of 6.55 and every output becomes NaN."""
    power = np.abs(dsp.stft(np.asarray(y, dtype=np.float32), N_FFT, HOP)) ** 2
    mel = (dsp.mel_filters(SR, N_FFT, N_MELS) @ power).T.astype(np.float32)
    out: F32 = np.log10(np.float32(10000.0) * mel + np.float32(1.0))
    return out


def patches(logmel: F32, limit: int | None = None) -> F32:
    """Non-overlapping 187-frame patches (P, 187, 96). A spectrogram shorter than one
    patch is repeated to fill it, as musicnn was trained ("repeat-pad"): a short clip is
    padded, never dropped. With ``limit``, at most that many patches, from the middle."""
    n = logmel.shape[0]
    if n == 0:
        raise ValueError("no audio frames")
    if n < PATCH_FRAMES:
        logmel = np.tile(logmel, (-(-PATCH_FRAMES // n), 1))[:PATCH_FRAMES]
        n = PATCH_FRAMES
    count = n // PATCH_FRAMES
    first = 0
    if limit is not None and count > limit:
        first, count = (count - limit) // 2, limit
    start = first * PATCH_FRAMES + (n - (n // PATCH_FRAMES) * PATCH_FRAMES) // 2
    return np.ascontiguousarray(
        logmel[start : start + count * PATCH_FRAMES].reshape(count, PATCH_FRAMES, -1)
    )


@functools.cache
def shipped(spec: ModelSpec = MSD) -> Musicnn:
    """The shipped ``spec`` network, loaded once per process. Raises ``ModelError``."""
    return Musicnn.load(spec=spec)


# check()'s answers by weights file (path, size, mtime): None when it loads, else why not.
_checked: dict[tuple[str, str, int, int], str | None] = {}


def check(spec: ModelSpec = MSD) -> None:
    """Raise ``ModelError`` (one line) unless the shipped ``spec`` network's weights load,
    WITHOUT keeping them: a process that only needs to know the feature version (the
    app's backlog check) must not hold the network in memory. Loaded once per file."""
    path = model_path(spec)
    try:
        st = os.stat(path)
    except OSError:
        raise ModelError(f"{spec.what} {path} is missing") from None
    key = (spec.name, str(path), st.st_size, st.st_mtime_ns)
    if key not in _checked:
        try:
            Musicnn.load(path, backend="numpy", spec=spec)  # validated, then dropped
            _checked[key] = None
        except ModelError as exc:
            _checked[key] = str(exc)
    problem = _checked[key]
    if problem is not None:
        raise ModelError(problem)
