"""The blend adapts online: skipped reasons lose weight, liked ones gain, within bounds."""

from __future__ import annotations

import math

import pytest

from recommender import api
from recommender.ranking.feedback import (
    AdaptiveWeights,
    FeedbackConfig,
    Outcome,
    cold_start_prior,
    outcome_of,
)
from tests.test_upnext import NOW, engine, event


def ev(kind: str, position: float | None = None, duration: float | None = 200.0) -> api.Event:
    return api.Event(item=1, ts=0.0, kind=kind, position_s=position, duration_s=duration)


@pytest.mark.parametrize(
    ("event", "expected"),
    [
        (ev(api.SKIP, 10.0), Outcome.SKIPPED),
        (ev(api.PLAY, 12.0), Outcome.SKIPPED),  # stopped within 30 s
        (ev(api.PLAY, 199.0), Outcome.COMPLETED),
        (ev(api.PLAY, None), Outcome.COMPLETED),  # ran to its end
        (ev(api.PLAY, 100.0), None),  # half heard: no evidence either way
        (ev(api.LIKE), Outcome.LIKED),
        (ev(api.DISLIKE), Outcome.BANNED),
        (ev(api.UNLIKE), None),
    ],
)
def test_events_map_to_pick_outcomes(event: api.Event, expected: Outcome | None) -> None:
    assert outcome_of(event) is expected


def test_a_like_raises_the_liked_reasons_weight_and_a_skip_lowers_it() -> None:
    weights = AdaptiveWeights({"cf": 1.0, "content": 1.0})
    liked = weights.update("content", Outcome.LIKED)
    assert liked > 1.0
    assert weights.weight("cf") == 1.0  # other reasons are untouched
    weights.update("cf", Outcome.SKIPPED)
    assert weights.weight("cf") < 1.0
    completed = AdaptiveWeights({"cf": 1.0})
    completed.update("cf", Outcome.COMPLETED)
    assert 1.0 < completed.weight("cf") < liked  # a full play is weaker evidence than a like


def test_weights_stay_bounded_and_move_smoothly() -> None:
    config = FeedbackConfig(low=0.25, high=4.0)
    weights = AdaptiveWeights({"taste": 2.0}, config)
    previous = weights.weight("taste")
    for _ in range(500):
        current = weights.update("taste", Outcome.LIKED)
        assert current >= previous
        assert math.log(current / previous) <= config.like_step + 1e-9
        previous = current
    assert 2.0 * 3.5 < previous <= 2.0 * 4.0
    for _ in range(500):
        current = weights.update("taste", Outcome.BANNED)
        assert current <= previous
        previous = current
    assert 2.0 * 0.25 <= previous < 2.0 * 0.3


def test_state_round_trips_and_the_prior_can_move() -> None:
    weights = AdaptiveWeights({"cf": 1.0, "metadata": 1.0})
    for _ in range(3):
        weights.update("metadata", Outcome.SKIPPED)
    restored = AdaptiveWeights({"cf": 1.0, "metadata": 1.0})
    restored.restore(weights.state())
    assert restored.weights() == pytest.approx(weights.weights())
    # The ladder moves the prior; what was learned about the user stays.
    multiplier = restored.multiplier("metadata")
    restored.set_prior({"metadata": 0.5})
    assert restored.weight("metadata") == pytest.approx(0.5 * multiplier)


def test_cold_start_ladder_tags_then_audio_then_history() -> None:
    fresh = cold_start_prior(n_listens=0, audio_coverage=0.0)
    assert fresh["metadata"] > 0
    assert fresh["content"] == fresh["cf"] == fresh["taste"] == 0.0
    analysed = cold_start_prior(n_listens=0, audio_coverage=1.0)
    assert analysed["content"] > 0 and analysed["cf"] == 0.0
    seasoned = cold_start_prior(n_listens=5000, audio_coverage=1.0)
    assert seasoned["cf"] > seasoned["content"] and seasoned["cf"] > seasoned["metadata"]
    assert seasoned["metadata"] > 0  # tags never stop counting


def test_a_source_outside_the_prior_adapts_around_its_own_weight() -> None:
    feedback = AdaptiveWeights({"metadata": 1.0, "content": 1.0})
    e = engine(feedback=feedback, weights={"taste": 0.4})
    assert e.scorer.weights["taste"] == pytest.approx(0.4)  # not reset to a default
    e.upnext.observe(event(30, api.LIKE, ts=NOW - 86_400))
    picks = e.upnext.build(api.Context(current=0, now=NOW), length=20)
    liked_album = next(p for p in picks if p.source == "taste")
    e.upnext.observe(event(liked_album.item, api.SKIP, position_s=3.0))
    assert e.scorer.weights["taste"] < 0.4
    assert e.scorer.weights["taste"] > 0.4 * FeedbackConfig().low
