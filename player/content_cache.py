"""The fitted content index, kept beside the library DB so it is fitted once, not on every
``segue similar`` or app start (fitting takes seconds on a large library).

The cache is keyed by a hash of exactly what the index is fitted on (track ids, feature
versions and the vectors themselves), so any new, changed or removed analysis refits it.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import zipfile
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt


def cache_path(db_path: Path) -> Path:
    return db_path.with_name(db_path.stem + ".content.npz")


def _key(
    track_ids: npt.NDArray[np.int64],
    versions: npt.NDArray[np.int64],
    vectors: npt.NDArray[np.float32],
    groups: Mapping[str, Any],
) -> str:
    digest = hashlib.blake2b(digest_size=16)
    for array in (track_ids, versions, vectors):
        digest.update(np.ascontiguousarray(array).tobytes())
    for name in sorted(groups):
        digest.update(name.encode())
        digest.update(np.asarray(groups[name]).tobytes())
    return digest.hexdigest()


def fitted_index(
    db_path: Path | None,
    track_ids: npt.NDArray[np.int64],
    versions: npt.NDArray[np.int64],
    vectors: npt.NDArray[np.float32],
    groups: Mapping[str, Any],
    *,
    with_graph: bool = False,
    notify: Callable[[str], None] | None = None,
) -> Any:
    """A ContentIndex over ``vectors`` (rows in ``track_ids`` order): loaded from the cache
    when it was fitted on exactly these, else fitted and saved. ``with_graph``: also its
    neighbour graph (what ``similar`` re-ranks with; O(n^2), so built once and cached).
    ``notify`` hears about each slow step before it starts."""
    from recommender.content.index import ContentIndex

    if db_path is None or str(db_path) == ":memory:":
        return ContentIndex.fit(vectors, dict(groups))
    path = cache_path(db_path)
    key_file = path.with_name(path.name + ".key")
    key = _key(track_ids, versions, vectors, groups)
    index: Any = None
    # A damaged cache (a crash mid-write, a full disk) is simply fitted again.
    with contextlib.suppress(OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile):
        if key_file.read_text().strip() == key:
            index = ContentIndex.load(path, with_graph=with_graph)
    if index is not None and (not with_graph or index.graph is not None or not index.reranks):
        return index
    if index is None:
        if notify:
            notify(f"fitting the sound index over {len(track_ids):,} tracks")
        index = ContentIndex.fit(vectors, dict(groups))
    if with_graph and index.reranks:
        if notify:
            notify(f"finding the neighbourhoods of {len(track_ids):,} tracks (once)")
        index.neighbour_graph()
    with contextlib.suppress(OSError):  # a read-only data folder only costs the speed-up
        # One temporary per process: the app and `segue similar` may both be saving.
        tmp = path.with_name(f"{path.stem}.{os.getpid()}.tmp.npz")
        index.save(tmp)
        os.replace(tmp, path)
        key_file.write_text(key + "\n")
    return index
