"""The personal model's latent factors kept fresh while a long session runs: refitted every
``refit_every`` plays, on a thread in the app (one fit at a time, the session answering
meanwhile), inline in a replay at the same plays."""

from __future__ import annotations

import threading
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from player.library import events
from player.library.db import Database
from recommender.personal.model import PersonalConfig, PersonalModel
from recommender.personal.refresh import CountsSnapshot
from recommender.personal.sequence import CountRows

HOUR = 3600.0
PLAYLISTS = (list(range(0, 10)), list(range(10, 20)), list(range(20, 30)))
NEWCOMER = 40  # a track the listener only starts playing later, always with the first list


def _sessions(
    model: PersonalModel,
    count: int,
    first: int,
    rng: np.random.Generator,
    newcomer: bool,
    rank: bool = False,
) -> None:
    """``count`` sessions of six tracks from one playlist each (with the newcomer in the
    first playlist's sessions when ``newcomer``), an hour apart. ``rank``: ranked before
    each play, as the player does (so the blender learns from each)."""
    for s in range(first, first + count):
        playlist = PLAYLISTS[s % 3] if not newcomer else PLAYLISTS[0]
        tracks = [int(t) for t in rng.choice(playlist, 6, replace=False)]
        if newcomer:
            tracks[int(rng.integers(0, 6))] = NEWCOMER
        for k, item in enumerate(tracks):
            if rank and k:
                model.scores(tracks[:k], s, s * HOUR + 200.0 * k)
            model.observe(item, s * HOUR + 200.0 * k, s)


def _factor_feature(model: PersonalModel, item: int, session: list[int], key: object) -> float:
    from recommender.personal.model import FEATURES

    f = model.featurise(session, key, 1e6)
    where = np.flatnonzero(f.candidates == item)
    assert where.size == 1, "the track is a candidate (it shares sessions with these)"
    return float(f.features[where[0], FEATURES.index("factors")])


def test_after_a_refresh_a_track_now_played_with_a_list_is_close_to_it_in_the_factors() -> None:
    model = PersonalModel(50, PersonalConfig(refit_every=300, background=True))
    rng = np.random.default_rng(0)
    _sessions(model, 50, 0, rng, newcomer=False)  # 300 plays: the first fit starts
    assert model.refresh.wait(60)
    _sessions(model, 1, 50, rng, newcomer=False)  # the next play swaps it in
    assert model.refresh.fits == 1 and model.embedding is not None
    assert not model.embedding[NEWCOMER].any()  # never heard yet: no factors
    # The newcomer joins the first list's sessions: 49 plays later it is often heard
    # with them, but the factors are the ones fitted before.
    _sessions(model, 8, 51, rng, newcomer=True)
    session = [0, 1, 2]
    assert _factor_feature(model, NEWCOMER, session, 51) == 0.0
    # Once 300 plays are new the refresh fits them again, and the newcomer sits with
    # the first list, not the others.
    _sessions(model, 42, 59, rng, newcomer=True)
    assert model.refresh.wait(60)
    _sessions(model, 1, 101, rng, newcomer=True)
    assert model.refresh.fits == 2
    emb = model.embedding
    assert emb is not None
    assert _factor_feature(model, NEWCOMER, session, 101) > 0.5
    assert emb[PLAYLISTS[0]] @ emb[NEWCOMER] == pytest.approx(1.0, abs=0.5)
    assert np.mean(emb[PLAYLISTS[1]] @ emb[NEWCOMER]) < 0.2


def test_one_refresh_at_a_time_and_the_session_keeps_answering_while_it_runs() -> None:
    model = PersonalModel(50, PersonalConfig(refit_every=30, background=True))
    release = threading.Event()
    running, most, calls = [0], [0], [0]
    fit = model.refresh.fit

    def slow_fit(*args: object) -> object:
        calls[0] += 1
        running[0] += 1
        most[0] = max(most[0], running[0])
        release.wait(60)  # a long history's fit, still running
        running[0] -= 1
        return fit(*args)  # type: ignore[arg-type]

    model.refresh.fit = slow_fit  # type: ignore[assignment]
    rng = np.random.default_rng(1)
    _sessions(model, 10, 0, rng, newcomer=False)  # 60 plays: one fit started at play 30
    assert calls[0] == 1 and model.refresh.running
    # The session goes on: 240 more plays (the policy due at each), rankings meanwhile.
    for first in range(10, 50, 5):
        _sessions(model, 5, first, rng, newcomer=False)
        scores = model.scores([0, 1], ("new", first), (first + 4) * HOUR + 2000.0)
        assert scores.argmax() in PLAYLISTS[0]  # a track of the list being heard
    assert calls[0] == 1 and model.refresh.running and model.embedding is None
    assert model.activation.count.sum() == 300  # every play learnt while it ran
    release.set()
    assert model.refresh.wait(60)
    model.observe(0, 50 * HOUR, 50)
    # Swapped in at the next play, and (271 plays being new by then) the next one started.
    assert model.embedding is not None and model.refresh.fits == 1 and calls[0] == 2
    assert model.refresh.wait(60)
    assert most[0] == 1


def test_the_replay_refreshes_as_the_app_does_and_the_blender_trains_once_more() -> None:
    """`segue eval` replays inline what the app does on a thread: the same factors, the
    same blender, retrained once over its kept steps at each refresh."""
    config = PersonalConfig(refit_every=120, warmup=50, retrain_last=2000)
    app = PersonalModel(50, replace(config, background=True))
    replay = PersonalModel(50, replace(config, background=False))
    rng_app, rng_replay = np.random.default_rng(2), np.random.default_rng(2)
    for s in range(45):
        _sessions(app, 1, s, rng_app, newcomer=s >= 20, rank=True)
        _sessions(replay, 1, s, rng_replay, newcomer=s >= 20, rank=True)
        assert app.refresh.wait(60)  # done before the next session: deterministic
        app.refresh.swap(app)
    assert replay.refresh.fits == app.refresh.fits == 2  # at plays 120 and 240
    assert app.embedding is not None and replay.embedding is not None
    np.testing.assert_allclose(app.embedding, replay.embedding, atol=1e-5)
    # Each learning step once as it came, and the ones kept at each refresh once more.
    learnt = replay.blender.recorded
    assert app.blender.recorded == learnt > 100
    assert app.blender.steps == replay.blender.steps > learnt + 100
    for key, value in replay.blender.params.items():
        np.testing.assert_allclose(app.blender.params[key], value, atol=1e-8)


@pytest.mark.parametrize("retrain_last", [0, 2000])
def test_what_the_session_learns_while_a_refresh_runs_is_kept(retrain_last: int) -> None:
    """With a retraining pass, the retrained blender replaces the live one at the next
    play once the refresh is done, and learns the steps the live one learnt meanwhile;
    without, the live one stays."""
    config = PersonalConfig(refit_every=60, warmup=20, background=True, retrain_last=retrain_last)
    model = PersonalModel(50, config)
    release = threading.Event()
    fit = model.refresh.fit

    def blocked_fit(*args: object) -> object:
        release.wait(60)
        return fit(*args)  # type: ignore[arg-type]

    model.refresh.fit = blocked_fit  # type: ignore[assignment]
    rng = np.random.default_rng(4)
    _sessions(model, 10, 0, rng, newcomer=False, rank=True)  # the refresh starts at play 60
    live = model.blender
    assert model.refresh.running
    kept = len(live.memory) if live.memory is not None else 0
    assert (kept > 0) == (retrain_last > 0)
    steps = live.steps
    _sessions(model, 5, 10, rng, newcomer=False, rank=True)  # learnt while it runs
    meanwhile = live.steps - steps
    assert meanwhile > 10 and model.blender is live
    release.set()
    assert model.refresh.wait(60)
    model.observe(0, 20 * HOUR, 20)  # no ranking before it: no step of its own
    assert model.refresh.fits == 1 and model.embedding is not None
    assert (model.blender is live) == (retrain_last == 0)
    assert model.blender.steps == steps + kept + meanwhile
    assert model.blender.recorded == live.recorded  # the kept steps carry over


def test_a_snapshot_of_the_counts_is_exact_and_later_plays_do_not_change_it() -> None:
    rng = np.random.default_rng(3)
    rows, truth = CountRows(fold_every=25), dict[tuple[int, int], int]()
    for a, b in rng.integers(0, 30, size=(110, 2)).tolist():  # a base and pending bumps
        rows.bump(a, b)
        truth[a, b] = truth.get((a, b), 0) + 1
    assert rows.delta  # some bumps still pending
    snapshot = CountsSnapshot.of(rows)
    for a, b in rng.integers(0, 40, size=(60, 2)).tolist():  # bumps and folds after it
        rows.bump(a, b)
    r, c, v = snapshot.entries()
    got = dict(zip(zip(r.tolist(), c.tolist(), strict=True), v.tolist(), strict=True))
    assert got == truth


def test_the_app_saves_the_personal_state_after_a_refresh(
    library: Database, tmp_path: Path
) -> None:
    from player.personal_cache import state_path
    from player.recommend import EngineHost
    from tests.audiogen import tag, write_audio
    from tests.scanhelp import scan

    music = tmp_path / "music"
    for i in range(6):
        path = write_audio(music / f"{i}.flac", seconds=0.5, sr=8000, freq=200.0 + 30 * i)
        tag(path, title=f"T{i}", artist=f"A{i % 3}")
    scan(library, music)
    ids = [r["id"] for r in library.query("SELECT id FROM tracks ORDER BY id")]
    for n in range(30):
        events.append(library, events.NewEvent(track_id=ids[n % 6], kind="play", ts=1e9 + 300 * n))
    host = EngineHost(library, background=False)
    personal = host.engine.personal
    assert personal is not None and personal.ready.is_set()
    model = personal.model
    model.config = replace(model.config, refit_every=5)
    state_path(library.path).unlink()  # saved once learnt; now only a refresh saves it

    def play(n: int) -> None:
        event = events.NewEvent(track_id=ids[n % 6], kind="play", ts=2e9 + 300 * n)
        host.observe(event)

    for n in range(5):
        play(n)
    assert model.refresh.running or model.refresh.wait(60)
    assert not state_path(library.path).exists()
    assert model.refresh.wait(60)
    play(5)  # the fit is swapped in at the next play, and the state saved
    assert model.refresh.fits == 1
    assert state_path(library.path).exists()
