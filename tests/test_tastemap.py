"""The taste map: neighbour-preserving layout, stability under library changes, regions,
and the file the desktop app loads."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from recommender.content.tastemap import (
    MapConfig,
    TasteMap,
    build_map,
    load_layout,
    neighbours_kept,
)

GENRES = ["jazz", "metal", "ambient", "hip hop", "folk", "techno"]


def clustered(n: int, seed: int = 0, dims: int = 24) -> tuple[np.ndarray, list[str]]:
    """Unit vectors in well-separated genre clusters, with local structure inside each."""
    rng = np.random.default_rng(seed)
    genre = rng.integers(0, len(GENRES), n)
    centres = rng.normal(size=(len(GENRES), dims)) * 2.5
    x = centres[genre] + rng.normal(size=(n, dims))
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    return x.astype(np.float32), [GENRES[g] for g in genre]


CONFIG = MapConfig(landmarks=400, eval_sample=500, epochs=150)


def test_refinement_is_kept_only_when_it_keeps_more_neighbours() -> None:
    vectors, genres = clustered(3000)
    m = build_map(np.arange(3000) + 1000, vectors, genres, CONFIG)
    assert set(m.kept) == {"pca", "refined"}
    better = max(m.kept, key=lambda k: m.kept[k])
    assert m.method == better
    # The stored layout really scores what the map claims for its method (on a sample).
    sample = np.random.default_rng(5).choice(3000, 500, replace=False)
    measured = neighbours_kept(vectors[sample], m.xy[sample], 10)
    assert measured > 0.1
    assert m.xy.shape == (3000, 2) and np.isfinite(m.xy).all()


def test_new_tracks_are_placed_without_moving_the_others() -> None:
    vectors, genres = clustered(2100, seed=1)
    ids = np.arange(2100) * 7
    m = build_map(ids[:2000], vectors[:2000], genres[:2000], CONFIG)
    grown = m.update(ids, vectors, genres, CONFIG)
    assert (grown.xy[:2000] == m.xy).all()  # nothing reshuffled
    assert (grown.region[:2000] == m.region).all()
    # Each new track lands among its own genre: its nearest old tracks on the map share it.
    old_genre = np.array(genres[:2000])
    agree = []
    for row in range(2000, 2100):
        d = ((m.xy - grown.xy[row]) ** 2).sum(axis=1)
        agree.append(np.mean(old_genre[np.argsort(d)[:10]] == genres[row]))
    assert np.mean(agree) > 0.8
    # Removing tracks removes only them.
    shrunk = grown.update(ids[50:], vectors[50:], genres[50:], CONFIG)
    assert (shrunk.xy == grown.xy[50:]).all()


def test_a_full_rebuild_is_aligned_with_the_previous_map() -> None:
    """A rebuild does not rotate, mirror, rescale or shift the map the user knows."""
    from dataclasses import replace

    vectors, genres = clustered(1500, seed=2)
    ids = np.arange(1500)
    fresh = build_map(ids, vectors, genres, CONFIG)
    turn = np.array([[0.0, -1.0], [-1.0, 0.0]])  # a rotation with a mirror
    known = replace(fresh, xy=(fresh.xy @ turn * 3.0 + [40.0, -7.0]).astype(np.float32))
    rebuilt = build_map(ids, vectors, genres, CONFIG, previous=known)
    spread = np.linalg.norm(known.xy - known.xy.mean(axis=0), axis=1).mean()
    drift = np.linalg.norm(rebuilt.xy - known.xy, axis=1).mean()
    unaligned = np.linalg.norm(fresh.xy - known.xy, axis=1).mean()
    assert drift < 0.01 * spread < unaligned


def test_regions_are_labelled_by_their_dominant_genre() -> None:
    vectors, genres = clustered(3000, seed=4)
    m = build_map(np.arange(3000), vectors, genres, CONFIG)
    assert 2 <= len(m.region_labels) <= CONFIG.regions_max
    names = np.array(genres)
    for r, label in enumerate(m.region_labels):
        members = names[m.region == r]
        values, counts = np.unique(members, return_counts=True)
        assert values[np.argmax(counts)] in label.lower()


def test_the_file_round_trips_and_the_gui_reads_only_the_layout(tmp_path: Path) -> None:
    vectors, genres = clustered(800, seed=6)
    m = build_map(np.arange(800) + 5, vectors, genres, CONFIG)
    path = tmp_path / "data" / "library.tastemap.npz"
    m.save(path)
    back = TasteMap.load(path)
    assert (back.ids == m.ids).all() and (back.xy == m.xy).all()
    assert back.region_labels == m.region_labels and back.method == m.method
    ids, xy, region, label_xy, labels = load_layout(path)
    assert (ids == m.ids).all() and xy.dtype == np.float32 and labels == m.region_labels
    assert label_xy.shape == (len(labels), 2) and region.shape == ids.shape
