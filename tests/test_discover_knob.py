"""The Familiar <-> Discover slider visibly changes Up Next, even with a young history,
and the reasons say why."""

from __future__ import annotations

import numpy as np

from recommender.api import LIKE, PLAY, Context, Event
from recommender.collab.signals import EventLog
from recommender.engine import Catalog, Engine

N_ARTISTS, PER_ARTIST = 12, 10
GENRES = ("jazz", "techno", "folk", "rock")


def _engine() -> Engine:
    rng = np.random.default_rng(7)
    n = N_ARTISTS * PER_ARTIST
    artist = np.repeat(np.arange(N_ARTISTS), PER_ARTIST)
    genre = artist % len(GENRES)
    centres = rng.normal(size=(len(GENRES), 16))
    vectors = (centres[genre] + 0.6 * rng.normal(size=(n, 16))).astype(np.float32)
    catalog = Catalog(
        titles=[f"song {i}" for i in range(n)],
        artists=[f"Artist {a}" for a in artist],
        albums=[f"Album {a}" for a in artist],
        genres=[GENRES[g] for g in genre],
    )
    # A young history: six songs heard through by two artists, one liked, an hour ago.
    events = []
    for k, item in enumerate([0, 1, 2, 10, 11, 12]):
        events.append(
            Event(
                item=item,
                ts=1000.0 + 300 * k,
                kind=PLAY,
                session=1,
                position_s=200.0,
                duration_s=200.0,
            )
        )
    events.append(Event(item=10, ts=3000.0, kind=LIKE, session=1))
    return Engine.build(
        catalog, EventLog.from_events(events), vector_items=np.arange(n), vectors=vectors
    )


def test_moving_the_slider_changes_a_third_of_the_picks_with_reasons() -> None:
    engine = _engine()
    context = Context(current=12, session=(0, 1, 2, 10, 11, 12), now=3600.0 * 6)
    picks = {}
    for knob in (0.0, 0.3, 1.0):
        engine.discover = knob
        picks[knob] = engine.recommend(context, 10)
    familiar = [p.item for p in picks[0.0]]
    default = [p.item for p in picks[0.3]]
    discover = [p.item for p in picks[1.0]]
    assert len(set(discover) - set(familiar)) >= 4, (familiar, discover)
    assert len(set(discover) - set(default)) >= 4, (default, discover)
    heard_artists = {0, 1}
    artist_of = {p.item: p.item // PER_ARTIST for p in picks[0.0] + picks[1.0]}
    # Familiar leans on the artists heard; Discover on the others, and says so.
    assert sum(artist_of[i] in heard_artists for i in familiar) > sum(
        artist_of[i] in heard_artists for i in discover
    )
    assert all(p.reason.startswith("new to you") for p in picks[1.0]), picks[1.0]
    assert all("new to you" not in p.reason for p in picks[0.0]), picks[0.0]


def test_after_more_like_this_the_picks_say_so() -> None:
    engine = _engine()
    context = Context(current=12, session=(0, 1, 2, 10, 11, 12), now=3600.0 * 6)
    before = engine.recommend(context, 10)
    assert not any(p.reason.startswith("more like") for p in before)
    engine.steer(55, 1.0)  # "more like this" on song 55 (artist 5)
    after = engine.recommend(context, 10)
    said = [p for p in after if p.reason == "more like Artist 5 – song 55, as you asked"]
    assert len(said) >= 3, [p.reason for p in after]
    genre = (55 // PER_ARTIST) % len(GENRES)
    assert all((p.item // PER_ARTIST) % len(GENRES) == genre for p in said)
