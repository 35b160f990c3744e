"""Events to learning signal: plays weighted by how much was heard, skips, likes, bans,
seeks, and sessions split at gaps or explicit ids."""

from __future__ import annotations

import numpy as np
import pytest

from recommender import api
from recommender.collab.signals import (
    KIND_CODES,
    SEEK,
    SIGNAL_CODES,
    EventLog,
    Sessioniser,
    Signal,
    SignalConfig,
    session_ids,
    weigh,
    weigh_log,
)


def play(position: float | None, duration: float | None = 200.0, kind: str = api.PLAY) -> api.Event:
    return api.Event(item=0, ts=0.0, kind=kind, position_s=position, duration_s=duration)


def test_a_completed_play_counts_far_more_than_a_partial_one() -> None:
    complete = weigh(play(195.0))
    partial = weigh(play(100.0))
    assert complete.signal is Signal.PLAY and partial.signal is Signal.PLAY
    assert partial.weight > 0
    assert complete.weight >= 2 * partial.weight
    assert weigh(play(None)).weight == complete.weight  # no stop position: it ran to the end


def test_stopping_within_the_first_seconds_is_a_skip() -> None:
    early = weigh(play(12.0))
    assert early.signal is Signal.SKIP and early.weight < 0
    assert weigh(play(45.0)).signal is Signal.PLAY
    # The threshold is configurable.
    assert weigh(play(45.0), SignalConfig(skip_seconds=60.0)).signal is Signal.SKIP


def test_a_short_track_is_skipped_only_before_its_half() -> None:
    assert weigh(play(15.0, duration=40.0)).signal is Signal.SKIP
    assert weigh(play(25.0, duration=40.0)).signal is Signal.PLAY


def test_pressing_next_late_in_a_track_is_a_partial_play_not_a_skip() -> None:
    late_next = weigh(play(150.0, kind=api.SKIP))
    assert late_next.signal is Signal.PLAY and late_next.weight > 0
    assert weigh(play(None, kind=api.SKIP)).signal is Signal.SKIP


def test_seeking_is_not_a_skip() -> None:
    assert weigh(play(3.0, kind=SEEK)).signal is Signal.IGNORE


def test_like_is_a_strong_positive_and_dislike_bans() -> None:
    like = weigh(api.Event(0, 0.0, api.LIKE))
    assert like.signal is Signal.LIKE and like.weight > weigh(play(None)).weight
    assert weigh(api.Event(0, 0.0, api.DISLIKE)).signal is Signal.BAN
    assert weigh(api.Event(0, 0.0, api.UNLIKE)).weight < 0


def test_vectorised_weights_equal_the_per_event_ones() -> None:
    rng = np.random.default_rng(3)
    kinds = [api.PLAY, api.SKIP, api.LIKE, api.DISLIKE, api.UNLIKE, SEEK]
    events = []
    for _ in range(500):
        duration = None if rng.random() < 0.2 else float(rng.uniform(10, 400))
        position = None if rng.random() < 0.3 else float(rng.uniform(0, 400))
        events.append(api.Event(0, 0.0, kinds[rng.integers(len(kinds))], None, position, duration))
    signal, weight = weigh_log(EventLog.from_events(events))
    for event, code, w in zip(events, signal, weight, strict=True):
        expected = weigh(event)
        assert code == SIGNAL_CODES[expected.signal]
        assert w == pytest.approx(expected.weight)


def test_sessions_split_at_a_30_minute_gap() -> None:
    s = Sessioniser()
    keys = [s.key(t) for t in (0, 600, 1200, 1200 + 1801, 1200 + 1900)]
    assert keys == [0, 0, 0, 1, 1]


def test_explicit_session_ids_decide_where_present() -> None:
    s = Sessioniser()
    # A long pause inside one explicit session does not split it; a new id does.
    keys = [s.key(0, "a"), s.key(5000, "a"), s.key(5100, "b"), s.key(5200, None)]
    assert keys == [0, 0, 1, 2]


def test_vectorised_sessions_equal_the_incremental_ones() -> None:
    rng = np.random.default_rng(5)
    ts = np.cumsum(rng.choice([60.0, 300.0, 2500.0], size=300))
    explicit = np.where(rng.random(300) < 0.5, rng.integers(0, 3, 300), -1)
    explicit = np.sort(explicit)  # runs of ids, as a player would write them
    s = Sessioniser()
    online = [s.key(float(t), None if e < 0 else int(e)) for t, e in zip(ts, explicit, strict=True)]
    assert session_ids(ts, explicit=explicit).tolist() == online


def test_sessions_also_split_where_the_user_changes() -> None:
    ids = session_ids([0, 10, 20, 30], users=[1, 1, 2, 2])
    assert ids.tolist() == [0, 0, 1, 1]


def test_event_log_of_plays_has_play_codes() -> None:
    log = EventLog.plays([3, 4], [1.0, 2.0])
    assert log.kind.tolist() == [KIND_CODES[api.PLAY]] * 2
    signal, weight = weigh_log(log)
    assert signal.tolist() == [SIGNAL_CODES[Signal.PLAY]] * 2 and weight.tolist() == [1.0, 1.0]
