"""The numpy musicnn: same answers as the original TensorFlow graphs (both trainings,
MSD_musicnn and MTT_musicnn), layer by layer shapes, its input as librosa computes it,
and a clear line when its weights are bad."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from recommender.audio import musicnn
from recommender.audio.musicnn import MSD, MTT, ModelError, Musicnn

FIXTURE = Path(__file__).parent / "fixtures" / "musicnn_reference.npz"
MTT_FIXTURE = Path(__file__).parent / "fixtures" / "mtt_musicnn_reference.npz"


@pytest.fixture(scope="module")
def net() -> Musicnn:
    return Musicnn.load()


@pytest.fixture(scope="module")
def reference() -> dict[str, np.ndarray]:
    with np.load(FIXTURE, allow_pickle=False) as data:
        return {k: data[k] for k in data.files}


@pytest.fixture(scope="module")
def mtt_reference() -> dict[str, np.ndarray]:
    with np.load(MTT_FIXTURE, allow_pickle=False) as data:
        return {k: data[k] for k in data.files}


def test_outputs_match_the_tensorflow_graph(net: Musicnn, reference: dict[str, np.ndarray]) -> None:
    embedding, probs = net.forward(reference["mel"])
    assert np.abs(embedding - reference["penultimate"]).max() < 1e-4
    assert np.abs(probs - reference["probs"]).max() < 1e-4
    assert list(net.labels) == [str(x) for x in reference["labels"]]


def test_intermediate_layers_match_the_tensorflow_graph(
    net: Musicnn, reference: dict[str, np.ndarray]
) -> None:
    def close(ours: np.ndarray, theirs: np.ndarray) -> None:
        # Relative to the layer's scale: deep layers reach values in the hundreds.
        assert np.abs(ours - theirs).max() <= 1e-5 * max(1.0, float(np.abs(theirs).max())) + 1e-5

    front = net.front_end(reference["mel"])
    close(front[:, ::10, :408], reference["timbral"])
    close(front[:, ::10, 408:], reference["temporal"])
    mid = net.mid_end(front)
    close(mid[:, ::10, 561:625], reference["cnn1"])
    close(mid[:, ::10, 689:], reference["cnn3"])
    close(mid.max(axis=1), reference["max_pool"])
    close(mid.mean(axis=1), reference["mean_pool"])


@pytest.mark.parametrize("backend", ["numpy", "auto"])
def test_the_mtt_training_matches_its_tensorflow_graph(
    backend: str, reference: dict[str, np.ndarray], mtt_reference: dict[str, np.ndarray]
) -> None:
    """MTT_musicnn (MagnaTagATune's tags: "classical", the instruments), numpy and
    onnxruntime, on the very patches the MSD fixture holds; TensorFlow hears the string
    orchestra as classical, with violin and strings, and so do we."""
    import hashlib

    assert hashlib.sha256(reference["mel"].tobytes()).hexdigest() == str(
        mtt_reference["mel_sha256"]
    )
    mtt = Musicnn.load(spec=MTT, backend=backend)
    assert mtt.backend == ("numpy" if backend == "numpy" else "onnxruntime")
    assert mtt.labels == musicnn.MTT_LABELS == tuple(str(x) for x in mtt_reference["labels"])
    embedding, probs = mtt.forward(reference["mel"])
    assert np.abs(embedding - mtt_reference["penultimate"]).max() < 1e-4
    assert np.abs(probs - mtt_reference["probs"]).max() < 1e-4
    orchestra = [i for i, s in enumerate(mtt_reference["sources"]) if "Hungarian" in str(s)]
    top = {musicnn.MTT_LABELS[j] for j in np.argsort(-probs[orchestra].mean(axis=0))[:3]}
    assert top == {"classical", "strings", "violin"}
    if backend == "numpy":
        mid = mtt.mid_end(mtt.front_end(reference["mel"]))
        scale = float(np.abs(mtt_reference["max_pool"]).max())
        assert np.abs(mid.max(axis=1) - mtt_reference["max_pool"]).max() <= 1e-5 * scale
        assert np.abs(mid.mean(axis=1) - mtt_reference["mean_pool"]).max() <= 1e-5 * scale


def test_each_training_refuses_the_others_weights(tmp_path: Path) -> None:
    """The two weights files have the same shapes: only the labels tell them apart, so a
    file named for one training holding the other's is refused in one line."""
    with pytest.raises(ModelError, match="not MSD_musicnn's") as wrong:
        Musicnn.load(musicnn.model_path(MTT), spec=MSD)
    assert "\n" not in str(wrong.value) and "the music model" in str(wrong.value)
    with pytest.raises(ModelError, match="not MTT_musicnn's") as other:
        Musicnn.load(musicnn.model_path(MSD), spec=MTT)
    assert "the instrument-tag model" in str(other.value)
    with pytest.raises(ModelError, match=r"the instrument-tag model .* is missing"):
        Musicnn.load(tmp_path / "nope.npz", spec=MTT)


@pytest.mark.parametrize("spec", [MSD, MTT], ids=["MSD", "MTT"])
def test_every_layer_has_its_shape(spec: musicnn.ModelSpec) -> None:
    net = Musicnn.load(spec=spec, backend="numpy")
    x = np.random.default_rng(0).uniform(0, 3, (3, 187, 96)).astype(np.float32)
    normed = x * net.input_scale[0] + net.input_shift[0]
    assert net.timbral(normed, "timbral74").shape == (3, 187, 204)
    assert net.timbral(normed, "timbral77").shape == (3, 187, 204)
    for name in ("temporal128", "temporal64", "temporal32"):
        assert net.temporal(normed, name).shape == (3, 187, 51)
    front = net.front_end(x)
    assert front.shape == (3, 187, 561)
    mid = net.mid_end(front)
    assert mid.shape == (3, 187, 753)
    penultimate, logits = net.back_end(mid)
    assert penultimate.shape == (3, 200)
    assert logits.shape == (3, 50)
    embedding, probs = net.forward(x)
    assert embedding.shape == (3, 200) and probs.shape == (3, 50)
    assert ((probs > 0) & (probs < 1)).all()
    with pytest.raises(ValueError, match="patches must be"):
        net.forward(x[:, :100])


def test_log_mel_is_librosas_and_stays_finite_where_float16_overflows(net: Musicnn) -> None:
    """musicnn's own code casts the mel to float16: a loud passage overflows to inf and
    every output becomes NaN. Ours is float32 and equal to librosa's."""
    import librosa

    t = np.arange(3 * musicnn.SR) / musicnn.SR
    loud = (0.99 * np.sign(np.sin(2 * np.pi * 220 * t))).astype(np.float32)  # a square wave
    mel = librosa.feature.melspectrogram(y=loud, sr=16000, n_fft=512, hop_length=256, n_mels=96)
    with np.errstate(over="ignore"):
        assert np.isinf(np.float16(10000) * mel.astype(np.float16)).any()  # the trap is real
    ours = musicnn.log_mel(loud)
    assert ours.dtype == np.float32 and np.isfinite(ours).all()
    expected = np.log10(10000 * mel.T.astype(np.float32) + 1)
    assert ours.shape == expected.shape
    assert np.abs(ours - expected).max() < 1e-3
    features = net.describe([loud])
    assert np.isfinite(features.embedding).all() and np.isfinite(features.tags).all()


def test_short_clips_are_padded_never_dropped() -> None:
    one_second = np.random.default_rng(1).uniform(0, 2, (63, 96)).astype(np.float32)
    p = musicnn.patches(one_second)
    assert p.shape == (1, 187, 96)
    np.testing.assert_array_equal(p[0, 63:126], one_second)  # repeated, as in training
    long = np.random.default_rng(2).uniform(0, 2, (187 * 7 + 20, 96)).astype(np.float32)
    assert musicnn.patches(long).shape == (7, 187, 96)
    middle = musicnn.patches(long, limit=1)
    assert middle.shape == (1, 187, 96)
    start = 3 * 187 + 10
    np.testing.assert_array_equal(middle[0], long[start : start + 187])


def test_a_missing_or_damaged_model_is_one_clear_line(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="is missing") as missing:
        Musicnn.load(tmp_path / "nope.npz")
    assert "\n" not in str(missing.value)
    damaged = tmp_path / "damaged.npz"
    shipped = musicnn.model_path().read_bytes()
    damaged.write_bytes(shipped[: len(shipped) // 2])
    with pytest.raises(ModelError, match="is damaged"):
        Musicnn.load(damaged)
    with np.load(musicnn.model_path()) as data:
        weights = {k: data[k] for k in data.files if k != "mid2/kernel"}
    np.savez(tmp_path / "partial.npz", **weights)
    with pytest.raises(ModelError, match="lack mid2/kernel"):
        Musicnn.load(tmp_path / "partial.npz")


def test_the_weights_ship_with_their_licence_in_every_build() -> None:
    """The editable install finds them beside the source; the PyInstaller bundle gets
    them (and the ISC notice) through packaging/specutil.py's DATAS."""
    import importlib.util

    root = Path(__file__).resolve().parent.parent
    spec = importlib.util.spec_from_file_location("specutil", root / "packaging" / "specutil.py")
    if spec is None or spec.loader is None or importlib.util.find_spec("PyInstaller") is None:
        datas_text = (root / "packaging" / "specutil.py").read_text()
        assert "msd_musicnn.npz" in datas_text and "LICENSE.musicnn" in datas_text
        assert "msd_musicnn.onnx" in datas_text
        assert "mtt_musicnn.npz" in datas_text and "mtt_musicnn.onnx" in datas_text
    else:
        specutil = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(specutil)
        shipped = {Path(src).name: dst for src, dst in specutil.DATAS}
        assert shipped["msd_musicnn.npz"] == shipped["LICENSE.musicnn"] == "resources/models"
        assert shipped["msd_musicnn.onnx"] == "resources/models"
        assert shipped["mtt_musicnn.npz"] == shipped["mtt_musicnn.onnx"] == "resources/models"
    assert musicnn.model_path() == root / "resources" / "models" / "msd_musicnn.npz"
    assert musicnn.model_path(MTT) == root / "resources" / "models" / "mtt_musicnn.npz"
    assert "ISC" in (root / "resources" / "models" / "README.md").read_text()
    assert (
        "Permission to use, copy, modify" in (root / "resources/models/LICENSE.musicnn").read_text()
    )


def test_learning_the_feature_version_does_not_keep_the_network_in_memory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The app asks the feature version every half-minute (its analysis backlog); the
    answer must not cost it the network's weights for the rest of the session."""
    from recommender.audio.features import (
        DEEP_FEATURE_VERSION,
        FEATURE_VERSION,
        MTT_FEATURE_VERSION,
        current_version,
    )
    from recommender.audio.musicnn import MODEL_ENV, shipped

    shipped.cache_clear()
    assert current_version() == (MTT_FEATURE_VERSION, None)
    assert shipped.cache_info().currsize == 0  # checked, not kept
    damaged = tmp_path / "damaged.npz"
    damaged.write_bytes(b"PK\x03\x04 not really a zip")
    # Without the MTT weights: the MSD network's version, with one line saying why.
    monkeypatch.setenv(MTT.env, str(damaged))
    version, problem = current_version()
    assert version == DEEP_FEATURE_VERSION and problem is not None
    assert "the instrument-tag model" in problem and "damaged" in problem
    assert "\n" not in problem
    monkeypatch.setenv(MODEL_ENV, str(damaged))
    version, problem = current_version()
    assert version == FEATURE_VERSION and problem is not None and "damaged" in problem
    assert shipped.cache_info().currsize == 0


def test_onnxruntime_runs_the_same_network(
    reference: dict[str, np.ndarray], tmp_path: Path
) -> None:
    """The ONNX file shipped beside the weights (built from them by convert_musicnn.py)
    runs when onnxruntime is there, with the fixture's answers; beside other weights
    (its recorded sha256 differs) it is ignored and numpy runs instead."""
    import shutil

    fast = Musicnn.load()
    assert fast.backend == "onnxruntime"
    numpy_net = Musicnn.load(backend="numpy")
    assert numpy_net.backend == "numpy"
    for net in (fast, numpy_net):
        embedding, probs = net.forward(reference["mel"])
        assert np.abs(embedding - reference["penultimate"]).max() < 1e-4
        assert np.abs(probs - reference["probs"]).max() < 1e-4
    shipped_onnx = musicnn.model_path().with_suffix(".onnx")
    with np.load(musicnn.model_path()) as data:
        weights = {k: data[k] for k in data.files}
    weights["output/bias"] = weights["output/bias"] + 1.0  # other weights, same shapes
    np.savez(tmp_path / "other.npz", **weights)
    shutil.copy(shipped_onnx, tmp_path / "other.onnx")
    other = Musicnn.load(tmp_path / "other.npz")
    assert other.backend == "numpy"
    shutil.copy(musicnn.model_path(), tmp_path / "same.npz")
    (tmp_path / "same.onnx").write_bytes(b"not an onnx model")
    assert Musicnn.load(tmp_path / "same.npz").backend == "numpy"  # damaged: numpy runs
    shutil.copy(shipped_onnx, tmp_path / "same.onnx")
    assert Musicnn.load(tmp_path / "same.npz").backend == "onnxruntime"


def test_a_wheel_install_ships_the_model_and_finds_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``pip install .`` (no source tree) gets the weights, the ONNX file, the licence and
    the UI's icons through pyproject.toml's data-files, at the place model_path() looks
    when resources/ is not beside the package."""
    import glob
    import tomllib

    root = Path(__file__).resolve().parent.parent
    data_files = tomllib.loads((root / "pyproject.toml").read_text())["tool"]["setuptools"][
        "data-files"
    ]
    shipped = {
        Path(dest) / Path(f).name
        for dest, patterns in data_files.items()
        for pattern in patterns
        for f in glob.glob(str(root / pattern))
    }
    for name in (
        "msd_musicnn.npz",
        "msd_musicnn.onnx",
        "mtt_musicnn.npz",
        "mtt_musicnn.onnx",
        "LICENSE.musicnn",
    ):
        assert Path("share/segue/models") / name in shipped
    for folder in ("icons", "app"):
        for f in (root / "resources" / folder).iterdir():
            assert Path("share/segue") / folder / f.name in shipped
    # Installed with `pip install --user .` (no source tree beside the package): found in
    # the user scheme's share/segue, not only under sys.prefix.
    import site

    user_base = tmp_path / "user"
    models = user_base / "share" / "segue" / "models"
    models.mkdir(parents=True)
    for spec in (MSD, MTT):
        (models / spec.file).write_bytes(b"weights")
        monkeypatch.delenv(spec.env, raising=False)
    monkeypatch.setattr(musicnn, "_SOURCE_DIR", tmp_path / "no-checkout")
    monkeypatch.setattr(site, "USER_BASE", str(user_base))
    assert musicnn.model_path() == models / "msd_musicnn.npz"
    assert musicnn.model_path(MTT) == models / "mtt_musicnn.npz"


def test_without_onnxruntime_both_networks_run_on_numpy_said_once(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """A broken or missing onnxruntime costs speed, not answers: both networks load on
    numpy, and the log says so in one line, not one per network."""
    import builtins
    import logging

    real_import = builtins.__import__

    def no_onnxruntime(name: str, *args: object, **kwargs: object) -> object:
        if name == "onnxruntime":
            raise ImportError("no module named onnxruntime")
        return real_import(name, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(builtins, "__import__", no_onnxruntime)
    monkeypatch.setattr(musicnn, "_warned", set())
    with caplog.at_level(logging.WARNING, logger=musicnn.__name__):
        nets = [Musicnn.load(spec=spec) for spec in (MSD, MTT, MSD)]
    assert [n.backend for n in nets] == ["numpy"] * 3
    lines = [r.getMessage() for r in caplog.records]
    assert len(lines) == 1 and "onnxruntime does not load" in lines[0]
    assert all(n.fallback == nets[0].fallback for n in nets)
