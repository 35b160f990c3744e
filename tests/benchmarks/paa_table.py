"""A second genre-labelled feature table, to check that what is tuned on GTZAN transfers.

pyAudioAnalysis (Apache-2.0) ships, inside its source distribution on PyPI, the training
set of its 6-genre kNN model: 581 songs (Blues, Classical, Electronic, Jazz, Rap, Rock)
described by its own features, not librosa's. ``make bench`` fetches the sdist with
``pip download`` into ``.cache/bench-data``; nothing of it enters the repository.

Its 138 columns are the mean, then the standard deviation, of 68 short-term features (34
features and their frame deltas) plus two beat features. The 34: zero-crossing rate,
energy, energy entropy, spectral centroid, spread, entropy, flux, rolloff, 13 MFCCs, 12
chroma bins and the chroma deviation. Grouped as the extractor groups its own columns.
The means of the deltas are dropped by default (``layout="ours"``): they are ~0 by
construction, and Segue's vector has no such columns (it keeps delta variances only).
"""

from __future__ import annotations

import pickle
import tarfile
from pathlib import Path

import numpy as np
import numpy.typing as npt

ROOT = Path(__file__).resolve().parents[2]
CACHE = ROOT / ".cache" / "bench-data"
SDIST = "pyAudioAnalysis-0.3.14.tar.gz"
MEMBER = "pyAudioAnalysis-0.3.14/pyAudioAnalysis/data/models/knn_musical_genre_6"
N_SHORT = 34


class _DataOnly(pickle.Unpickler):
    """Lists and numbers only: the file references no class, and must not."""

    def find_class(self, module: str, name: str) -> type:
        raise pickle.UnpicklingError(f"refusing to load {module}.{name}")


def _group_of(short_index: int) -> str:
    if 8 <= short_index <= 20:
        return "timbre"
    if short_index >= 21:
        return "harmony"
    if short_index in (1, 2):
        return "loudness"
    return "spectral"


def load_paa_table(
    path: Path = CACHE / SDIST, layout: str = "ours"
) -> tuple[npt.NDArray[np.float32], dict[str, npt.NDArray[np.int64]], npt.NDArray[np.int64]]:
    """(X[581, 138], groups, genre labels 0-5). ``layout="all"`` keeps the delta means."""
    with tarfile.open(path) as tar:
        member = tar.extractfile(MEMBER)
        if member is None:
            raise FileNotFoundError(f"{MEMBER} not in {path}")
        unpickler = _DataOnly(member)
        features = np.array(unpickler.load(), dtype=np.float32)
        labels = np.array(unpickler.load(), dtype=np.int64)
    groups: dict[str, list[int]] = {}
    for stat in range(2):  # mean, standard deviation
        for delta in range(2):
            if layout == "ours" and stat == 0 and delta == 1:
                continue
            for j in range(N_SHORT):
                groups.setdefault(_group_of(j), []).append(stat * 2 * N_SHORT + delta * N_SHORT + j)
    groups["rhythm"] = [2 * 2 * N_SHORT, 2 * 2 * N_SHORT + 1]
    return features, {g: np.array(c, dtype=np.int64) for g, c in groups.items()}, labels
