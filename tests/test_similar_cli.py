"""`segue similar TRACK [TRACK...] -n K [--json]` on a real analysed library."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.audiogen import write_audio
from tests.test_cli import assert_one_line_error, segue


@pytest.fixture(scope="module")
def analysed(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """The same low note three times (different rates, channels and codecs), the same
    noise three times, and a silent file; all analysed. Any sane index puts each note
    nearest to the other notes."""
    tmp = tmp_path_factory.mktemp("similar")
    music = tmp / "music"
    for i, (sr, channels) in enumerate(((44100, 1), (48000, 2), (32000, 1))):
        write_audio(music / f"low{i}.flac", seconds=6.0, freq=110.0, sr=sr, channels=channels)
    for i in range(3):
        write_audio(music / f"noise{i}.mp3", seconds=6.0, kind="noise")
    write_audio(music / "silence.wav", seconds=3.0, kind="silence")
    db = tmp / "lib.db"
    assert segue("scan", str(music), db=db).returncode == 0
    result = segue("analyze", "--workers", "2", db=db)
    assert result.returncode == 0, result.stderr
    return db, music


def test_json_lists_the_nearest_tracks_with_distance_and_why(analysed: tuple[Path, Path]) -> None:
    db, music = analysed
    result = segue("similar", str(music / "low0.flac"), "-n", "2", "--json", db=db)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.strip().splitlines()
    assert len(lines) == 1
    row = json.loads(lines[0])
    assert row["track"]["path"] == str(music / "low0.flac")
    assert isinstance(row["track"]["id"], int)
    similar = row["similar"]
    assert len(similar) == 2
    assert {Path(s["path"]).name for s in similar} == {"low1.flac", "low2.flac"}
    assert all(set(s) == {"id", "path", "distance", "why", "heard"} for s in similar)
    assert all(isinstance(s["heard"], list) for s in [*similar, row["track"]])
    assert similar[0]["distance"] <= similar[1]["distance"]
    assert all(isinstance(s["why"], str) and s["why"] for s in similar)
    assert row["track"]["id"] not in {s["id"] for s in similar}


def test_a_track_by_id_and_several_tracks(analysed: tuple[Path, Path]) -> None:
    db, music = analysed
    by_path = json.loads(segue("similar", str(music / "noise0.mp3"), "--json", db=db).stdout)
    track_id = str(by_path["track"]["id"])
    result = segue("similar", track_id, str(music / "low2.flac"), "-n", "3", "--json", db=db)
    assert result.returncode == 0, result.stderr
    rows = [json.loads(line) for line in result.stdout.strip().splitlines()]
    assert [r["track"]["path"] for r in rows] == [
        by_path["track"]["path"],
        str(music / "low2.flac"),
    ]
    assert rows[0]["track"]["id"] == by_path["track"]["id"]
    assert len(rows) == 2 and all(len(r["similar"]) == 3 for r in rows)
    nearest_noise = {Path(s["path"]).name for s in rows[0]["similar"][:2]}
    assert nearest_noise == {"noise1.mp3", "noise2.mp3"}
    # The default -n is 10, capped by the analysed library (6 vectors, minus itself).
    assert len(by_path["similar"]) == 5


def test_text_output(analysed: tuple[Path, Path]) -> None:
    db, music = analysed
    result = segue("similar", str(music / "low1.flac"), "-n", "2", db=db)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.strip().splitlines()
    assert lines[0].startswith(str(music / "low1.flac"))
    assert len(lines) == 3 and lines[1].lstrip().startswith("1.")
    assert "low" in lines[1] and ":" in lines[1]


def test_tracks_without_a_vector_get_a_clear_message(
    analysed: tuple[Path, Path], tmp_path: Path
) -> None:
    db, music = analysed
    silent = segue("similar", str(music / "silence.wav"), db=db)
    assert_one_line_error(silent, "could not be analysed", "silent")
    assert_one_line_error(segue("similar", "/nowhere/song.mp3", db=db), "no track")
    assert_one_line_error(segue("similar", str(music / "low0.flac"), "-n", "0", db=db), "-n")


def test_a_track_not_analysed_yet(tmp_path: Path) -> None:
    music = tmp_path / "music"
    write_audio(music / "new.flac", seconds=2.0)
    db = tmp_path / "lib.db"
    assert segue("scan", str(music), db=db).returncode == 0
    result = segue("similar", str(music / "new.flac"), "--json", db=db)
    assert_one_line_error(result, "not analysed yet", "segue analyze")
    assert result.stdout == ""
