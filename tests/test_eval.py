"""``segue eval``: the prequential replay protocol, its metrics, its JSON, its errors."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from player.cli import main
from recommender import api
from recommender.evaluation import LogFormatError, evaluate, parse_log
from recommender.evaluation.log import from_arrays
from recommender.evaluation.replay import default_factories
from recommender.evaluation.strategies import Catalogue, Strategy

ROOT = Path(__file__).resolve().parent.parent
FOLDS = ROOT.parent / "shared" / "data" / "listening"

# user session track artist timestamp. User 3 has no session ids: a 30-minute gap splits.
TINY = """user\tsession\ttrack\tartist\ttimestamp
1\t1\t100\t1\t0
3\t\t300\t3\t0
2\t2\t200\t2\t30
1\t1\t100\t1\t60
2\t2\t201\t2\t90
3\t\t300\t3\t100
1\t1\t101\t1\t120
2\t2\t201\t2\t150
3\t\t300\t3\t5000
3\t\t301\t3\t5100
"""


class Repeat:
    """Predicts that the track playing now plays again."""

    name = "repeat"

    def __init__(self, catalogue: Catalogue) -> None:
        self.n = catalogue.n_items

    def scores(self, session: list[int], key: int, now: float) -> api.FloatArray:
        out = np.zeros(self.n, dtype=np.float32)
        out[session[-1]] = 1.0
        return out

    def learn(self, item: int, session: int, ts: float) -> None:
        pass


class LastLearned(Repeat):
    """Predicts the last play the model learned, whoever played it."""

    name = "last_learned"

    def __init__(self, catalogue: Catalogue) -> None:
        super().__init__(catalogue)
        self.last: int | None = None

    def scores(self, session: list[int], key: int, now: float) -> api.FloatArray:
        out = np.zeros(self.n, dtype=np.float32)
        if self.last is not None:
            out[self.last] = 1.0
        return out

    def learn(self, item: int, session: int, ts: float) -> None:
        self.last = item


def test_replay_predicts_each_play_after_the_first_of_its_session_in_time_order() -> None:
    log = parse_log(TINY.splitlines(keepends=True))
    assert log.n_items == 6 and len(log) == 10
    stream = evaluate(log, "stream", [("repeat", Repeat), ("last_learned", LastLearned)], k=1)
    # Sessions: user 1 (100 100 101), user 2 (200 201 201), user 3 (300 300 | gap | 300 301).
    # Predicted: 100 101 | 201 201 | 300 | 301 = 6 plays; a repeat is right for 100, 201, 300.
    assert stream.predictions == 6
    assert stream.strategies["repeat"] == {
        "hr@1": pytest.approx(3 / 6),
        "mrr@1": pytest.approx(3 / 6),
        "coverage": pytest.approx(4 / 6),  # it showed 100, 200, 201 and 300
    }
    # In time order, the last learned play is always another listener's: never right.
    assert stream.strategies["last_learned"]["hr@1"] == 0.0
    # Per user, each listener has a model of their own: the last learned play is their own.
    per_user = evaluate(log, "per-user", [("last_learned", LastLearned)], k=1)
    assert per_user.predictions == 6
    assert per_user.strategies["last_learned"]["hr@1"] == pytest.approx(3 / 6)


def test_reciprocal_rank_counts_the_position_of_the_hit() -> None:
    class SecondGuess(Repeat):
        name = "second"

        def scores(self, session: list[int], key: int, now: float) -> api.FloatArray:
            out = np.zeros(self.n, dtype=np.float32)
            out[session[-1]] = 0.5  # the repeat, ranked second behind a fixed decoy
            out[decoy] = 1.0
            return out

    log = parse_log(TINY.splitlines(keepends=True))
    decoy = int(log.item[log.ts == 5100][0])  # track 301: only ever the last play
    result = evaluate(log, "stream", [("second", SecondGuess)], k=2)
    # The three repeats are found at rank 2; 301 at rank 1 once (after 300, at 5100).
    assert result.strategies["second"]["hr@2"] == pytest.approx(4 / 6)
    assert result.strategies["second"]["mrr@2"] == pytest.approx((3 * 0.5 + 1.0) / 6)


def test_artist_popularity_ranks_the_artists_most_played_tracks() -> None:
    rows = ["user\tsession\ttrack\tartist\ttimestamp"]
    t = 0
    # Twelve tracks by artist 4, each a session of its own: no predictions, but every one is
    # more popular than an unheard track, so no unheard track ever makes the top 10.
    for track in range(10, 22):
        rows.append(f"6\t{track}\t{track}\t4\t{t}")
        t += 60
    # Artist 9's eight tracks, heard twice; then a session 1 -> 2 -> 1 by artist 5.
    for session in (1, 2):
        for track in range(30, 38):
            rows.append(f"7\t{session}\t{track}\t9\t{t}")
            t += 60
    for track in (1, 2, 1):
        rows.append(f"8\t50\t{track}\t5\t{t}")
        t += 60
    log = parse_log(rows)
    factories = [(n, f) for n, f in default_factories("stream")[0] if n == "artist_popularity"]
    result = evaluate(log, "stream", factories)
    # Session 1: 7 predictions of unheard tracks: misses. Session 2: 7 predictions of the
    # artist's played tracks (all 8 fit in the top 10): hits. Session 50: 2 is unheard (miss),
    # then 1 is the artist's most played (hit).
    assert result.predictions == 7 + 7 + 2
    assert result.strategies["artist_popularity"]["hr@10"] == pytest.approx(8 / 16)


def test_cli_json_has_the_documented_shape(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "log.tsv"
    path.write_text(TINY)
    assert main(["eval", "--events", str(path), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["file"] == str(path) and out["mode"] == "stream" and out["predictions"] == 6
    names = set(out["strategies"])
    assert {"segue", "popularity", "artist_popularity", "item_knn", "session_knn"} <= names
    if not {"als", "bpr"} <= names:
        assert any("skipped" in note for note in out["notes"])
    for metrics in out["strategies"].values():
        assert set(metrics) == {"hr@10", "mrr@10", "coverage"}
        assert all(0.0 <= v <= 1.0 for v in metrics.values())
    assert main(["eval", "--events", str(path), "--mode", "per-user", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["mode"] == "per-user"


def test_cli_table_lists_every_strategy(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "log.tsv"
    path.write_text(TINY)
    assert main(["eval", "--events", str(path)]) == 0
    out = capsys.readouterr().out
    for name in ("segue", "popularity", "artist_popularity", "item_knn", "session_knn"):
        assert f"\n{name} " in out


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "no such events file"),
        ("", "empty"),
        ("track\tuser\n1\t2\n", "header"),
        ("user\tsession\ttrack\tartist\ttimestamp\n1\t1\tabc\t2\tnoon\n", "line 2"),
        ("user\tsession\ttrack\ttimestamp\n1\t1\tabc\t2\n", "'artist' column"),
        ("\n\n", "empty"),
        ("user\tsession\ttrack\tartist\ttimestamp\n1\t1\t2\n", "line 2"),
        ("user\tsession\ttrack\tartist\ttimestamp\n", "no plays"),
    ],
)
def test_a_bad_or_missing_file_is_one_clear_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: str | None, message: str
) -> None:
    path = tmp_path / "log.tsv"
    if content is not None:
        path.write_text(content)
    assert main(["eval", "--events", str(path)]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("segue: error:") and message in err
    assert "Traceback" not in err


def test_parse_errors_name_the_line() -> None:
    with pytest.raises(LogFormatError, match="line 3"):
        parse_log(["user\tsession\ttrack\tartist\ttimestamp", "1\t1\t2\t3\t4", "1\t1\t2\t3\tx"])


@pytest.mark.skipif(
    not (FOLDS / "30music_fold1.tsv").is_file(),
    reason="the real listening sessions of ../shared/data are not present",
)
def test_segue_beats_the_best_baseline_on_a_slice_of_real_sessions() -> None:
    with open(FOLDS / "30music_fold1.tsv", encoding="utf-8") as fh:
        lines = fh.readlines()[:2001]
    log = parse_log(lines)
    factories = [(n, f) for n, f in default_factories("stream")[0] if n not in ("als", "bpr")]
    result = evaluate(log, "stream", factories)
    hr = {name: m["hr@10"] for name, m in result.strategies.items()}
    best = max(v for name, v in hr.items() if name != "segue")
    assert hr["segue"] >= 1.25 * best


def test_without_implicit_als_and_bpr_are_skipped_with_a_note(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import recommender.evaluation.replay as replay

    monkeypatch.setattr(replay, "implicit_available", lambda: False)
    path = tmp_path / "log.tsv"
    path.write_text(TINY)
    assert main(["eval", "--events", str(path), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert "als" not in out["strategies"] and "bpr" not in out["strategies"]
    assert any("als and bpr skipped" in note for note in out["notes"])
    assert main(["eval", "--events", str(path)]) == 0
    assert "note: als and bpr skipped" in capsys.readouterr().out


def test_a_log_saved_with_a_bom_and_windows_line_ends_reads_the_same() -> None:
    plain = parse_log(TINY.splitlines(keepends=True))
    windows = parse_log(("\ufeff" + TINY.replace("\n", "\r\n")).splitlines(keepends=True))
    assert np.array_equal(plain.item, windows.item) and np.array_equal(plain.ts, windows.ts)
    assert np.array_equal(plain.session, windows.session)


NAMED = (
    "user\tsession\ttrack\tartist\ttimestamp\tms_played\tskipped\tcountry\n"
    "u1\t1\tVibe Ace - Night Drive\tVibe Ace\t1000\t200000\t0\tIN\n"
    "u1\t1\tVibe Ace - Glass\tVibe Ace\t1200\t5000\t1\tIN\n"
    "u1\t1\tOther - Glass\tOther\t1300\t\t\tIN\n"
    "u1\t2\tVibe Ace - Night Drive\tVibe Ace\t9000\t180000\t0\tIN\n"
)


def test_names_extra_columns_play_lengths_and_skips_are_read() -> None:
    log = parse_log(NAMED.splitlines(keepends=True))
    # Same title by two artists: two tracks; the repeat of Night Drive is one track.
    assert log.n_items == 3 and log.n_artists == 2 and len(log) == 4
    assert log.item[0] == log.item[3] and log.item[1] != log.item[2]
    assert sorted(log.item_names) == ["Other - Glass", "Vibe Ace - Glass", "Vibe Ace - Night Drive"]
    assert log.ms_played[0] == 200000 and np.isnan(log.ms_played[2])
    assert log.skipped.tolist()[:2] == [0.0, 1.0] and np.isnan(log.skipped[2])
    assert log.session.tolist() == [0, 0, 0, 1]


def test_integer_ids_and_names_give_the_same_replay() -> None:
    by_id = parse_log(TINY.splitlines(keepends=True))
    named = parse_log(
        [TINY.splitlines()[0]]
        + [
            "\t".join([u, s, f"song {t}", f"artist {a}", ts])
            for u, s, t, a, ts in (line.split("\t") for line in TINY.splitlines()[1:])
        ]
    )
    a = evaluate(by_id, "stream", [("repeat", Repeat)], k=1)
    b = evaluate(named, "stream", [("repeat", Repeat)], k=1)
    assert a.strategies == b.strategies and a.predictions == b.predictions


def _spotify_rows() -> list[dict[str, object]]:
    rows = []
    for day in range(3):
        for minute, (artist, title) in enumerate(
            [("Vibe Ace", "Night Drive"), ("Vibe Ace", "Glass"), ("Mono", "Tide")]
        ):
            rows.append(
                {
                    "endTime": f"2024-01-0{day + 1} 20:{minute * 4 + 3:02d}",
                    "artistName": artist,
                    "trackName": title,
                    "msPlayed": 180000,
                }
            )
    return rows


def test_eval_reads_a_spotify_history_file_and_folder(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rows = _spotify_rows()
    (tmp_path / "StreamingHistory_music_0.json").write_text(json.dumps(rows[:5]))
    (tmp_path / "StreamingHistory_music_1.json").write_text(json.dumps(rows[5:]))
    assert main(["eval", "--events", str(tmp_path), "--json"]) == 0
    folder = json.loads(capsys.readouterr().out)
    # Three sessions (a day apart) of three plays: two predictions each.
    assert folder["predictions"] == 6
    single = tmp_path / "one.json"
    single.write_text(json.dumps(rows))
    assert main(["eval", "--events", str(single), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["strategies"] == folder["strategies"]


def test_eval_reads_extended_spotify_history_with_skips(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rows = []
    for day in range(4):
        for minute, (title, skipped) in enumerate([("A", False), ("B", True), ("C", False)]):
            rows.append(
                {
                    "ts": f"2023-03-0{day + 1}T10:{minute * 4 + 4:02d}:00Z",
                    "ms_played": 4000 if skipped else 200000,
                    "master_metadata_track_name": title,
                    "master_metadata_album_artist_name": "Band",
                    "skipped": skipped,
                    "reason_end": "fwdbtn" if skipped else "trackdone",
                }
            )
    rows.append(
        {
            "ts": "2023-03-05T10:00:00Z",
            "ms_played": 1,
            "episode_name": "a podcast",
            "master_metadata_track_name": None,
            "master_metadata_album_artist_name": None,
        }
    )
    path = tmp_path / "Streaming_History_Audio_2023.json"
    path.write_text(json.dumps(rows))
    assert main(["eval", "--events", str(path), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["predictions"] == 8  # the podcast is not a play
    assert "skip_auc" in out["strategies"]["bll_knn"]


def test_eval_reads_listenbrainz_and_lastfm_exports(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    listens = [
        {
            "listened_at": 1700000000 + 200 * i,
            "track_metadata": {"artist_name": "Mono", "track_name": f"Song {i % 3}"},
        }
        for i in range(9)
    ]
    jsonl = tmp_path / "listens.jsonl"
    jsonl.write_text("\n".join(json.dumps(x) for x in listens))
    assert main(["eval", "--events", str(jsonl), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["predictions"] == 8
    csv = tmp_path / "scrobbles.csv"
    csv.write_text(
        "artist,album,title,date\n"
        + "".join(f"Mono,LP,Song {i % 3},{1700000000 + 200 * i}\n" for i in range(9))
    )
    assert main(["eval", "--events", str(csv), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["predictions"] == 8


def test_bll_scores_the_power_law_sum_of_past_plays() -> None:
    from recommender.evaluation.strategies import BLL

    bll = BLL(Catalogue(np.zeros(3, dtype=np.int64), 1))
    bll.learn(0, 1, 0.0)
    bll.learn(0, 1, 300.0)
    bll.learn(1, 1, 350.0)
    scores = bll.scores([1], 1, 400.0)
    assert scores[0] == pytest.approx(400**-0.5 + 100**-0.5, rel=1e-5)
    assert scores[1] == pytest.approx(50**-0.5, rel=1e-5) and scores[2] == 0.0


def test_session_item_knn_weights_the_last_tracks_by_distance() -> None:
    from recommender.evaluation.strategies import SessionItemKNN

    knn = SessionItemKNN(Catalogue(np.zeros(6, dtype=np.int64), 1))
    # One past session 0 1 2 3 4: pairs within 3 plays co-occur once.
    for t, item in enumerate([0, 1, 2, 3, 4]):
        knn.learn(item, 1, float(t))
    scores = knn.scores([0, 1], 2, 10.0)
    # cos(1, x) = 1 for x in 0, 2, 3, 4 (each seen once with 1), weight 1 (distance 1);
    # cos(0, x) for x in 1, 2, 3 adds 1/2 (distance 2). 4 is 4 plays after 0: not near.
    assert scores.tolist() == pytest.approx([1.0, 0.5, 1.5, 1.5, 1.0, 0.0])


def test_skip_auc_is_the_chance_a_completed_play_ranked_above_a_skipped_one() -> None:
    from recommender.evaluation.replay import skip_auc

    assert skip_auc([1, 2, 10, 20], [0, 0, 1, 1]) == 1.0
    assert skip_auc([10, 20, 1, 2], [0, 0, 1, 1]) == 0.0
    assert skip_auc([5, 5], [0, 1]) == 0.5
    assert skip_auc([1, 2], [0, 0]) is None


def test_interleaved_sessions_each_keep_their_own_window() -> None:
    from recommender.evaluation.strategies import SessionItemKNN

    # Two listeners' sessions interleave in time (a merged log): 0 1 2 in session 1 and
    # 5 6 in session 2. Pairs form within each session only.
    knn = SessionItemKNN(Catalogue(np.zeros(8, dtype=np.int64), 1))
    for t, (item, session) in enumerate([(0, 1), (5, 2), (1, 1), (6, 2), (2, 1)]):
        knn.learn(item, session, float(t))
    scores = knn.scores([1], 3, 10.0)
    assert scores[0] > 0 and scores[2] > 0
    assert scores[5] == 0 and scores[6] == 0


def test_two_processes_give_the_same_numbers_as_one(monkeypatch: pytest.MonkeyPatch) -> None:
    # Segue replays here and the baselines (bll_knn sharing bll's and session kNN's parts)
    # in a forked process; every figure but the seconds must be the same.
    import recommender.evaluation.replay as replay

    monkeypatch.setattr(replay, "_FORK_MIN_PLAYS", 100)  # fork for a small log too
    rng = np.random.default_rng(5)
    n = 700
    items = np.where(rng.random(n) < 0.6, rng.zipf(1.5, n) % 300, rng.integers(300, size=n))
    log = from_arrays(
        np.zeros(n, dtype=np.int64),
        np.arange(n) // 12,
        items,
        items % 40,
        np.arange(n) * 200.0,
        skipped=(rng.random(n) < 0.2).astype(float),
    )
    wanted = ("segue", "popularity", "session_item_knn", "bll", "bll_knn")
    factories = [(n, f) for n, f in default_factories("stream")[0] if n in wanted]
    one = evaluate(log, "stream", factories, workers=1)
    two = evaluate(log, "stream", factories, workers=2)
    assert list(two.strategies) == [name for name, _ in factories]
    assert two.strategies == one.strategies and two.predictions == one.predictions
    assert one.strategies["segue"]["hr@10"] > 0 and "skip_auc" in one.strategies["bll_knn"]


def test_segue_replays_the_apps_blend_through_the_engines_own_code() -> None:
    """Issue 12: ``segue`` replayed the personal model alone, a ranking users do not get.
    It now ranks by ``engine.blend_scorer`` (what Engine.build uses): the weighted parts of
    session CF, tags, taste and the personal model (personal 16 x CF once there is a
    history), minus the recency penalty, the personal model reading the session hybrid."""
    from recommender.engine import PERSONAL_OVER_CF, SessionInput, blend_weights
    from recommender.evaluation.strategies import Segue
    from recommender.personal.model import FEATURES

    catalogue = Catalogue(np.arange(20, dtype=np.int64) % 5, 5)
    segue = Segue(catalogue)
    assert isinstance(segue.personal.extra, SessionInput)
    rng = np.random.default_rng(0)
    ts = 0.0
    for s in range(60):
        for k in (0, 1, 2, int(rng.integers(3, 20))):
            segue.learn_play(k, s, ts, np.nan, float(k == 7))
            ts += 200.0
        ts += 86400.0
    session = [0, 1]
    total = segue.scores(session, 60, ts)
    weights = blend_weights(segue.listens)
    assert weights["personal"] == PERSONAL_OVER_CF * weights["cf"] > 0
    scorer = segue.scorer
    context = api.Context(current=1, session=(0, 1), now=ts)
    breakdown = scorer.score(context)
    expected = sum(weights[name] * part for name, part in breakdown.parts.items())
    expected = expected - scorer.recency.weight * scorer.recency_penalty(context)
    assert np.allclose(total, expected, atol=1e-5)
    assert int(np.argmax(total)) == 2  # what always followed 0, 1
    cached = segue.personal.model._cache
    assert cached is not None
    column = cached.features[:, FEATURES.index("extra")]
    assert np.allclose(column, segue.personal.extra(context)[cached.candidates])


def test_segue_learns_each_listeners_session_when_sessions_interleave() -> None:
    """On a log of many listeners (30Music) sessions interleave: the personal model ranks
    and learns for the session being predicted, not the one of the last event."""
    from recommender.evaluation.strategies import Segue

    segue = Segue(Catalogue(np.arange(20, dtype=np.int64) % 5, 5))
    ts = 0.0
    for day in range(40):
        a, b = 2 * day, 2 * day + 1  # two listeners, their plays alternating
        for step in range(4):
            for key, item in ((a, step), (b, 10 + step)):
                if step:
                    segue.scores(
                        list(range(step)) if key == a else [10 + i for i in range(step)], key, ts
                    )
                segue.learn_play(item, key, ts, np.nan, np.nan)
                ts += 100.0
        ts += 86400.0
    # The rankings were learnt from (3 per session, 80 sessions; not the first few, whose
    # played track was new): none were when the last event's session was taken.
    assert segue.personal.model.blender.steps >= 220
    total = segue.scores([10, 11], 81, ts)
    assert int(np.argmax(total)) == 12


def test_a_baseline_failing_in_the_forked_process_is_one_line_naming_where(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The baselines replay in a forked child; its failure reaches the user as one line
    # with the place it happened (the CLI turns ReplayError into its one-line error).
    import recommender.evaluation.replay as replay
    from recommender.evaluation.replay import ReplayError

    monkeypatch.setattr(replay, "_FORK_MIN_PLAYS", 10)

    class Broken:
        name = "broken"

        def __init__(self, catalogue: object) -> None:
            pass

        def scores(self, session: list[int], key: int, now: float) -> np.ndarray:
            raise ValueError("a baseline gave up")

        def learn(self, item: int, session: int, ts: float) -> None:
            pass

    n = 60
    log = from_arrays(
        np.zeros(n, dtype=np.int64),
        np.arange(n) // 6,
        np.arange(n) % 9,
        np.arange(n) % 3,
        np.arange(n) * 60.0,
    )
    factories = [(n, f) for n, f in default_factories("stream")[0] if n == "popularity"]
    with pytest.raises(ReplayError) as failed:
        evaluate(log, "stream", [*factories, ("broken", Broken)], workers=2)
    message = str(failed.value)
    assert "\n" not in message
    assert "ValueError: a baseline gave up" in message and "test_eval.py:" in message


def _every_strategy(catalogue: Catalogue) -> list[Strategy]:
    """Every strategy `segue eval` can replay, plus the personal model alone (for tuning)."""
    from recommender.evaluation.strategies import (
        ImplicitFactors,
        SeguePersonal,
        implicit_available,
    )

    factories, _ = default_factories("stream")
    made = [make(catalogue) for _, make in factories]
    made.append(SeguePersonal(catalogue))
    if implicit_available():  # the bench extra: fitted after a few plays here
        made += [ImplicitFactors(n, catalogue, refit_every=4, factors=4) for n in ("als", "bpr")]
    return made


def test_every_strategy_ranks_a_session_with_nothing_heard_yet_by_its_history_alone() -> None:
    # Asked before a session's first track (an empty session), each strategy gives its cold
    # start: a finite score per track from what it learned, all zeros where it ranks by the
    # session only. Several used to fail on session[-1] of the empty list.
    catalogue = Catalogue(np.array([0, 0, 1, 1, 2, 2], dtype=np.int64), 3)
    plays = [(0, 1), (1, 1), (0, 1), (2, 2), (3, 2), (0, 2), (4, 3), (0, 3)]
    strategies, twins = _every_strategy(catalogue), _every_strategy(catalogue)
    for strategy in strategies:
        out = strategy.scores([], 9, 100.0)
        assert out.shape == (6,) and np.isfinite(out).all(), strategy.name
    for t, (item, session) in enumerate(plays):
        for strategy in (*strategies, *twins):
            strategy.learn(item, session, 100.0 + 200.0 * t)
    now = 100.0 + 200.0 * len(plays)
    by_history = {"popularity", "artist_popularity", "bll"}
    by_session = {"item_knn", "session_knn", "session_item_knn", "als", "bpr"}
    for strategy, twin in zip(strategies, twins, strict=True):
        out = strategy.scores([], 9, now)
        assert out.shape == (6,) and np.isfinite(out).all(), strategy.name
        if strategy.name in by_history:  # track 0, played most and last, ranks first
            assert int(np.argmax(out)) == 0 and out[0] > out[1:].max(), strategy.name
        if strategy.name in by_session:
            assert not out.any(), strategy.name
        # Asking changed nothing: the next track's ranking is the twin's, never asked.
        assert np.array_equal(strategy.scores([0], 9, now), twin.scores([0], 9, now)), strategy.name
