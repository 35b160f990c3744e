"""Metadata and tag similarity: genre spellings, TF-IDF tags, artist/album/year."""

from __future__ import annotations

import numpy as np
import pytest

from recommender.api import Context
from recommender.content.metadata import MetadataIndex, normalise_genre, split_artists
from recommender.ranking.sources import MetadataSource


@pytest.mark.parametrize(
    "spellings",
    [
        ["Hip-Hop", "hip hop", "HipHop", "HIP HOP", "hip-hop "],
        ["Drum & Bass", "drum and bass", "DnB", "D&B", "Drum'n'Bass", "drum n bass"],
        ["R&B", "RnB", "r and b", "Rhythm & Blues"],
        ["Rock 'n' Roll", "rock and roll", "Rock & Roll", "RocknRoll"],
        ["Électro", "electro", "ELECTRO"],
    ],
)
def test_genre_spellings_normalise_to_one(spellings: list[str]) -> None:
    assert len({normalise_genre(s) for s in spellings}) == 1


def test_distinct_genres_stay_distinct() -> None:
    names = ["rock", "pop", "hip hop", "trip hop", "drum and bass", "bass", "r&b", "jazz"]
    assert len({normalise_genre(n) for n in names}) == len(names)


def test_multi_valued_artists_split_and_fold() -> None:
    assert split_artists("The Beatles; Billy Preston") == ["beatles", "billy preston"]
    assert split_artists("Daft Punk feat. Pharrell Williams") == ["daft punk", "pharrell williams"]
    assert split_artists("") == []


def index() -> MetadataIndex:
    #          0: seed    1: same album  2: same artist  3: genre spelled differently
    #          4: genre, far year        5: unrelated      6: tags only
    #          7: nothing at all
    return MetadataIndex(
        artists=["Kid A", "Kid A", "Kid A; MC B", "Other", "Someone", "Classic", "Nobody", ""],
        albums=["Beats", "Beats", "Later", "Mix", "Old", "Sym", "", ""],
        genres=["Hip-Hop", "hip hop", "HipHop", "Hip Hop", "hip-hop", "Classical", "", ""],
        years=[2001, 2001, 2003, 2002, 1979, 1820, None, None],
        comments=["", "", "", "", "", "orchestra", "", ""],
        lyrics=[None, None, None, None, None, None, None, None],
        tags=["boom bap", "", "", "", "", "", "boom bap vinyl", ""],
    )


def test_similarity_ranks_album_then_artist_then_genre_then_year() -> None:
    ids, sims = index().similar(0, k=10)
    assert list(ids[:5]) == [1, 2, 3, 4, 6]
    assert np.all(np.diff(sims) <= 0)
    assert 5 not in ids and 7 not in ids  # nothing shared: not a neighbour at all


def test_rare_shared_tag_words_link_tracks_without_a_genre() -> None:
    idx = index()
    ids, _ = idx.similar(6, k=3)
    assert ids[0] == 0  # "boom bap" is shared only with the seed
    assert idx.explain(6, 0) == "shared tags: bap, boom"


def test_explanations_name_what_is_shared() -> None:
    idx = index()
    assert idx.explain(0, 1) == "same album"
    assert idx.explain(0, 2) == "same artist"
    assert idx.explain(0, 3) == "both hip hop"
    assert idx.explain(0, 5) == ""


def test_pairwise_and_similarity_to_agree_with_full_rows() -> None:
    idx = index()
    some = [0, 2, 3, 5, 6]
    matrix = idx.pairwise(some)
    for i, item in enumerate(some):
        row = idx.similarities(item)
        np.testing.assert_allclose(matrix[i], row[some], rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(idx.similarity_to(item, some), row[some], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(matrix, matrix.T, rtol=1e-5, atol=1e-6)


def test_similar_to_a_set_excludes_the_set() -> None:
    ids, _ = index().similar_to([0, 1], k=3)
    assert 0 not in ids and 1 not in ids
    assert ids[0] == 2


def test_metadata_source_scores_against_current_and_recent_tracks() -> None:
    idx = index()
    source = MetadataSource(idx)
    only_current = source.scores(Context(current=5))
    assert only_current.dtype == np.float32
    assert only_current.max() <= 1.0 and only_current.min() >= 0.0
    assert only_current[:5].max() == 0.0  # classical: no hip hop neighbours
    with_session = source.scores(Context(current=5, session=(0,)))
    assert with_session[1] > 0  # the earlier hip hop track still counts, less
    assert with_session[1] < source.scores(Context(current=0))[1]


def test_unknown_years_and_zero_years_are_neutral() -> None:
    idx = MetadataIndex(artists=["A", "B", "C"], genres=["Jazz"] * 3, years=[1990, 0, None])
    row = idx.similarities(1)
    assert row[0] == pytest.approx(row[2])


def test_lyrics_words_link_tracks_and_comment_noise_does_not() -> None:
    idx = MetadataIndex(
        artists=["A", "B", "C", "D"],
        comments=[
            " 00000A2B 0000112C 00004E1F 2007",  # an iTunes normalisation blob
            " 00000A2B 0000112C 00004E1F 2007",
            "",
            "",
        ],
        lyrics=[
            "lighthouse keeper watching the harbour",
            "",
            "the keeper of the lighthouse sleeps",
            "dancing all night long",
        ],
    )
    ids, _ = idx.similar(0, k=3)
    assert list(ids) == [2]  # the shared lyrics, not the shared hex blob
    assert idx.explain(0, 2) == "shared tags: keeper, lighthouse"


def test_encoder_notes_links_and_licences_are_not_tags() -> None:
    from recommender.content.metadata import text_words

    words = text_words(
        "Processed by SoX. URL: http://freemusicarchive.org/music/Kevin_MacLeod "
        "Copyright: Creative Commons Attribution — smoky late-night saxophone"
    )
    assert words == ["smoky", "late", "night", "saxophone"]


def test_an_untagged_library_still_builds_and_ranks_by_artist() -> None:
    from recommender.content.metadata import MetadataIndex

    for genres in (None, [None, None, None]):
        index = MetadataIndex(artists=["A", "A", None], genres=genres, comments=[None] * 3)
        ids, _ = index.similar(0, 2)
        assert ids[0] == 1  # the same artist, with no tags anywhere
    lone = MetadataIndex(artists=[None])
    assert lone.n_items == 1
