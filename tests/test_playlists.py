"""Each automatic playlist's rules, pinned on synthetic libraries with known answers."""

from __future__ import annotations

import numpy as np
import pytest

from recommender.collab.signals import KIND_CODES, EventLog
from recommender.playlists import LibraryState, PlaylistEngine
from recommender.playlists.mixes import carry_names
from recommender.ranking.reasons import labels_from_arrays

DAY = 86400.0
NOW = 1_800_000_000.0
GENRES = ["jazz", "heavy metal", "ambient", "hip hop"]


def make_log(rows: list[tuple[int, float, str]]) -> EventLog:
    """(item, ts, kind) rows; plays are complete (position = duration)."""
    rows = sorted(rows, key=lambda r: r[1])
    n = len(rows)
    return EventLog(
        item=np.array([r[0] for r in rows], np.int64),
        ts=np.array([r[1] for r in rows], np.float64),
        kind=np.array([KIND_CODES[r[2]] for r in rows], np.int8),
        session=np.full(n, -1, np.int64),
        position_s=np.full(n, 200.0),
        duration_s=np.full(n, 200.0),
        artist=np.full(n, -1, np.int64),
        album=np.full(n, -1, np.int64),
    )


def library(
    events: list[tuple[int, float, str]], per_genre: int = 30, content: bool = True, seed: int = 0
) -> LibraryState:
    """``per_genre`` tracks of each genre; genre g's tracks are ids g*per_genre.., their audio
    vectors cluster by genre, and each genre has 6 artists."""
    rng = np.random.default_rng(seed)
    n = per_genre * len(GENRES)
    genre_of = np.repeat(np.arange(len(GENRES)), per_genre)
    centres = rng.normal(size=(len(GENRES), 20)) * 3
    vectors = (centres[genre_of] + rng.normal(size=(n, 20))).astype(np.float32)
    artist_ids = (genre_of * 6 + np.arange(n) % 6).astype(np.int64)
    titles = [f"song {i}" for i in range(n)]
    return LibraryState(
        n_items=n,
        artist_ids=artist_ids,
        album_ids=artist_ids.copy(),
        genres=[GENRES[g] for g in genre_of],
        log=make_log(events),
        now=NOW,
        describe=labels_from_arrays(titles, [f"artist {a}" for a in artist_ids]),
        years=np.full(n, 2000.0, np.float32),
        content_items=np.arange(n) if content else None,
        content_vectors=vectors if content else None,
    )


def plays(item: int, times: int, last: float) -> list[tuple[int, float, str]]:
    return [(item, last - k * 3600.0, "play") for k in range(times)]


def test_a_forgotten_favourite_appears_only_after_its_idle_time() -> None:
    last = NOW - 89 * DAY
    events = plays(5, 6, last) + plays(7, 2, NOW - 400 * DAY) + plays(9, 8, NOW - 300 * DAY)
    events += [(9, NOW - 300 * DAY, "dislike"), (11, NOW - 200 * DAY, "like")]
    state = library(events)
    early = PlaylistEngine(state).forgotten()
    assert 5 not in early.items.tolist()  # 89 days: not yet forgotten
    state.now = NOW + 2 * DAY
    late = PlaylistEngine(state).forgotten()
    assert set(late.items.tolist()) == {5, 11}  # 7 was never loved, 9 is disliked
    reason = late.reasons[late.items.tolist().index(5)]
    assert "6 times" in reason and "last played" in reason
    assert "liked" in late.reasons[late.items.tolist().index(11)]


def test_discover_never_offers_disliked_liked_or_heavily_played_tracks() -> None:
    # The listener loves jazz (ids 0..29): plays and likes.
    events = plays(0, 10, NOW - DAY) + plays(1, 8, NOW - 2 * DAY) + [(2, NOW - DAY, "like")]
    events += [(3, NOW - DAY, "dislike"), *plays(4, 5, NOW - 3 * DAY), *plays(6, 1, NOW)]
    engine = PlaylistEngine(library(events))
    found = engine.discover()
    items = found.items.tolist()
    assert items, "jazz tracks the listener has not heard are there to discover"
    assert not {0, 1, 2, 3, 4} & set(items)  # heavily played, liked or disliked
    assert 6 in items  # played once: "rarely played" still qualifies
    top = items[:10]
    assert all(i < 30 for i in sorted(found.items[np.argsort(-found.scores)][:10].tolist()))
    assert len(set(engine.state.artist_ids[top].tolist())) > 1
    assert all("favourite" in r or "whom you play" in r for r in found.reasons)
    # Never "close to" itself (6, heard once, is a favourite too), never a dangling tail.
    six = found.reasons[items.index(6)]
    assert "song 6" not in six and not six.endswith(", a favourite")


def test_discover_without_any_listening_is_a_sample_across_the_sound_map() -> None:
    state = library([], per_genre=30)
    found = PlaylistEngine(state).discover()
    items = found.items.tolist()
    assert len(items) == 50 and len(set(items)) == 50
    genre_of = np.repeat(np.arange(len(GENRES)), 30)
    # Every part of the library is in the sample, in shares near its size.
    counts = np.bincount(genre_of[found.items], minlength=len(GENRES))
    assert counts.min() >= 50 // len(GENRES) - 5, counts
    assert all(r.startswith("new to you: a taste of the ") for r in found.reasons)
    assert "as you play, like and skip" in found.how
    assert any(GENRES[g] in r for g in range(len(GENRES)) for r in found.reasons)


def test_radio_starts_with_its_seed_is_deterministic_and_skips_bans() -> None:
    events = [(40, NOW - DAY, "dislike")]
    state = library(events)
    first = PlaylistEngine(state).radio([33], "song 33", "radio:track:33", length=20)
    again = PlaylistEngine(state).radio([33], "song 33", "radio:track:33", length=20)
    assert first.items.tolist() == again.items.tolist()
    assert first.items[0] == 33 and first.reasons[0] == "the seed"
    assert 40 not in first.items.tolist()
    assert np.mean((first.items >= 30) & (first.items < 60)) >= 0.9  # the seed's genre
    artists = state.artist_ids[first.items]
    assert not (artists[1:] == artists[:-1]).any()  # up-next's artist spacing
    artist_radio = PlaylistEngine(state).radio(
        np.flatnonzero(state.artist_ids == 0), "artist 0", "radio:artist:0", length=15
    )
    assert set(np.flatnonzero(state.artist_ids == 0).tolist()) <= set(artist_radio.items.tolist())


def test_mixes_follow_the_genres_and_keep_their_names_across_rebuilds() -> None:
    state = library(plays(0, 3, NOW - DAY), per_genre=40)
    engine = PlaylistEngine(state)
    mixes = engine.mixes()
    assert 4 <= len(mixes) <= 12
    genre_of = np.repeat(np.arange(len(GENRES)), 40)
    for mix in mixes:
        dominant = np.bincount(genre_of[mix.items]).argmax()
        assert np.mean(genre_of[mix.items] == dominant) > 0.9
        assert GENRES[dominant].split()[-1] in mix.name.lower()
    # A rebuild after the library changed (12 new tracks, more listening) keeps the names
    # of clusters that kept their members, even where a fresh name would differ.
    grown = library(plays(0, 3, NOW - DAY) + plays(45, 4, NOW), per_genre=40)
    rng = np.random.default_rng(7)
    new_vectors = grown.content_vectors[rng.choice(160, 12)] + rng.normal(size=(12, 20))
    grown.n_items = 172
    grown.content_items = np.arange(172)
    grown.content_vectors = np.vstack([grown.content_vectors, new_vectors]).astype(np.float32)
    grown.artist_ids = np.concatenate([grown.artist_ids, np.full(12, 99)])
    grown.album_ids = np.concatenate([grown.album_ids, np.full(12, -1)])
    grown.genres = [*grown.genres, *["jazz"] * 12]
    grown.years = np.concatenate([grown.years, np.full(12, 2001.0, np.float32)])
    old_names = [f"Old {n}" for n in engine.mix_names]
    aligned = np.concatenate([engine.clustering.labels, np.full(12, -1)])
    rebuilt = PlaylistEngine(grown, previous_mixes=(aligned, old_names))
    assert sorted(rebuilt.mix_names) == sorted(old_names)
    for c, name in enumerate(rebuilt.mix_names):
        before = engine.clustering.labels == old_names.index(name)
        assert np.mean(rebuilt.clustering.labels[:160][before] == c) > 0.9


def test_a_new_cluster_does_not_steal_a_kept_name() -> None:
    labels = np.array([0, 0, 0, 1, 1, 1, 2, 2])
    previous = np.array([1, 1, 1, 0, 0, 0, -1, -1])
    names = carry_names(labels, ["Jazz", "Metal", "Jazz"], previous, ["Metal", "Jazz"])
    assert names == ["Jazz", "Metal", "Jazz 2"]


def test_calm_and_energetic_fall_back_to_genre_words_without_analysis() -> None:
    engine = PlaylistEngine(library([], content=False))
    calm, energetic = engine.moods()
    genre_of = np.repeat(np.arange(len(GENRES)), 30)
    assert set(genre_of[calm.items].tolist()) == {GENRES.index("ambient")}
    assert set(genre_of[energetic.items].tolist()) == {GENRES.index("heavy metal")}
    assert all("by its genre" in r for r in calm.reasons)


def test_calm_uses_analysis_when_there_is_some() -> None:
    state = library([])
    energy = np.linspace(0, 1, state.n_items).astype(np.float32)
    state.energy = energy[::-1].copy()  # metal tracks measured calm, for the test's sake
    calm, _ = PlaylistEngine(state).moods()
    genre_of = np.repeat(np.arange(len(GENRES)), 30)
    assert set(genre_of[calm.items].tolist()) <= {GENRES.index("hip hop"), GENRES.index("ambient")}
    assert all("by its sound" in r for r in calm.reasons)


def test_every_playlist_is_deterministic_with_a_reason_per_track() -> None:
    events = plays(0, 6, NOW - 200 * DAY) + plays(31, 4, NOW - DAY) + [(62, NOW, "like")]
    one = PlaylistEngine(library(events)).build_all()
    two = PlaylistEngine(library(events)).build_all()
    assert [p.items.tolist() for p in one] == [p.items.tolist() for p in two]
    for p in one:
        assert len(p.reasons) == len(p) and all(p.reasons)


def test_new_tracks_join_mixes_without_refitting() -> None:
    engine = PlaylistEngine(library(plays(0, 3, NOW - DAY)))
    before = engine.clustering.labels.copy()
    ids = engine.add_items(
        np.array([99, 99]),
        np.array([-1, -1]),
        ["heavy metal", "ambient"],
        labels_from_arrays([f"s{i}" for i in range(122)]),
    )
    assert ids.tolist() == [120, 121]
    assert (engine.clustering.labels[:120] == before).all()
    metal_mix = np.bincount(before[30:60]).argmax()
    assert engine.clustering.labels[120] == metal_mix
    assert len(engine.build_all()) >= 6


@pytest.mark.parametrize("method", ["raw", "ppmi"])
def test_cf_block_puts_tracks_played_together_close(method: str) -> None:
    from recommender.playlists.embedding import EmbeddingConfig, JointEmbedding

    rng = np.random.default_rng(1)
    # Sessions alternate within two groups of tracks (0..9 and 10..19).
    rows = []
    t = NOW - 100 * DAY
    for s in range(60):
        group = s % 2
        for item in rng.choice(np.arange(10) + 10 * group, 8, replace=False):
            rows.append((int(item), t, "play"))
            t += 200.0
        t += 3 * 3600.0
    emb = JointEmbedding.fit(
        20, log=make_log(rows), config=EmbeddingConfig(cf_dims=4, cf_method=method)
    )
    sims = emb.vectors @ emb.vectors.T
    same = sims[:10, :10][~np.eye(10, dtype=bool)].mean()
    other = sims[:10, 10:].mean()
    assert same > other + 0.3


def test_a_tiny_library_with_no_tags_or_history_still_gets_playlists_and_a_map() -> None:
    from recommender.content.tastemap import build_map

    state = LibraryState(
        n_items=3,
        artist_ids=np.array([0, 0, -1]),
        album_ids=np.full(3, -1),
        genres=[None, None, None],
        log=make_log([]),
        now=NOW,
        describe=labels_from_arrays(["a", "b", "c"]),
    )
    engine = PlaylistEngine(state)
    built = engine.build_all()
    assert {p.key for p in built} >= {"discover", "forgotten", "calm", "energetic"}
    # Nothing is known: nothing to claim, but Discover offers the whole (tiny) library.
    assert all(len(p) == 0 for p in built if p.key != "discover")
    discover = next(p for p in built if p.key == "discover")
    assert sorted(discover.items.tolist()) == [0, 1, 2]
    assert all(
        r == "new to you: a corner of your library you have not heard yet" for r in discover.reasons
    )
    radio = engine.radio([2], "c", "radio:track:2")
    assert radio.items[0] == 2 and set(radio.items.tolist()) <= {0, 1, 2}
    taste_map = build_map(np.array([10, 11, 12]), engine.embedding.vectors, state.genres)
    assert taste_map.xy.shape == (3, 2) and np.isfinite(taste_map.xy).all()


def test_a_mood_filter_keeps_one_end_of_the_scale_in_order() -> None:
    engine = PlaylistEngine(library(plays(0, 3, NOW - DAY), content=False))
    genre_of = np.repeat(np.arange(len(GENRES)), 30)
    radio = engine.radio(np.flatnonzero(genre_of == 1)[:3], "metal", "radio:x", length=120)
    calm = engine.filter_mood(radio, "calm")
    energetic = engine.filter_mood(radio, "energetic")
    assert set(genre_of[calm.items].tolist()) <= {GENRES.index("ambient"), GENRES.index("jazz")}
    assert set(genre_of[energetic.items].tolist()) == {GENRES.index("heavy metal")}
    order = radio.items.tolist()
    positions = [order.index(i) for i in energetic.items.tolist()]
    assert positions == sorted(positions)  # the playlist's own order is kept
    with pytest.raises(ValueError):
        engine.filter_mood(radio, "sleepy")


def test_a_library_with_few_genres_keeps_every_genre_apart() -> None:
    # Three genres, 8 tracks each: each genre must stay its own direction, whatever the
    # BLAS (a 2-d truncated SVD of three equal singular values dropped one genre whole,
    # so that genre's tracks got no metadata vector and its radios came up short).
    from recommender.playlists.embedding import GenreTransform

    genres = ["Jazz"] * 8 + ["Ambient"] * 8 + ["Heavy Metal"] * 8
    vectors = GenreTransform.fit(genres, dims=12, min_tracks=2).transform(genres)
    norms = np.linalg.norm(vectors, axis=1)
    assert (norms > 0).all()
    unit = vectors / norms[:, None]
    cosine = unit @ unit.T
    same = np.repeat(np.arange(3), 8)
    assert np.allclose(cosine[same[:, None] == same[None, :]], 1.0, atol=1e-5)
    assert np.allclose(cosine[same[:, None] != same[None, :]], 0.0, atol=1e-5)


def test_mix_reasons_say_what_the_tracks_share() -> None:
    engine = PlaylistEngine(library(plays(0, 4, NOW - DAY)))
    for mix in engine.mixes():
        assert mix.reasons
        for reason in mix.reasons:
            assert "typical of" not in reason and "Mix" not in reason
            assert reason.startswith(("like the other ", "one of your favourites among the "))
            assert reason.endswith(" tracks of this mix")
    words = " ".join(r for m in engine.mixes() for r in m.reasons)
    assert "jazz" in words and "heavy metal" in words
    from recommender.playlists.mixes import mix_reason

    assert mix_reason("", False) == "sounds like the other tracks of this mix"


def test_energy_from_genre_and_mood_words_per_track() -> None:
    """A library's repeated, distinct, compound and missing genres: each track gets its own
    text's energy, whether the text is worked out once or per track."""
    from recommender.playlists.mood import energy_scores, genre_energy, mood_energy

    genres: list[str | None] = [
        "Jazz", None, "Progressive Metal", "jazz; mellow", "", "Ambient; Rock", "polka",
        "Jazz", "pop; mellow; sad", "Progressive Metal", "Hard Rock/Party", None,
    ]  # fmt: skip
    nan = float("nan")
    by_genre = [0.35, nan, 0.9, 0.35, nan, 0.4, nan, 0.35, 0.6, 0.9, 0.85, nan]
    by_mood = [nan, nan, nan, 0.1, nan, 0.1, nan, nan, 0.15, nan, 0.875, nan]
    assert genre_energy(genres).tolist() == pytest.approx(by_genre, nan_ok=True)
    assert mood_energy(genres).tolist() == pytest.approx(by_mood, nan_ok=True)
    energy, from_sound = energy_scores(genres)  # not analysed: the genre alone
    assert energy.tolist() == pytest.approx(by_genre, nan_ok=True) and not from_sound.any()
    assert genre_energy([]).size == 0 and mood_energy([]).size == 0


def test_heard_moods_join_the_sound_in_calm_and_energetic() -> None:
    """21 analysed tracks whose energy, tempo and acousticness rank them 0, 0.05 .. 1 on
    the calm-energetic scale: alone, Calm takes the bottom seven (<= 0.3) and Energetic
    the top seven (>= 0.7). Then the moods the network heard move three of them: a
    "mellow, sad" track at 0.35 becomes calm, a "mellow" one at 0.8 stops being
    energetic, a "party, hard rock" one at 0.65 becomes energetic."""
    from recommender.playlists.mood import energy_scores, mood_playlists

    n = 21
    rank = np.arange(n, dtype=np.float32)
    scalars = {"energy": rank, "bpm": 60 + 5 * rank, "acousticness": 1 - rank / n}
    everyone = np.ones(n, dtype=bool)
    no_liking = np.zeros(n, dtype=np.float32)

    def moods(genres: list[str | None]) -> tuple[set[int], set[int]]:
        energy, from_sound = energy_scores(genres, **scalars)
        assert from_sound.all()
        calm, energetic = mood_playlists(energy, from_sound, no_liking, everyone)
        assert all(r.startswith("calm by its sound") for r in calm.reasons)
        return set(calm.items.tolist()), set(energetic.items.tolist())

    genres: list[str | None] = ["pop"] * n
    assert moods(genres) == (set(range(7)), set(range(14, 21)))
    genres[7] = "pop; mellow; sad"
    genres[16] = "pop; mellow"
    genres[13] = "pop; party; hard rock"
    assert moods(genres) == (set(range(8)), {13, 14, 15, 17, 18, 19, 20})


def test_a_pick_read_with_its_heard_moods_names_them_in_its_reason() -> None:
    """The 21 tracks above: the "mellow, sad" one that the moods made calm says so, as
    does the "party" one made energetic (hard rock is a style, not a mood); a mood leaning
    the other way ("happy" on a calm track) is not named, nor one that says neither
    ("sexy"). A track read by its genre alone (not analysed) names no mood."""
    from recommender.playlists.mood import energy_scores, mood_playlists

    n = 21
    rank = np.arange(n, dtype=np.float32)
    scalars = {"energy": rank, "bpm": 60 + 5 * rank, "acousticness": 1 - rank / n}
    genres: list[str | None] = ["pop"] * n
    genres[7] = "pop; mellow; sad"
    genres[13] = "pop; party; hard rock"
    genres[0] = "pop; happy; sexy"
    genres[1] = "pop; chill"
    genres[3] = "ambient; mellow"
    scalars["energy"][3] = np.nan  # analysed by its tempo and acousticness only
    liking = np.zeros(n, dtype=np.float32)
    liking[7] = 1.0
    energy, from_sound = energy_scores(genres, **scalars)
    calm, energetic = mood_playlists(
        energy, from_sound, liking, np.ones(n, dtype=bool), genres=genres
    )
    calm_reason = dict(zip(calm.items.tolist(), calm.reasons, strict=True))
    assert calm_reason[7] == "calm by its sound: mellow and sad, one of your favourites"
    assert calm_reason[1] == "calm by its sound: chilled"
    assert calm_reason[3] == "calm by its sound: mellow"
    assert calm_reason[0] == "calm by its sound" and calm_reason[2] == "calm by its sound"
    energetic_reason = dict(zip(energetic.items.tolist(), energetic.reasons, strict=True))
    assert energetic_reason[13] == "energetic by its sound: party music"
    assert energetic_reason[20] == "energetic by its sound"

    unanalysed = ["ambient; mellow", "ambient", "metal; party", "metal"]
    energy, from_sound = energy_scores(unanalysed)
    calm, energetic = mood_playlists(
        energy, from_sound, np.zeros(4, np.float32), np.ones(4, dtype=bool), genres=unanalysed
    )
    assert calm.reasons == ["calm by its genre"] * 2
    assert energetic.reasons == ["energetic by its genre"] * 2


def test_the_engines_calm_playlist_names_the_moods_heard_in_its_tracks() -> None:
    state = library([])
    state.genres = list(state.genres)
    state.energy = np.linspace(0, 1, state.n_items).astype(np.float32)
    state.genres[0] = f"{state.genres[0]}; mellow"  # the calmest track, heard mellow
    calm, _ = PlaylistEngine(state).moods()
    reasons = dict(zip(calm.items.tolist(), calm.reasons, strict=True))
    assert reasons[0] == "calm by its sound: mellow"
    assert sum("mellow" in r for r in calm.reasons) == 1
