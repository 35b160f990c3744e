"""Rebuild ``msd_musicnn.npz`` and ``mtt_musicnn.npz`` (the weights Segue ships) from the
musicnn 0.1.0 wheel.

    pip download --no-deps musicnn==0.1.0 -d /tmp/musicnn
    python resources/models/convert_musicnn.py /tmp/musicnn/musicnn-0.1.0-py3-none-any.whl
    python resources/models/convert_musicnn.py --model MTT_musicnn \
        /tmp/musicnn/musicnn-0.1.0-py3-none-any.whl

``--model`` picks the training: ``MSD_musicnn`` (the default; Million Song Dataset tags)
or ``MTT_musicnn`` (MagnaTagATune's), the same network; the output is named after it
unless ``--out`` says otherwise. The same script writes ``msd_musicnn.onnx`` (or
``mtt_musicnn.onnx``), the same network for onnxruntime, built
from the very weights it just saved (with ``--onnx-only``, from the shipped ``.npz``):
the batch normalisations folded exactly as ``recommender/audio/musicnn.py`` folds them
(it builds the graph from a loaded ``Musicnn``), the weights file's sha256 in the
graph's metadata, so the app never runs an ONNX file beside weights it was not made from.

No TensorFlow: ``tf_checkpoint.py`` beside this script reads the checkpoint bundle
(``musicnn/<model>/.index`` + ``.data-00000-of-00001``; the names start with a dot).
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
sys.path.insert(0, str(HERE.parents[1]))
from tf_checkpoint import read_checkpoint  # noqa: E402

from recommender.audio.musicnn import SPECS, ModelSpec  # noqa: E402

MODELS = {spec.name: spec for spec in SPECS}

ONNX_OPSET = 18

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


def build_onnx(weights_path: Path, spec: ModelSpec) -> bytes:
    """The network of ``weights_path`` (an ``.npz`` this script wrote) as a serialised
    ONNX model: input ``logmel`` (P, 187, 96), outputs ``penultimate`` (P, 200) and
    ``probs`` (P, 50), what ``Musicnn.forward`` returns. Convolutions in NCHW (the
    front end's with the sign-flipped kernels, pooled over frequency before the bias,
    ReLU and norm, as the numpy code does), batch norms folded into a scale and shift."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    from recommender.audio.musicnn import ONNX_SHA_KEY, Musicnn, weights_sha256

    net = Musicnn.load(weights_path, backend="numpy", spec=spec)
    nodes: list[onnx.NodeProto] = []
    inits: dict[str, onnx.TensorProto] = {}

    def const(name: str, value: np.ndarray) -> str:
        if name not in inits:
            inits[name] = numpy_helper.from_array(np.ascontiguousarray(value), name)
        return name

    def node(op: str, inputs: list[str], out: str, **attrs: object) -> str:
        nodes.append(helper.make_node(op, inputs, [out], name=out, **attrs))
        return out

    def col(v: np.ndarray) -> np.ndarray:  # per channel, channels first: (C, 1)
        return np.asarray(v, np.float32).reshape(-1, 1)

    def activate(name: str, z: str, bias: bool = True) -> str:
        layer = net.layers[name]
        if bias:
            z = node("Add", [z, const(f"{name}/bias", col(layer.bias))], f"{name}/biased")
        z = node("Relu", [z], f"{name}/relu")
        z = node("Mul", [z, const(f"{name}/scale", col(layer.scale))], f"{name}/scaled")
        return node("Add", [z, const(f"{name}/shift", col(layer.shift))], f"{name}/out")

    x = node("Mul", ["logmel", const("input/scale", net.input_scale[:1])], "input/scaled")
    x = node("Add", [x, const("input/shift", net.input_shift[:1])], "input/normed")
    x = node("Unsqueeze", [x, const("axis1", np.array([1], np.int64))], "input/nchw")
    front = []
    for name in ("timbral74", "timbral77", "temporal128", "temporal64", "temporal32"):
        layer = net.layers[name]
        kt = int(name[8:]) if name.startswith("temporal") else 7
        kf = layer.kernel.shape[0] // kt
        kernel = layer.kernel.reshape(kt, kf, -1).transpose(2, 0, 1)[:, None]  # (C, 1, kt, kf)
        before = (kt - 1) // 2  # 'same' in time as TensorFlow pads: the extra frame after
        z = node(
            "Conv",
            ["input/nchw", const(f"{name}/kernel", kernel)],
            f"{name}/conv",
            pads=[before, 0, kt - 1 - before, 0],
        )
        z = node("ReduceMax", [z, const("axis3", np.array([3], np.int64))], f"{name}/pooled",
                 keepdims=0)  # fmt: skip
        z = node("Mul", [z, const(f"{name}/sign", col(layer.sign))], f"{name}/signed")
        front.append(activate(name, z))
    fr = node("Concat", front, "front", axis=1)  # (P, 561, 187)

    def mid(name: str, inp: str) -> str:
        layer = net.layers[name]
        kernel = layer.kernel.reshape(7, -1, layer.kernel.shape[1]).transpose(2, 1, 0)
        z = node("Conv", [inp, const(f"{name}/kernel", kernel)], f"{name}/conv", pads=[3, 3])
        return activate(name, z)

    c1 = mid("mid1", fr)
    c2 = node("Add", [mid("mid2", c1), c1], "mid2/residual")
    c3 = node("Add", [mid("mid3", c2), c2], "mid3/residual")
    m = node("Concat", [fr, c1, c2, c3], "mid", axis=1)  # (P, 753, 187)
    axis2 = const("axis2", np.array([2], np.int64))
    both = node(
        "Concat",
        [node("ReduceMax", [m, axis2], "time/max"), node("ReduceMean", [m, axis2], "time/mean")],
        "time/both",
        axis=2,
    )  # (P, 753, 2): max and mean interleaved once flat
    pooled = node("Reshape", [both, const("flat", np.array([-1, 1506], np.int64))], "pooled")
    pooled = node("Mul", [pooled, const("pool/scale", net.pool_scale)], "pool/scaled")
    pooled = node("Add", [pooled, const("pool/shift", net.pool_shift)], "pool/normed")
    dense = net.layers["dense"]
    h = node("MatMul", [pooled, const("dense/kernel", dense.kernel)], "dense/product")
    h = node("Add", [h, const("dense/bias", dense.bias)], "dense/biased")
    h = node("Relu", [h], "dense/relu")
    h = node("Mul", [h, const("dense/scale", dense.scale)], "dense/scaled")
    penultimate = node("Add", [h, const("dense/shift", dense.shift)], "penultimate")
    logits = node("MatMul", [penultimate, const("output/kernel", net.output_kernel)], "logits0")
    logits = node("Add", [logits, const("output/bias", net.output_bias)], "logits")
    node("Sigmoid", [logits], "probs")
    graph = helper.make_graph(
        nodes,
        spec.name,
        [helper.make_tensor_value_info("logmel", TensorProto.FLOAT, ["P", 187, 96])],
        [
            helper.make_tensor_value_info("penultimate", TensorProto.FLOAT, ["P", 200]),
            helper.make_tensor_value_info("probs", TensorProto.FLOAT, ["P", 50]),
        ],
        list(inits.values()),
    )
    model = helper.make_model(
        graph,
        opset_imports=[helper.make_opsetid("", ONNX_OPSET)],
        producer_name="segue resources/models/convert_musicnn.py",
    )
    model.ir_version = 8  # readable by onnxruntime >= 1.14
    helper.set_model_props(model, {ONNX_SHA_KEY: weights_sha256(weights_path)})
    onnx.checker.check_model(model)
    return bytes(model.SerializeToString())


def write_onnx(weights_path: Path, spec: ModelSpec) -> Path:
    target = weights_path.with_suffix(".onnx")
    target.write_bytes(build_onnx(weights_path, spec))
    print(f"{target}: {target.stat().st_size:,} bytes")
    return target


def main() -> None:
    parser = argparse.ArgumentParser(description="Convert musicnn's weights for Segue")
    parser.add_argument("wheel", nargs="?", help="musicnn-0.1.0-py3-none-any.whl")
    parser.add_argument("--model", choices=sorted(MODELS), default="MSD_musicnn")
    parser.add_argument("--out", help="default: resources/models/<model in lower case>.npz")
    parser.add_argument(
        "--onnx-only", action="store_true", help="rebuild only the .onnx from the --out weights"
    )
    args = parser.parse_args()
    spec = MODELS[args.model]
    out = Path(args.out) if args.out else HERE / spec.file
    if args.onnx_only:
        write_onnx(out, spec)
        return
    if not args.wheel:
        parser.error("the musicnn wheel is needed (or --onnx-only)")
    with tempfile.TemporaryDirectory() as tmp, zipfile.ZipFile(args.wheel) as wheel:
        for member in wheel.namelist():
            if member.startswith(f"musicnn/{spec.name}/"):
                wheel.extract(member, tmp)
        weights = convert(str(Path(tmp) / "musicnn" / spec.name) + "/")
    wheel_sha = hashlib.sha256(Path(args.wheel).read_bytes()).hexdigest()
    np.savez_compressed(
        out,
        labels=np.array(spec.labels),
        source=np.array(f"musicnn==0.1.0 {spec.name} (wheel sha256 {wheel_sha})"),
        **weights,
    )
    n = sum(v.size for v in weights.values())
    print(f"{out}: {len(weights)} tensors, {n:,} weights")
    write_onnx(out, spec)


if __name__ == "__main__":
    main()
