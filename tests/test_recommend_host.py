"""The player's bridge to the engine: ids, history from tags, bans and unplayable files."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import mutagen
import numpy as np
import pytest

from player.library import events
from player.library.db import Database
from player.recommend import EngineHost
from tests.audiogen import tag, write_audio
from tests.scanhelp import scan


def _library(db: Database, tmp_path: Path) -> dict[str, int]:
    music = tmp_path / "music"
    for i in range(6):
        path = write_audio(music / f"{i}.flac", seconds=0.5, sr=8000, freq=200.0 + 30 * i)
        tag(path, title=f"T{i}", artist=f"A{i % 3}", genre="Jazz" if i < 3 else "Rock")
    rated = mutagen.File(str(music / "0.flac"))
    rated["FMPS_RATING"] = ["1.0"]
    rated["FMPS_PLAYCOUNT"] = ["12"]
    rated.save()
    scan(db, music)
    return {r["title"]: r["id"] for r in db.query("SELECT id, title FROM tracks")}


def test_play_counts_and_ratings_from_tags_seed_the_taste(
    library: Database, tmp_path: Path
) -> None:
    ids = _library(library, tmp_path)
    host = EngineHost(library)
    taste = host.engine.upnext.taste
    item = host.mapping.item(ids["T0"])
    assert item is not None
    assert taste.liked[item]
    assert taste.plays[item] == 5  # counted, but capped: a tag is weaker than a real listen
    others = [host.mapping.item(ids[t]) for t in ("T1", "T2", "T3")]
    assert not any(taste.liked[i] for i in others if i is not None)


def test_missing_and_silent_tracks_are_never_picked(library: Database, tmp_path: Path) -> None:
    ids = _library(library, tmp_path)
    with library.transaction() as conn:
        conn.execute("UPDATE tracks SET missing = 1 WHERE id = ?", (ids["T1"],))
        conn.execute("UPDATE tracks SET has_audio = 0 WHERE id = ?", (ids["T2"],))
    picks = EngineHost(library).recommend(ids["T0"], count=10)
    picked = {track for track, _ in picks}
    assert ids["T1"] not in picked and ids["T2"] not in picked
    assert picked == {ids["T3"], ids["T4"], ids["T5"]}
    assert all(reason for _, reason in picks)


def test_a_removal_or_an_upgraded_vector_in_another_process_is_taken_in(
    library: Database, tmp_path: Path
) -> None:
    """The app's "Remove from library" (another connection) stops picks at once, without a
    restart; a re-analysis that replaces vectors in place changes the signature too."""
    from player.library import engine_data, track_info
    from player.library.features import FeatureStore, StoredFeatures

    ids = _library(library, tmp_path)
    host = EngineHost(library)
    assert ids["T4"] in {t for t, _ in host.recommend(ids["T3"], count=10)}
    assert not host.refresh()  # nothing written elsewhere: nothing to take in
    with Database(library.path) as other:
        track_info.remove_from_library(other, [ids["T4"]])
    assert ids["T4"] not in {t for t, _ in host.recommend(ids["T3"], count=10)}

    with Database(library.path) as other:
        store = FeatureStore(other)
        row = StoredFeatures(ids["T5"], "fp", np.ones(4, np.float32), *[0.5] * 10)
        store.save(1, [row], [])
        before = engine_data.catalog_signature(library)
        store.save(2, [row], [])  # the same count of vectors: an upgrade in place
    assert engine_data.catalog_signature(library) != before


def test_an_undone_dislike_is_not_replayed_and_lifts_the_ban(
    library: Database, tmp_path: Path
) -> None:
    ids = _library(library, tmp_path)
    dislike = events.NewEvent(track_id=ids["T4"], kind="dislike", ts=1.0)
    events.append(library, dislike)
    host = EngineHost(library)
    assert ids["T4"] not in {t for t, _ in host.recommend(ids["T3"], count=10)}
    undo = events.NewEvent(track_id=ids["T4"], kind="undislike", ts=2.0)
    events.append(library, undo)
    host.observe(undo)
    assert ids["T4"] in {t for t, _ in host.recommend(ids["T3"], count=10)}
    rebuilt = EngineHost(library)
    assert ids["T4"] in {t for t, _ in rebuilt.recommend(ids["T3"], count=10)}


def test_a_library_without_any_tags_still_gets_up_next(library: Database, tmp_path: Path) -> None:
    music = tmp_path / "untagged"
    for name in ("one.wav", "two.wav", "three.wav"):
        write_audio(music / name, seconds=0.5, sr=8000)
    scan(library, music)
    ids = [r["id"] for r in library.query("SELECT id FROM tracks ORDER BY id")]
    picks = EngineHost(library).recommend(ids[0], count=5)
    assert {track for track, _ in picks} == set(ids[1:])
    assert all(reason for _, reason in picks)


def test_the_personal_model_learns_the_log_saves_beside_the_db_and_explains(
    library: Database, tmp_path: Path
) -> None:
    from player.personal_cache import state_path

    ids = _library(library, tmp_path)
    # Thirty evenings of T1 then T3 (another artist, another genre): T3 follows T1.
    for day in range(30):
        start = 1_700_000_000.0 + day * 86400.0
        for offset, title in ((0.0, "T1"), (240.0, "T3")):
            events.append(
                library,
                events.NewEvent(
                    track_id=ids[title], kind="play", ts=start + offset, session_id=f"s{day}"
                ),
            )
    host = EngineHost(library, background=False)
    personal = host.engine.personal
    assert personal is not None and personal.ready.is_set()
    assert state_path(library.path).exists()  # the learned state, beside the DB
    item = host.mapping.item(ids["T3"])
    assert item is not None and personal.model.activation.count[item] == 30
    picks = host.recommend(ids["T1"], history=[ids["T1"]], count=3, now=1_702_600_000.0)
    assert picks[0][0] == ids["T3"]
    assert "T1" in picks[0][1] or "favourite" in picks[0][1], picks[0][1]
    # A second start restores the learned state instead of learning it again.
    saved = personal.state()
    again = EngineHost(library, background=False)
    assert again.engine.personal is not None
    restored = again.engine.personal.state()
    assert all(np.allclose(saved[k], restored[k]) for k in ("p_w1", "p_lin"))


def _replay_threads() -> int:
    import threading

    return sum(t.name == "segue-personal" and t.is_alive() for t in threading.enumerate())


def test_engine_rebuilds_never_pile_up_personal_model_replays(
    library: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Review 10: every rebuild (every ~20 s during a scan or an analysis) started one
    more replay of the log on its own thread, none ever stopped."""
    import time

    from recommender.personal.model import PersonalModel

    ids = _library(library, tmp_path)
    for n in range(40):
        events.append(
            library,
            events.NewEvent(track_id=ids[f"T{n % 6}"], kind="play", ts=1e9 + 300.0 * n),
        )
    learn = PersonalModel.observe

    def slow_observe(self: PersonalModel, *args: Any, **kwargs: Any) -> None:
        time.sleep(0.05)  # a long history: each replay takes seconds
        learn(self, *args, **kwargs)

    monkeypatch.setattr(PersonalModel, "observe", slow_observe)
    host = EngineHost(library)
    assert _replay_threads() == 1
    for _ in range(3):  # new audio vectors: the same items, the model carries over
        host._rebuild()
    assert _replay_threads() == 1
    first = host.engine.personal
    for i in range(3):  # a scan: new tracks each time, a new model each time
        path = write_audio(tmp_path / "more" / f"{i}.flac", seconds=0.5, sr=8000, freq=500.0)
        tag(path, title=f"New {i}", artist="B", genre="Pop")
        scan(library, tmp_path / "more")
        host._rebuild()
    assert host.engine.personal is not first
    deadline = time.monotonic() + 5.0
    while _replay_threads() > 1 and time.monotonic() < deadline:
        time.sleep(0.01)  # a superseded replay stops at its next step
    assert _replay_threads() == 1
    monkeypatch.setattr(PersonalModel, "observe", learn)
    personal = host.engine.personal
    assert personal is not None and personal.ready.wait(30)
    assert not first.ready.is_set()  # superseded, stopped, never used


def _slowly_learnt_history(
    library: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> tuple[dict[str, int], list[bool]]:
    """A played library whose personal model learns slowly (as a long history does), and
    the list that records, for each ranking, whether the model had learnt it by then."""
    import time

    from recommender.personal.model import PersonalModel

    ids = _library(library, tmp_path)
    for n in range(20):
        events.append(
            library,
            events.NewEvent(track_id=ids[f"T{n % 6}"], kind="play", ts=1e9 + 300.0 * n),
        )
    learn = PersonalModel.observe

    def slow_observe(self: PersonalModel, *args: Any, **kwargs: Any) -> None:
        time.sleep(0.02)  # a long history takes a while to learn
        learn(self, *args, **kwargs)

    monkeypatch.setattr(PersonalModel, "observe", slow_observe)
    recommend = EngineHost.recommend
    ranked_with: list[bool] = []

    def recording(self: EngineHost, *args: Any, **kwargs: Any) -> Any:
        personal = self.engine.personal
        ranked_with.append(personal is not None and personal.ready.is_set())
        return recommend(self, *args, **kwargs)

    monkeypatch.setattr(EngineHost, "recommend", recording)
    return ids, ranked_with


def test_segue_upnext_ranks_with_the_personal_model_learnt(
    library: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Review 18: the one-shot `segue upnext` ranked before the personal model had learnt
    the log (it learns on a thread in the app), so its picks were not the app's."""
    from player.cli import main

    ids, ranked_with = _slowly_learnt_history(library, tmp_path, monkeypatch)
    assert main(["--db", str(library.path), "upnext", "--seed", str(ids["T1"]), "-n", "3"]) == 0
    assert ranked_with == [True]


def test_segue_play_picks_its_first_track_with_the_personal_model_learnt(
    library: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`segue play` with no track ranked its first pick before the personal model had
    learnt the log (as `segue upnext` once did), so it was not the app's pick."""
    import argparse

    from player.cli.cmd_play import _start_track

    ids, ranked_with = _slowly_learnt_history(library, tmp_path, monkeypatch)
    first = _start_track(library, argparse.Namespace(track=None, radio=None))
    assert first in ids.values()
    assert ranked_with == [True]


def test_a_wipe_never_restores_the_learned_state_it_deletes(
    library: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Review: the old model's replay could end while the wipe's rebuild read the
    catalogue (after the state file was deleted, before the old model was stopped): it
    saved what it learned from the wiped log and the new model loaded it back."""
    import player.personal_cache as personal_cache

    ids = _library(library, tmp_path)
    for n in range(20):
        events.append(
            library, events.NewEvent(track_id=ids[f"T{n % 6}"], kind="play", ts=1e9 + 300.0 * n)
        )
    host = EngineHost(library, background=False)
    old = host.engine.personal
    assert old is not None and old.ready.is_set() and old.on_ready is not None
    monkeypatch.setattr(old, "state", lambda: {"wiped_log": np.ones(3)})
    old_ready = old.on_ready
    load_catalog = host._load_catalog

    def replay_ends_meanwhile() -> Any:
        old_ready()  # the old replay finishes just now, on its thread
        return load_catalog()

    monkeypatch.setattr(host, "_load_catalog", replay_ends_meanwhile)
    loaded: list[Any] = []
    load_state = personal_cache.load_state

    def spy(path: Any) -> Any:
        loaded.append(load_state(path))
        return loaded[-1]

    monkeypatch.setattr(personal_cache, "load_state", spy)
    events.wipe(library)
    host.reset_history(forget_learned=True)
    assert loaded == [None], "the new model starts from nothing learned"
    assert "wiped_log" not in (load_state(library.path) or {})
    # A superseded model's saves are no-ops from then on.
    old_ready()
    host.save_personal()
    assert "wiped_log" not in (load_state(library.path) or {})
