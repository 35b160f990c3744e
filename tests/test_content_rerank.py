"""k-reciprocal re-ranking of "sounds like" lists: it is Zhong et al.'s algorithm (checked
against a literal, loop-by-loop transcription of it), it is kept with the cached index,
and small libraries or odd rows fall back to plain neighbours."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from player.content_cache import fitted_index
from recommender.content import rerank as content_rerank
from recommender.content.index import ContentIndex
from recommender.content.rerank import K1, K2, LAMBDA, ReciprocalGraph

GROUPS = {"timbre": slice(0, 6), "spectral": slice(6, 10)}


def library(
    n: int, seed: int = 0, spread_range: tuple[float, float] = (0.3, 0.9)
) -> tuple[np.ndarray, np.ndarray]:
    """Overlapping clusters of uneven size and spread, on skewed raw scales."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 8, n)
    centres = rng.normal(0.0, 1.0, (8, 10))
    spread = rng.uniform(*spread_range, 8)[labels, None]
    X = centres[labels] + spread * rng.normal(0.0, 1.0, (n, 10))
    return np.exp(X).astype(np.float32), labels


def reference_rerank(D: np.ndarray) -> np.ndarray:
    """Zhong et al. (2017), Algorithm 1, transcribed literally with dense loops."""
    n = D.shape[0]
    order = np.argsort(D, axis=1, kind="stable")

    def reciprocal(i: int, k: int) -> np.ndarray:
        forward = order[i, : k + 1]
        return np.array([j for j in forward if i in order[j, : k + 1]])

    V = np.zeros((n, n))
    for i in range(n):
        R = reciprocal(i, K1)
        expanded = set(R.tolist())
        for c in R:
            half = reciprocal(int(c), round(K1 / 2))
            if len(set(half.tolist()) & set(R.tolist())) > 2 / 3 * len(half):
                expanded |= set(half.tolist())
        members = np.array(sorted(expanded))
        weights = np.exp(-D[i, members])
        V[i, members] = weights / weights.sum()
    V = np.stack([V[order[i, :K2]].mean(axis=0) for i in range(n)])
    J = np.empty((n, n))
    for i in range(n):
        shared = np.minimum(V[i][None, :], V).sum(axis=1)
        J[i] = 1.0 - shared / (2.0 - shared)
    return (1.0 - LAMBDA) * J + LAMBDA * D


def test_similar_is_the_k_reciprocal_ranking_of_the_paper() -> None:
    X, _ = library(240)
    index = ContentIndex.fit(X, GROUPS)
    D = index.distance_rows(np.arange(240)).astype(np.float64)
    expected = reference_rerank(D)
    for item in (0, 7, 99, 239):
        ids, dist = index.similar(item, 15)
        row = expected[item].copy()
        row[item] = np.inf
        np.testing.assert_allclose(dist, np.sort(row)[:15], atol=2e-5)
        np.testing.assert_allclose(row[ids], dist, atol=2e-5)


def test_reranking_keeps_neighbours_in_their_cluster_better_than_plain_distance() -> None:
    X, labels = library(800, seed=5, spread_range=(0.6, 1.2))  # clusters that overlap
    index = ContentIndex.fit(X, GROUPS)

    def precision(rerank: bool) -> float:
        hits = [
            (labels[index.similar(i, 5, rerank=rerank)[0]] == labels[i]).mean() for i in range(800)
        ]
        return float(np.mean(hits))

    assert precision(True) > precision(False) + 0.01


def test_small_libraries_and_tracks_without_vectors_fall_back_cleanly() -> None:
    X, _ = library(content_rerank.MIN_ITEMS - 1)
    small = ContentIndex.fit(X, GROUPS)
    assert not small.reranks and small.neighbour_graph() is None
    ids, dist = small.similar(3, 5)
    plain_ids, plain_dist = small.similar(3, 5, rerank=False)
    np.testing.assert_array_equal(ids, plain_ids)
    np.testing.assert_array_equal(dist, plain_dist)

    X, _ = library(300)
    X[[10, 20, 30]] = np.nan  # never analysed
    index = ContentIndex.fit(X, GROUPS)
    assert index.similar(10, 5)[0].size == 0
    everyone, _ = index.similar(0, 1000, exclude=[1, 2])
    assert not {10, 20, 30, 0, 1, 2} & set(everyone.tolist())
    assert everyone.size == 300 - 6
    ids, dist = index.similar_to([0, 5, 10], 20)
    assert not {0, 5, 10, 20, 30} & set(ids.tolist()) and np.all(np.diff(dist) >= 0)


def test_exclusions_never_leave_a_list_short() -> None:
    X, _ = library(600, seed=3)
    index = ContentIndex.fit(X, GROUPS)
    nearest, _ = index.similar(0, content_rerank.CANDIDATES, rerank=False)
    one, one_dist = index.similar(0, 50, exclude=nearest)
    many, many_dist = index.similar_to([0], 50, exclude=nearest)
    assert one.size == many.size == 50
    assert not set(one.tolist()) & set(nearest.tolist())
    np.testing.assert_array_equal(many, one)  # one seed: the same question
    np.testing.assert_allclose(many_dist, one_dist, atol=1e-5)


def test_similar_to_follows_its_seeds_neighbourhood() -> None:
    X, labels = library(600, seed=2)
    index = ContentIndex.fit(X, GROUPS)
    cluster = np.flatnonzero(labels == labels[0])[:4]
    ids, _ = index.similar_to(cluster.tolist(), 10)
    assert (labels[ids] == labels[0]).mean() >= 0.8
    other = int(np.flatnonzero(labels != labels[0])[0])
    ids, _ = index.similar_to([int(cluster[0]), other], 10, weights=[0.0, 1.0])
    assert (labels[ids] == labels[other]).mean() >= 0.7


def test_the_graph_is_saved_with_the_index_and_not_rebuilt(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    X, _ = library(300)
    index = ContentIndex.fit(X, GROUPS)
    before = [index.similar(i, 8) for i in (0, 150)]
    index.save(tmp_path / "content.npz")

    def no_rebuild(*args: object, **kwargs: object) -> ReciprocalGraph:
        raise AssertionError("the saved graph should have been used")

    monkeypatch.setattr(ReciprocalGraph, "build", classmethod(no_rebuild))
    loaded = ContentIndex.load(tmp_path / "content.npz")
    for item, (ids, dist) in zip((0, 150), before, strict=True):
        got_ids, got_dist = loaded.similar(item, 8)
        np.testing.assert_array_equal(got_ids, ids)
        np.testing.assert_allclose(got_dist, dist, atol=1e-6)


def test_the_cli_cache_builds_the_graph_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    X, _ = library(300)
    ids = np.arange(300, dtype=np.int64) + 1
    versions = np.ones(300, dtype=np.int64)
    db = tmp_path / "library.db"
    builds = []
    real_build = ReciprocalGraph.build.__func__  # type: ignore[attr-defined]

    def counting(cls: type[ReciprocalGraph], *args: object, **kwargs: object) -> ReciprocalGraph:
        builds.append(1)
        return real_build(cls, *args, **kwargs)  # type: ignore[no-any-return]

    monkeypatch.setattr(ReciprocalGraph, "build", classmethod(counting))
    notes: list[str] = []
    fitted_index(db, ids, versions, X, GROUPS, notify=notes.append)  # the app's way
    assert builds == [] and notes == ["fitting the sound index over 300 tracks"]
    first = fitted_index(db, ids, versions, X, GROUPS, with_graph=True, notify=notes.append)
    assert builds == [1] and first.graph is not None
    assert notes[1:] == ["finding the neighbourhoods of 300 tracks (once)"]
    again = fitted_index(db, ids, versions, X, GROUPS, with_graph=True, notify=notes.append)
    assert builds == [1] and again.graph is not None and len(notes) == 2
    np.testing.assert_array_equal(again.similar(3, 5)[0], first.similar(3, 5)[0])
    # The app asks for no graph: it does not carry one it never uses.
    assert fitted_index(db, ids, versions, X, GROUPS).graph is None


def test_a_damaged_cache_is_fitted_again(tmp_path: Path) -> None:
    X, _ = library(300)
    ids = np.arange(300, dtype=np.int64) + 1
    versions = np.ones(300, dtype=np.int64)
    db = tmp_path / "library.db"
    first = fitted_index(db, ids, versions, X, GROUPS, with_graph=True)
    cache = tmp_path / "library.content.npz"
    cache.write_bytes(cache.read_bytes()[: cache.stat().st_size // 2])  # killed mid-write
    again = fitted_index(db, ids, versions, X, GROUPS, with_graph=True)
    np.testing.assert_array_equal(again.similar(3, 5)[0], first.similar(3, 5)[0])
    assert ContentIndex.load(cache).graph is not None  # and written back whole
