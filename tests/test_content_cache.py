"""The fitted content index is reused until what it was fitted on changes."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from player import content_cache
from player.content_cache import cache_path, fitted_index

GROUPS = {"timbre": np.arange(0, 6), "rhythm": np.arange(6, 8)}


def _library(n: int = 40) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(1)
    return (
        np.arange(1, n + 1, dtype=np.int64),
        np.ones(n, dtype=np.int64),
        rng.normal(size=(n, 8)).astype(np.float32),
    )


def test_the_index_is_fitted_once_then_loaded(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from recommender.content.index import ContentIndex

    db = tmp_path / "library.db"
    ids, versions, vectors = _library()
    first = fitted_index(db, ids, versions, vectors, GROUPS)
    assert cache_path(db).exists()
    fits: list[int] = []
    real_fit = ContentIndex.fit
    monkeypatch.setattr(
        ContentIndex, "fit", classmethod(lambda cls, *a, **k: fits.append(1) or real_fit(*a, **k))
    )
    again = fitted_index(db, ids, versions, vectors, GROUPS)
    assert fits == []
    np.testing.assert_array_equal(again.similar(0, 5)[0], first.similar(0, 5)[0])

    vectors[3] += 1.0  # a track re-analysed: the cache no longer matches
    fitted_index(db, ids, versions, vectors, GROUPS)
    assert fits == [1]


def test_an_unwritable_cache_only_costs_the_speed_up(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ids, versions, vectors = _library()
    monkeypatch.setattr(
        content_cache.os, "replace", lambda *a: (_ for _ in ()).throw(PermissionError("read-only"))
    )
    index = fitted_index(tmp_path / "library.db", ids, versions, vectors, GROUPS)
    assert index.similar(0, 3)[0].size == 3
