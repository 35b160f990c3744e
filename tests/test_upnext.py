"""Up-next on a small synthetic library whose answers are known by construction.

48 tracks: 4 genres x 3 artists x 4 tracks, one album per artist. Track ``t`` is genre
``t // 12``, artist ``t // 4``; audio vectors cluster by genre (the last track has none).
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from recommender import api
from recommender.api import Context, FloatArray
from recommender.collab.cf import SessionCF
from recommender.collab.hybrid import CFSource, HybridScorer
from recommender.collab.signals import EventLog
from recommender.content.index import ContentIndex
from recommender.content.metadata import MetadataIndex
from recommender.ranking.feedback import AdaptiveWeights, cold_start_prior
from recommender.ranking.reasons import labels_from_arrays
from recommender.ranking.sources import (
    ContentSource,
    MetadataSource,
    MixedSimilarity,
    TasteSource,
    VectorSimilarity,
)
from recommender.ranking.upnext import USER_SOURCE, UpNext, UpNextConfig, UpNextQueue
from tests.benchmarks.gtzan import load_gtzan

GENRES = ["Jazz", "Rock", "Techno", "Folk"]
N = 48
NO_VECTOR = 47
NOW = 1_700_000_000.0
DAY = 86_400.0


def genre_of(item: int) -> int:
    return item // 12


def artist_of(item: int) -> int:
    return item // 4


@dataclass
class Library:
    titles: list[str]
    artists: list[str]
    albums: list[str]
    genres: list[str]
    years: list[int]


def library() -> Library:
    return Library(
        titles=[f"Song {t}" for t in range(N)],
        artists=[f"Artist {artist_of(t)}" for t in range(N)],
        albums=[f"Album {artist_of(t)}" for t in range(N)],
        genres=[GENRES[genre_of(t)] for t in range(N)],
        years=[1960 + 10 * genre_of(t) + artist_of(t) % 3 for t in range(N)],
    )


def audio_vectors() -> FloatArray:
    rng = np.random.default_rng(7)
    centres = np.eye(4, 8, dtype=np.float32) * 3
    vectors = centres[[genre_of(t) for t in range(N)]] + rng.normal(0, 0.3, (N, 8))
    vectors[NO_VECTOR] = np.nan
    return vectors.astype(np.float32)


@dataclass
class Engine:
    upnext: UpNext
    scorer: HybridScorer
    taste: TasteSource
    metadata: MetadataIndex


def engine(
    *,
    weights: dict[str, float] | None = None,
    config: UpNextConfig | None = None,
    bpm: FloatArray | None = None,
    feedback: AdaptiveWeights | None = None,
    cf: SessionCF | None = None,
) -> Engine:
    lib = library()
    metadata = MetadataIndex(
        artists=lib.artists, albums=lib.albums, genres=lib.genres, years=lib.years
    )
    content = ContentSource(ContentIndex(audio_vectors()), N)
    taste = TasteSource(
        N,
        artist_ids=metadata.artist_ids,
        album_ids=metadata.album_ids,
        neighbours=[metadata.similar],
    )
    meta_source = MetadataSource(metadata)
    sources: list[api.ScoreSource] = [content, meta_source, taste]
    if cf is not None:
        sources.append(CFSource(cf))
    scorer = HybridScorer(N, sources=sources, weights=weights)
    upnext = UpNext(
        scorer,
        taste,
        describe=labels_from_arrays(lib.titles, lib.artists, lib.albums),
        similarity=metadata,
        artist_ids=metadata.artist_ids,
        explainers=[content, meta_source, taste],
        neighbours=[metadata.similar],
        feedback=feedback,
        bpm=bpm,
        config=config,
        followed_by=None if cf is None else cf.pair_weight,
    )
    return Engine(upnext, scorer, taste, metadata)


def items(picks: Sequence[api.Pick]) -> list[int]:
    return [p.item for p in picks]


def rank(picks: Sequence[api.Pick], wanted: set[int]) -> int:
    """Position of the first pick in ``wanted`` (len + 1 when none is there)."""
    return next((i for i, p in enumerate(picks) if p.item in wanted), len(picks) + 1)


def event(item: int, kind: str, ts: float = NOW, **fields: float) -> api.Event:
    return api.Event(item=item, ts=ts, kind=kind, **fields)  # type: ignore[arg-type]


# -- the basics ----------------------------------------------------------------------


def test_picks_follow_the_current_genre_and_never_repeat_the_context() -> None:
    e = engine()
    picks = e.upnext.build(Context(current=0, session=(5,), queue=(13,), now=NOW))
    assert len(picks) == 10
    chosen = items(picks)
    assert chosen[0] == 13 and picks[0].source == USER_SOURCE  # the queue stays at the head
    automatic = chosen[1:]
    assert len(set(automatic)) == len(automatic)
    assert not {0, 5, 13} & set(automatic)
    # With only tags and audio to go on, the jazz tracks come first.
    assert {genre_of(i) for i in automatic[:6]} == {0}


def test_every_automatic_pick_has_a_reason_from_a_contributing_source() -> None:
    e = engine()
    e.upnext.observe(event(20, api.LIKE))
    picks = e.upnext.build(Context(current=0, now=NOW), length=20)
    for pick in picks:
        assert pick.reason.strip()
        assert pick.source in e.scorer.weights
    reasons = {p.reason for p in picks}
    assert "sounds like Song 0: similar timbre" in reasons  # the index's one group
    assert "from the same album as Song 0" in reasons
    assert "you liked this" in reasons
    assert "you liked this album" in reasons
    assert "new to you, close to your favourites" in reasons  # rock, near the liked track


def test_the_reason_names_the_source_that_contributed_most() -> None:
    # Only taste counts: the liked album's tracks are explained by the like.
    e = engine(weights={"content": 0.0, "metadata": 0.0, "taste": 1.0})
    e.upnext.observe(event(30, api.LIKE, ts=NOW - DAY))
    picks = e.upnext.build(Context(current=0, now=NOW))
    album_mates = [p for p in picks if artist_of(p.item) == artist_of(30) and p.item != 30]
    assert album_mates
    assert {p.reason for p in album_mates} == {"you liked this album"}
    liked = next(p for p in picks if p.item == 30)
    assert liked.reason == "you liked this"


def test_a_cf_pick_says_what_it_is_often_played_after() -> None:
    cf = SessionCF(N)
    for day in range(5, 0, -1):  # the habit, in time order: folk 40 right after jazz 3
        for offset, item in enumerate((3, 40)):
            cf.observe(event(item, api.PLAY, ts=NOW - day * DAY + offset * 240.0))
        cf.observe(event(0, api.PLAY, ts=NOW - day * DAY + 0.5 * DAY))  # 0, on its own
    e = engine(cf=cf, weights={"cf": 3.0})
    picks = e.upnext.build(Context(current=0, session=(3,), now=NOW))
    assert picks[0].item == 40 and picks[0].source == "cf"
    # The session track it follows, not merely the current one, is named.
    assert picks[0].reason == "often played after Artist 0 – Song 3"


# -- constraints ---------------------------------------------------------------------


def test_no_artist_plays_twice_in_a_row() -> None:
    e = engine(config=UpNextConfig(mmr_lambda=1.0))
    picks = e.upnext.build(Context(current=0, now=NOW), length=12)
    artists = [artist_of(0)] + [artist_of(p.item) for p in picks]
    assert all(a != b for a, b in itertools.pairwise(artists))


def test_artist_spacing_is_configurable() -> None:
    spaced = engine(config=UpNextConfig(mmr_lambda=1.0, artist_spacing=2))
    artists = [artist_of(0), *items_artists(spaced.upnext.build(Context(current=0, now=NOW)))]
    assert all(len(set(artists[i : i + 3])) == 3 for i in range(len(artists) - 2))
    # Turned off, pure relevance plays the current artist's album straight through.
    free = engine(config=UpNextConfig(mmr_lambda=1.0, artist_spacing=0))
    assert items_artists(free.upnext.build(Context(current=0, now=NOW)))[:3] == [0, 0, 0]


def items_artists(picks: Sequence[api.Pick]) -> list[int]:
    return [artist_of(p.item) for p in picks]


def test_a_banned_track_never_appears() -> None:
    e = engine()
    first = e.upnext.build(Context(current=0, now=NOW))[0].item
    e.upnext.observe(event(first, api.DISLIKE))
    for discover in (0.0, 0.5, 1.0):
        e.upnext.discover = discover
        picks = e.upnext.build(Context(current=first - 1 if first else 1, now=NOW), length=47)
        assert first not in items(picks)
    # Not even as the most similar track to itself playing again.
    assert first not in items(e.upnext.build(Context(current=first, now=NOW), length=47))


def test_no_track_repeats_within_the_window() -> None:
    e = engine()
    e.upnext.observe(event(1, api.PLAY, ts=NOW - 3600))
    e.upnext.observe(event(2, api.PLAY, ts=NOW - 5 * 3600))
    picks = items(e.upnext.build(Context(current=0, now=NOW), length=20))
    assert 1 not in picks  # played an hour ago
    assert 2 in picks  # five hours ago: outside the default 4 h window
    narrow = replace(e.upnext.config, repeat_window_s=1800.0)
    e.upnext.config = narrow
    assert 1 in items(e.upnext.build(Context(current=0, now=NOW), length=20))


def test_when_the_window_holds_everything_the_least_recently_played_come_back() -> None:
    """A library with less music than the repeat window: the window gives way, after
    the tracks outside it and oldest play first, so Up Next never runs dry; bans, the
    current and queued tracks still never come back."""
    e = engine(config=UpNextConfig(repeat_window_s=3600.0, artist_spacing=0))
    never_played = {40, 41, 42, 43}
    played = [t for t in range(N) if t not in never_played]
    for i, item in enumerate(played):  # in item order, one a minute, the last just now
        e.upnext.observe(event(item, api.PLAY, ts=NOW - 60.0 * (len(played) - i)))
    e.upnext.observe(event(5, api.DISLIKE, ts=NOW))
    queued = Context(current=46, queue=(1,), now=NOW)  # as Engine.recommend excludes
    picks = items(e.upnext.build(queued, pinned={}, length=10))
    # The four never played, then the six played longest ago that may play (1 is queued,
    # 5 banned), oldest first; never the current track, the queued one or the banned one.
    assert set(picks[:4]) == never_played
    assert picks[4:] == [0, 2, 3, 4, 6, 7]
    # Enough outside the window: it holds.
    assert set(items(e.upnext.build(Context(current=46, now=NOW), length=4))) == never_played

    # Playing on for two hours, a track a minute: the window (an hour) always holds more
    # than the library, so the list is always the ten played longest ago (those outside
    # the window first, then the oldest), never the banned one.
    last = {t: -np.inf for t in never_played} | {
        t: NOW - 60.0 * (len(played) - i) for i, t in enumerate(played)
    }
    del last[5]
    now, current = NOW, 46
    for _ in range(120):
        now += 60.0
        e.upnext.observe(event(current, api.PLAY, ts=now))
        last[current] = now
        picks = items(e.upnext.build(Context(current=current, now=now), length=10))
        oldest = sorted((t for t in last if t != current), key=lambda t: last[t])[:10]
        outside = sum(last[t] <= now - 3600.0 for t in oldest)  # ranked by the blend
        assert set(picks[:outside]) == set(oldest[:outside])
        assert picks[outside:] == oldest[outside:]
        current = picks[0]


def test_a_pinned_item_stays_put_while_the_tail_is_reranked() -> None:
    e = engine()
    queue = UpNextQueue(e.upnext, length=8)
    context = Context(current=0, now=NOW)
    queue.refresh(context)
    queue.pin(40, position=3)
    before = queue.refresh(context)
    assert before[3].item == 40 and before[3].source == USER_SOURCE
    # A skip re-ranks the automatic entries; the pinned one does not move.
    after = queue.on_event(event(before[0].item, api.SKIP, position_s=4.0), context)
    assert after[3].item == 40
    assert items(after) != items(before)
    # Playing the head moves everything up one; the pin keeps its place in the line.
    queue.advance()
    assert queue.refresh(context)[2].item == 40


def test_the_artist_rule_respects_a_pinned_neighbour() -> None:
    e = engine(config=UpNextConfig(mmr_lambda=1.0))
    picks = e.upnext.build(Context(current=0, now=NOW), pinned={2: 5})  # artist 1 at 2
    assert picks[2].item == 5
    assert artist_of(picks[1].item) != artist_of(5)
    assert artist_of(picks[3].item) != artist_of(5)


def test_smooth_tempo_transitions_when_bpm_is_known() -> None:
    bpm = np.full(N, 120.0, dtype=np.float32)
    bpm[8:12] = 175.0  # artist 2, jazz: as similar as artist 1, but far faster
    bpm[4:8] = 60.0  # artist 1: half time, a smooth move
    config = UpNextConfig(mmr_lambda=1.0)
    smooth = engine(bpm=bpm, config=config).upnext.build(Context(current=0, now=NOW))
    plain = engine(config=config).upnext.build(Context(current=0, now=NOW))
    assert any(8 <= p.item < 12 for p in plain[:6])
    assert not any(8 <= p.item < 12 for p in smooth[:6])


def test_diversity_spreads_picks_over_more_albums() -> None:
    focused = engine(config=UpNextConfig(mmr_lambda=1.0))
    diverse = engine(config=UpNextConfig(mmr_lambda=0.3))
    context = Context(current=0, now=NOW)
    n_focused = len({artist_of(i) for i in items(focused.upnext.build(context))})
    n_diverse = len({artist_of(i) for i in items(diverse.upnext.build(context))})
    assert n_diverse > n_focused


# -- reacting to events --------------------------------------------------------------


def test_a_skip_demotes_similar_tracks_at_once() -> None:
    e = engine()
    context = Context(current=0, now=NOW)
    before = e.upnext.build(context)
    skipped = before[0].item
    mates = {t for t in range(N) if artist_of(t) == artist_of(skipped)} - {skipped}
    e.upnext.observe(event(skipped, api.SKIP, position_s=3.0))
    after = e.upnext.build(context)
    assert skipped not in items(after)
    assert rank(after, mates) > rank(before, mates)


def test_a_like_pulls_similar_tracks_up_at_once() -> None:
    e = engine()
    context = Context(current=0, now=NOW)
    liked = 5  # artist 1, jazz
    mates = {t for t in range(N) if artist_of(t) == artist_of(liked)} - {liked}
    before = e.upnext.build(context, length=6)
    e.upnext.observe(event(liked, api.LIKE))
    after = e.upnext.build(context, length=6)
    assert rank(after, mates) < rank(before, mates)
    assert sum(p.item in mates for p in after) > sum(p.item in mates for p in before)


def test_a_track_without_audio_features_still_gets_recommendations() -> None:
    e = engine()
    picks = e.upnext.build(Context(current=NO_VECTOR, now=NOW))
    assert len(picks) == 10
    # Its tags put it in folk; the metadata source carries it alone.
    assert all(genre_of(p.item) == genre_of(NO_VECTOR) for p in picks[:6])
    assert {p.source for p in picks[:6]} == {"metadata"}


def test_the_discover_knob_shifts_picks_to_never_played_tracks() -> None:
    e = engine()
    for t in range(0, N, 2):  # the user knows the even tracks
        e.upnext.observe(event(t, api.PLAY, ts=NOW - DAY))
    context = Context(current=0, now=NOW)

    def never_played_share(discover: float) -> float:
        e.upnext.discover = discover
        picks = e.upnext.build(context)
        return sum(p.item % 2 == 1 for p in picks) / len(picks)

    familiar, neutral, discover = (never_played_share(d) for d in (0.0, 0.5, 1.0))
    assert familiar <= neutral <= discover
    assert familiar <= 0.2
    assert discover >= 0.8


def test_feedback_on_a_pick_moves_its_sources_weight() -> None:
    feedback = AdaptiveWeights({"content": 1.0, "metadata": 1.0, "taste": 1.0})
    e = engine(feedback=feedback)
    picks = e.upnext.build(Context(current=0, now=NOW))
    first, second = picks[0], picks[1]
    start = dict(e.scorer.weights)
    e.upnext.observe(event(first.item, api.LIKE))
    assert e.scorer.weights[first.source] > start[first.source]
    liked_weight = e.scorer.weights[first.source]
    e.upnext.observe(event(second.item, api.SKIP, position_s=2.0))
    if second.source == first.source:
        assert e.scorer.weights[second.source] < liked_weight
    else:
        assert e.scorer.weights[second.source] < start[second.source]


@pytest.mark.parametrize("discover", [0.0, 1.0])
def test_a_cold_library_with_no_history_still_fills_the_list(discover: float) -> None:
    e = engine(config=UpNextConfig(discover=discover))
    picks = e.upnext.build(Context(current=None, now=NOW))
    assert len(picks) == 10 and all(p.reason for p in picks)


def test_the_cold_start_ladder_goes_tags_then_audio_then_history() -> None:
    feedback = AdaptiveWeights(cold_start_prior(n_listens=0, audio_coverage=0.0))
    e = engine(feedback=feedback)
    context = Context(current=0, now=NOW)
    # A fresh scan: only tags count.
    assert {p.source for p in e.upnext.build(context)} == {"metadata"}
    # The library is analysed: audio joins in.
    e.upnext.climb_ladder(n_listens=0, audio_coverage=1.0)
    assert "content" in {p.source for p in e.upnext.build(context)}
    # Months of listening: the user's own taste leads where it has something to say.
    for t in range(24, 36):  # techno, heard a lot
        for day in range(1, 4):
            e.upnext.observe(event(t, api.PLAY, ts=NOW - day * DAY))
    weights = e.upnext.climb_ladder(n_listens=5000, audio_coverage=1.0)
    assert weights["taste"] > 0
    picks = e.upnext.build(Context(current=24, now=NOW))
    assert "taste" in {p.source for p in picks}


def test_taste_rebuilt_from_the_log_equals_taste_learned_event_by_event() -> None:
    rng = np.random.default_rng(3)
    kinds = [api.PLAY, api.PLAY, api.PLAY, api.SKIP, api.LIKE, api.DISLIKE, api.UNLIKE]
    events = [
        api.Event(
            item=int(rng.integers(0, N)),
            ts=NOW + i,
            kind=kinds[int(rng.integers(0, len(kinds)))],
            position_s=float(rng.choice([3.0, 239.0])),
            duration_s=240.0,
        )
        for i in range(400)
    ]
    live = engine().taste
    for e in events:
        live.observe(e)
    rebuilt = engine().taste
    rebuilt.fit(EventLog.from_events(events))
    for name in ("net", "plays", "skips", "liked", "banned", "last_played"):
        np.testing.assert_allclose(getattr(rebuilt, name), getattr(live, name), err_msg=name)
    np.testing.assert_array_equal(rebuilt.known(), live.known())
    context = Context(current=None, now=NOW)
    np.testing.assert_allclose(rebuilt.scores(context), live.scores(context), atol=1e-6)
    assert not rebuilt.scores(context)[rebuilt.banned].any()


def test_smooth_energy_transitions_when_energy_is_known() -> None:
    energy = np.full(N, 0.3, dtype=np.float32)
    energy[4:8] = 0.95  # artist 1, jazz: similar, but a jolt after a calm track
    config = UpNextConfig(mmr_lambda=1.0)
    lib_engine = engine(config=config)
    plain = lib_engine.upnext.build(Context(current=0, now=NOW))
    lib_engine.upnext.energy = energy
    smooth = lib_engine.upnext.build(Context(current=0, now=NOW))
    assert any(4 <= p.item < 8 for p in plain[:6])
    assert not any(4 <= p.item < 8 for p in smooth[:6])


def test_less_like_this_steers_the_rest_of_the_session_and_a_lifted_ban_returns() -> None:
    e = engine()
    context = Context(current=0, now=NOW)
    before = e.upnext.build(context)
    jazz_artist_1 = {4, 5, 6, 7}
    assert rank(before, jazz_artist_1) < 3
    e.upnext.steer(5, -1.0)  # "less like this", no event involved
    assert rank(e.upnext.build(context), jazz_artist_1) > rank(before, jazz_artist_1)

    e.upnext.observe(event(1, api.DISLIKE))
    assert 1 not in items(e.upnext.build(context, length=40))
    e.taste.lift_ban(1)
    e.scorer.banned[1] = False  # the hybrid keeps its own ban list
    assert 1 in items(e.upnext.build(context, length=40))


def test_with_audio_in_the_pool_similarity_a_skip_also_demotes_soundalikes() -> None:
    # Tags say nothing about track 13 (rock) beyond its genre; its sound is what the
    # user rejected. Three rock tracks from another artist sound just like it.
    vectors = audio_vectors()
    vectors[[20, 21, 22]] = vectors[13]
    e = engine()
    e.upnext.similarity = MixedSimilarity([(e.metadata, 0.5), (VectorSimilarity(vectors), 0.5)])
    context = Context(current=12, now=NOW)
    soundalikes = {20, 21, 22}
    before = e.upnext.build(context, length=12)
    e.upnext.observe(event(13, api.SKIP, position_s=2.0))
    after = e.upnext.build(context, length=12)
    assert rank(after, soundalikes) > rank(before, soundalikes)


def test_on_real_gtzan_features_each_rung_of_the_ladder_keeps_the_genre(
    shared_data: Path,
) -> None:
    """1,000 real clips, half with genre tags (spelled variously), 70 % analysed: an
    untagged clip's picks come from its sound, an unanalysed one's from its tags."""
    features, groups, labels = load_gtzan(shared_data / "gtzan_features_30_sec.csv")
    vectors = features.copy()
    n = len(labels)
    rng = np.random.default_rng(0)
    tagged = rng.random(n) < 0.5
    analysed = rng.random(n) < 0.7
    vectors[~analysed] = np.nan
    spellings = {"hiphop": ["Hip-Hop", "hip hop", "HipHop"], "rock": ["Rock", "rock"]}
    genres = [
        spellings.get(label, [label.title()])[i % len(spellings.get(label, [label]))]
        if tagged[i]
        else None
        for i, label in enumerate(labels)
    ]
    metadata = MetadataIndex(artists=[None] * n, genres=genres)
    content = ContentSource(ContentIndex(vectors, groups), n)
    tags = MetadataSource(metadata)
    taste = TasteSource(n)
    upnext = UpNext(
        HybridScorer(n, sources=[content, tags, taste]),
        taste,
        describe=labels_from_arrays([f"{label} clip {i}" for i, label in enumerate(labels)]),
        similarity=MixedSimilarity(
            [(metadata, 0.5), (VectorSimilarity(content.index.embedding), 0.5)]  # type: ignore[attr-defined]
        ),
        explainers=[content, tags, taste],
    )

    def genre_precision(current: int) -> tuple[float, set[str]]:
        picks = upnext.build(Context(current=current, now=NOW))
        same = labels[[p.item for p in picks]] == labels[current]
        return float(same.mean()), {p.source for p in picks}

    sound_only = [genre_precision(int(c)) for c in np.flatnonzero(~tagged & analysed)[:30]]
    assert np.mean([p for p, _ in sound_only]) >= 0.4  # chance: 0.1
    assert all(sources == {"content"} for _, sources in sound_only)
    tags_only = [genre_precision(int(c)) for c in np.flatnonzero(tagged & ~analysed)[:30]]
    assert np.mean([p for p, _ in tags_only]) >= 0.95
    assert all(sources == {"metadata"} for _, sources in tags_only)


@settings(max_examples=40, deadline=None)
@given(
    seed=st.integers(0, 10_000),
    n_banned=st.integers(0, 10),
    pins=st.dictionaries(st.integers(0, 9), st.integers(0, N - 1), max_size=3),
    discover=st.floats(0.0, 1.0),
    spacing=st.integers(0, 2),
)
def test_constraints_hold_for_any_history(
    seed: int, n_banned: int, pins: dict[int, int], discover: float, spacing: int
) -> None:
    rng = np.random.default_rng(seed)
    e = engine(config=UpNextConfig(artist_spacing=spacing, discover=discover))
    banned = {int(i) for i in rng.choice(N, n_banned, replace=False)}
    recent = {int(i) for i in rng.choice(N, 5, replace=False)}
    for t, item in enumerate(rng.integers(0, N, 30)):
        kind = [api.PLAY, api.SKIP, api.LIKE][int(rng.integers(0, 3))]
        e.upnext.observe(event(int(item), kind, ts=NOW - DAY + t, position_s=5.0))
    for item in banned:
        e.upnext.observe(event(item, api.DISLIKE, ts=NOW - 60))
    for item in recent - banned:
        e.upnext.observe(event(item, api.PLAY, ts=NOW - 600))
    pinned = {p: i for p, i in pins.items() if i not in banned}
    current = int(rng.integers(0, N))
    picks = e.upnext.build(Context(current=current, now=NOW), pinned=pinned)
    for position, item in pinned.items():
        assert picks[position].item == item and picks[position].source == USER_SOURCE
    automatic = [p for p in picks if p.source != USER_SOURCE]
    chosen = [p.item for p in automatic]
    assert len(set(chosen)) == len(chosen)
    assert not set(chosen) & (banned | recent | {current} | set(pinned.values()))
    assert all(p.reason for p in automatic)
    # The artist rule holds wherever the library could satisfy it (12 artists here).
    line = [current, *(p.item for p in picks)]
    for i in range(1, len(line)):
        if picks[i - 1].source != USER_SOURCE:
            window = line[max(0, i - spacing) : i]
            assert artist_of(line[i]) not in {artist_of(t) for t in window} or spacing == 0


def test_prefetching_while_a_track_plays_never_changes_the_next_list() -> None:
    """The player prefetches the likely next context's rows and blends after each list;
    whatever the user then does (play the head, skip it, like, pick another track), the
    next list is the one a player that never prefetched would show."""

    def history() -> SessionCF:
        rng = np.random.default_rng(3)
        cf = SessionCF(N)
        for step, item in enumerate(rng.integers(0, N, 300).tolist()):
            cf.observe(event(item, api.PLAY, ts=NOW - 30 * DAY + step * 240.0))
        return cf

    eager, lazy = (engine(cf=history(), weights={"cf": 2.0}) for _ in range(2))
    current, session, now = 0, [3], NOW
    steps = [api.PLAY, api.SKIP, api.LIKE, "other", api.PLAY, api.SKIP, api.PLAY]
    for step in steps:
        context = Context(current=current, session=tuple(session), now=now)
        picks = eager.upnext.build(context)
        assert [(p.item, p.reason) for p in picks] == [
            (p.item, p.reason) for p in lazy.upnext.build(context)
        ]
        eager.upnext.prefetch(picks)
        now += 240.0
        chosen = picks[0].item if step != "other" else picks[-1].item
        kind = api.PLAY if step == "other" else step
        for e in (eager, lazy):
            e.upnext.observe(event(chosen if kind != api.LIKE else current, kind, ts=now))
        if kind != api.LIKE:
            session, current = [*session, current], chosen
