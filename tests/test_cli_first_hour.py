"""The CLI in a first hour: finding tracks, empty results that explain themselves, and
smart queries that say what is wrong with them."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from player.library import open_library
from player.smartquery import SmartQueryError, parse
from tests.audiogen import tag, write_audio
from tests.clihelp import segue
from tests.scanhelp import scan

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def lib(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("cli15")
    music = root / "music"
    for i, (title, artist, album, genre) in enumerate(
        [
            ("Blue Morning", "Ada Lin", "Harbour", "Jazz"),
            ("Night Walk", "Ada Lin", "Harbour", "Jazz"),
            ("Iron Bridge", "The Rivets", "Steel", "Ambient"),
        ]
    ):
        path = write_audio(music / f"{i}.flac", seconds=1.0, freq=220 + 40 * i)
        tag(path, title=title, artist=artist, album=album, genre=genre)
    write_audio(music / "untagged.flac", seconds=1.0, freq=500)
    db = root / "lib.db"
    with open_library(db) as conn:
        scan(conn, music)
    return db


def test_tracks_lists_and_finds_with_json(lib: Path) -> None:
    out = segue("tracks", db=lib)
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert len(lines) == 4 and any("Ada Lin – Blue Morning  [Harbour]" in x for x in lines)
    found = segue("tracks", "ada", "night", "--json", db=lib)
    rows = [json.loads(line) for line in found.stdout.splitlines()]
    assert len(rows) == 1
    row = rows[0]
    assert set(row) == {"id", "artist", "title", "album", "path"}
    assert (row["artist"], row["title"], row["album"]) == ("Ada Lin", "Night Walk", "Harbour")
    assert row["path"].endswith("1.flac") and isinstance(row["id"], int)
    none = segue("tracks", "no-such-song", db=lib)
    assert none.returncode == 0 and "no track matches 'no-such-song'" in none.stdout
    limited = segue("tracks", "-n", "2", db=lib)
    assert "4 tracks in all" in limited.stdout


def test_a_mood_radio_with_no_tracks_says_why(lib: Path) -> None:
    out = segue("radio", "Ada Lin", "--artist", "--mood", "energetic", "--json", db=lib)
    assert out.returncode == 0, out.stderr
    radio = json.loads(out.stdout)
    assert radio["tracks"] == []
    assert radio["how"].startswith("no energetic tracks among the")
    assert "segue analyze" in radio["how"] or "not energetic enough" in radio["how"]
    text = segue("radio", "Ada Lin", "--artist", "--mood", "energetic", db=lib).stdout
    assert "no energetic tracks among" in text and "(0 tracks)" in text


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("(", "brackets"),
        ("energy:0.5..0.2", "reversed"),
        ("genre:jazz |", "needs a value on each side"),
        ("-", "is not a term"),
    ],
)
def test_smart_query_syntax_errors_are_errors(lib: Path, query: str, message: str) -> None:
    with pytest.raises(SmartQueryError, match=message):
        parse(query)
    out = segue("smart", query, db=lib)
    assert out.returncode == 1 and message in out.stderr and out.stdout == ""


def test_spaces_around_a_bar_are_accepted(lib: Path) -> None:
    assert parse("genre:jazz | ambient").conditions == parse("genre:jazz|ambient").conditions
    out = segue("smart", "genre:jazz | ambient", "--json", db=lib)
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["size"] == 3
    assert parse('title:"Song (Live)"').conditions[0].values == ("Song (Live)",)


def test_install_user_puts_a_working_segue_on_the_path(tmp_path: Path) -> None:
    bin_dir = tmp_path / "bin"
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "BIN_DIR": str(bin_dir)}
    venv = Path(sys.executable).parent.parent
    out = subprocess.run(
        ["sh", "packaging/install-user.sh", str(venv)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 0, out.stderr
    assert "is not on your PATH" in out.stdout  # and it says how to add it
    env["PATH"] = f"{bin_dir}:{env['PATH']}"
    version = subprocess.run(
        ["segue", "--version"], env=env, capture_output=True, text=True, timeout=60
    )
    assert version.returncode == 0 and version.stdout.startswith("segue ")
    makefile = (ROOT / "Makefile").read_text()
    assert "install-user:" in makefile and "packaging/install-user.sh" in makefile


def test_play_redraws_one_status_block_in_place() -> None:
    import io

    from player.cli.cmd_play import StatusBlock
    from player.session import QueueEntry, SessionState, TrackView

    song = TrackView(1, "/m/a.flac", "Blue Morning", "Ada Lin", "Harbour", 200.0)
    other = TrackView(2, "/m/b.flac", "Night Walk", "Ada Lin", "Harbour", 180.0)
    up = (QueueEntry(1, other, False, "from the same album as Blue Morning"),)
    out = io.StringIO()
    block = StatusBlock(out, live=True)
    playing = SessionState(now_playing=song, play_state="playing", position=5.0, upnext=up)
    block.show(playing, width=80)
    first = out.getvalue()
    assert first.startswith("\x1b[J▶ Ada Lin – Blue Morning  0:05 / 3:20")
    assert "1. Ada Lin – Night Walk — from the same album as Blue Morning" in first
    block.show(playing, width=80)  # nothing changed: nothing written
    assert out.getvalue() == first
    paused = SessionState(
        now_playing=song, play_state="paused", position=6.0, upnext=up, liked=True
    )
    block.show(paused, width=80)
    again = out.getvalue()[len(first) :]
    assert again.startswith("\x1b[3F\x1b[J⏸ ")  # up over the 3 lines drawn, cleared
    assert "0:06 / 3:20  paused  ♥ liked" in again
    narrow = StatusBlock(io.StringIO(), live=True).lines(playing, 30)
    assert all(len(line) < 30 for line in narrow)  # never wraps, so the redraw holds


def test_no_audio_device_means_silence_without_alsa_noise_and_doctor_says_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from player import doctor
    from player.playback import factory, outputs

    monkeypatch.delenv("PULSE_SERVER", raising=False)
    monkeypatch.delenv("PIPEWIRE_REMOTE", raising=False)
    snd, runtime = tmp_path / "snd", tmp_path / "run"
    snd.mkdir()
    runtime.mkdir()
    problem = outputs.audio_output_problem(snd, str(runtime))
    assert problem is not None and "no audio output works" in problem
    (snd / "pcmC0D0c").touch()  # a capture device only: still nothing to play on
    assert outputs.audio_output_problem(snd, str(runtime)) is not None
    (snd / "pcmC0D0p").touch()
    assert outputs.audio_output_problem(snd, str(runtime)) is None
    (snd / "pcmC0D0p").unlink()
    (runtime / "pulse").mkdir()
    (runtime / "pulse" / "native").touch()
    assert outputs.audio_output_problem(snd, str(runtime)) is None

    monkeypatch.setattr(outputs, "audio_output_problem", lambda: problem)
    check = doctor.check_audio_output()
    assert not check.ok and "no audio output works" in check.detail
    choice = factory.create_backend()
    try:
        assert choice.unavailable_reason is not None
        assert choice.unavailable_reason.startswith("Silent: no audio output works")
        assert "--aout=dummy" in choice.backend.args  # type: ignore[attr-defined]
    finally:
        choice.backend.close()
