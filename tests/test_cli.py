"""The `segue` command as a user meets it: clear output, one-line errors, JSON summaries."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from player import __version__
from tests.audiogen import tag, write_audio

ROOT = Path(__file__).resolve().parent.parent


def segue(
    *args: str, db: Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "player", "--db", str(db), *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        timeout=120,
    )


def assert_one_line_error(result: subprocess.CompletedProcess[str], *fragments: str) -> None:
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    for fragment in fragments:
        assert fragment in lines[0]


def test_version(tmp_path: Path) -> None:
    result = segue("--version", db=tmp_path / "x.db")
    assert result.stdout.strip() == f"segue {__version__}"


def test_scan_json_summary_and_library_overview(tmp_path: Path) -> None:
    music = tmp_path / "music"
    for i, ext in enumerate(("mp3", "flac", "ogg", "mp3")):
        tag(write_audio(music / f"{i}.{ext}", seconds=1.0), title=f"S{i}", artist="A")
    (music / "broken.flac").write_bytes(b"fLaC" + b"\0" * 50)
    db = tmp_path / "lib.db"
    result = segue("scan", str(music), "--json", db=db)
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    assert {"added", "updated", "unchanged", "missing", "moved", "errors", "seconds"} <= set(
        summary
    )
    assert (summary["added"], summary["errors"]) == (4, 1)
    assert result.stderr == "", "no progress bar when not on a terminal"

    rescan = json.loads(segue("scan", "--json", db=db).stdout)
    assert (rescan["added"], rescan["unchanged"], rescan["errors"]) == (0, 4, 1)

    overview = segue("library", db=db)
    assert overview.returncode == 0
    assert "4 tracks" in overview.stdout
    assert "mp3" in overview.stdout and "flac" in overview.stdout
    assert "broken.flac" in overview.stdout
    data = json.loads(segue("library", "--json", db=db).stdout)
    assert data["by_format"] == {"mp3": 2, "flac": 1, "ogg": 1}
    assert data["total_seconds"] >= 3.9


def test_scan_of_the_real_test_corpus_exits_zero(tmp_path: Path, shared_data: Path) -> None:
    folder = shared_data / "tags"
    result = segue("scan", str(folder), "--json", db=tmp_path / "lib.db")
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    files = sum(1 for p in folder.iterdir() if p.is_file())
    assert summary["added"] + summary["errors"] == files


def test_user_errors_are_one_line_without_traceback(tmp_path: Path) -> None:
    db = tmp_path / "lib.db"
    assert_one_line_error(segue("scan", str(tmp_path / "nope"), db=db), "does not exist")
    assert_one_line_error(segue("scan", db=db), "no music folders yet")
    assert_one_line_error(segue("frobnicate", db=db), "invalid choice")
    bad = tmp_path / "bad.db"
    bad.write_bytes(b"garbage" * 1000)
    assert_one_line_error(segue("library", db=bad), "damaged or not a Segue library")
    folder_db = tmp_path / "a-folder.db"
    folder_db.mkdir()
    assert_one_line_error(segue("library", db=folder_db), "cannot open library DB")


def test_locked_db_is_reported_not_crashed(tmp_path: Path) -> None:
    db = tmp_path / "lib.db"
    music = tmp_path / "music"
    write_audio(music / "a.wav", seconds=0.5)
    assert segue("library", db=db).returncode == 0
    holder = sqlite3.connect(db, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        result = segue("scan", str(music), db=db)
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert_one_line_error(result, "locked")


def test_a_read_only_db_gives_one_line_for_log_and_scan(tmp_path: Path) -> None:
    """'attempt to write a readonly database' raised inside a write: one line, exit 1.
    The tests run as root, who may write any file: the immutable flag makes it read-only."""
    db = tmp_path / "lib.db"
    music = tmp_path / "music"
    write_audio(music / "a.wav", seconds=0.5)
    assert segue("scan", str(music), db=db).returncode == 0
    write_audio(music / "b.wav", seconds=0.6, freq=330.0)
    if subprocess.run(["chattr", "+i", str(db)], capture_output=True).returncode != 0:
        pytest.skip("chattr +i is not available here")
    try:
        for command in (["log", "play", str(music / "a.wav")], ["scan"]):
            assert_one_line_error(
                segue(*command, db=db), f"cannot write to library DB {db}: it is read-only"
            )
    finally:
        subprocess.run(["chattr", "-i", str(db)], check=True)


def test_a_raw_sqlite_error_from_a_read_is_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A read that goes straight to the connection (no DatabaseError mapping) and finds
    the file damaged half-way still ends in one line and exit 1."""
    from player.cli import main
    from player.library import stats

    def damaged(*args: object, **kwargs: object) -> None:
        raise sqlite3.DatabaseError("database disk image is malformed")

    monkeypatch.setattr(stats, "overview", damaged)
    assert main(["--db", str(tmp_path / "lib.db"), "library"]) == 1
    assert capsys.readouterr().err.splitlines() == [
        "segue: error: library DB: it is damaged or not a Segue library"
    ]


def test_log_position_that_is_not_a_number_is_one_line(tmp_path: Path) -> None:
    db = tmp_path / "lib.db"
    music = tmp_path / "music"
    write_audio(music / "a.wav", seconds=0.5)
    assert segue("scan", str(music), db=db).returncode == 0
    for value in ("nan", "inf", "-1"):
        result = segue("log", "skip", str(music / "a.wav"), "--position", value, db=db)
        assert_one_line_error(result, "--position must be zero or more seconds")
    assert sqlite3.connect(db).execute("SELECT COUNT(*) FROM events").fetchone() == (0,)


def test_db_path_from_environment(tmp_path: Path) -> None:
    target = tmp_path / "from-env.db"
    result = subprocess.run(
        [sys.executable, "-m", "player", "library"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={**os.environ, "SEGUE_DB": str(target)},
    )
    assert result.returncode == 0, result.stderr
    assert target.exists()


def test_plain_segue_starts_the_desktop_app(monkeypatch: pytest.MonkeyPatch) -> None:
    import player.cli
    import player.cli.cmd_gui as gui

    started: list[object] = []
    monkeypatch.setattr(gui, "run", lambda args: started.append(args) or 0)
    assert player.cli.main([]) == 0
    assert len(started) == 1


# A scan whose file reads are slowed down, so the test can kill it mid-way for certain.
SLOW_SCAN = """
import sys, time
from player.scanner import scan as s
real = s.read_track
def slow(*a):
    time.sleep(0.01)
    return real(*a)
s.read_track = slow
from player.cli import main
sys.exit(main(sys.argv[1:]))
"""


def _start_slow_scan(tmp_path: Path, total: int) -> tuple[subprocess.Popen[str], Path]:
    music = tmp_path / "music"
    music.mkdir()
    base = write_audio(tmp_path / "base.mp3", seconds=0.2).read_bytes()
    for i in range(total):
        (music / f"{i:03}.mp3").write_bytes(base)
    db = tmp_path / "lib.db"
    proc = subprocess.Popen(
        [sys.executable, "-c", SLOW_SCAN, "--db", str(db), "scan", str(music), "--workers", "1"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    return proc, db


def _wait_for_rows(db: Path) -> int:
    stored = 0
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and stored == 0:
        time.sleep(0.05)
        try:
            with sqlite3.connect(db, timeout=1) as probe:
                stored = probe.execute("SELECT COUNT(*) FROM tracks").fetchone()[0]
        except sqlite3.Error:
            continue
    return int(stored)


def test_scan_killed_mid_way_leaves_a_consistent_db_and_resumes(tmp_path: Path) -> None:
    total = 400
    proc, db = _start_slow_scan(tmp_path, total)
    stored = _wait_for_rows(db)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert 0 < stored < total, "the scan was killed part-way through"

    with sqlite3.connect(db) as check:
        assert check.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        kept = check.execute("SELECT COUNT(*) FROM tracks").fetchone()[0]
    result = segue("scan", "--json", db=db)
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    assert summary["unchanged"] == kept
    assert summary["added"] == total - kept


def test_ctrl_c_stops_the_scan_cleanly_and_keeps_what_was_done(tmp_path: Path) -> None:
    total = 400
    proc, db = _start_slow_scan(tmp_path, total)
    assert _wait_for_rows(db) > 0
    proc.send_signal(signal.SIGINT)
    _, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 130
    assert "Traceback" not in stderr
    assert "interrupted" in stderr
    with sqlite3.connect(db) as check:
        assert check.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        kept = check.execute("SELECT COUNT(*) FROM tracks").fetchone()[0]
    assert 0 < kept < total
    summary = json.loads(segue("scan", "--json", db=db).stdout)
    assert summary["added"] + summary["unchanged"] == total


def test_the_app_without_a_display_says_so_in_one_line(tmp_path: Path) -> None:
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")
    }
    result = subprocess.run(
        [sys.executable, "-m", "player", "--db", str(tmp_path / "lib.db"), "gui"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert_one_line_error(result, "no display")
    shot = tmp_path / "shot.png"
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "player",
            "--db",
            str(tmp_path / "lib.db"),
            "gui",
            "--screenshot",
            str(shot),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert shot.stat().st_size > 1000  # a screenshot needs no screen
