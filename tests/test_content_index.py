"""The content-similarity index: neighbours follow the informative features, explanations
name them, the index grows and persists without changing its answers, and on real
genre-labelled clips (GTZAN table) the shipped defaults beat the usual recipe."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from recommender.content.index import DEFAULT_GROUP_WEIGHTS, ContentIndex
from tests.benchmarks.gtzan import (
    GTZAN_COLUMNS,
    gtzan_groups,
    leave_one_out_precision,
    load_gtzan,
)

ROOT = Path(__file__).resolve().parent.parent
GTZAN_CSV = ROOT.parent / "shared" / "data" / "gtzan_features_30_sec.csv"

N_CLUSTERS = 10
PER_CLUSTER = 30
GROUPS = {"timbre": slice(0, 8), "rhythm": slice(8, 16)}
EQUAL = {"timbre": 1.0, "rhythm": 1.0}


def clustered(informative: str, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Tight clusters in the ``informative`` group, pure noise of the same spread in the
    other; columns on wildly different raw scales."""
    rng = np.random.default_rng(seed)
    labels = np.repeat(np.arange(N_CLUSTERS), PER_CLUSTER)
    centres = rng.normal(0.0, 1.0, (N_CLUSTERS, 8))
    signal = centres[labels] + rng.normal(0.0, 0.05, (labels.size, 8))
    noise = rng.normal(0.0, 1.0, (labels.size, 8))
    X = np.empty((labels.size, 16))
    X[:, GROUPS[informative]] = signal
    X[:, GROUPS["rhythm" if informative == "timbre" else "timbre"]] = noise
    X *= np.logspace(-3, 4, 16)  # scaling must not care about units
    return X.astype(np.float32), labels


@pytest.mark.parametrize("informative", ["timbre", "rhythm"])
def test_neighbours_follow_the_clustered_group_and_explain_names_it(informative: str) -> None:
    X, labels = clustered(informative)
    index = ContentIndex.fit(X, GROUPS, weights=EQUAL)
    assert leave_one_out_precision(index, labels, ks=(5,))[5] >= 0.85  # chance: 0.10
    word = informative  # both groups read as their own name
    first_aspects = []
    for item in range(0, labels.size, 7):
        ids, _ = index.similar(item, 1)
        why = index.explain(item, int(ids[0]))
        assert word in why, why
        first_aspects.append(why.removeprefix("similar ").split(" and ")[0].split(",")[0])
    assert first_aspects.count(word) >= 0.9 * len(first_aspects)


def test_group_weights_steer_the_neighbours() -> None:
    X, labels = clustered("rhythm")
    index = ContentIndex.fit(X, GROUPS, weights={"timbre": 1.0, "rhythm": 0.1})
    assert leave_one_out_precision(index, labels, ks=(5,))[5] <= 0.5
    index.set_weights({"timbre": 0.1, "rhythm": 1.0})
    assert leave_one_out_precision(index, labels, ks=(5,))[5] >= 0.99


def test_far_apart_tracks_are_not_called_similar() -> None:
    X, labels = clustered("timbre")
    index = ContentIndex.fit(X, GROUPS, weights=EQUAL)
    row = index.distances(0)
    farthest = int(np.argmax(row))
    assert labels[farthest] != labels[0]
    assert "timbre" not in index.explain(0, farthest)


@pytest.mark.parametrize("rerank", [False, True])
def test_similar_is_nearest_first_never_itself_and_matches_distances(rerank: bool) -> None:
    X, _ = clustered("timbre")
    index = ContentIndex.fit(X, GROUPS)
    assert index.reranks  # 300 tracks: big enough to have neighbourhoods
    row = index.distances(5)
    assert row.shape == (X.shape[0],) and row.dtype == np.float32
    assert row[5] == 0.0 and ((row >= 0) & (row <= 1)).all()
    ids, dist = index.similar(5, 10, rerank=rerank)
    assert ids.dtype == np.int64 and dist.dtype == np.float32
    assert 5 not in ids and np.all(np.diff(dist) >= 0)
    assert ((dist >= 0) & (dist <= 1)).all()
    if not rerank:  # plain neighbours are exactly the nearest of the dense row
        np.testing.assert_array_equal(dist, row[ids])
        others = np.delete(row, np.r_[5, ids])
        assert dist.max() <= others.min()
    everyone = index.similar(5, 10_000, rerank=rerank)[0]
    assert everyone.size == X.shape[0] - 1 and np.unique(everyone).size == everyone.size


def test_exclude_removes_ids_and_keeps_the_rest_in_order() -> None:
    X, _ = clustered("timbre")
    index = ContentIndex.fit(X, GROUPS)
    ids, _ = index.similar(3, 8)
    kept, _ = index.similar(3, 6, exclude=ids[:2])
    np.testing.assert_array_equal(kept, ids[2:])


def test_slices_and_index_arrays_give_the_same_index() -> None:
    X, _ = clustered("timbre")
    as_arrays = {g: np.arange(16)[s] for g, s in GROUPS.items()}
    a = ContentIndex.fit(X, GROUPS).distances(0)
    b = ContentIndex.fit(X, as_arrays).distances(0)
    np.testing.assert_allclose(a, b, atol=1e-6)


def test_add_places_a_twin_next_to_its_original_without_moving_existing_results() -> None:
    X, _ = clustered("timbre")
    index = ContentIndex.fit(X[:-1], GROUPS)
    before = np.stack([index.distances(i) for i in (0, 100, 250)])
    before_top = index.similar(0, 5, rerank=False)
    twin_of = 42
    new = index.add(np.stack([X[twin_of], X[-1]]))
    np.testing.assert_array_equal(new, [X.shape[0] - 1, X.shape[0]])
    ids, _ = index.similar(int(new[0]), 1)
    assert int(ids[0]) == twin_of
    after = np.stack([index.distances(i) for i in (0, 100, 250)])
    np.testing.assert_allclose(after[:, : X.shape[0] - 1], before, atol=1e-6)
    assert index.similar(0, 5, exclude=new, rerank=False)[0].tolist() == before_top[0].tolist()
    # Re-ranked lists see the new tracks too: the graph is rebuilt for them.
    assert int(index.similar(twin_of, 1)[0][0]) == int(new[0])


def test_save_and_load_round_trip(tmp_path: Path) -> None:
    X, _ = clustered("rhythm")
    index = ContentIndex.fit(X[:200], GROUPS, weights={"timbre": 0.5, "rhythm": 2.0})
    index.add(X[200:210])
    path = tmp_path / "content.npz"
    index.save(path)
    loaded = ContentIndex.load(path)
    assert loaded.weights == index.weights
    for item in (0, 150, 205):
        np.testing.assert_array_equal(loaded.distances(item), index.distances(item))
        ids, _ = index.similar(item, 3)
        assert loaded.explain(item, int(ids[0])) == index.explain(item, int(ids[0]))
    # Both keep growing the same way.
    np.testing.assert_array_equal(loaded.add(X[210:215]), index.add(X[210:215]))
    np.testing.assert_array_equal(loaded.distances(212), index.distances(212))


def test_nan_inf_and_constant_columns_do_not_break_the_index() -> None:
    X, labels = clustered("timbre")
    X = np.concatenate([X, np.full((X.shape[0], 1), 7.0, np.float32)], axis=1)
    groups = {"timbre": np.r_[0:8, 16], "rhythm": slice(8, 16)}
    clean = ContentIndex.fit(X, groups, weights=EQUAL)
    plain = ContentIndex.fit(X[:, :16], GROUPS, weights=EQUAL)
    np.testing.assert_allclose(clean.distances(0), plain.distances(0), atol=1e-5)

    X[10] = np.nan  # never analysed
    X[11, 3] = np.inf
    X[12, :2] = np.nan
    X[:, 9] = np.nan  # a column nobody has
    index = ContentIndex.fit(X, groups, weights=EQUAL)
    assert index.similar(10, 5)[0].size == 0
    assert index.explain(10, 0) == ""
    for item in (0, 11, 12):
        row = index.distances(item)
        assert np.isfinite(row).all()
        ids, _ = index.similar(item, 5)
        assert ids.size == 5 and 10 not in ids
        assert (labels[ids] == labels[item]).mean() >= 0.8
    assert index.distances(0)[10] == 1.0
    new = index.add(np.full((1, 17), np.nan))
    assert index.similar(int(new[0]), 3)[0].size == 0


def test_similar_to_follows_the_seeds_and_their_weights() -> None:
    X, labels = clustered("timbre")
    index = ContentIndex.fit(X, GROUPS)
    seeds = [0, 1, 2]  # all in cluster 0
    ids, dist = index.similar_to(seeds, 10)
    assert not set(ids) & set(seeds) and np.all(np.diff(dist) >= 0)
    assert (labels[ids] == 0).all()
    other = int(np.flatnonzero(labels == 5)[0])
    ids, _ = index.similar_to([0, other], 10, weights=[0.0, 1.0])
    assert (labels[ids] == 5).mean() >= 0.9
    with pytest.raises(ValueError):
        index.similar_to([0, 1], 5, weights=[1.0])


def test_gtzan_groups_match_the_extractor_layout() -> None:
    from recommender.audio import FEATURE_GROUPS
    from recommender.audio.features import GTZAN_COLUMNS as EXTRACTOR_COLUMNS

    assert GTZAN_COLUMNS == EXTRACTOR_COLUMNS
    ours = gtzan_groups()
    assert set(ours) == set(DEFAULT_GROUP_WEIGHTS) - {"deep"}  # the table has no audio
    for group, cols in FEATURE_GROUPS.items():
        np.testing.assert_array_equal(ours[group], cols[cols < len(GTZAN_COLUMNS)])


@pytest.mark.skipif(
    not GTZAN_CSV.is_file(), reason="the GTZAN feature table of ../shared/data is not present"
)
def test_shipped_defaults_beat_the_usual_recipe_on_real_genre_labels() -> None:
    X, groups, labels = load_gtzan(GTZAN_CSV)
    assert X.shape == (1000, 57) and len(set(labels.tolist())) == 10
    shipped = leave_one_out_precision(ContentIndex.fit(X, groups), labels)

    # The usual recipe: standardise every column, rank by cosine.
    Z = (X - X.mean(axis=0)) / X.std(axis=0)
    Z /= np.linalg.norm(Z, axis=1, keepdims=True)
    sim = Z @ Z.T
    np.fill_diagonal(sim, -np.inf)
    top5 = np.argsort(-sim, axis=1)[:, :5]
    reference = float((labels[top5] == labels[:, None]).mean())
    assert reference == pytest.approx(0.61, abs=0.01)  # the figure the data's README gives

    # Measured: P@5 0.710, P@1 0.750 re-ranked; 0.674 / 0.748 plain mutual proximity
    # (reference 0.611 / 0.711). Issue 3 asks P@5 >= 0.70.
    plain = leave_one_out_precision(ContentIndex.fit(X, groups), labels, rerank=False)
    assert shipped[5] >= 0.70
    assert shipped[5] >= plain[5] + 0.02  # the re-ranking earns its keep
    assert plain[5] >= reference + 0.05
    assert shipped[1] >= 0.74


def test_similar_agrees_with_the_full_distance_row_on_a_bigger_library() -> None:
    # similar() prunes before the mutual-proximity step; it must stay exact.
    rng = np.random.default_rng(3)
    X = rng.lognormal(0.0, 1.0, (3000, 12)).astype(np.float32)
    index = ContentIndex.fit(X, {"timbre": slice(0, 8), "spectral": slice(8, 12)})
    for item in (0, 17, 2999):
        for k in (1, 10, 200):
            ids, dist = index.similar(item, k, rerank=False)
            row = index.distances(item)
            row[item] = np.inf
            expected = np.sort(row)[:k]
            np.testing.assert_allclose(dist, expected, atol=1e-6)
            np.testing.assert_allclose(row[ids], dist, atol=1e-6)


def test_a_wide_group_is_kept_to_its_leading_axes(tmp_path: Path) -> None:
    """The network's 200-d embedding costs 16 index columns, not 200, and what it says
    survives the cut: neighbours found in the embedding are the same clusters."""
    rng = np.random.default_rng(3)
    labels = np.repeat(np.arange(8), 40)
    centres = rng.normal(0, 3, (8, 200))
    X = np.hstack([rng.normal(0, 1, (320, 10)), centres[labels] + rng.normal(0, 1, (320, 200))])
    groups = {"timbre": np.arange(10), "deep": np.arange(10, 210)}
    index = ContentIndex.fit(X, groups, {"timbre": 0.1, "deep": 3.5}, {"deep": 16})
    assert index.embedding.shape == (320, 26)
    hits = [np.mean(labels[index.similar(i, 5)[0]] == labels[i]) for i in range(0, 320, 7)]
    assert np.mean(hits) > 0.9
    index.save(tmp_path / "i.npz")
    again = ContentIndex.load(tmp_path / "i.npz")
    np.testing.assert_array_equal(again.similar(3, 5)[0], index.similar(3, 5)[0])
    new = again.add(X[:2])
    np.testing.assert_allclose(again.embedding[new], index.embedding[:2], atol=1e-5)


def test_during_a_feature_upgrade_old_tracks_find_neighbours_by_their_sound() -> None:
    """Review 14: while the library upgrades (half the tracks with the music network's
    "deep" group, half still without, NaN there), every old track got the same imputed
    deep vector in a group weighted 3.5, so old tracks became each other's neighbours.
    A pair lacking a group now leaves it out and the other groups share its weight."""
    from recommender.content.index import ContentIndex

    rng = np.random.default_rng(7)
    n_styles, per_style = 6, 40
    style = np.repeat(np.arange(n_styles), per_style)
    n = style.size
    signal_centres = rng.normal(0.0, 1.0, (n_styles, 42))
    deep_centres = rng.normal(0.0, 1.0, (n_styles, 50))
    X = np.hstack(
        [
            signal_centres[style] + rng.normal(0.0, 0.6, (n, 42)),
            deep_centres[style] + rng.normal(0.0, 0.6, (n, 50)),
        ]
    )
    old = rng.permutation(n)[: n // 2]  # version 1: no deep group yet
    X[old, 42:] = np.nan
    groups = {
        "timbre": slice(0, 20),
        "harmony": slice(20, 32),
        "rhythm": slice(32, 36),
        "spectral": slice(36, 40),
        "loudness": slice(40, 42),
        "deep": slice(42, 92),
    }
    index = ContentIndex.fit(X, groups)
    is_old = np.zeros(n, dtype=bool)
    is_old[old] = True
    same_style, old_among = [], []
    for item in old[:40]:
        for rerank in (False, True):
            near, _ = index.similar(int(item), 10, rerank=rerank)
            same_style.append(np.mean(style[near] == style[item]))
            old_among.append(np.mean(is_old[near]))
        row = index.distances(int(item))
        assert np.all((row >= 0.0) & (row <= 1.0))
    assert np.mean(same_style) > 0.9
    assert np.mean(old_among) < 0.75  # new tracks of its style too, not only old ones
    # A new track's neighbours: its style, old or new.
    new = np.setdiff1d(np.arange(n), old)[:40]
    assert np.mean([np.mean(style[index.similar(int(i), 10)[0]] == style[i]) for i in new]) > 0.9
    # An old pair is never "similar in overall sound": neither has it.
    a, b = old[0], old[1]
    assert "overall sound" not in index.explain(int(a), int(b))
