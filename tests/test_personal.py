"""The personal model's sources on synthetic listeners with a known answer."""

from __future__ import annotations

import numpy as np
import pytest

from recommender import api
from recommender.collab.signals import KIND_CODES, EventLog
from recommender.personal.activation import Activation, DecayChooser, fit_mixture, mixture
from recommender.personal.model import PersonalModel
from recommender.personal.sequence import CountRows
from recommender.personal.source import PersonalSource

DAY = 86400.0
HOUR = 3600.0


def names(item: int) -> str:
    return ["Vibe Ace – Opener", "Morning Song", "Evening Song", "Skipper", "Keeper"][item]


def test_power_law_activation_matches_the_exact_sum() -> None:
    act = Activation(3)
    plays = [(0, 0.0), (0, 7 * DAY), (1, 9 * DAY), (0, 9.5 * DAY)]
    for item, ts in plays:
        act.observe(item, ts)
    now = 10 * DAY
    decay_index = act.decays.index(0.5)
    exact0 = sum((now - ts) ** -0.5 for item, ts in plays if item == 0)
    got = act.scores(now, decay_index)
    assert got[0] == pytest.approx(exact0, rel=0.03)
    assert got[1] == pytest.approx((now - 9 * DAY) ** -0.5, rel=0.03)
    assert got[2] == 0.0
    # The mixture approximates t ** -d within a few per cent for every decay it offers.
    t = np.geomspace(60.0, 3 * 365 * DAY, 40)
    for d in act.decays:
        approx = np.exp(-t[:, None] / np.geomspace(60.0, 10 * 365 * DAY, 18)) @ mixture(d)
        assert np.all(np.abs(approx * t**d - 1.0) < 0.08)


def _daily(model: PersonalModel, days: int, start: float = 0.0, rank: bool = False) -> float:
    """Every morning at 8: opener then the morning song; every evening at 20: opener then
    the evening song. ``rank``: rank before each play, as the player does (so the blender
    learns from every play)."""
    ts = start
    for day in range(days):
        for hour, song in ((8, 1), (20, 2)):
            ts = start + day * DAY + hour * HOUR
            key = (day, hour)
            model.observe(0, ts, key)
            if rank:
                model.scores([0], key, ts + 200.0)
            model.observe(song, ts + 200.0, key)
    return ts


def test_a_track_played_every_morning_ranks_first_in_the_morning() -> None:
    model = PersonalModel(5)
    _daily(model, 21)
    morning = model.scores([0], ("new", 8), 21 * DAY + 8 * HOUR + 100.0)
    evening = model.scores([0], ("new", 20), 21 * DAY + 20 * HOUR + 100.0)
    assert int(np.argmax(morning)) == 1
    assert int(np.argmax(evening)) == 2
    # ... and says so.
    model.scores([0], ("new", 20), 21 * DAY + 20 * HOUR + 100.0)
    reason = model.reason(2, [0], 21 * DAY + 20 * HOUR + 100.0, names)
    assert reason in (
        "you often play this in the evening",
        "often follows Vibe Ace – Opener in your sessions",
    )


def test_a_favourite_returns_after_weeks_with_its_reason() -> None:
    model = PersonalModel(40)
    ts = 0.0
    # A favourite (item 1) played 30 times in the first ten days, then not for three weeks,
    # while one-off tracks (5..34) fill the days since.
    for n in range(30):
        ts = n * (10 * DAY / 30)
        model.observe(1, ts, ("fav", n))
    for n, item in enumerate(range(5, 35)):
        ts = 10 * DAY + n * (21 * DAY / 30)
        model.observe(item, ts, ("new", n))
    now = ts + DAY
    scores = model.scores([36], ("now",), now)
    assert int(np.argmax(scores)) == 1
    assert model.reason(1, [36], now, names).startswith("a favourite you haven't heard for 3 weeks")


def test_the_decay_follows_how_fast_this_listener_comes_back() -> None:
    def chooser(gap_s: float, favourites: int) -> float:
        act = Activation(200)
        chosen = DecayChooser()
        rng = np.random.default_rng(1)
        ts = 0.0
        recent: list[int] = []
        for step in range(600):
            ts += gap_s
            # Replays of the last few tracks (fast) or of a long-standing favourite (slow).
            if favourites:
                item = int(rng.integers(favourites))
            else:
                item = (
                    recent[-int(rng.integers(1, 4))]
                    if len(recent) > 3 and rng.random() < 0.7
                    else 10 + step % 190
                )
            if act.count[item] > 0:
                heard = np.flatnonzero(act.count > 0)
                chosen.learn(act.all_decays(ts, heard), act.all_decays(ts, np.array([item]))[0])
            act.observe(item, ts)
            recent.append(item)
        return chosen.decay

    # Coming back to the last few tracks: recency dominates, a fast decay ranks best.
    # Cycling through a stable set of favourites: frequency dominates, a slow decay.
    assert chooser(600.0, 0) > chooser(600.0, 8)


def test_a_skipped_track_sinks() -> None:
    model = PersonalModel(5)
    ts = 0.0
    for session in range(30):
        ts = session * DAY
        # The opener, then (in turns, so neither follows it more often) a track that is
        # always skipped and one that is always kept.
        first, second = (3, 4) if session % 2 else (4, 3)
        model.observe(0, ts, session, skipped=False)
        model.observe(first, ts + 100, session, skipped=first == 3)
        model.observe(second, ts + 400, session, skipped=second == 3)
    scores = model.scores([0], 99, 31 * DAY)
    assert scores[4] > scores[3]


def test_what_followed_the_current_track_before_comes_next_with_its_reason() -> None:
    model = PersonalModel(6)
    for session in range(10):
        ts = session * DAY
        model.observe(0, ts, session)
        model.observe(5, ts + 200, session)
        model.observe(4 if session % 2 else 3, ts + 400, session)
    scores = model.scores([0], 99, 11 * DAY)
    assert int(np.argmax(scores)) == 5
    assert model.reason(5, [0], 11 * DAY, names) in (
        "often follows Vibe Ace – Opener in your sessions",
        "often played with Vibe Ace – Opener in your sessions",
    )


def test_the_blender_learns_from_plays_and_saves_its_state() -> None:
    model = PersonalModel(5)
    _daily(model, 200, rank=True)  # enough plays for the network to take over
    assert model.blender.ready
    # It learned the listener's hours: morning song in the morning, evening song at night.
    assert int(np.argmax(model.scores([0], "m", 201 * DAY + 8 * HOUR))) == 1
    assert int(np.argmax(model.scores([0], "e", 201 * DAY + 20 * HOUR))) == 2
    state = model.state()
    fresh = PersonalModel(5)
    assert fresh.load_state(state)
    x = model._cache.features if model._cache is not None else np.ones((3, 17))
    assert np.allclose(fresh.blender.score(x), model.blender.score(x))
    assert not fresh.load_state({"features": np.array([3.0])})


def _log(items: list[int], ts: list[float], kinds: list[str], sessions: list[int]) -> EventLog:
    n = len(items)
    return EventLog(
        item=np.asarray(items, dtype=np.int64),
        ts=np.asarray(ts, dtype=np.float64),
        kind=np.asarray([KIND_CODES[k] for k in kinds], dtype=np.int8),
        session=np.asarray(sessions, dtype=np.int64),
        position_s=np.full(n, np.nan),
        duration_s=np.full(n, 240.0),
        artist=np.full(n, -1, dtype=np.int64),
        album=np.full(n, -1, dtype=np.int64),
    )


def test_the_source_rebuilds_in_the_background_and_keeps_events_that_arrive_meanwhile() -> None:
    items, stamps, kinds, sessions = [], [], [], []
    for s in range(40):
        for k, item in enumerate((0, 1, 2)):
            items.append(item)
            stamps.append(s * DAY + 300 * k)
            kinds.append(api.PLAY)
            sessions.append(s)
    source = PersonalSource(4)
    source.rebuild(_log(items, stamps, kinds, sessions), background=True)
    source.observe(api.Event(3, 41 * DAY, api.PLAY, session=77))  # before it is ready
    assert source.ready.wait(30)
    assert source.model.activation.count[3] == 1 and source.model.activation.count[0] == 40
    scores = source.scores(api.Context(current=0, session=(0,), now=42 * DAY))
    assert scores.max() == pytest.approx(1.0) and int(np.argmax(scores)) == 1
    assert source.scores(api.Context(current=None, now=42 * DAY)).max() == 0.0


def test_the_saved_state_is_taken_between_two_events_never_during_one() -> None:
    """The host saves the model from the replay thread while the session thread may be
    learning an event: the copy waits for that event to be learnt whole."""
    import threading

    source = PersonalSource(4)
    source.rebuild(
        _log([0, 1, 2], [0.0, 300.0, 600.0], [api.PLAY] * 3, [1, 1, 1]), background=False
    )
    assert source.ready.is_set()
    taken: list[dict[str, np.ndarray]] = []
    with source._lock:  # the session thread in the middle of learning an event
        saver = threading.Thread(target=lambda: taken.append(source.state()))
        saver.start()
        saver.join(0.3)
        assert saver.is_alive() and not taken
        source.model.observe(3, DAY, 2, skipped=False)
    saver.join(10)
    assert taken and taken[0]["session_input"][0] == 1.0


def test_the_replay_counts_skips_by_the_users_threshold() -> None:
    """Review 21: the replay counted every stop before 30 s (and every "next", however
    late) as a skip, whatever the user's skip threshold; it now follows signals.py."""
    from recommender.collab.signals import SignalConfig

    events = [
        # Stopped at 20 s of 200 s: a skip at 30 s, a partial play at 10 s.
        api.Event(0, 1 * DAY, api.SKIP, session=1, position_s=20.0, duration_s=200.0),
        # "Next" at 150 s of 200 s: heard most of it, a play by any threshold.
        api.Event(1, 2 * DAY, api.SKIP, session=2, position_s=150.0, duration_s=200.0),
        # Stopped at 5 s: a skip either way.
        api.Event(2, 3 * DAY, api.SKIP, session=3, position_s=5.0, duration_s=200.0),
    ]
    log = EventLog.from_events(events)
    for seconds, expected in ((30.0, [1, 0, 1]), (10.0, [0, 0, 1])):
        source = PersonalSource(3, signals=SignalConfig(skip_seconds=seconds))
        source.rebuild(log, background=False)
        assert source.model.skips.tolist() == expected, seconds
        # A live event is judged by the same rule.
        source.observe(
            api.Event(0, 4 * DAY, api.SKIP, session=4, position_s=20.0, duration_s=200.0)
        )
        assert source.model.skips[0] == 2 * expected[0]


def test_compact_counts_match_plain_counting_through_every_fold() -> None:
    # Folded often (every 7 bumps), so most reads merge the compact base with fresh bumps.
    rng = np.random.default_rng(3)
    rows, truth = CountRows(fold_every=7), dict[tuple[int, int], int]()
    for a, b in rng.integers(0, 40, size=(600, 2)).tolist():
        rows.bump(a, b)
        truth[a, b] = truth.get((a, b), 0) + 1
        idx, counts = rows.arrays(a)
        assert sorted(zip(idx.tolist(), counts.tolist(), strict=True)) == sorted(
            (b2, float(c)) for (a2, b2), c in truth.items() if a2 == a
        )
        assert rows.count(a, b) == truth[a, b]
    assert rows.count(41, 0) == 0.0 and rows.arrays(99)[0].size == 0
    r, c, v = rows.coo()
    assert dict(zip(zip(r.tolist(), c.tolist(), strict=True), v.tolist(), strict=True)) == truth


def test_the_stored_mixtures_are_the_fit() -> None:
    """The activation's mixture weights are stored rather than fitted at start-up (the fit
    needs scipy.optimize, ~15 MB of RSS): they must be what the fit gives, or the
    favourites it ranks would drift from what it was tuned with."""
    for decay in Activation(1).decays:
        assert mixture(decay) == pytest.approx(fit_mixture(decay), rel=1e-9, abs=1e-15)


def _sessions_log(n_sessions: int, tracks: tuple[int, ...]) -> EventLog:
    """A listener who plays the same little playlist every day, one session a day."""
    items, stamps, kinds, sessions = [], [], [], []
    for s in range(n_sessions):
        for k, item in enumerate(tracks):
            items.append(item)
            stamps.append(s * DAY + 240 * k)
            kinds.append(api.PLAY)
            sessions.append(s)
    return _log(items, stamps, kinds, sessions)


def test_the_apps_personal_source_reads_the_session_hybrid_computed_once_per_ranking() -> None:
    """Issue 12: the app's personal source ranked without the session CF input the eval's
    model learnt with. Now Engine.build gives it the session hybrid (session CF, its
    artist co-occurrence, minus recency), from the very CF scores the blend adds."""
    from recommender.engine import Catalog, Engine, SessionInput
    from recommender.personal.model import FEATURES

    n = 12
    catalog = Catalog(titles=[f"t{i}" for i in range(n)], artists=[f"a{i % 4}" for i in range(n)])
    log = _sessions_log(30, (0, 1, 2, 3, 4))
    engine = Engine.build(catalog, log, personal_background=False)
    personal = engine.personal
    assert personal is not None and isinstance(personal.extra, SessionInput)
    cf = engine.cf
    calls = []
    real = cf.sparse_scores

    def counted(context: api.Context) -> tuple[np.ndarray, np.ndarray]:
        calls.append(context)
        return real(context)

    cf.sparse_scores = counted  # type: ignore[method-assign]
    context = api.Context(current=1, session=(0, 1), now=31 * DAY)
    engine.upnext.scorer.score(context)
    assert len(calls) == 1  # the blend's CF and the personal model's input: one pass
    extra = personal.extra(context)
    cached = personal.model._cache
    assert cached is not None
    column = cached.features[:, FEATURES.index("extra")]
    assert np.allclose(column, extra[cached.candidates])
    # What followed track 1 in every session (track 2) leads the session hybrid.
    assert int(np.argmax(extra)) == 2 and extra.min() >= -4.0
    # The quantity segue eval's ``Hybrid`` scores: CF and artist parts, each scaled, minus
    # twice the recency penalty (track 4, heard 2 hours before ``now``).
    from recommender.collab.hybrid import scale_part

    scorer = engine.upnext.scorer
    scorer.last_played[4] = context.now - 2 * HOUR
    expected = scale_part(cf.scores(context)) + scale_part(cf.artist_scores(context))
    expected -= 2.0 * scorer.recency_penalty(context)
    got = personal.extra(context)
    assert got[4] < 0
    np.testing.assert_allclose(got, np.maximum(expected, -4.0), atol=1e-6)


def test_the_replay_learns_with_the_session_hybrid_and_old_states_are_learnt_again() -> None:
    """The blender's replay of the log sees the session hybrid as it was at each play (a
    model learnt without it would read the live input on a scale it never saw), and a
    state saved before it had that input is not restored."""
    from recommender.engine import Catalog, Engine
    from recommender.personal.model import FEATURES

    n = 12
    catalog = Catalog(titles=[f"t{i}" for i in range(n)], artists=[f"a{i % 4}" for i in range(n)])
    log = _sessions_log(60, (0, 1, 2, 3, 4, 5))
    engine = Engine.build(catalog, log, personal_background=False)
    personal = engine.personal
    assert personal is not None
    scale = personal.model.blender.scale
    column = FEATURES.index("extra")
    assert scale.n > 0 and abs(scale.mean[column]) > 1e-3  # it learnt with the input
    state = personal.state()
    assert state["session_input"][0] == 1.0
    marked = {**state, "scale": state["scale"].copy()}
    marked["scale"][0] = 12345.0  # a state told apart from a replay's
    old = {k: v for k, v in marked.items() if k != "session_input"}
    again = Engine.build(catalog, log, personal_state=old, personal_background=False)
    assert again.personal is not None
    assert again.personal.model.blender.scale.n == scale.n  # learnt again
    kept = Engine.build(catalog, log, personal_state=marked, personal_background=False)
    assert kept.personal is not None
    assert kept.personal.model.blender.scale.n == 12345.0  # restored, not replayed


def test_the_session_input_scales_negative_artist_evidence_as_the_eval_did() -> None:
    """Skips make artist co-occurrence negative; the session input scales it by its
    largest magnitude, as the eval's ``Hybrid`` (``scale_part``) does."""
    from recommender.collab.hybrid import scale_part
    from recommender.engine import Catalog, Engine

    events = []
    for s in range(30):
        for k, item in enumerate((0, 1, 2, 3, 4)):
            events.append(api.Event(item, s * DAY + 240 * k, api.PLAY, session=s))
        for k, item in enumerate((5, 9)):  # skipped after 4, every time
            events.append(
                api.Event(item, s * DAY + 240 * (5 + k), api.SKIP, session=s, position_s=3.0)
            )
    n = 12
    catalog = Catalog(titles=[f"t{i}" for i in range(n)], artists=[f"a{i % 4}" for i in range(n)])
    engine = Engine.build(catalog, EventLog.from_events(events), personal_background=False)
    assert engine.personal is not None and engine.personal.extra is not None
    context = api.Context(current=4, session=(3, 4), now=31 * DAY)
    artist = engine.cf.artist_scores(context)
    assert -artist.min() > artist.max() > 0  # the negative evidence is the largest
    expected = scale_part(engine.cf.scores(context)) + scale_part(artist)
    np.testing.assert_allclose(engine.personal.extra(context), expected, atol=1e-6)
