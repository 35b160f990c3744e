"""The hybrid scorer: comparable parts, weighted totals, recency and repetition, bans."""

from __future__ import annotations

import numpy as np
import pytest

from recommender import api
from recommender.collab.cf import SessionCF
from recommender.collab.hybrid import ArtistSource, CFSource, HybridScorer, RecencyConfig


class Fixed:
    """A score source with fixed scores."""

    def __init__(self, name: str, scores: list[float]) -> None:
        self.name = name
        self.values = np.asarray(scores, dtype=np.float32)

    def scores(self, context: api.Context) -> api.FloatArray:
        return self.values


NO_RECENCY = RecencyConfig(weight=0.0)


def test_parts_share_one_scale_and_the_total_is_their_weighted_sum() -> None:
    big = Fixed("cf", [0.0, 50.0, 100.0, -20.0])
    small = Fixed("content", [0.4, 0.2, 0.0, 0.1])
    scorer = HybridScorer(4, [big, small], weights={"cf": 1.0, "content": 2.0}, recency=NO_RECENCY)
    result = scorer.score(api.Context(current=None))
    assert np.allclose(result.parts["cf"], [0.0, 0.5, 1.0, -0.2])
    assert np.allclose(result.parts["content"], [1.0, 0.5, 0.0, 0.25])
    assert np.allclose(result.total, result.parts["cf"] + 2.0 * result.parts["content"])
    assert result.weights == {"cf": 1.0, "content": 2.0}


def test_set_weight_changes_the_ranking() -> None:
    scorer = HybridScorer(2, [Fixed("a", [1.0, 0.0]), Fixed("b", [0.0, 1.0])], recency=NO_RECENCY)
    scorer.set_weight("b", 3.0)
    assert np.argmax(scorer.score(api.Context(current=None)).total) == 1
    scorer.add_source(Fixed("c", [5.0, 0.0]), weight=10.0)
    assert np.argmax(scorer.score(api.Context(current=None)).total) == 0
    with pytest.raises(KeyError):
        scorer.set_weight("nope", 1.0)


def test_a_track_heard_in_the_last_hours_is_pushed_down() -> None:
    scorer = HybridScorer(3, [Fixed("cf", [1.0, 1.0, 0.2])])
    scorer.observe(api.Event(0, 1000.0, api.PLAY))
    scorer.observe(api.Event(2, 1100.0, api.PLAY))
    now = 1000.0 + 3600.0
    total = scorer.score(api.Context(current=2, session=(0, 2), now=now)).total
    assert total[1] > total[0]  # equal evidence, but 0 was heard an hour ago
    assert total[2] == pytest.approx(0.2)  # the track playing now is spared
    # A day later it is forgiven.
    later = scorer.score(api.Context(current=None, now=now + 86400.0)).total
    assert later[0] == pytest.approx(later[1])


def test_banned_and_queued_tracks_are_never_picked() -> None:
    scorer = HybridScorer(4, [Fixed("cf", [1.0, 0.9, 0.8, 0.7])])
    scorer.observe(api.Event(0, 10.0, api.DISLIKE))
    total = scorer.score(api.Context(current=None, queue=(1,), now=20.0)).total
    assert total[0] == -np.inf and total[1] == -np.inf
    assert np.argmax(total) == 2
    scorer.observe(api.Event(0, 30.0, api.LIKE))  # liking it again lifts the ban
    assert np.isfinite(scorer.score(api.Context(current=None, now=40.0)).total[0])


def test_cf_sources_learn_through_the_scorer() -> None:
    cf = SessionCF(6, n_artists=2)
    cf.set_groups([0, 0, 0, 1, 1, 1])
    scorer = HybridScorer(6, [CFSource(cf), ArtistSource(cf)], recency=NO_RECENCY)
    for day in range(5):
        for k, item in enumerate([0, 1, 2]):
            scorer.observe(api.Event(item, day * 86400.0 + 200.0 * k, api.PLAY, artist=0))
    result = scorer.score(api.Context(current=0, session=(0,), now=6 * 86400.0))
    assert set(result.parts) == {"cf", "artist"}
    assert result.parts["cf"].max() == pytest.approx(1.0)
    assert np.argmax(result.total) == 1  # what always follows track 0
    assert result.total[[1, 2]].min() > result.total[[3, 4, 5]].max()


def test_a_source_that_has_not_grown_scores_new_tracks_zero() -> None:
    scorer = HybridScorer(2, [Fixed("cf", [1.0, 0.5])], recency=NO_RECENCY)
    scorer.grow(4)
    total = scorer.score(api.Context(current=None)).total
    assert total.shape == (4,) and total[2] == 0 and total[3] == 0


def test_recency_restored_from_history_counts_at_once() -> None:
    scorer = HybridScorer(3, [Fixed("cf", [1.0, 1.0, 1.0])])
    scorer.last_played[:] = [-np.inf, 5000.0, -np.inf]  # what the player's history says
    total = scorer.score(api.Context(current=None, now=6000.0)).total
    assert total[1] < total[0] == total[2]
