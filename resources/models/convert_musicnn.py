"""Rebuild ``msd_musicnn.npz`` (the weights Segue ships) from the musicnn 0.1.0 wheel.

    pip download --no-deps musicnn==0.1.0 -d /tmp/musicnn
    python resources/models/convert_musicnn.py /tmp/musicnn/musicnn-0.1.0-py3-none-any.whl

No TensorFlow: ``tf_checkpoint.py`` beside this script reads the checkpoint bundle
(``musicnn/MSD_musicnn/.index`` + ``.data-00000-of-00001``; the names start with a dot).
Only the inference weights are kept (the optimiser's Adam slots are dropped), renamed
after the layer they belong to, as float32; see recommender/audio/musicnn.py for the
network they run in.
"""

from __future__ import annotations

import argparse
import hashlib
import sys
import tempfile
import zipfile
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from tf_checkpoint import read_checkpoint  # noqa: E402

MODEL = "MSD_musicnn"
OUT = HERE / "msd_musicnn.npz"

# The layer names of musicnn's graph (models.build_musicnn), in the order TensorFlow
# numbered them: conv2d_N and batch_normalization_N.
CONVS = (
    "timbral74",
    "timbral77",
    "temporal128",
    "temporal64",
    "temporal32",
    "mid1",
    "mid2",
    "mid3",
)
NORMS = ("input", *CONVS, "pool", "dense")
# The 50 Last.fm tags of the Million Song Dataset, in the model's output order
# (musicnn.configuration.MSD_LABELS).
MSD_LABELS = (
    "rock",
    "pop",
    "alternative",
    "indie",
    "electronic",
    "female vocalists",
    "dance",
    "00s",
    "alternative rock",
    "jazz",
    "beautiful",
    "metal",
    "chillout",
    "male vocalists",
    "classic rock",
    "soul",
    "indie rock",
    "Mellow",
    "electronica",
    "80s",
    "folk",
    "90s",
    "chill",
    "instrumental",
    "punk",
    "oldies",
    "blues",
    "hard rock",
    "ambient",
    "acoustic",
    "experimental",
    "female vocalist",
    "guitar",
    "Hip-Hop",
    "70s",
    "party",
    "country",
    "easy listening",
    "sexy",
    "catchy",
    "funk",
    "electro",
    "heavy metal",
    "Progressive rock",
    "60s",
    "rnb",
    "indie pop",
    "sad",
    "House",
    "happy",
)


def _tf_name(kind: str, i: int) -> str:
    return kind if i == 0 else f"{kind}_{i}"


def convert(checkpoint_prefix: str) -> dict[str, np.ndarray]:
    w = read_checkpoint(checkpoint_prefix)
    out: dict[str, np.ndarray] = {}
    for i, name in enumerate(CONVS):
        out[f"{name}/kernel"] = w[f"{_tf_name('conv2d', i)}/kernel"]
        out[f"{name}/bias"] = w[f"{_tf_name('conv2d', i)}/bias"]
    for i, name in enumerate(NORMS):
        for part in ("gamma", "beta", "moving_mean", "moving_variance"):
            out[f"bn_{name}/{part}"] = w[f"{_tf_name('batch_normalization', i)}/{part}"]
    for src, dst in (("dense", "dense"), ("dense_1", "output")):
        out[f"{dst}/kernel"] = w[f"{src}/kernel"]
        out[f"{dst}/bias"] = w[f"{src}/bias"]
    return {k: np.ascontiguousarray(v, dtype=np.float32) for k, v in out.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description="Convert musicnn's MSD_musicnn weights")
    parser.add_argument("wheel", help="musicnn-0.1.0-py3-none-any.whl")
    parser.add_argument("--out", default=str(OUT))
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, zipfile.ZipFile(args.wheel) as wheel:
        for member in wheel.namelist():
            if member.startswith(f"musicnn/{MODEL}/"):
                wheel.extract(member, tmp)
        weights = convert(str(Path(tmp) / "musicnn" / MODEL) + "/")
    wheel_sha = hashlib.sha256(Path(args.wheel).read_bytes()).hexdigest()
    np.savez_compressed(
        args.out,
        labels=np.array(MSD_LABELS),
        source=np.array(f"musicnn==0.1.0 {MODEL} (wheel sha256 {wheel_sha})"),
        **weights,
    )
    n = sum(v.size for v in weights.values())
    print(f"{args.out}: {len(weights)} tensors, {n:,} weights")


if __name__ == "__main__":
    main()
