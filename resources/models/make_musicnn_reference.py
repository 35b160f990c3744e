"""Make tests/fixtures/musicnn_reference.npz (and mtt_musicnn_reference.npz): what the
ORIGINAL TensorFlow graph of musicnn's MSD_musicnn (MTT_musicnn) says about a few real
recordings, to hold Segue's forward passes to it.

Run once, in a throw-away environment OUTSIDE the repository (never part of Segue):

    python3.11 -m venv /tmp/tfenv
    /tmp/tfenv/bin/pip install "tensorflow-cpu==2.15.*" librosa
    pip download --no-deps musicnn==0.1.0 -d /tmp/musicnn
    unzip /tmp/musicnn/*.whl -d /tmp/musicnn/wheel
    /tmp/tfenv/bin/python resources/models/make_musicnn_reference.py \
        --wheel /tmp/musicnn/wheel --audio ../shared/data/audio \
        --out tests/fixtures/musicnn_reference.npz
    /tmp/tfenv/bin/python resources/models/make_musicnn_reference.py --model MTT_musicnn \
        --wheel /tmp/musicnn/wheel --audio ../shared/data/audio \
        --mel-from tests/fixtures/musicnn_reference.npz \
        --out tests/fixtures/mtt_musicnn_reference.npz

The graph is built by the package's own ``musicnn.models.define_model`` (through
tf.compat.v1, as its ``extractor`` does) and restored from its own checkpoint. The input
is computed as musicnn's ``batch_data`` does (``librosa.load(sr=16000)``, librosa's mel
spectrogram with n_fft 512, hop 256, 96 bands), except that ``log10(10000 * mel + 1)`` is
taken in float32: musicnn casts to float16 first, where loud frames overflow to inf.
The MSD fixture keeps those input patches, so the numpy network is compared on exactly
the same input; the mel itself is compared with librosa's in the unit tests. The MTT
fixture is made from the very patches the MSD fixture holds (``--mel-from``: computed
again, they may differ in the last bits with another resampler build) and keeps only
their sha256 (``mel_sha256``, which the tests check), the outputs and the pooled layer.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

# Recordings of different kinds and lengths (one shorter than a patch is padded as
# musicnn's training did: repeated).
RECORDINGS = (
    "Kevin_MacLeod_-_Vibe_Ace.ogg",
    "admiralbob77_-_Choice_-_Drum-bass.ogg",
    "Hungarian_Dance_number_5_-_Allegro_in_F_sharp_minor_(string_orchestra).ogg",
    "sorohanro_-_solo-trumpet-06.ogg",
)
PATCHES_PER_RECORDING = 2
N_FRAMES = 187


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--wheel", required=True, help="the unpacked musicnn-0.1.0 wheel")
    parser.add_argument("--audio", required=True, help="../shared/data/audio")
    parser.add_argument("--out", required=True)
    parser.add_argument("--model", choices=("MSD_musicnn", "MTT_musicnn"), default="MSD_musicnn")
    parser.add_argument("--mel-from", help="take the input patches from this MSD fixture")
    args = parser.parse_args()
    sys.path.insert(0, args.wheel)

    import librosa
    import tensorflow as tf

    tf.compat.v1.disable_eager_execution()
    from musicnn import configuration as config
    from musicnn import models

    labels = config.MSD_LABELS if args.model == "MSD_musicnn" else config.MTT_LABELS
    patches, sources = [], []
    for name in RECORDINGS:
        y, sr = librosa.load(str(Path(args.audio) / name), sr=config.SR)
        mel = librosa.feature.melspectrogram(
            y=y, sr=sr, hop_length=config.FFT_HOP, n_fft=config.FFT_SIZE, n_mels=config.N_MELS
        ).T.astype(np.float32)
        logmel = np.log10(np.float32(10000) * mel + np.float32(1)).astype(np.float32)
        if logmel.shape[0] < N_FRAMES * PATCHES_PER_RECORDING:
            reps = -(-N_FRAMES * PATCHES_PER_RECORDING // logmel.shape[0])
            logmel = np.tile(logmel, (reps, 1))
        for i in range(PATCHES_PER_RECORDING):
            patches.append(logmel[i * N_FRAMES : (i + 1) * N_FRAMES])
            sources.append(name)
    batch = np.stack(patches).astype(np.float32)
    if args.mel_from:
        with np.load(args.mel_from) as given:
            batch, sources = given["mel"], [str(x) for x in given["sources"]]

    tf.compat.v1.reset_default_graph()
    with tf.name_scope("model"):
        x = tf.compat.v1.placeholder(tf.float32, [None, N_FRAMES, config.N_MELS])
        is_training = tf.compat.v1.placeholder(tf.bool)
        y, timbral, temporal, cnn1, _cnn2, cnn3, mean_pool, max_pool, penultimate = (
            models.define_model(x, is_training, args.model, len(labels))
        )
        probs = tf.nn.sigmoid(y)
    sess = tf.compat.v1.Session()
    sess.run(tf.compat.v1.global_variables_initializer())
    tf.compat.v1.train.Saver().restore(sess, str(Path(args.wheel) / "musicnn" / args.model) + "/")
    out = sess.run(
        [probs, timbral, temporal, cnn1, cnn3, mean_pool, max_pool, penultimate],
        feed_dict={x: batch, is_training: False},
    )
    names = ["probs", "timbral", "temporal", "cnn1", "cnn3", "mean_pool", "max_pool", "penultimate"]
    result = dict(zip(names, out, strict=True))
    if args.model == "MTT_musicnn":
        import hashlib

        np.savez_compressed(
            args.out,
            mel_sha256=np.array(hashlib.sha256(batch.tobytes()).hexdigest()),
            sources=np.array(sources),
            labels=np.array(labels),
            probs=result["probs"].astype(np.float32),
            penultimate=result["penultimate"].astype(np.float32),
            mean_pool=result["mean_pool"].astype(np.float32),
            max_pool=result["max_pool"].astype(np.float32),
            tensorflow_version=np.array(tf.__version__),
            librosa_version=np.array(librosa.__version__),
        )
    else:
        np.savez_compressed(
            args.out,
            mel=batch,
            sources=np.array(sources),
            labels=np.array(config.MSD_LABELS),
            probs=result["probs"].astype(np.float32),
            penultimate=result["penultimate"].astype(np.float32),
            mean_pool=result["mean_pool"].astype(np.float32),
            max_pool=result["max_pool"].astype(np.float32),
            # Intermediate layers, one frame in ten (the whole maps would be megabytes).
            timbral=result["timbral"][:, ::10].astype(np.float32),
            temporal=result["temporal"][:, ::10].astype(np.float32),
            cnn1=result["cnn1"][:, ::10, :, 0].astype(np.float32),
            cnn3=result["cnn3"][:, ::10, :, 0].astype(np.float32),
            tensorflow_version=np.array(tf.__version__),
            librosa_version=np.array(librosa.__version__),
        )
    for i, src in enumerate(sources):
        top = np.argsort(-result["probs"][i])[:3]
        print(src, [(labels[j], round(float(result["probs"][i, j]), 3)) for j in top])


if __name__ == "__main__":
    main()
