"""The TensorFlow checkpoint reader that converts musicnn's weights (resources/models/
tf_checkpoint.py), on a bundle written here byte by byte in TensorFlow's format: a
LevelDB table of prefix-compressed keys (several blocks, restart points), each value a
BundleEntryProto, and the data shard the entries point into."""

from __future__ import annotations

import struct
import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "resources" / "models"))
from tf_checkpoint import read_checkpoint, read_index

_DT = {np.dtype(np.float32): 1, np.dtype(np.int64): 9}


def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        b, n = n & 0x7F, n >> 7
        out.append(b | (0x80 if n else 0))
        if not n:
            return bytes(out)


def _field(number: int, value: int | bytes) -> bytes:
    if isinstance(value, int):
        return _varint(number << 3) + _varint(value)
    return _varint(number << 3 | 2) + _varint(len(value)) + value


def _entry(array: np.ndarray, offset: int) -> bytes:
    shape = b"".join(_field(2, _field(1, d)) for d in array.shape)
    return (
        _field(1, _DT[array.dtype])
        + _field(2, shape)
        + _field(4, offset)
        + _field(5, array.nbytes)
        + _field(6, 0)
    )


def _block(entries: list[tuple[bytes, bytes]], restart_every: int = 2) -> bytes:
    out, restarts, previous = bytearray(), [], b""
    for i, (key, value) in enumerate(entries):
        shared = 0
        if i % restart_every == 0:
            restarts.append(len(out))
        else:
            while shared < min(len(key), len(previous)) and key[shared] == previous[shared]:
                shared += 1
        out += _varint(shared) + _varint(len(key) - shared) + _varint(len(value))
        out += key[shared:] + value
        previous = key
    out += b"".join(struct.pack("<I", r) for r in restarts) + struct.pack("<I", len(restarts))
    return bytes(out)


def _write_bundle(prefix: Path, tensors: dict[str, np.ndarray]) -> None:
    data, entries = bytearray(), [(b"", _field(1, 1))]  # the header under the empty key
    for name in sorted(tensors):
        entries.append((name.encode(), _entry(tensors[name], len(data))))
        data += tensors[name].astype(tensors[name].dtype.newbyteorder("<")).tobytes()
    Path(f"{prefix}.data-00000-of-00001").write_bytes(bytes(data))
    table, index_entries = bytearray(), []
    for chunk in (entries[:3], entries[3:]):  # two data blocks
        block = _block(chunk)
        index_entries.append((chunk[-1][0], _varint(len(table)) + _varint(len(block))))
        table += block + b"\x00" + b"\x00" * 4  # no compression, crc unchecked
    meta = _block([])
    meta_handle = _varint(len(table)) + _varint(len(meta))
    table += meta + b"\x00" * 5
    index = _block(index_entries, restart_every=1)
    index_handle = _varint(len(table)) + _varint(len(index))
    table += index + b"\x00" * 5
    handles = meta_handle + index_handle
    footer = handles + b"\x00" * (40 - len(handles)) + struct.pack("<Q", 0xDB4775248B80FB57)
    Path(f"{prefix}.index").write_bytes(bytes(table + footer))


def test_reads_every_tensor_with_its_name_shape_and_values(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    tensors = {
        "conv2d/kernel": rng.normal(size=(7, 38, 1, 4)).astype(np.float32),
        "conv2d/bias": rng.normal(size=4).astype(np.float32),
        "conv2d_1/kernel": rng.normal(size=(3, 2)).astype(np.float32),
        "batch_normalization/gamma": np.ones(1, np.float32),
        "global_step": np.array(1234, dtype=np.int64),
    }
    _write_bundle(tmp_path / "model", tensors)
    index = read_index(tmp_path / "model.index")
    assert set(index) == set(tensors)  # the header entry is not a tensor
    assert index["conv2d/kernel"]["shape"] == (7, 38, 1, 4)
    weights = read_checkpoint(tmp_path / "model")
    for name, expected in tensors.items():
        np.testing.assert_array_equal(weights[name], expected)
        assert weights[name].dtype == expected.dtype


def test_a_file_that_is_no_checkpoint_is_refused(tmp_path: Path) -> None:
    (tmp_path / "bad.index").write_bytes(b"\x00" * 64)
    with pytest.raises(ValueError, match="not a TensorFlow checkpoint index"):
        read_index(tmp_path / "bad.index")
