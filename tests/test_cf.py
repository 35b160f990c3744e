"""Incremental session CF on small synthetic histories with known answers."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from recommender import api
from recommender.collab.cf import CFConfig, SessionCF
from recommender.collab.signals import EventLog

DAY = 86400.0
HOUR = 3600.0


def listen(items: list[int], start: float, session: str | None = None) -> list[api.Event]:
    """A session of completed plays, three minutes apart."""
    return [
        api.Event(it, start + 180.0 * k, api.PLAY, session=session) for k, it in enumerate(items)
    ]


def observed(n: int, events: list[api.Event], **kw: object) -> SessionCF:
    model = SessionCF(n, **kw)  # type: ignore[arg-type]
    for e in events:
        model.observe(e)
    return model


def test_a_pair_always_played_together_become_each_others_top_neighbour() -> None:
    rng = np.random.default_rng(0)
    events: list[api.Event] = []
    for s in range(30):
        filler = [int(x) for x in rng.choice(np.arange(2, 40), size=4, replace=False)]
        events += listen([*filler[:2], 0, 1, *filler[2:]], s * DAY)
    model = observed(40, events)
    ids, scores = model.neighbours(0, 3)
    assert ids[0] == 1 and scores[0] > scores[1]
    assert model.neighbours(1, 3)[0][0] == 0
    # And it is what the CF scores rank first right after the track.
    ranked = np.argsort(-model.scores(api.Context(current=0, session=(5, 0), now=31 * DAY)))
    assert ranked[0] == 1


def test_a_skip_right_after_a_track_demotes_that_pair_at_once() -> None:
    events = []
    for s in range(5):
        events += listen([0, 1], s * DAY) + listen([0, 2], s * DAY + HOUR)
    model = observed(5, events)
    context = api.Context(current=0, session=(0,), now=6 * DAY)
    before = model.item_scores(context)
    assert before[2] > 0 and np.isclose(before[1], before[2], rtol=1e-3)
    # Play 0, then skip 2 a few seconds in.
    model.observe(api.Event(0, 6 * DAY, api.PLAY))
    model.observe(api.Event(2, 6 * DAY + 190, api.PLAY, position_s=4.0, duration_s=200.0))
    after = model.item_scores(api.Context(current=0, session=(0,), now=6 * DAY + 200))
    assert after[2] < after[1]
    assert after[2] < before[2]


def test_old_co_occurrence_fades() -> None:
    config = CFConfig(half_life_days=30.0)
    old = listen([0, 1], 0.0)
    recent = listen([0, 2], 365 * DAY)
    model = observed(3, old + recent, config=config)
    scores = model.item_scores(api.Context(current=0, session=(0,), now=365 * DAY))
    assert scores[2] > scores[1] > 0
    # After one half-life, a pair weighs half what it did.
    model = observed(3, listen([0, 1], 0.0), config=config)
    w0 = model.pair_weight(0, 1, now=180.0)
    assert w0 > 0
    assert np.isclose(model.pair_weight(0, 1, now=180.0 + 30 * DAY), w0 / 2, rtol=1e-5)


def test_artist_backoff_gives_a_sparse_track_its_artist_mates() -> None:
    # Artist 0 owns tracks 0-4, artist 1 owns 5-9. Track 4 has never been heard.
    artists = [0] * 5 + [1] * 5
    events = []
    for s in range(10):
        # Artist 0's tracks are heard together; artist 1's in sessions of their own.
        for start, run in ((s * DAY, [0, 1, 2, 3]), (s * DAY + 6 * HOUR, [5, 6, 7])):
            events += [
                api.Event(it, start + 180.0 * k, api.PLAY, artist=artists[it])
                for k, it in enumerate(run)
            ]
    model = SessionCF(10, n_artists=2)
    model.set_groups(artists)
    for e in events:
        model.observe(e)
    context = api.Context(current=4, session=(4,), now=11 * DAY)
    assert not model.item_scores(context).any()  # item CF knows nothing about track 4
    scores = model.scores(context)
    top4 = set(np.argsort(-scores)[:4].tolist())
    assert top4 == {0, 1, 2, 3}
    assert scores[:4].min() > scores[5:].max()


def test_unheard_tracks_of_the_artist_still_get_a_share() -> None:
    model = SessionCF(4, n_artists=1)
    model.set_groups([0, 0, 0, 0])
    for e in listen([0, 1, 0, 1], 0.0):
        model.observe(api.Event(e.item, e.ts, e.kind, artist=0))
    scores = model.artist_scores(api.Context(current=1, session=(0, 1), now=1000.0))
    assert scores[2] > 0 and scores[0] > scores[2]


def test_save_and_load_round_trip(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    events = [
        api.Event(int(i), 1e9 + 200.0 * k, api.PLAY, artist=int(i) % 4, album=int(i) % 6)
        for k, i in enumerate(rng.integers(0, 30, 400))
    ]
    model = observed(30, events, n_artists=4, n_albums=6)
    path = tmp_path / "cf.npz"
    model.save(path)
    loaded = SessionCF.load(path)
    context = api.Context(current=3, session=(7, 3), now=1e9 + 200.0 * 400)
    assert np.array_equal(model.scores(context), loaded.scores(context))
    assert np.array_equal(model.items.dense(), loaded.items.dense())
    # Both keep learning from the same place: the open session continues.
    nxt = api.Event(9, 1e9 + 200.0 * 401, api.PLAY, artist=1, album=3)
    model.observe(nxt)
    loaded.observe(nxt)
    assert np.array_equal(model.items.dense(), loaded.items.dense())


def _mixed_events(seed: int) -> list[api.Event]:
    rng = np.random.default_rng(seed)
    kinds = [api.PLAY] * 5 + [api.SKIP, api.LIKE, api.UNLIKE, api.DISLIKE]
    events, t = [], 1e9
    for _ in range(1500):
        t += float(rng.choice([150.0, 200.0, 4000.0]))
        item = int(rng.integers(0, 60))
        pos = None if rng.random() < 0.5 else float(rng.uniform(0, 240))
        session = None if rng.random() < 0.7 else f"s{int(t // 20000)}"
        events.append(
            api.Event(
                item, t, kinds[rng.integers(len(kinds))], session, pos, 240.0, item % 9, item % 13
            )
        )
    return events


def test_rebuild_equals_incremental() -> None:
    events = _mixed_events(2)
    online = observed(60, events, n_artists=9, n_albums=13)
    for rebuilt in (
        SessionCF.rebuild(events, 60, 9, 13),
        SessionCF.rebuild(EventLog.from_events(events), 60, 9, 13),
    ):
        for a, b in ((online.items, rebuilt.items), (online.artists, rebuilt.artists)):
            assert np.allclose(a.dense(), b.dense(), rtol=1e-5, atol=1e-6)
            assert np.allclose(a.out_deg, b.out_deg)
        assert np.allclose(online.plays, rebuilt.plays)
        context = api.Context(current=5, session=(1, 5), now=events[-1].ts + 60)
        assert np.allclose(online.scores(context), rebuilt.scores(context), rtol=1e-5, atol=1e-7)
        # The next event lands in the same session on both.
        nxt = api.Event(7, events[-1].ts + 100, api.PLAY, artist=7, album=7)
        online_copy = observed(60, [*events, nxt], n_artists=9, n_albums=13)
        rebuilt.observe(nxt)
        assert np.allclose(online_copy.items.dense(), rebuilt.items.dense(), atol=1e-6)


def test_incremental_updates_survive_buffer_merges() -> None:
    # Enough events to fill the append buffer several times over.
    rng = np.random.default_rng(4)
    items = rng.integers(0, 500, 30000)
    log = EventLog.plays(items, 1e9 + 120.0 * np.arange(items.size))
    online = SessionCF(500)
    for i, t in zip(items.tolist(), log.ts.tolist(), strict=True):
        online.observe(api.Event(i, t, api.PLAY))
    rebuilt = SessionCF.rebuild(log, 500)
    assert np.allclose(online.items.dense(), rebuilt.items.dense(), rtol=1e-4, atol=1e-5)


def test_grow_keeps_what_was_learned() -> None:
    model = observed(3, listen([0, 1, 0, 1], 0.0))
    before = model.item_scores(api.Context(current=0, now=1000.0))
    model.grow(10, n_artists=2)
    after = model.item_scores(api.Context(current=0, now=1000.0))
    assert after.shape == (10,) and np.array_equal(after[:3], before)
    model.observe(api.Event(9, 2000.0, api.PLAY, artist=1))
    model.observe(api.Event(0, 2100.0, api.PLAY, artist=0))
    assert model.neighbours(9, 2)[0][0] == 0


def test_a_timestamp_in_milliseconds_in_the_log_does_not_break_scoring() -> None:
    """An imported listen at 1700000000000 (a Last.fm time in milliseconds) made every
    ranking raise OverflowError, so Up Next stayed empty for good."""
    start = 1.7e9
    events = [*listen([0, 1, 2, 3], start), *listen([0, 1, 2], start + DAY)]
    events.append(api.Event(4, 1.7e12, api.PLAY))
    for model in (SessionCF.rebuild(events, 6), observed(6, events)):
        for now in (start + 2 * DAY, 1.7e12 + 60, 1.0):
            context = api.Context(current=0, session=(0,), now=now)
            scores = model.scores(context)
            assert np.isfinite(scores).all()
            assert np.isfinite(model.item_scores(context)).all()
            assert np.isfinite(model.artist_scores(context)).all()
            assert np.isfinite(model.pair_weight(0, 1, now))
