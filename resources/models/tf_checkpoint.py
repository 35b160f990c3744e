"""Read a TensorFlow (1.x or 2.x) checkpoint bundle without TensorFlow.

A bundle is ``PREFIX.index`` plus ``PREFIX.data-00000-of-0000N``. The index is a LevelDB
"SSTable": data blocks of prefix-compressed ``key -> value`` entries, an index block
pointing at them, and a 48-byte footer. Each key is a tensor name; each value a
``BundleEntryProto`` (protobuf: dtype, shape, shard, offset, size, crc32c) that says
where the tensor's raw little-endian bytes sit in the data shard. The empty key holds
the ``BundleHeaderProto``. Only what TensorFlow writes for dense tensors is supported:
uncompressed blocks, numeric dtypes, no slices.
"""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np

_MAGIC = 0xDB4775248B80FB57
_FOOTER = 48
# tensorflow/core/framework/types.proto
_DTYPES = {
    1: np.float32,
    2: np.float64,
    3: np.int32,
    4: np.uint8,
    5: np.int16,
    6: np.int8,
    9: np.int64,
    10: np.bool_,
    19: np.float16,
}


def _varint(buf: bytes, pos: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        b = buf[pos]
        pos += 1
        result |= (b & 0x7F) << shift
        if not b & 0x80:
            return result, pos
        shift += 7


def _fields(buf: bytes) -> list[tuple[int, int | bytes]]:
    """A protobuf message as (field number, value) pairs: varints as int, length-
    delimited fields as bytes (fixed32 as int)."""
    out: list[tuple[int, int | bytes]] = []
    pos = 0
    while pos < len(buf):
        tag, pos = _varint(buf, pos)
        number, wire = tag >> 3, tag & 7
        if wire == 0:
            value, pos = _varint(buf, pos)
            out.append((number, value))
        elif wire == 2:
            size, pos = _varint(buf, pos)
            out.append((number, buf[pos : pos + size]))
            pos += size
        elif wire == 5:
            out.append((number, struct.unpack_from("<I", buf, pos)[0]))
            pos += 4
        elif wire == 1:
            out.append((number, struct.unpack_from("<Q", buf, pos)[0]))
            pos += 8
        else:
            raise ValueError(f"unsupported protobuf wire type {wire}")
    return out


def _block(data: bytes, offset: int, size: int) -> list[tuple[bytes, bytes]]:
    """The entries of one SSTable block (its 5-byte trailer: compression type + crc)."""
    if data[offset + size] != 0:
        raise ValueError("compressed checkpoint index blocks are not supported")
    block = data[offset : offset + size]
    (n_restarts,) = struct.unpack_from("<I", block, len(block) - 4)
    end = len(block) - 4 * (n_restarts + 1)
    entries: list[tuple[bytes, bytes]] = []
    pos, key = 0, b""
    while pos < end:
        shared, pos = _varint(block, pos)
        unshared, pos = _varint(block, pos)
        value_len, pos = _varint(block, pos)
        key = key[:shared] + block[pos : pos + unshared]
        pos += unshared
        entries.append((key, block[pos : pos + value_len]))
        pos += value_len
    return entries


def _handle(buf: bytes, pos: int = 0) -> tuple[int, int, int]:
    offset, pos = _varint(buf, pos)
    size, pos = _varint(buf, pos)
    return offset, size, pos


def read_index(index_path: str | Path) -> dict[str, dict[str, object]]:
    """Tensor name -> {dtype, shape, shard, offset, size} from a ``.index`` file."""
    data = Path(index_path).read_bytes()
    footer = data[-_FOOTER:]
    if struct.unpack_from("<Q", footer, _FOOTER - 8)[0] != _MAGIC:
        raise ValueError(f"{index_path}: not a TensorFlow checkpoint index")
    _, _, pos = _handle(footer)  # the metaindex block: unused
    index_offset, index_size, _ = _handle(footer, pos)
    entries: dict[str, dict[str, object]] = {}
    for _, handle in _block(data, index_offset, index_size):
        offset, size, _ = _handle(handle)
        for key, value in _block(data, offset, size):
            if not key:
                continue  # the BundleHeaderProto
            entry: dict[str, object] = {"shape": (), "shard": 0, "offset": 0}
            for number, field in _fields(value):
                if number == 1:
                    entry["dtype"] = field
                elif number == 2:
                    assert isinstance(field, bytes)
                    dims = []
                    for dim_number, dim in _fields(field):
                        if dim_number == 2:
                            assert isinstance(dim, bytes)
                            dims.append(int(dict(_fields(dim)).get(1, 0)))
                    entry["shape"] = tuple(dims)
                elif number == 3:
                    entry["shard"] = field
                elif number == 4:
                    entry["offset"] = field
                elif number == 5:
                    entry["size"] = field
                elif number == 7:
                    raise ValueError(f"{key!r}: sliced tensors are not supported")
            entries[key.decode()] = entry
    return entries


def read_checkpoint(prefix: str | Path) -> dict[str, np.ndarray]:
    """Every numeric tensor of the checkpoint ``prefix`` (``PREFIX.index`` beside its
    data shards), as numpy arrays keyed by variable name."""
    prefix = str(prefix)
    entries = read_index(prefix + ".index")
    shards = 1 + max((int(e["shard"]) for e in entries.values()), default=0)  # type: ignore[call-overload]
    blobs = [Path(f"{prefix}.data-{i:05d}-of-{shards:05d}").read_bytes() for i in range(shards)]
    out: dict[str, np.ndarray] = {}
    for name, e in entries.items():
        dtype = _DTYPES.get(int(e["dtype"]))  # type: ignore[call-overload]
        if dtype is None:
            continue  # strings and the like: not weights
        start, size = int(e["offset"]), int(e["size"])  # type: ignore[call-overload]
        raw = blobs[int(e["shard"])][start : start + size]  # type: ignore[call-overload]
        shape = tuple(e["shape"])  # type: ignore[arg-type]
        out[name] = np.frombuffer(raw, dtype=np.dtype(dtype).newbyteorder("<")).reshape(shape)
    return out
