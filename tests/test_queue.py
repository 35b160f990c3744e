"""The play queue's rules (see the docstring of player/queue.py), one by one, then a
stateful property test that mixes every operation and checks the invariants."""

from __future__ import annotations

import random
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from player.queue import AutoItem, Entry, FillRequest, Origin, PlayQueue, Repeat

ROOT = Path(__file__).resolve().parent.parent


class Ranking:
    """A recommender for the queue's fill callback: a fixed ranking of items, served in
    order, honouring the request's exclusions. It records every request it got."""

    def __init__(self, ranked: list[int]) -> None:
        self.ranked = ranked
        self.requests: list[FillRequest] = []

    def __call__(self, request: FillRequest) -> list[AutoItem]:
        self.requests.append(request)
        # Like the real engine: nothing queued, playing or heard recently.
        seen = request.exclude | set(request.history)
        picks = [i for i in self.ranked if i not in seen][: request.count]
        return [(item, f"similar to {request.current}") for item in picks]


def items(entries: tuple[Entry, ...] | list[Entry]) -> list[int]:
    return [e.item for e in entries]


def play_all(queue: PlayQueue, limit: int = 100) -> list[int]:
    """Advance until the queue stops; the items in the order they played."""
    played = [] if queue.current is None else [queue.current.item]
    for _ in range(limit):
        entry = queue.advance()
        if entry is None:
            return played
        played.append(entry.item)
    return played


# -- user-placed entries ---------------------------------------------------------------------


def test_an_empty_queue_without_a_recommender_has_nothing_to_play() -> None:
    queue = PlayQueue()
    assert queue.next() is None
    assert queue.current is None
    assert queue.peek() is None
    assert queue.previous() is None


def test_added_items_play_in_the_order_they_were_added() -> None:
    queue = PlayQueue()
    queue.add(1)
    queue.add_many([2, 3])
    assert items(queue.upcoming) == [1, 2, 3]
    assert play_all(queue) == [1, 2, 3]
    assert items(queue.history) == [1, 2, 3]
    assert queue.current is None


def test_play_next_goes_before_added_items_and_the_latest_first() -> None:
    queue = PlayQueue()
    queue.add_many([1, 2])
    queue.play_next(10)
    queue.play_next(11)
    assert items(queue.upcoming) == [11, 10, 1, 2]
    queue.next()
    queue.play_next(12)  # while 11 plays: 12 is next, before 10
    assert items(queue.upcoming) == [12, 10, 1, 2]


def test_the_same_item_can_be_queued_twice_and_each_entry_is_addressed_alone() -> None:
    queue = PlayQueue()
    first, second = queue.add(5), queue.add(5)
    assert first.uid != second.uid
    queue.remove(first.uid)
    assert queue.upcoming == (second,)
    with pytest.raises(KeyError):
        queue.remove(first.uid)


def test_move_reorders_the_pinned_entries() -> None:
    queue = PlayQueue()
    a, _, c = queue.add_many([1, 2, 3])
    queue.move(c.uid, 0)
    assert items(queue.upcoming) == [3, 1, 2]
    queue.move(c.uid, 99)  # clamped to the end of the pinned block
    assert items(queue.upcoming) == [1, 2, 3]
    queue.move(a.uid, 1)
    assert items(queue.upcoming) == [2, 1, 3]


# -- the automatic tail ----------------------------------------------------------------------


def test_the_recommender_fills_the_tail_after_the_users_entries() -> None:
    ranking = Ranking(list(range(100, 120)))
    queue = PlayQueue(ranking, low_water=2, target=4)
    queue.add(1)
    assert items(queue.pinned) == [1]
    assert items(queue.auto_tail) == [100, 101, 102, 103]
    assert all(e.origin is Origin.AUTO and e.reason for e in queue.auto_tail)
    entry = queue.next()
    assert entry is not None and entry.item == 1 and entry.origin is Origin.USER
    assert queue.next() == queue.current
    assert queue.current is not None and queue.current.item == 100


def test_an_empty_queue_starts_from_the_recommender() -> None:
    queue = PlayQueue(Ranking([7, 8, 9]), target=3)
    first = queue.next()
    assert first is not None and first.item == 7 and first.origin is Origin.AUTO
    assert first.reason == "similar to None"


def test_the_tail_is_refilled_when_it_runs_low_and_never_repeats_itself() -> None:
    ranking = Ranking(list(range(100, 200)))
    queue: PlayQueue
    snapshots: list[tuple[FillRequest, tuple[int, ...], int | None, tuple[int, ...]]] = []

    def fill(request: FillRequest) -> list[AutoItem]:
        current = None if queue.current is None else queue.current.item
        snapshots.append((request, items(queue.history), current, items(queue.upcoming)))
        return ranking(request)

    queue = PlayQueue(fill, low_water=2, target=5)
    queue.next()
    played = [queue.current.item] if queue.current else []
    for _ in range(20):
        entry = queue.next()
        assert entry is not None
        played.append(entry.item)
        assert len(queue.auto_tail) >= 2
    assert played == list(range(100, 121))
    upcoming = items(queue.auto_tail)
    assert len(upcoming) == len(set(upcoming))
    # Each request said what is playing, what was played and what is already queued.
    assert len(snapshots) > 5
    for request, history, current, queued in snapshots:
        assert request.current == current
        assert request.history == tuple(history)
        assert request.queued == tuple(queued)
        assert set(queued) | ({current} if current is not None else set()) <= request.exclude
        assert request.count == 5 - len(queued)


def test_switching_auto_fill_off_clears_the_tail_and_the_queue_ends() -> None:
    ranking = Ranking(list(range(100, 200)))
    queue = PlayQueue(ranking, target=3)
    queue.add_many([1, 2])
    queue.set_auto_fill(False)
    assert queue.auto_tail == ()
    calls = len(ranking.requests)
    assert play_all(queue) == [1, 2]
    assert len(ranking.requests) == calls
    queue.set_auto_fill(True)
    assert items(queue.auto_tail) == [100, 101, 102]


def test_a_reranking_replaces_the_tail_at_once_and_leaves_pinned_entries_alone() -> None:
    queue = PlayQueue(Ranking(list(range(100, 110))), low_water=0, target=4)
    pinned = queue.add_many([1, 2])
    queue.next()  # 1 plays
    queue.set_auto_tail([(300, "liked after 1"), (2, "pinned already"), (1, "playing"),
                         (301, "fresh"), (300, "duplicate")])  # fmt: skip
    assert queue.pinned == (pinned[1],)
    assert [(e.item, e.reason) for e in queue.auto_tail] == [
        (300, "liked after 1"),
        (301, "fresh"),
    ]


def test_a_reranking_is_ignored_while_auto_fill_is_off() -> None:
    queue = PlayQueue(auto_fill=False)
    queue.set_auto_tail([(5, "x")])
    assert queue.upcoming == ()


def test_removing_a_suggestion_keeps_it_out_of_refills_and_rerankings() -> None:
    ranking = Ranking(list(range(100, 200)))
    queue = PlayQueue(ranking, low_water=3, target=3)
    assert queue.auto_tail == ()  # building a queue asks the recommender for nothing
    queue.refill()
    unwanted = queue.auto_tail[0]
    queue.remove(unwanted.uid)
    assert unwanted.item not in items(queue.auto_tail)
    assert len(queue.auto_tail) == 3  # refilled
    queue.set_auto_tail([(unwanted.item, "again"), (150, "ok")])
    assert items(queue.auto_tail) == [150]
    assert all(unwanted.item in r.exclude for r in ranking.requests[1:])


def test_moving_a_suggestion_pins_it_ahead_of_the_tail() -> None:
    queue = PlayQueue(Ranking(list(range(100, 200))), low_water=1, target=4)
    queue.add(1)
    suggestion = queue.auto_tail[2]
    queue.move(suggestion.uid, 1)  # up to the end of the pinned block
    assert items(queue.pinned) == [1, suggestion.item]
    assert queue.pinned[1].origin is Origin.USER
    assert queue.pinned[1].reason == suggestion.reason
    queue.set_auto_tail([(200, "new")])
    assert items(queue.pinned) == [1, suggestion.item]


def test_a_suggestion_dragged_down_the_tail_plays_where_it_was_dropped() -> None:
    """Dropped inside the automatic tail, a pick is pinned there: the picks it passed are
    pinned ahead of it in their order (with their reasons), the rest stays automatic, and
    a re-rank keeps the order the user made."""
    queue = PlayQueue(Ranking(list(range(100, 200))), low_water=1, target=5)
    queue.add(1)
    first, second, third, fourth, _ = queue.auto_tail
    queue.move(first.uid, 3)  # the first pick dropped on the third one's row
    assert items(queue.upcoming)[:5] == [1, second.item, third.item, first.item, fourth.item]
    assert items(queue.pinned) == [1, second.item, third.item, first.item]
    assert [e.reason for e in queue.pinned[1:3]] == [second.reason, third.reason]
    assert queue.auto_tail[0].item == fourth.item
    queue.set_auto_tail([(first.item, "again"), (150, "new")])
    assert items(queue.upcoming) == [1, second.item, third.item, first.item, 150]
    queue.move(queue.auto_tail[0].uid, 99)  # past the end: last, and the tail refills
    assert items(queue.pinned) == [1, second.item, third.item, first.item, 150]
    assert queue.auto_tail and 150 not in items(queue.auto_tail)


def test_pinning_an_item_drops_its_suggestion() -> None:
    queue = PlayQueue(Ranking([100, 101, 102]), low_water=1, target=3)
    queue.add(101)
    queue.play_next(102)
    assert items(queue.upcoming) == [102, 101, 100]


def test_jumping_into_the_tail_passes_over_earlier_suggestions_but_keeps_pinned_ones() -> None:
    queue = PlayQueue(Ranking(list(range(100, 200))), low_water=1, target=5)
    queue.add(1)
    target = queue.auto_tail[2]
    assert queue.jump_to(target.uid) == target
    assert items(queue.pinned) == [1]
    assert items(queue.auto_tail) == [103, 104]


def test_a_fill_that_calls_back_into_the_queue_does_not_recurse() -> None:
    queue: PlayQueue

    def fill(request: FillRequest) -> list[AutoItem]:
        queue.refill()  # e.g. a re-ranking triggered from inside the recommender
        return [(len(request.exclude) + 500, "r")]

    queue = PlayQueue(fill, low_water=1, target=1)
    queue.next()
    assert queue.current is not None


def test_listeners_hear_every_change() -> None:
    queue = PlayQueue()
    changes: list[int] = []
    remove = queue.add_listener(lambda: changes.append(len(queue.upcoming)))
    queue.add(1)
    queue.play_next(2)
    queue.next()
    remove()
    queue.add(3)
    assert changes == [1, 2, 1]


# -- history ---------------------------------------------------------------------------------


def test_previous_and_next_walk_the_history_and_come_back() -> None:
    queue = PlayQueue()
    queue.add_many([1, 2, 3, 4])
    for _ in range(3):
        queue.next()  # 3 plays; 1, 2 played
    assert queue.current is not None and queue.current.item == 3
    assert queue.previous() is not None and queue.current.item == 2
    assert items(queue.upcoming) == [3, 4]
    assert queue.previous() is not None and queue.current.item == 1
    assert items(queue.upcoming) == [2, 3, 4]
    assert queue.previous() is None  # no history left: nothing changes
    assert queue.current.item == 1
    assert play_all(queue) == [1, 2, 3, 4]


def test_stepping_back_over_a_suggestion_pins_it() -> None:
    queue = PlayQueue(Ranking(list(range(100, 200))), low_water=0, target=3)
    queue.add(1)
    queue.next()
    queue.next()  # 100 (a suggestion) plays
    queue.previous()
    assert items(queue.pinned) == [100]
    queue.set_auto_tail([(150, "re-ranked")])
    assert items(queue.upcoming) == [100, 150]
    assert queue.next() is not None and queue.current is not None
    assert queue.current.item == 100


def test_the_history_is_bounded() -> None:
    queue = PlayQueue(max_history=5)
    queue.add_many(range(20))
    play_all(queue)
    assert items(queue.history) == [15, 16, 17, 18, 19]


# -- repeat ----------------------------------------------------------------------------------


def test_repeat_one_replays_at_the_end_but_next_moves_on() -> None:
    queue = PlayQueue()
    queue.add_many([1, 2])
    queue.next()
    queue.set_repeat(Repeat.ONE)
    assert queue.peek() == queue.current
    for _ in range(3):
        entry = queue.advance()
        assert entry is not None and entry.item == 1
    assert items(queue.history) == []
    entry = queue.next()
    assert entry is not None and entry.item == 2
    assert items(queue.history) == [1]


def test_repeat_all_replays_the_cycle_when_auto_fill_is_off() -> None:
    queue = PlayQueue(auto_fill=False)
    queue.add_many([1, 2, 3])
    queue.set_repeat(Repeat.ALL)
    played = [e.item for e in (queue.next(), queue.advance(), queue.advance()) if e]
    assert played == [1, 2, 3]
    # The replay is queued as soon as the last one starts, so it can be preloaded.
    assert items(queue.upcoming) == [1, 2, 3]
    assert all(e.origin is Origin.REPEAT for e in queue.upcoming)
    peeked = queue.peek()
    assert queue.advance() == peeked
    assert [queue.advance().item for _ in range(5)] == [2, 3, 1, 2, 3]  # type: ignore[union-attr]


def test_a_track_added_during_repeat_all_joins_the_cycle() -> None:
    queue = PlayQueue(auto_fill=False)
    queue.add_many([1, 2])
    queue.set_repeat(Repeat.ALL)
    queue.next()
    queue.add(3)
    assert [queue.advance().item for _ in range(5)] == [2, 3, 1, 2, 3]  # type: ignore[union-attr]


def test_switching_repeat_off_drops_the_pending_replay() -> None:
    queue = PlayQueue(auto_fill=False)
    queue.add_many([1, 2])
    queue.set_repeat(Repeat.ALL)
    queue.next()
    queue.next()
    assert items(queue.upcoming) == [1, 2]
    queue.set_repeat(Repeat.OFF)
    assert queue.upcoming == ()
    assert queue.advance() is None


def test_repeat_all_with_auto_fill_keeps_playing_suggestions_until_they_run_out() -> None:
    ranking = Ranking([100, 101])
    queue = PlayQueue(ranking, low_water=1, target=2)
    queue.add(1)
    queue.set_repeat(Repeat.ALL)
    assert [queue.advance().item for _ in range(6)] == [1, 100, 101, 1, 100, 101]  # type: ignore[union-attr]
    assert items(queue.upcoming) == [1, 100, 101]  # the next replay, queued
    # New suggestions take the place of a pending replay.
    ranking.ranked = [100, 101, 500, 501]
    queue.refill()
    assert items(queue.upcoming) == [500, 501]


# -- shuffle ---------------------------------------------------------------------------------


def test_shuffle_mixes_only_the_added_entries_and_switching_off_restores_them() -> None:
    queue = PlayQueue(Ranking(list(range(100, 200))), low_water=1, target=5, rng=random.Random(7))
    queue.add_many(range(20))
    queue.play_next(50)
    queue.set_shuffle(True)
    upcoming = items(queue.upcoming)
    assert upcoming[0] == 50  # "play next" is not shuffled
    assert sorted(upcoming[1:21]) == list(range(20))
    assert upcoming[1:21] != list(range(20))
    assert upcoming[21:] == [100, 101, 102, 103, 104]  # the recommender's order stays
    queue.add(30)
    assert 30 in items(queue.pinned)  # lands among the pinned, before the tail
    queue.set_shuffle(False)
    assert items(queue.upcoming) == [50, *range(20), 30, 100, 101, 102, 103, 104]


def test_repeat_all_replays_a_shuffled_cycle_with_every_track_once() -> None:
    queue = PlayQueue(auto_fill=False, rng=random.Random(3))
    queue.add_many(range(10))
    queue.set_repeat(Repeat.ALL)
    queue.set_shuffle(True)
    first = [queue.advance().item for _ in range(10)]  # type: ignore[union-attr]
    second = [queue.advance().item for _ in range(10)]  # type: ignore[union-attr]
    assert sorted(first) == sorted(second) == list(range(10))


# -- invariants under any mix of operations --------------------------------------------------


class QueueMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.ranking = Ranking(list(range(100, 140)))
        self.queue = PlayQueue(self.ranking, low_water=2, target=4, rng=random.Random(0))

    def _some_uid(self, data: st.DataObject) -> int | None:
        upcoming = self.queue.upcoming
        if not upcoming:
            return None
        return data.draw(st.sampled_from(upcoming)).uid

    @rule(item=st.integers(0, 12))
    def add(self, item: int) -> None:
        self.queue.add(item)

    @rule(item=st.integers(0, 12))
    def play_next(self, item: int) -> None:
        self.queue.play_next(item)

    @rule(item=st.integers(0, 12))
    def play_now(self, item: int) -> None:
        self.queue.play_now(item)

    @rule()
    def next(self) -> None:
        self.queue.next()

    @rule()
    def advance(self) -> None:
        expected = self.queue.peek()
        got = self.queue.advance()
        if expected is not None:
            assert got is not None and got.item == expected.item

    @rule()
    def previous(self) -> None:
        before = self.queue.history
        result = self.queue.previous()
        assert (result is None) == (not before)
        if result is not None:
            assert result == before[-1]

    @rule(data=st.data(), index=st.integers(0, 20))
    def move(self, data: st.DataObject, index: int) -> None:
        uid = self._some_uid(data)
        if uid is not None:
            self.queue.move(uid, index)

    @rule(data=st.data())
    def remove(self, data: st.DataObject) -> None:
        uid = self._some_uid(data)
        if uid is not None:
            self.queue.remove(uid)

    @rule(data=st.data())
    def jump(self, data: st.DataObject) -> None:
        uid = self._some_uid(data)
        if uid is not None:
            assert self.queue.jump_to(uid).uid == uid

    @rule(picks=st.lists(st.integers(90, 140), max_size=6))
    def rerank(self, picks: list[int]) -> None:
        pinned = self.queue.pinned
        self.queue.set_auto_tail([(i, "re-ranked") for i in picks])
        assert self.queue.pinned == pinned

    @rule(mode=st.sampled_from(list(Repeat)))
    def repeat(self, mode: Repeat) -> None:
        self.queue.set_repeat(mode)

    @rule(on=st.booleans())
    def shuffle(self, on: bool) -> None:
        before = Counter(items(self.queue.upcoming))
        self.queue.set_shuffle(on)
        assert Counter(items(self.queue.upcoming)) == before

    @rule(on=st.booleans())
    def auto_fill(self, on: bool) -> None:
        self.queue.set_auto_fill(on)

    @invariant()
    def pinned_entries_come_before_the_tail(self) -> None:
        assert self.queue.upcoming == (*self.queue.pinned, *self.queue.auto_tail)
        assert all(e.origin is Origin.AUTO for e in self.queue.auto_tail)

    @invariant()
    def every_entry_is_in_one_place(self) -> None:
        q = self.queue
        uids = [e.uid for e in (*q.history, *q.upcoming)]
        if q.current is not None:
            uids.append(q.current.uid)
        assert len(uids) == len(set(uids))

    @invariant()
    def the_tail_never_repeats_what_is_pinned_or_playing(self) -> None:
        q = self.queue
        tail = items(q.auto_tail)
        assert len(tail) == len(set(tail))
        taken = set(items(q.pinned)) | ({q.current.item} if q.current else set())
        assert not set(tail) & taken

    @invariant()
    def auto_fill_off_means_no_tail(self) -> None:
        if not self.queue.auto_fill:
            assert self.queue.auto_tail == ()


TestQueueMachine = QueueMachine.TestCase
TestQueueMachine.settings = settings(
    max_examples=150, stateful_step_count=40, deadline=None, database=None
)


# -- the queue is pure logic -----------------------------------------------------------------


def test_the_queue_loads_no_qt_and_no_sql() -> None:
    code = (
        "import sys, player.queue; "
        "bad = [m for m in sys.modules if m.startswith(('PySide6', 'sqlite3', 'player.ui'))]; "
        "print(bad); sys.exit(1 if bad else 0)"
    )
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True)
    assert result.returncode == 0, result.stdout + result.stderr
